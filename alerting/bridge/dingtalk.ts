/**
 * DingTalk custom robot: signing (加签), markdown rendering grouped by region/meta-cluster,
 * packing under the body limit, and the answer's errcode. No I/O except through HttpClient.
 */
import { createHmac } from 'node:crypto';
import { LABEL } from '../../common/conventions.ts';
import type { Secret } from '../../common/secret.ts';
import type { HttpClient } from './http.ts';
import type { WebhookAlert, WebhookPayload } from './webhook.ts';

export const DINGTALK_SEND_URL = 'https://oapi.dingtalk.com/robot/send';
/** DingTalk rejects bodies over 20,000 bytes (errcode 460101). */
export const DINGTALK_MAX_BODY_BYTES = 20_000;

export const DINGTALK_ERRCODE = {
  ok: 0,
  /** send too fast, exceed 20 times per minute (the robot is then throttled ~10 minutes). */
  tooFast: 130101,
  /** keywords not in content / sign not match / ip not in whitelist. */
  securityMismatch: 310000,
  /** message too long, exceed 20000 bytes. */
  tooLong: 460101,
  /** webhook over limit (organisation call quota). */
  overLimit: 90030,
} as const;

/** sign = base64(HMAC-SHA256(key = secret, timestamp + "\n" + secret)), not yet URL-encoded. */
export function dingtalkSign(timestampMs: number, secret: string): string {
  return createHmac('sha256', secret).update(`${timestampMs}\n${secret}`).digest('base64');
}

/** The robot URL with access_token, timestamp and sign, each URL-encoded exactly once. */
export function signedUrl(base: string, token: string, secret: string, timestampMs: number): string {
  const sep = base.includes('?') ? '&' : '?';
  return `${base}${sep}access_token=${encodeURIComponent(token)}&timestamp=${timestampMs}&sign=${encodeURIComponent(dingtalkSign(timestampMs, secret))}`;
}

export interface DingTalkMessage {
  readonly msgtype: 'markdown';
  readonly markdown: { readonly title: string; readonly text: string };
  readonly at: {
    readonly atMobiles: readonly string[];
    readonly atUserIds: readonly string[];
    readonly isAtAll: false;
  };
  /** Idempotency key: a part re-sent after a crash carries the same one. */
  readonly msgUuid: string;
}

export interface Mentions {
  readonly mobiles: readonly string[];
  readonly userIds: readonly string[];
}

const MAX_LINE_CHARS = 1_000;
const MAX_SUMMARY_CHARS = 300;

function truncate(s: string, max: number): string {
  return s.length <= max ? s : `${s.slice(0, max - 1)}…`;
}

