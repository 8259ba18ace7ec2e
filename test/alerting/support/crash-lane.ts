/**
 * One lane of the crash trial, shared by test/alerting/crash.test.ts (correctness) and
 * bench/bridge-crash.ts (the drain-time target): the real service (`fedstack serve
 * --outbox-dir --secrets-dir`, the process that runs the bridge in production) is SIGKILLed at
 * random points of a burst and restarted on the same outbox, against the strict DingTalk
 * stand-in (signature, 20 per window per robot counted by arrival, errcode 130101 and a
 * 10-window penalty, 20,000 bytes, msgUuid NOT deduplicated). DingTalk's 60 s window is scaled
 * down on both sides (`--dingtalk-window-ms`, the stand-in's `windowMs`); the stand-in answers
 * after 2 ms.
 *
 * Alertmanager is played by 8 senders that retry every group until it is answered 2xx (a
 * refused or reset connection, a 5xx), and post 5% of the accepted ones again (an answer lost
 * on the way back). Each group carries 26 alerts (> 10 kB), so each is a message of its own and
 * the burst keeps the robots at their limit: before each kill the lane tops the backlog up to a
 * window's worth (by default), so every kill hits a burst. One kill in five lands within 300 ms
 * of the restart listening (often while it loads the outbox and the journal), the others at a
 * random time (by default 50-1000 ms) after it logged that it resumed delivering (mid-send).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { freePort } from '../../../deploy/local/process.ts';
import { startDingTalkContract } from './dingtalk-contract.ts';
import { ROBOTS, WEBHOOK_TOKEN, payload, tempDir, topologyText, writeSecrets } from './fixtures.ts';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
export const DINGTALK_LIMIT = 20;
const SENDERS = 8;
const ALERTS_PER_GROUP = 26;
/** What a send may take on a loaded machine, on top of the wait the window imposes. */
const SEND_ALLOWANCE_MS = 1_500;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

interface Serve {
  readonly child: ChildProcess;
  readonly exited: Promise<void>;
  /** When the bridge had loaded its outbox and journal and could send (its log says so). */
  resumedAt: number | undefined;
  /** Settles when it resumed (true) or exited before that (false). */
  readonly resumed: Promise<boolean>;
  /** Sends the restart found in doubt (from its log). */
  inDoubt: number;
  /** Its warnings and errors, for a failure message. */
  readonly problems: string[];
}

