/**
 * A local DingTalk custom-robot server that enforces the contract the real one does (FACTS.md):
 * signature (HMAC-SHA256 over `timestamp\nsecret`, base64, URL-encoded once) and a timestamp
 * within one hour, 20 messages per window per robot, counted by arrival (then errcode 130101
 * and a penalty of 10 windows, DingTalk's ~10 minutes, during which every request is refused),
 * bodies of at most 20,000 bytes, and the real errcodes in HTTP-200
 * answers. msgUuid is NOT an idempotency key by default (DingTalk does not document one): a
 * repeated msgUuid is shown again and counted in `repeatedUuids`; `honourMsgUuid` turns the
 * deduplication on.
 *
 * The window is configurable (`windowMs`) so a test of the 20/minute limit need not take
 * minutes: the bridge under test is given the same window.
 */
import { createHmac } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';

export interface DingTalkContractOptions {
  /** access_token → signing secret. */
  readonly robots: Readonly<Record<string, string>>;
  readonly limit?: number;
  readonly windowMs?: number;
  /** How long a robot stays throttled after going over the limit (default 10 windows: DingTalk's ~10 minutes). */
  readonly throttleMs?: number;
  /** Acknowledge a repeated msgUuid without showing it (default false: nothing documents that DingTalk does). */
  readonly honourMsgUuid?: boolean;
  readonly maxBodyBytes?: number;
  /** Delay before answering (to have sends in flight when a test kills the bridge). */
  readonly delayMs?: number;
  readonly now?: () => number;
}

export interface ReceivedMessage {
  readonly token: string;
  readonly at: number;
  readonly body: {
    msgtype: string;
    markdown?: { title: string; text: string };
    at?: { atMobiles?: string[]; atUserIds?: string[] };
    msgUuid?: string;
  };
  readonly bytes: number;
}

export interface ScriptedAnswer {
  readonly status?: number;
  readonly errcode?: number;
  readonly errmsg?: string;
}

export interface DingTalkContract {
  readonly url: string;
  /** Messages shown in the group (accepted, deduplicated by msgUuid). */
  readonly messages: ReceivedMessage[];
  /** Every non-zero answer given, with its reason. */
  readonly errors: { token: string; errcode: number; errmsg: string }[];
  /** Arrival times of authenticated requests per token. */
  readonly arrivals: Map<string, number[]>;
  /** Messages whose msgUuid was seen before (shown again unless honourMsgUuid). */
  readonly repeatedUuids: { count: number };
  /** The next requests get these answers instead of being processed (after the signature check). */
  script(...answers: ScriptedAnswer[]): void;
  /** Until called with undefined, every request gets this answer: an outage of the service. */
  outage(answer: ScriptedAnswer | undefined): void;
  /** Largest number of arrivals for one token inside any window. */
  maxInWindow(token: string): number;
  close(): Promise<void>;
}

export function sign(timestamp: string, secret: string): string {
  return createHmac('sha256', secret).update(`${timestamp}\n${secret}`).digest('base64');
}

export async function startDingTalkContract(opts: DingTalkContractOptions): Promise<DingTalkContract> {
  const now = opts.now ?? Date.now;
  const limit = opts.limit ?? 20;
  const windowMs = opts.windowMs ?? 60_000;
  const throttleMs = opts.throttleMs ?? 10 * windowMs;
  const maxBody = opts.maxBodyBytes ?? 20_000;
  const messages: ReceivedMessage[] = [];
  const errors: { token: string; errcode: number; errmsg: string }[] = [];
  const arrivals = new Map<string, number[]>();
  const throttledUntil = new Map<string, number>();
  const seenUuid = new Set<string>();
  const repeatedUuids = { count: 0 };
  const scripted: ScriptedAnswer[] = [];
  let down: ScriptedAnswer | undefined;

  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const raw = Buffer.concat(chunks);
      const answer = (status: number, errcode: number, errmsg: string, token = '') => {
        if (errcode !== 0) errors.push({ token, errcode, errmsg });
        setTimeout(() => {
          res.writeHead(status, { 'content-type': 'application/json' });
          res.end(JSON.stringify({ errcode, errmsg }));
        }, opts.delayMs ?? 0);
      };
      const url = new URL(req.url ?? '/', 'http://x');
      if (req.method !== 'POST' || url.pathname !== '/robot/send') return answer(404, 404, 'not found');
      const token = url.searchParams.get('access_token') ?? '';
      const secret = opts.robots[token];
      if (secret === undefined) return answer(200, 300001, 'token is not exist', token);
      const timestamp = url.searchParams.get('timestamp') ?? '';
      const signature = url.searchParams.get('sign') ?? '';
      if (!/^\d+$/.test(timestamp) || Math.abs(now() - Number(timestamp)) > 3_600_000) {
        return answer(200, 310000, 'invalid timestamp', token);
      }
      if (signature !== sign(timestamp, secret))
        return answer(
          200,
          310000,
          'sign not match, more: [https://ding-doc.dingtalk.com/doc#/serverapi2/qf2nxq]',
          token,
        );
      const t = now();
      const list = arrivals.get(token) ?? [];
      list.push(t);
      arrivals.set(token, list);
      const next = down ?? scripted.shift();
      if (next) return answer(next.status ?? 200, next.errcode ?? 0, next.errmsg ?? 'scripted', token);
      if ((throttledUntil.get(token) ?? 0) > t || list.filter((x) => x > t - windowMs).length > limit) {
        throttledUntil.set(token, Math.max(throttledUntil.get(token) ?? 0, t + throttleMs));
        return answer(200, 130101, 'send too fast, exceed 20 times per minute', token);
      }
      if (raw.length > maxBody)
        return answer(200, 460101, `message too long, exceed ${maxBody} bytes`, token);
      let body: ReceivedMessage['body'];
      try {
        body = JSON.parse(raw.toString('utf8')) as ReceivedMessage['body'];
      } catch {
        return answer(200, 43004, 'invalid json', token);
      }
      if (
        body.msgtype !== 'markdown' ||
        typeof body.markdown?.title !== 'string' ||
        typeof body.markdown.text !== 'string'
      ) {
        return answer(200, 40035, 'missing parameter markdown.title/markdown.text', token);
      }
      // In markdown, an @mention must also appear in the text.
      for (const m of body.at?.atMobiles ?? [])
        if (!body.markdown.text.includes(`@${m}`))
          return answer(200, 40035, `atMobiles ${m} not in text`, token);
      if (body.msgUuid !== undefined) {
        const k = `${token}/${body.msgUuid}`;
        if (seenUuid.has(k)) {
          repeatedUuids.count++;
          if (opts.honourMsgUuid) return answer(200, 0, 'ok', token);
        }
        seenUuid.add(k);
      }
      messages.push({ token, at: t, body, bytes: raw.length });
      answer(200, 0, 'ok', token);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}/robot/send`,
    messages,
    errors,
    arrivals,
    repeatedUuids,
    script: (...answers) => scripted.push(...answers),
    outage: (a) => {
      down = a;
    },
    maxInWindow(token) {
      const list = [...(arrivals.get(token) ?? [])].sort((a, b) => a - b);
      let best = 0;
      for (let i = 0, j = 0; i < list.length; i++) {
        while (list[i]! - list[j]! >= windowMs) j++;
        best = Math.max(best, i - j + 1);
      }
      return best;
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