/** Markdown-significant characters in label/annotation values would break the layout. */
function md(s: string): string {
  return s.replace(/([\\`*_[\]#|<>])/g, '\\$1').replace(/\s+/g, ' ');
}

function where(a: WebhookAlert): string {
  const l = a.labels;
  const parts = [l[LABEL.bigRegion], l[LABEL.region], l[LABEL.metaCluster]].filter(
    (x): x is string => x !== undefined && x !== '',
  );
  return parts.length > 0 ? parts.join(' / ') : '(no region)';
}

function alertLine(a: WebhookAlert): string {
  const summary = a.annotations.summary ?? a.annotations.description ?? '';
  const sev = a.labels.severity ? `**${md(a.labels.severity)}** ` : '';
  const cluster = a.labels[LABEL.clusterId] ? ` cluster ${md(a.labels[LABEL.clusterId]!)}` : '';
  const since =
    a.status === 'firing'
      ? ` since ${a.startsAt.slice(0, 16).replace('T', ' ')} UTC`
      : ` resolved ${a.endsAt.slice(0, 16).replace('T', ' ')} UTC`;
  const link = a.generatorURL
    ? ` [source](${a.generatorURL.replace(/\s/g, '%20').replace(/\)/g, '%29')})`
    : '';
  return truncate(
    `- ${a.status === 'firing' ? '🔥' : '✅'} ${sev}${md(a.labels.alertname ?? '(no alertname)')}${cluster}: ${md(truncate(summary, MAX_SUMMARY_CHARS))}${since}${link}`,
    MAX_LINE_CHARS,
  );
}

/** One notification as markdown lines: a heading, then its alerts grouped by region/meta-cluster. */
export function notificationLines(p: WebhookPayload): string[] {
  const firing = p.alerts.filter((a) => a.status === 'firing').length;
  const name = p.commonLabels.alertname ?? p.groupLabels.alertname ?? `${p.alerts.length} alerts`;
  const lines = [`### ${p.status === 'firing' ? `FIRING:${firing}` : 'RESOLVED'} ${md(name)}`];
  const groups = new Map<string, WebhookAlert[]>();
  for (const a of p.alerts) {
    const k = where(a);
    groups.set(k, [...(groups.get(k) ?? []), a]);
  }
  for (const k of [...groups.keys()].sort()) {
    lines.push(`#### ${md(k)}`);
    for (const a of groups.get(k)!) lines.push(alertLine(a));
  }
  if (p.truncatedAlerts > 0) lines.push(`(${p.truncatedAlerts} more alerts not shown)`);
  return lines;
}

/** Bytes a string adds inside a JSON string (escapes included). */
function jsonBytes(s: string): number {
  return Buffer.byteLength(JSON.stringify(s)) - 2;
}

export interface PackInput {
  readonly id: string;
  readonly lines: readonly string[];
  readonly firing: boolean;
}

export interface PackedPart {
  readonly ids: readonly string[];
  readonly text: string;
  readonly title: string;
  readonly mention: boolean;
}

const SEP = '\n\n';

function mentionFooter(m: Mentions): string {
  const tags = [...m.mobiles, ...m.userIds].map((x) => `@${x}`);
  return tags.length > 0 ? `${SEP}on call: ${tags.join(' ')}` : '';
}

/** Size of the whole request body of a message. */
export function messageBytes(msg: DingTalkMessage): number {
  return Buffer.byteLength(JSON.stringify(msg));
}

export function buildMessage(part: PackedPart, mentions: Mentions, msgUuid: string): DingTalkMessage {
  const m = part.mention ? mentions : { mobiles: [], userIds: [] };
  return {
    msgtype: 'markdown',
    markdown: { title: part.title, text: part.text + mentionFooter(m) },
    at: { atMobiles: m.mobiles, atUserIds: m.userIds, isAtAll: false },
    msgUuid,
  };
}

/**
 * Packs the leading notifications into as few messages as fit under maxBytes (whole request
 * body, mentions included). Takes notifications in order and stops before one that does not
 * fit, so the caller keeps the rest for the next message; a single notification too large for
 * one message is split across several parts. Returns the parts and how many inputs it took.
 */
export function packMessages(
  inputs: readonly PackInput[],
  mentions: Mentions,
  maxBytes: number,
): { parts: PackedPart[]; taken: number } {
  const probe = buildMessage(
    { ids: [], text: '', title: 'x'.repeat(64), mention: true },
    mentions,
    'u'.repeat(64),
  );
  const budget = maxBytes - messageBytes(probe) - 64;
  const cost = (lines: readonly string[]) => lines.reduce((n, l) => n + jsonBytes(l) + 4, 0);
  const title = (ids: readonly string[], firing: boolean) =>
    `${firing ? 'FIRING' : 'RESOLVED'}: ${ids.length} notification${ids.length === 1 ? '' : 's'}`;

  const first = inputs[0];
  if (first === undefined) return { parts: [], taken: 0 };
  if (cost(first.lines) > budget) {
    // One notification larger than a message: split it by lines, each part self-describing.
    const parts: PackedPart[] = [];
    let cur: string[] = [];
    let used = 0;
    for (const line of first.lines) {
      const c = jsonBytes(line) + 4;
      if (used + c > budget && cur.length > 0) {
        parts.push({ ids: [first.id], text: cur.join(SEP), title: '', mention: first.firing });
        cur = [];
        used = 0;
      }
      cur.push(line);
      used += c;
    }
    if (cur.length > 0)
      parts.push({ ids: [first.id], text: cur.join(SEP), title: '', mention: first.firing });
    return {
      parts: parts.map((p, i) => ({
        ...p,
        title: `${title([first.id], first.firing)} (part ${i + 1}/${parts.length})`,
      })),
      taken: 1,
    };
  }
  const taken: PackInput[] = [];
  let used = 0;
  for (const input of inputs) {
    const c = cost(input.lines) + (taken.length > 0 ? 8 : 0);
    if (used + c > budget) break;
    taken.push(input);
    used += c;
  }
  const firing = taken.some((t) => t.firing);
  const text = taken.map((t) => t.lines.join(SEP)).join(`${SEP}---${SEP}`);
  return {
    parts: [
      {
        ids: taken.map((t) => t.id),
        text,
        title: title(
          taken.map((t) => t.id),
          firing,
        ),
        mention: firing,
      },
    ],
    taken: taken.length,
  };
}

export type SendOutcome =
  | { readonly ok: true }
  | {
      readonly ok: false;
      readonly throttled: boolean;
      readonly reason: string;
      /** What went wrong, bounded for a metric label: errcode:<n>, http:<status>, invalid_answer, network. */
      readonly code: string;
    };

/** POSTs one message to a robot; an unknown non-zero errcode is a failure, never a success. */
export async function sendDingTalk(opts: {
  http: HttpClient;
  url: string | undefined;
  token: Secret;
  secret: Secret;
  timestampMs: number;
  message: DingTalkMessage;
  timeoutMs: number;
}): Promise<SendOutcome> {
  const url = signedUrl(
    opts.url ?? DINGTALK_SEND_URL,
    opts.token.reveal(),
    opts.secret.reveal(),
    opts.timestampMs,
  );
  let res;
  try {
    res = await opts.http({
      url,
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify(opts.message),
      timeoutMs: opts.timeoutMs,
    });
  } catch (e) {
    // The URL carries the token: never echo it.
    return {
      ok: false,
      throttled: false,
      reason: `request failed: ${(e as Error).name}: ${(e as Error).message.replace(/access_token=[^&\s]*/g, 'access_token=<secret>')}`,
      code: 'network',
    };
  }
  if (res.status !== 200)
    return { ok: false, throttled: res.status === 429, reason: `HTTP ${res.status}`, code: `http:${res.status}` };
  let answer: { errcode?: unknown; errmsg?: unknown };
  try {
    answer = JSON.parse(res.body) as { errcode?: unknown; errmsg?: unknown };
  } catch {
    return { ok: false, throttled: false, reason: 'answer is not JSON', code: 'invalid_answer' };
  }
  if (answer.errcode === DINGTALK_ERRCODE.ok) return { ok: true };
  const code = typeof answer.errcode === 'number' ? answer.errcode : NaN;
  return {
    ok: false,
    throttled: code === DINGTALK_ERRCODE.tooFast || code === DINGTALK_ERRCODE.overLimit,
    reason: `errcode ${String(answer.errcode)}: ${String(answer.errmsg ?? '')}`,
    code: Number.isInteger(code) ? `errcode:${code}` : 'invalid_answer',
  };
}