async function startServe(args: readonly string[]): Promise<Serve> {
  const child = spawn(process.execPath, [path.join(ROOT, 'bin/fedstack.js'), 'serve', ...args], {
    cwd: ROOT,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  let stderr = '';
  child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  let onResumed: (ok: boolean) => void = () => undefined;
  const resumed = new Promise<boolean>((r) => (onResumed = r));
  void exited.then(() => onResumed(false));
  const serve: Serve = { child, exited, resumedAt: undefined, resumed, inDoubt: 0, problems: [] };
  await new Promise<void>((resolve, reject) => {
    createInterface({ input: child.stdout! }).on('line', (l) => {
      if (l.startsWith('fedstack service at ')) resolve();
      if (l.includes('alert bridge: outbox resumed')) {
        serve.resumedAt = Date.now();
        onResumed(true);
      }
      if (/"level":[45]0/.test(l)) serve.problems.push(l);
      const sends = /"sends":(\d+).*sends left unanswered/.exec(l);
      if (sends) serve.inDoubt += Number(sends[1]);
    });
    void exited.then(() => reject(new Error(`fedstack serve exited before listening: ${stderr}`)));
  });
  return serve;
}

/**
 * The earliest time the last of these messages could have arrived at DingTalk: each no sooner
 * than its group was accepted (`release`, sorted), at most 20 per window per robot, none while
 * the bridge could not send (greedy in release order, which is optimal for unit jobs).
 */
export function minimumEnd(
  release: readonly number[],
  robots: number,
  windowMs: number,
  down: readonly (readonly [number, number])[],
): number {
  const sent: number[][] = Array.from({ length: robots }, () => []);
  let t = -Infinity;
  for (const r of release) {
    t = Math.max(t, r);
    for (;;) {
      const freeAt = sent.map((s) =>
        s.length < DINGTALK_LIMIT ? t : Math.max(t, s[s.length - DINGTALK_LIMIT]! + windowMs),
      );
      t = Math.min(...freeAt);
      const gap = down.find(([a, b]) => t >= a && t < b);
      if (!gap) {
        sent[freeAt.indexOf(t)]!.push(t);
        break;
      }
      t = gap[1];
    }
  }
  return t;
}

export interface CrashLaneResult {
  readonly robots: number;
  readonly windowMs: number;
  readonly kills: number;
  /** Groups posted, and how many were posted again after a 2xx. */
  readonly posted: number;
  readonly repeats: number;
  /** Group → how many times DingTalk showed it. */
  readonly shown: ReadonlyMap<number, number>;
  readonly repeatedUuids: number;
  readonly inDoubt: number;
  readonly errcodes: readonly number[];
  readonly maxInWindow: Readonly<Record<string, number>>;
  /** From the first post to the last message, and the minimum the limit allowed (ms). */
  readonly drain: number;
  readonly minimum: number;
  /** Stretches of a window and more in which the bridge could send and had work, yet sent nothing. */
  readonly idleGaps: readonly { from: number; ms: number }[];
  /** The last process's /metrics. */
  readonly metrics: string;
  readonly summary: string;
}

export async function runCrashLane(o: {
  robots: 1 | 2;
  windowMs: number;
  kills: number;
  /** How long after a restart resumed the next kill comes, at random (default 50-1000 ms). */
  upMs?: readonly [number, number];
  /** Windows' worth of messages waiting at each kill (default 1). */
  backlogWindows?: number;
}): Promise<CrashLaneResult> {
  const { robots, windowMs, kills } = o;
  const [upMin, upMax] = o.upMs ?? [50, 1_000];
  const ding = await startDingTalkContract({ robots: ROBOTS, windowMs, limit: DINGTALK_LIMIT, delayMs: 2 });
  const work = tempDir(`crash-${robots}`);
  const secrets = path.join(work, 'secrets');
  writeSecrets(secrets);
  const topology = path.join(work, 'topology.yaml');
  writeFileSync(topology, topologyText({ dingtalkUrl: ding.url, robots }));
  const port = await freePort();
  const args = [
    `--topology-file=${topology}`,
    `--port=${port}`,
    `--outbox-dir=${path.join(work, 'outbox')}`,
    `--secrets-dir=${secrets}`,
    `--dingtalk-window-ms=${windowMs}`,
  ];
  const url = `http://127.0.0.1:${port}/v1/alerts/dingtalk/sre-dingtalk`;
  const summary = 'kube-apiserver error ratio above 5% '.repeat(9);

  const queue: number[] = [];
  /** Group → when its first 2xx came back. */
  const accepted = new Map<number, number>();
  let posted = 0;
  let repeats = 0;
  let stop = false;
  let failure: Error | undefined;
  const topUp = (n: number) => {
    for (let i = 0; i < n; i++) queue.push(posted++);
  };
  const post = async (n: number): Promise<number> => {
    try {
      const res = await fetch(url, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json', Authorization: `Bearer ${WEBHOOK_TOKEN}` },
        body: JSON.stringify(payload(n, { alerts: ALERTS_PER_GROUP, summary })),
      });
      await res.arrayBuffer();
      return res.status;
    } catch {
      return 0; // refused or reset: the process is down
    }
  };
  const senders = Array.from({ length: SENDERS }, async () => {
    while (!stop) {
      const n = queue.shift();
      if (n === undefined) {
        await sleep(10);
        continue;
      }
      const status = await post(n);
      if (status === 200 || status === 202) {
        if (!accepted.has(n) && Math.random() < 0.05) {
          repeats++;
          setTimeout(() => queue.push(n), Math.random() * 500);
        }
        if (!accepted.has(n)) accepted.set(n, Date.now());
      } else {
        if (status !== 0 && status < 500) failure ??= new Error(`group ${n} answered ${status}`);
        await sleep(50);
        queue.push(n);
      }
    }
  });

  const shown = new Map<number, number>();
  const firstShown = new Map<number, number>();
  let counted = 0;
  const delivered = () => {
    for (; counted < ding.messages.length; counted++) {
      const m = ding.messages[counted]!;
      for (const name of new Set(m.body.markdown!.text.match(/BurstAlert\d{4}/g) ?? [])) {
        const n = Number(name.slice('BurstAlert'.length));
        shown.set(n, (shown.get(n) ?? 0) + 1);
        if (!firstShown.has(n)) firstShown.set(n, m.at);
      }
    }
    return shown.size;
  };

  const backlogTarget = (o.backlogWindows ?? 1) * DINGTALK_LIMIT * robots;
  const t0 = Date.now();
  topUp(1.5 * backlogTarget);
  let serve: Serve | undefined;
  try {
    serve = await startServe(args);
    /** From a resumed outbox to the kill: when the bridge could send. */
    const up: [number, number][] = [];
    let inDoubt = 0;
    for (let k = 0; k < kills; k++) {
      if (Math.random() < 0.2) await sleep(Math.random() * 300);
      else if (await serve.resumed) await sleep(upMin + Math.random() * (upMax - upMin));
      let backlog = posted - delivered();
      if (backlog <= 0) {
        // It drained everything while up (a slow start under load, many groups merged per
        // message): a new burst, and the kill waits until some of it is in, so it hits one.
        const from = posted;
        topUp(backlogTarget);
        const until = Date.now() + 10_000;
        while (Date.now() < until && ![...accepted.keys()].some((n) => n >= from)) await sleep(10);
        backlog = posted - delivered();
        if (backlog <= 0) throw new Error(`kill ${k + 1} would not hit a burst (backlog ${backlog})`);
      }
      if (k < kills - 1 && backlog < backlogTarget) topUp(backlogTarget - backlog);
      const killAt = Date.now();
      serve.child.kill('SIGKILL');
      await serve.exited;
      inDoubt += serve.inDoubt;
      if (serve.resumedAt !== undefined) up.push([serve.resumedAt, killAt]);
      serve = await startServe(args);
    }
    if (!(await serve.resumed)) throw new Error('the last restart did not resume');
    up.push([serve.resumedAt!, Infinity]);
    const deadline = Date.now() + 120_000;
    while (delivered() < posted || queue.length > 0 || accepted.size < posted) {
      if (failure) throw failure;
      if (Date.now() > deadline)
        throw new Error(
          `delivered ${delivered()} of ${posted}; errcodes ${JSON.stringify(ding.errors.slice(0, 3))}; bridge log: ${serve.problems.slice(-5).join('\n')}`,
        );
      await sleep(20);
    }
    const lastAt = Math.max(...ding.messages.map((m) => m.at));
    stop = true;
    await Promise.all(senders);
    await sleep(300); // a stray duplicate would show now
    delivered();
    const metrics = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
    inDoubt += serve.inDoubt;

    const down = up.map(([start], i): [number, number] => [i === 0 ? t0 : up[i - 1]![1], start]);
    // Every request DingTalk received takes a slot, a duplicate too: released with its group.
    const release = ding.messages
      .map((m) => accepted.get(Number(/BurstAlert(\d{4})/.exec(m.body.markdown!.text)![1]))!)
      .sort((a, b) => a - b);
    const minimum = minimumEnd(release, robots, windowMs, down) - t0;
    const drain = lastAt - t0;
    const arrivals = [...ding.arrivals.values()].flat().sort((a, b) => a - b);
    const waiting = (t: number) =>
      [...accepted].some(([n, at]) => at <= t && (firstShown.get(n) ?? Infinity) > t);
    const idleGaps: { from: number; ms: number }[] = [];
    for (const [s, e] of up) {
      const end = Math.min(e, lastAt);
      const marks = [s, ...arrivals.filter((a) => a > s && a < end), end];
      for (let i = 1; i < marks.length; i++) {
        const gap = marks[i]! - marks[i - 1]!;
        if (gap > windowMs + SEND_ALLOWANCE_MS && waiting(marks[i - 1]!))
          idleGaps.push({ from: marks[i - 1]! - t0, ms: gap });
      }
    }
    const twice = [...shown.values()].filter((c) => c > 1).length;
    const downMs = down.reduce((n, [a, b]) => n + b - a, 0);
    return {
      robots,
      windowMs,
      kills,
      posted,
      repeats,
      shown,
      repeatedUuids: ding.repeatedUuids.count,
      inDoubt,
      errcodes: ding.errors.map((e) => e.errcode),
      maxInWindow: Object.fromEntries(
        Object.keys(ROBOTS)
          .slice(0, robots)
          .map((t) => [t, ding.maxInWindow(t)]),
      ),
      drain,
      minimum,
      idleGaps,
      metrics,
      summary:
        `${robots} robot(s), window ${windowMs} ms: ${posted} groups (${repeats} posted again after a 2xx), ` +
        `${ding.messages.length} messages, ${arrivals.length} requests, ${kills} kills, ${inDoubt} sends in doubt, ` +
        `${twice} shown twice (${ding.repeatedUuids.count} repeated msgUuids), drain ${drain} ms vs minimum ` +
        `${minimum} ms (${((drain / minimum - 1) * 100).toFixed(1)}% over; bridge unable to send ${downMs} ms)`,
    };
  } finally {
    stop = true;
    if (serve && serve.child.exitCode === null && serve.child.signalCode === null) {
      serve.child.kill('SIGTERM');
      const t = setTimeout(() => serve!.child.kill('SIGKILL'), 5_000);
      await serve.exited;
      clearTimeout(t);
    }
    await Promise.all(senders);
    await ding.close();
  }
}
