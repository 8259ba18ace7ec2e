/**
 * Kill -9 in the middle of a burst: every notification the bridge answered 2xx for is
 * delivered after the restart, and none twice (counted at the DingTalk contract server).
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { after, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { startDingTalkContract, type DingTalkContract } from './support/dingtalk-contract.ts';
import {
  ROBOTS,
  WEBHOOK_TOKEN,
  payload,
  removeTempDirs,
  tempDir,
  topologyText,
  waitFor,
  writeSecrets,
} from './support/fixtures.ts';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const children: ChildProcess[] = [];
const dirs: string[] = [];
let ding: DingTalkContract | undefined;

after(async () => {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  await ding?.close();
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
  removeTempDirs();
});

async function startProcess(args: string[]): Promise<{ child: ChildProcess; port: number }> {
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', path.join(ROOT, 'alerting/bridge/process.ts'), '--port', '0', ...args],
    {
      cwd: ROOT,
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, LOG_LEVEL: 'warn' },
    },
  );
  children.push(child);
  let stderr = '';
  child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  const port = await new Promise<number>((resolve, reject) => {
    const lines = createInterface({ input: child.stdout! });
    lines.on('line', (l) => {
      const m = /"listening":(\d+)/.exec(l);
      if (m) resolve(Number(m[1]));
    });
    child.on('exit', (code) => reject(new Error(`bridge exited ${code}: ${stderr}`)));
  });
  return { child, port };
}

function exited(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((r) => child.once('exit', () => r()));
}

async function post(port: number, n: number): Promise<number> {
  try {
    const res = await fetch(`http://127.0.0.1:${port}/v1/alerts/dingtalk/sre-dingtalk`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', Authorization: `Bearer ${WEBHOOK_TOKEN}` },
      body: JSON.stringify(payload(n)),
    });
    await res.arrayBuffer();
    return res.status;
  } catch {
    return 0; // connection refused/reset: not accepted, Alertmanager would retry
  }
}

it('after a SIGKILL mid-burst and a restart, every accepted notification is delivered exactly once', async (t) => {
  ding = await startDingTalkContract({ robots: ROBOTS, windowMs: 1_000, limit: 20, delayMs: 25 });
  const work = tempDir('crash');
  dirs.push(work);
  const secrets = path.join(work, 'secrets');
  writeSecrets(secrets);
  const topo = path.join(work, 'topology.yaml');
  writeFileSync(topo, topologyText({ dingtalkUrl: ding.url }));
  const args = [
    '--outbox',
    path.join(work, 'outbox'),
    '--topology',
    topo,
    '--secrets',
    secrets,
    '--window-ms',
    '1000',
    '--retry-base-ms',
    '50',
  ];

  const N = 400;
  const accepted = new Set<number>();
  const notAccepted = new Set<number>();
  const first = await startProcess(args);
  let next = 0;
  let killed = false;
  // 8 concurrent senders, like Alertmanager's parallel notifications; kill once deliveries are under way.
  await Promise.all(
    Array.from({ length: 8 }, async () => {
      while (next < N) {
        const n = next++;
        const status = killed ? 0 : await post(first.port, n);
        (status >= 200 && status < 300 ? accepted : notAccepted).add(n);
        if (!killed && accepted.size >= N / 2 && ding!.messages.length >= 2) {
          killed = true;
          first.child.kill('SIGKILL');
        }
      }
    }),
  );
  assert.ok(killed, 'the bridge was killed during the burst');
  await exited(first.child);
  const deliveredBeforeRestart = ding.messages.length;

  const second = await startProcess(args);
  // Alertmanager retries what was not answered 2xx; it may also repeat accepted ones whose answer it lost.
  const resend = [...notAccepted, ...[...accepted].slice(0, 50)];
  for (const n of resend) assert.ok([200, 202].includes(await post(second.port, n)), `resend ${n}`);

  const count = () => {
    const seen = new Map<number, number>();
    for (const m of ding!.messages) {
      for (const name of new Set(m.body.markdown!.text.match(/BurstAlert\d{4}/g) ?? [])) {
        const n = Number(name.slice('BurstAlert'.length));
        seen.set(n, (seen.get(n) ?? 0) + 1);
      }
    }
    return seen;
  };
  await waitFor(() => count().size === N, 60_000, 'all notifications delivered after restart');
  // Give a stray duplicate the chance to show up before judging.
  await new Promise((r) => setTimeout(r, 1_500));
  const seen = count();
  const twice = [...seen].filter(([, c]) => c > 1).map(([n]) => n);
  assert.deepEqual(twice, [], 'no notification delivered twice');
  assert.equal(seen.size, N);
  assert.deepEqual(
    ding.errors.filter((e) => e.errcode === 130101),
    [],
    'never throttled',
  );

  const metrics = await (await fetch(`http://127.0.0.1:${second.port}/metrics`)).text();
  assert.match(metrics, /fedstack_alert_bridge_dropped_total\{channel="dingtalk"\} 0/);
  t.diagnostic(
    `accepted before kill ${accepted.size}, refused ${notAccepted.size}, messages before kill ${deliveredBeforeRestart}, after ${ding.messages.length}, msgUuid repeats suppressed ${ding.duplicatesSuppressed.count}`,
  );
  second.child.kill('SIGTERM');
  await exited(second.child);
});
