/**
 * Every long-running command stops cleanly on a real SIGTERM sent to a real
 * `node bin/fedstack.js <cmd>` process, running or still starting, and leaves no process
 * behind. Each command runs in its own process group (detached), so "nothing left" is checked
 * over the whole group: whatever it started, directly or not.
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync, chmodSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, describe, it } from 'node:test';
import { freePort, waitFor } from '../../deploy/local/process.ts';

const BIN = fileURLToPath(new URL('../../bin/fedstack.js', import.meta.url));
const work = mkdtempSync(join(tmpdir(), 'fedstack-signals-'));
after(() => rmSync(work, { recursive: true, force: true }));

const TOPOLOGY = join(work, 'tiny.yaml');
writeFileSync(
  TOPOLOGY,
  `apiVersion: fedstack/v1
kind: Topology
metadata: { name: tiny }
central: { replicas: [{ name: central-a, zone: z1 }] }
alertmanager: { replicas: [{ name: am-0, zone: z1 }] }
bigRegions:
  - name: china
    cascade: { endpoint: cascade.example.com:9090 }
    regions:
      - name: cn-hangzhou
        metaClusters:
          - { name: mc-a, endpoint: 10.0.0.1:9090, guestClusters: 1, nodes: 1 }
`,
);

/** PIDs whose process group is `pgid` (from /proc: every process, however it was started). */
function processGroup(pgid: number): number[] {
  const pids: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      // Fields after the command name (which may hold spaces) start after the last ')'.
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      if (Number(fields[2]) === pgid && fields[0] !== 'Z') pids.push(Number(entry));
    } catch {
      // gone meanwhile
    }
  }
  return pids;
}

