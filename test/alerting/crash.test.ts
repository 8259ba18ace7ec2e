/**
 * SIGKILL of the real service (`fedstack serve --outbox-dir --secrets-dir`, the process that
 * runs the bridge in production) at random points of a burst, 20 times, against the strict
 * DingTalk stand-in (signature, 20 per window per robot counted by arrival, errcode 130101 and
 * a 10-window penalty, 20,000 bytes, msgUuid NOT deduplicated). DingTalk's 60 s window is scaled
 * down on both sides (`--dingtalk-window-ms`, the stand-in's `windowMs`) to 5 s (one robot) and
 * 6 s (two robots): short enough for a test, long enough that the bridge's own cost per message
 * (four fsyncs and a request, much slower on a loaded machine) stays small against a window.
 * The stand-in answers after 2 ms. A restart (~2 s) is shorter than a window, so the persisted
 * window decides what may go out first after it.
 *
 * Two lanes run side by side (one robot, two robots), 10 kills each. In each lane Alertmanager is
 * played by 8 senders that retry every group until it is answered 2xx, and post 5% of the
 * accepted ones again (an answer lost on the way back). Each group carries 26 alerts (> 10 kB),
 * so each is a message of its own and the burst keeps the robots at their limit: before each
 * kill the lane tops the backlog up to a window's worth, so every kill hits a burst. Kills
 * land 50-1000 ms after the restart listens: while it resumes the outbox, or mid-send.
 *
 * Required, per lane: every group delivered (0 lost); no 130101 and never more than 20 arrivals
 * per robot in any window; duplicates (groups shown twice) counted and within the documented
 * bound: only a part sent again with its msgUuid (a send in doubt), at most one per kill (one
 * receiver, one message in flight); drain time from the first post to the last message within 10% of
 * the minimum the limit allows for those messages: none before its group was accepted, none
 * while the process was down (from each kill to the restart's "listening"), 20 per window per
 * robot (computed greedily).
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { after, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { freePort } from '../../deploy/local/process.ts';
import { startDingTalkContract, type DingTalkContract } from './support/dingtalk-contract.ts';
import {
  ROBOTS,
  WEBHOOK_TOKEN,
  payload,
  removeTempDirs,
  tempDir,
  topologyText,
  writeSecrets,
} from './support/fixtures.ts';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const LIMIT = 20;
const KILLS_PER_LANE = 10;
const SENDERS = 8;
const ALERTS_PER_GROUP = 26;

const children = new Set<ChildProcess>();
const contracts: DingTalkContract[] = [];
after(async () => {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  for (const d of contracts) await d.close();
  removeTempDirs();
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

interface Serve {
  readonly child: ChildProcess;
  readonly readyAt: number;
  /** Sends the restart found in doubt (from its log), once it has resumed. */
  inDoubt: number;
  exited: Promise<void>;
  /** Its warnings and errors, for a failure message. */
  readonly problems: string[];
}

