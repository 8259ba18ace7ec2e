import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { toYaml } from '../../common/serialize.ts';
import {
  amPeers,
  freePort,
  promQuery,
  promTargets,
  startAlertmanager,
  startNodeExporter,
  startProcess,
  startPrometheus,
  startWebhookReceiver,
  tempDir,
  waitFor,
} from './index.ts';

const SUPPORT = fileURLToPath(new URL('./index.ts', import.meta.url));

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

describe('test support: ports, waiting, processes', () => {
  it('hands out distinct free loopback ports that can be bound', async () => {
    const ports = await Promise.all(Array.from({ length: 10 }, () => freePort()));
    assert.equal(new Set(ports).size, 10);
    const srv = createServer();
    await new Promise<void>((resolve) => srv.listen(ports[0], '127.0.0.1', resolve));
    await new Promise<void>((resolve) => srv.close(() => resolve()));
  });

  it('waitFor returns the first truthy value, and times out naming what it waited for and the last error', async () => {
    let n = 0;
    assert.equal(await waitFor(() => (++n >= 3 ? n : undefined), { intervalMs: 1 }), 3);
    await assert.rejects(
      waitFor(
        () => {
          throw new Error('connection refused');
        },
        { timeoutMs: 50, intervalMs: 10, what: 'the moon' },
      ),
      { message: 'timed out after 50 ms waiting for the moon (last error: connection refused)' },
    );
  });

  it('stop() escalates to SIGKILL when a process ignores SIGTERM, and waits for the exit', async () => {
    const p = await startProcess({
      cmd: process.execPath,
      args: [
        '-e',
        "process.on('SIGTERM', () => console.log('ignored')); setInterval(() => {}, 1000); console.log('up')",
      ],
    });
    await waitFor(() => p.output().includes('up'));
    const status = await p.stop({ timeoutMs: 300 });
    assert.equal(status.signal, 'SIGKILL');
    assert.equal(p.running, false);
    assert.equal(isAlive(p.pid), false);
  });

  it('rejects with the process output when it exits before it is ready', async () => {
    const dir = tempDir();
    writeFileSync(join(dir, 'prometheus.yml'), 'scrape_configs: [{ job_name: x, bogus_field: 1 }]\n');
    await assert.rejects(startPrometheus({ configFile: join(dir, 'prometheus.yml') }), (err: Error) => {
      assert.match(err.message, /exited \(code 2, signal null\) before it was ready/);
      assert.match(err.message, /bogus_field/);
      return true;
    });
  });

  it('leaves no child process and no temp dir behind when the test process exits', () => {
    const script = `
      import { startProcess, tempDir } from ${JSON.stringify(SUPPORT)};
      const dir = tempDir();
      const p = await startProcess({ cmd: 'sleep', args: ['60'] });
      console.log(JSON.stringify({ dir, pid: p.pid }));
      process.exit(0);
    `;
    const r = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
      encoding: 'utf8',
    });
    assert.equal(r.status, 0, r.stderr);
    const { dir, pid } = JSON.parse(r.stdout.trim().split('\n').pop()!) as { dir: string; pid: number };
    assert.equal(existsSync(dir), false, dir);
    // SIGKILL is asynchronous: give the kernel a moment to reap it.
    return waitFor(() => !isAlive(pid), { timeoutMs: 5000, what: `pid ${pid} to be gone` }).then(
      () => undefined,
    );
  });
});

describe('test support: real Prometheus, Alertmanager and node_exporter', () => {
  it('runs Prometheus on a free port and answers instant queries, vector and scalar', async () => {
    const port = await freePort();
    const prom = await startPrometheus({
      port,
      configText: toYaml({
        global: { scrape_interval: '1s', evaluation_interval: '1s' },
        scrape_configs: [{ job_name: 'prometheus', static_configs: [{ targets: [`127.0.0.1:${port}`] }] }],
      }),
    });
    after(() => prom.stop());
    assert.equal(prom.url, `http://127.0.0.1:${port}`);
    const up = await waitFor(async () => {
      const v = await promQuery(prom.url, 'up{job="prometheus"}');
      return v.length === 1 ? v[0] : undefined;
    });
    assert.equal(up.value, 1);
    assert.equal(up.metric.instance, `127.0.0.1:${port}`);
    assert.deepEqual(
      (await promQuery(prom.url, 'scalar(vector(42))')).map((s) => s.value),
      [42],
    );
    await assert.rejects(promQuery(prom.url, 'sum by ('), /bad_data/);
    const targets = await promTargets(prom.url);
    assert.deepEqual(
      targets.map((t) => [t.scrapePool, t.health]),
      [['prometheus', 'up']],
    );
    await prom.stop();
    assert.equal(prom.process.running, false);
  });

  it('forms a 2-node Alertmanager cluster that notifies a webhook once for an alert sent to both', async () => {
    const hook = await startWebhookReceiver();
    after(() => hook.close());
    const config = toYaml({
      route: {
        receiver: 'hook',
        group_by: ['alertname'],
        group_wait: '1s',
        group_interval: '1s',
        repeat_interval: '1h',
      },
      receivers: [{ name: 'hook', webhook_configs: [{ url: `${hook.url}/hook` }] }],
    });
    const [g0, g1] = [await freePort(), await freePort()];
    const [am0, am1] = await Promise.all([
      startAlertmanager({
        configText: config,
        clusterPort: g0,
        peers: [`127.0.0.1:${g1}`],
        peerTimeout: '2s',
      }),
      startAlertmanager({
        configText: config,
        clusterPort: g1,
        peers: [`127.0.0.1:${g0}`],
        peerTimeout: '2s',
      }),
    ]);
    after(() => Promise.all([am0.stop(), am1.stop()]));
    await waitFor(
      async () => (await amPeers(am0.url)).length === 2 && (await amPeers(am1.url)).length === 2,
      {
        what: 'both Alertmanagers to see two peers',
      },
    );
    const alert = [
      { labels: { alertname: 'TestDedup', severity: 'critical' }, annotations: { summary: 'x' } },
    ];
    for (const am of [am0, am1]) {
      const res = await fetch(`${am.url}/api/v2/alerts`, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify(alert),
      });
      assert.equal(res.status, 200);
    }
    await waitFor(() => hook.firingCount('TestDedup') >= 1, { what: 'the notification' });
    // Member 1 waits 1 × peer-timeout (2s) before it would send: wait past it, then count.
    await new Promise((resolve) => setTimeout(resolve, 4000));
    assert.equal(hook.firingCount('TestDedup'), 1);
  });

  it('runs node_exporter with only the light collectors', async () => {
    const ne = await startNodeExporter();
    after(() => ne.stop());
    const text = await (await fetch(`${ne.url}/metrics`)).text();
    assert.match(text, /^node_load1 /m);
    assert.match(text, /^node_memory_MemTotal_bytes /m);
    assert.doesNotMatch(text, /^node_filesystem_size_bytes/m);
  });
});