interface Running {
  readonly child: ChildProcess;
  readonly out: () => string;
  readonly err: () => string;
  readonly exit: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

function fedstack(args: readonly string[]): Running {
  const child = spawn(process.execPath, [BIN, ...args], { detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stdout!.on('data', (c: Buffer) => (out += c.toString()));
  child.stderr!.on('data', (c: Buffer) => (err += c.toString()));
  const exit = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once('exit', (code, signal) => resolve({ code, signal })),
  );
  return { child, out: () => out, err: () => err, exit };
}

/** SIGTERM to the command alone (not its group), then: its exit, and nothing left in its group. */
async function terminate(r: Running): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
  const pgid = r.child.pid!;
  r.child.kill('SIGTERM');
  const status = await r.exit;
  // Its children were stopped before it exited; a straggler would still be in the group.
  await waitFor(() => processGroup(pgid).length === 0, {
    timeoutMs: 2000,
    intervalMs: 100,
    what: `no process left in group ${pgid}`,
  }).catch(() => undefined);
  assert.deepEqual(processGroup(pgid), [], `processes left behind by ${r.child.spawnargs.slice(2).join(' ')}`);
  return status;
}

/** Kills a whole group that a failed test left (never by name). */
function cleanup(r: Running): void {
  try {
    process.kill(-r.child.pid!, 'SIGKILL');
  } catch {
    // already gone
  }
}

describe('fedstack up', () => {
  it('stops on SIGTERM once running: exit 0, every Prometheus and Alertmanager gone, its dir removed', async () => {
    const r = fedstack(['up', '-t', TOPOLOGY, '--interval', '1s']);
    try {
      await waitFor(() => r.out().includes('Ctrl-C stops everything'), {
        timeoutMs: 90_000,
        what: `the summary (stdout: ${r.out()}; stderr: ${r.err()})`,
      });
      const dir = /into (\S+)\/config/.exec(r.out())![1]!;
      assert.ok(processGroup(r.child.pid!).length >= 5, 'edge, cascade, central, Alertmanager and the command');
      const service = /fedstack service ready at (\S+)/.exec(r.out())![1]!;
      assert.equal((await fetch(`${service}/healthz`)).status, 200);
      // The summary points at the console, and the console answers there.
      const consoleUrl = new RegExp(`operator console +(${service}/) `).exec(r.out())?.[1];
      assert.ok(consoleUrl, r.out());
      assert.match(await (await fetch(consoleUrl)).text(), /<title>fedstack console<\/title>/);
      const status = await terminate(r);
      assert.deepEqual(status, { code: 0, signal: null }, r.err());
      assert.equal(existsSync(dir), false, dir);
      assert.match(r.out(), /fedstack up: stopped\n$/);
    } finally {
      cleanup(r);
    }
  });

  it('stops on SIGTERM while still starting (Prometheus processes up, no summary yet): exit 143, nothing left', async () => {
    const r = fedstack(['up', '-t', TOPOLOGY, '--interval', '1s']);
    try {
      await waitFor(() => r.out().includes('Alertmanagers (one gossip cluster) ready'), {
        timeoutMs: 60_000,
        what: `the first tier (stdout: ${r.out()}; stderr: ${r.err()})`,
      });
      const dir = /into (\S+)\/config/.exec(r.out())![1]!;
      const status = await terminate(r);
      assert.deepEqual(status, { code: 143, signal: null }, r.err());
      assert.equal(existsSync(dir), false, dir);
      assert.doesNotMatch(r.out(), /is running/);
    } finally {
      cleanup(r);
    }
  });

  it('keeps the service JSON logs out of its human output: they go to a file in the stack dir, which it names', async () => {
    const r = fedstack(['up', '-t', TOPOLOGY, '--interval', '1s', '--keep']);
    let dir: string | undefined;
    try {
      await waitFor(() => r.out().includes('Ctrl-C stops everything'), {
        timeoutMs: 90_000,
        what: `the summary (stdout: ${r.out()}; stderr: ${r.err()})`,
      });
      dir = /into (\S+)\/config/.exec(r.out())![1]!;
      const logFile = /the service and its alert bridge log to (\S+)/.exec(r.out())?.[1];
      assert.equal(logFile, join(dir, 'data', 'service.log'));
      await terminate(r);
      for (const line of `${r.out()}${r.err()}`.split('\n')) assert.doesNotMatch(line, /^\{"level"/, line);
      const json = readFileSync(logFile!, 'utf8').trim().split('\n');
      assert.ok(json.some((l) => (JSON.parse(l) as { msg?: string }).msg === 'fedstack service listening'));
    } finally {
      cleanup(r);
      if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('fedstack simulate', () => {
  it('stops on SIGTERM: exit 0, its port closed', async () => {
    const r = fedstack(['simulate', '-t', TOPOLOGY]);
    try {
      const url = await waitFor(() => /(http:\/\/127\.0\.0\.1:\d+)\/metrics/.exec(r.out())?.[1], {
        timeoutMs: 30_000,
        what: `the simulator (stderr: ${r.err()})`,
      });
      assert.equal((await fetch(`${url}/metrics`)).status, 200);
      assert.deepEqual(await terminate(r), { code: 0, signal: null }, r.err());
      await assert.rejects(fetch(`${url}/metrics`));
    } finally {
      cleanup(r);
    }
  });
});

describe('fedstack serve', () => {
  it('stops on SIGTERM with the bridge mounted: exit 0, port closed', async () => {
    const port = await freePort();
    const secrets = join(work, 'serve-secrets');
    mkdirSync(secrets, { recursive: true });
    const r = fedstack(['serve', `--port=${port}`, `--outbox-dir=${join(work, 'outbox')}`, `--secrets-dir=${secrets}`]);
    try {
      await waitFor(() => r.out().includes('fedstack service at'), {
        timeoutMs: 30_000,
        what: `the service (stderr: ${r.err()})`,
      });
      assert.equal((await fetch(`http://127.0.0.1:${port}/healthz`)).status, 200);
      assert.deepEqual(await terminate(r), { code: 0, signal: null }, r.err());
      await assert.rejects(fetch(`http://127.0.0.1:${port}/healthz`));
    } finally {
      cleanup(r);
    }
  });
});

describe('fedstack sidecar', () => {
  /** A promtool that takes its time, so the signal lands while a check runs. */
  function slowPromtool(): { path: string; started: string } {
    const path = join(work, 'slow-promtool');
    const started = join(work, 'slow-promtool.started');
    writeFileSync(path, `#!/bin/sh\ntouch ${started}\nexec sleep 60\n`);
    chmodSync(path, 0o755);
    return { path, started };
  }

  it('stops on SIGTERM in the middle of a promtool check: exit 0 at once, promtool gone', async () => {
    const config = join(work, 'sidecar-config');
    mkdirSync(config, { recursive: true });
    writeFileSync(join(config, 'prometheus.yml'), 'global: { scrape_interval: 30s }\n');
    const promtool = slowPromtool();
    const r = fedstack([
      'sidecar',
      `--config-dir=${config}`,
      `--live-dir=${join(work, 'sidecar-live')}`,
      '--prometheus-url=http://127.0.0.1:1',
      `--promtool-path=${promtool.path}`,
      '--metrics-port=0',
    ]);
    try {
      await waitFor(() => existsSync(promtool.started), { timeoutMs: 30_000, what: `promtool to run (stderr: ${r.err()})` });
      const t0 = Date.now();
      assert.deepEqual(await terminate(r), { code: 0, signal: null }, r.err());
      assert.ok(Date.now() - t0 < 30_000, 'did not wait out the 60 s check');
      assert.equal(existsSync(join(work, 'sidecar-live', 'prometheus.yml')), false, 'an unchecked config was not applied');
    } finally {
      cleanup(r);
    }
  });
});