async function startServe(args: readonly string[]): Promise<Serve> {
  const child = spawn(process.execPath, [path.join(ROOT, 'bin/fedstack.js'), 'serve', ...args], {
    cwd: ROOT,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.add(child);
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  let stderr = '';
  child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  const serve = { child, readyAt: 0, inDoubt: 0, exited, problems: [] as string[] };
  await new Promise<void>((resolve, reject) => {
    createInterface({ input: child.stdout! }).on('line', (l) => {
      if (l.startsWith('fedstack service at ')) resolve();
      if (/"level":[45]0/.test(l)) serve.problems.push(l);
      const sends = /"sends":(\d+).*sends left unanswered/.exec(l);
      if (sends) serve.inDoubt += Number(sends[1]);
    });
    void exited.then(() => reject(new Error(`fedstack serve exited before listening: ${stderr}`)));
  });
  return Object.assign(serve, { readyAt: Date.now() });
}

/**
 * The earliest time the last of these messages could have arrived at DingTalk: each no sooner
 * than its group was accepted (`release`, sorted), at most 20 per window per robot, none while
 * the process was down (greedy in release order, which is optimal for unit jobs).
 */
function minimumEnd(
  release: readonly number[],
  robots: number,
  windowMs: number,
  down: readonly [number, number][],
): number {
  const sent: number[][] = Array.from({ length: robots }, () => []);
  let t = -Infinity;
  for (const r of release) {
    t = Math.max(t, r);
    for (;;) {
      const freeAt = sent.map((s) => (s.length < LIMIT ? t : Math.max(t, s[s.length - LIMIT]! + windowMs)));
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

async function lane(robots: 1 | 2, windowMs: number, log: (s: string) => void) {
  const ding = await startDingTalkContract({ robots: ROBOTS, windowMs, limit: LIMIT, delayMs: 2 });
  contracts.push(ding);
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

  // Alertmanager: every group is retried until answered 2xx; 5% are posted again after a 2xx.
  const queue: number[] = [];
  /** Group → when its first 2xx came back. */
  const accepted = new Map<number, number>();
  let posted = 0;
  let repeats = 0;
  let stop = false;
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
        assert.ok(status === 0 || status >= 500, `group ${n} answered ${status}`);
        await sleep(50);
        queue.push(n);
      }
    }
  });

  const shown = new Map<number, number>();
  let counted = 0;
  const delivered = () => {
    for (; counted < ding.messages.length; counted++)
      for (const name of new Set(
        ding.messages[counted]!.body.markdown!.text.match(/BurstAlert\d{4}/g) ?? [],
      )) {
        const n = Number(name.slice('BurstAlert'.length));
        shown.set(n, (shown.get(n) ?? 0) + 1);
      }
    return shown.size;
  };

  // A window's worth of messages waiting at each kill: the robots stay at their limit.
  const backlogTarget = LIMIT * robots;
  const t0 = Date.now();
  topUp(1.5 * LIMIT * robots);
  let serve = await startServe(args);
  const down: [number, number][] = [[t0, serve.readyAt]];
  let inDoubt = 0;
  for (let k = 0; k < KILLS_PER_LANE; k++) {
    await sleep(50 + Math.random() * 950);
    const backlog = posted - delivered();
    assert.ok(backlog > 0, `kill ${k + 1} hits a burst (backlog ${backlog})`);
    if (k < KILLS_PER_LANE - 1 && backlog < backlogTarget) topUp(backlogTarget - backlog);
    const killAt = Date.now();
    inDoubt += serve.inDoubt;
    serve.child.kill('SIGKILL');
    await serve.exited;
    children.delete(serve.child);
    serve = await startServe(args);
    down.push([killAt, serve.readyAt]);
  }
  const deadline = Date.now() + 60_000;
  while (delivered() < posted || queue.length > 0 || accepted.size < posted) {
    assert.ok(
      Date.now() < deadline,
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
  serve.child.kill('SIGTERM');
  await serve.exited;
  children.delete(serve.child);

  // Every request DingTalk received takes a slot, a duplicate too: released with its group.
  const release = ding.messages
    .map((m) => accepted.get(Number(/BurstAlert(\d{4})/.exec(m.body.markdown!.text)![1]))!)
    .sort((a, b) => a - b);
  const arrivals = [...ding.arrivals.values()].reduce((n, a) => n + a.length, 0);
  const minimum = minimumEnd(release, robots, windowMs, down) - t0;
  const drain = lastAt - t0;
  const twice = [...shown].filter(([, c]) => c > 1).map(([n]) => n);
  const downMs = down.reduce((n, [a, b]) => n + b - a, 0);
  log(
    `${robots} robot(s): ${posted} groups (${repeats} posted again after a 2xx), ${ding.messages.length} messages, ` +
      `${arrivals} requests, ${KILLS_PER_LANE} kills, ${inDoubt} sends in doubt, ${twice.length} shown twice ` +
      `(${ding.repeatedUuids.count} repeated msgUuids), ` +
      `drain ${drain} ms vs minimum ${minimum} ms (${((drain / minimum - 1) * 100).toFixed(1)}% over; down ${downMs} ms)`,
  );
  return { ding, posted, shown, twice, inDoubt, drain, minimum, metrics, repeated: ding.repeatedUuids.count };
}

it('SIGKILL of `fedstack serve` at 20 random points of a burst: nothing lost, never throttled, duplicates within the bound, drain within 10% of the minimum', async (t) => {
  const lanes = await Promise.all([
    lane(1, 5_000, (s) => t.diagnostic(s)),
    lane(2, 6_000, (s) => t.diagnostic(s)),
  ]);
  for (const [i, r] of lanes.entries()) {
    const robots = i + 1;
    assert.equal(r.shown.size, r.posted, `lane ${robots}: every group delivered`);
    assert.deepEqual(
      r.ding.errors.map((e) => e.errcode),
      [],
      `lane ${robots}: no errcode at all, in particular no 130101`,
    );
    for (const token of Object.keys(ROBOTS).slice(0, robots))
      assert.ok(r.ding.maxInWindow(token) <= LIMIT, `lane ${robots}: ${token} within ${LIMIT} per window`);
    // A group shown twice must be the same part sent again (a send in doubt), never a re-merge.
    assert.ok(
      r.twice.length <= r.repeated,
      `lane ${robots}: ${r.twice.length} shown twice, ${r.repeated} repeated msgUuids`,
    );
    assert.ok(
      r.repeated <= KILLS_PER_LANE,
      `lane ${robots}: at most one message per kill shown twice (${r.repeated})`,
    );
    assert.ok(
      r.drain <= 1.1 * r.minimum,
      `lane ${robots}: drain ${r.drain} ms within 10% of ${r.minimum} ms`,
    );
    assert.match(r.metrics, /fedstack_alert_bridge_dropped_total\{channel="dingtalk"\} 0/);
    assert.match(r.metrics, /fedstack_alert_bridge_dead_letters_total\{channel="dingtalk"\} 0/);
  }
});
