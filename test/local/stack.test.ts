import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { toYaml } from '../../common/serialize.ts';
import {
  isLoopbackTarget,
  localizeTopology,
  SIMULATOR_JOB,
  type LocalPorts,
} from '../../deploy/local/localize.ts';
import { parseTopology } from '../../topology/load.ts';
import { metaClusters, type Topology } from '../../topology/model.ts';
import { crossCheck } from '../../topology/validate.ts';
import { waitFor } from '../support/index.ts';

const TOPOLOGY = `
apiVersion: fedstack/v1
kind: Topology
metadata: { name: tiny }
global:
  edge: { scrapeInterval: 30s, evaluationInterval: 30s, scrapeTimeout: 20s }
central: { replicas: [{ name: central-a, zone: z1 }] }
alertmanager: { replicas: [{ name: am-0, zone: z1 }] }
bigRegions:
  - name: china
    cascade: { endpoint: cascade.example.com:9090 }
    regions:
      - name: cn-hangzhou
        metaClusters:
          - name: mc-a
            endpoint: 10.0.0.1:9090
            guestClusters: 1
            nodes: 1
            extraScrapeTargets:
              - { job: fleet-simulator, targets: [10.0.0.9:1] }
              - { job: gpu, targets: [10.0.0.2:9400] }
`;

function tiny(): Topology {
  const parsed = parseTopology(TOPOLOGY);
  if (!parsed.ok) throw new Error(JSON.stringify(parsed.errors));
  return parsed.topology;
}

const PORTS: LocalPorts = {
  edges: { 'mc-a': 41001 },
  cascades: { china: 41002 },
  centrals: { 'central-a': 41003 },
  alertmanagers: { 'am-0': { web: 41004, cluster: 41005 } },
  service: 41006,
};

describe('localizeTopology', () => {
  it('puts every component on the loopback port given, and the simulator first among the edge targets', () => {
    const topo = tiny();
    const local = localizeTopology(topo, {
      ports: PORTS,
      simulators: { 'mc-a': '127.0.0.1:41999' },
      remoteTargets: 'keep',
    });
    const mc = metaClusters(local)[0]!.metaCluster;
    assert.equal(mc.endpoint, '127.0.0.1:41001');
    assert.equal(local.bigRegions[0]!.cascade.endpoint, '127.0.0.1:41002');
    assert.equal(local.central.replicas[0]!.endpoint, '127.0.0.1:41003');
    assert.equal(local.alertmanager.replicas[0]!.endpoint, '127.0.0.1:41004');
    assert.equal(local.alertmanager.replicas[0]!.clusterEndpoint, '127.0.0.1:41005');
    assert.equal(local.global.serviceUrl, 'http://127.0.0.1:41006');
    // The topology's own simulator entry is replaced, other extra targets kept as they are.
    assert.deepEqual(
      mc.extraScrapeTargets.map((t) => [t.job, t.targets]),
      [
        [SIMULATOR_JOB, ['127.0.0.1:41999']],
        ['gpu', ['10.0.0.2:9400']],
      ],
    );
    assert.deepEqual(crossCheck(local, { profile: 'local' }), []);
  });

  it('leaves out extra targets that are not on loopback unless told to keep them, and says which', () => {
    const dropped: string[] = [];
    const local = localizeTopology(tiny(), {
      ports: PORTS,
      simulators: { 'mc-a': '127.0.0.1:41999' },
      onDrop: (mc, job, target) => dropped.push(`${mc} ${job} ${target}`),
    });
    assert.deepEqual(
      metaClusters(local)[0]!.metaCluster.extraScrapeTargets.map((t) => t.job),
      [SIMULATOR_JOB],
    );
    assert.deepEqual(dropped, ['mc-a gpu 10.0.0.2:9400']);
  });

  it('tells loopback targets from the others', () => {
    const cases: [string, boolean][] = [
      ['127.0.0.1:9100', true],
      ['127.8.9.10:1', true],
      ['localhost:9090', true],
      ['[::1]:9090', true],
      ['10.0.0.1:9100', false],
      ['127.example.com:80', false],
      ['exporter.local:9100', false],
    ];
    for (const [target, loopback] of cases) assert.equal(isLoopbackTarget(target), loopback, target);
  });

  it('overrides every tier interval and drops a configured timeout that the new interval could not hold', () => {
    const local = localizeTopology(tiny(), { ports: PORTS, intervals: { scrape: '1s', evaluation: '2s' } });
    for (const tier of [local.global.edge, local.global.cascade, local.global.central]) {
      assert.equal(tier.scrapeInterval, '1s');
      assert.equal(tier.evaluationInterval, '2s');
      assert.equal(tier.scrapeTimeout, undefined);
    }
  });

  it('leaves the input topology untouched and returns a frozen one', () => {
    const topo = tiny();
    const before = JSON.stringify(topo);
    const local = localizeTopology(topo, { ports: PORTS });
    assert.equal(JSON.stringify(topo), before);
    assert.ok(Object.isFrozen(local) && Object.isFrozen(local.bigRegions[0]!.cascade));
  });

  it('writes a topology file the loader reads back to the same model', () => {
    const local = localizeTopology(tiny(), { ports: PORTS, simulators: { 'mc-a': '127.0.0.1:41999' } });
    const again = parseTopology(toYaml(local), 'topology.yaml', { profile: 'local' });
    assert.ok(again.ok, JSON.stringify(!again.ok && again.errors));
    assert.deepEqual(again.topology, local);
  });

  it('names the component it has no port for', () => {
    assert.throws(() => localizeTopology(tiny(), { ports: { ...PORTS, edges: {} } }), {
      message: 'localize: no port for edge "mc-a"',
    });
  });
});

const CHILD = `
import { parseTopology } from ${JSON.stringify(fileURLToPath(new URL('../../topology/load.ts', import.meta.url)))};
import { runUp } from ${JSON.stringify(fileURLToPath(new URL('../../deploy/local/up.ts', import.meta.url)))};
import { createServer } from 'node:http';
const parsed = parseTopology(process.env.TOPOLOGY);
process.exitCode = await runUp({
  topology: parsed.topology,
  intervals: { scrape: process.env.INTERVAL, evaluation: process.env.INTERVAL },
  waitForData: process.env.WAIT_FOR_DATA === 'true',
  log: (l) => console.error(l),
  startService: async (ctx) => {
    const srv = createServer((_req, res) => res.end(ctx.topology.metadata.name));
    await new Promise((resolve) => srv.listen(ctx.port, '127.0.0.1', resolve));
    return { stop: () => new Promise((resolve) => srv.close(resolve)) };
  },
  onReady: (stack) => console.log(JSON.stringify({ dir: stack.dir, pids: stack.pids(), urls: stack.urls })),
});
`;

const SIMULATE_CHILD = `
import { parseTopology } from ${JSON.stringify(fileURLToPath(new URL('../../topology/load.ts', import.meta.url)))};
import { runSimulateUntilSignal } from ${JSON.stringify(fileURLToPath(new URL('../../deploy/local/up.ts', import.meta.url)))};
process.exitCode = await runSimulateUntilSignal({
  topology: parseTopology(process.env.TOPOLOGY).topology,
  log: (l) => console.error(l),
  onReady: (sim) => console.log(JSON.stringify(sim.exporters.map((e) => e.url))),
});
`;

describe('startLocalStack under a signal', () => {
  it('starts the service hook on its port, and on SIGTERM stops every process and removes its temp dir', async () => {
    const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', CHILD], {
      env: { ...process.env, TOPOLOGY, INTERVAL: '1s', WAIT_FOR_DATA: 'false' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    let err = '';
    child.stdout.on('data', (c: Buffer) => (out += c.toString()));
    child.stderr.on('data', (c: Buffer) => (err += c.toString()));
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    try {
      const info = await waitFor(() => (out.includes('\n') ? (JSON.parse(out) as ChildInfo) : undefined), {
        timeoutMs: 60_000,
        what: `the child stack to start (stderr: ${err})`,
      });
      assert.equal(info.pids.length, 4, 'one edge, one cascade, one central, one Alertmanager');
      assert.ok(existsSync(info.dir));
      assert.equal(await (await fetch(info.urls.service!)).text(), 'tiny');
      for (const url of [...Object.values(info.urls.edges), ...Object.values(info.urls.centrals)]) {
        assert.equal((await fetch(`${url}/-/ready`)).status, 200, url);
      }
      child.kill('SIGTERM');
      assert.equal(await exited, 0, err);
      for (const pid of info.pids)
        assert.throws(() => process.kill(pid, 0), { code: 'ESRCH' }, `pid ${pid} survived`);
      assert.equal(existsSync(info.dir), false, info.dir);
      assert.match(err, /fedstack up: stopped/);
    } finally {
      child.kill('SIGKILL');
    }
  });
});

describe('startLocalStack interrupted while it waits for data', () => {
  it('stops at once on SIGINT instead of waiting out its data budget, and leaves nothing behind', async () => {
    // 10s intervals: the data budget is 3 × 30s + 15s, far longer than the wait below allows.
    const child = spawn(
      process.execPath,
      ['--import', 'tsx', '--input-type=module', '-e', CHILD.replace("'SIGTERM'", "'SIGINT'")],
      {
        env: { ...process.env, TOPOLOGY, INTERVAL: '10s', WAIT_FOR_DATA: 'true' },
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    let err = '';
    child.stderr.on('data', (c: Buffer) => (err += c.toString()));
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    try {
      await waitFor(() => err.includes('waiting for federated data'), {
        timeoutMs: 60_000,
        what: `the wait (stderr: ${err})`,
      });
      const dir = /into (\S+)\/config/.exec(err)![1]!;
      const ps = spawnSync('ps', ['-o', 'pid=', '--ppid', String(child.pid)], { encoding: 'utf8' });
      const pids = ps.stdout
        .split('\n')
        .filter((l) => l.trim() !== '')
        .map(Number);
      assert.equal(pids.length, 4, ps.stdout);
      child.kill('SIGINT');
      const code = await Promise.race([exited, sleep(30_000).then(() => 'still running')]);
      assert.equal(code, 0, err);
      for (const pid of pids)
        assert.throws(() => process.kill(pid, 0), { code: 'ESRCH' }, `pid ${pid} survived`);
      assert.equal(existsSync(dir), false, dir);
      assert.doesNotMatch(err, /is running/, 'no summary for a stack that was interrupted');
    } finally {
      child.kill('SIGKILL');
    }
  });
});

/** Unref'd: a pending sleep must not keep the test process alive. */
describe('runSimulateUntilSignal', () => {
  it('serves every meta-cluster until SIGTERM, then exits 0 with its ports closed', async () => {
    const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', SIMULATE_CHILD], {
      env: { ...process.env, TOPOLOGY },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    let err = '';
    child.stdout.on('data', (c: Buffer) => (out += c.toString()));
    child.stderr.on('data', (c: Buffer) => (err += c.toString()));
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    try {
      const urls = await waitFor(() => (out.includes('\n') ? (JSON.parse(out) as string[]) : undefined), {
        timeoutMs: 30_000,
        what: `the simulators (stderr: ${err})`,
      });
      assert.equal(urls.length, 1);
      assert.match(
        await (await fetch(`${urls[0]}/metrics`)).text(),
        /^apiserver_request_total\{cluster_id="mc-a"/m,
      );
      assert.match(err, /simulate: mc-a/);
      child.kill('SIGTERM');
      assert.equal(await exited, 0, err);
      await assert.rejects(fetch(`${urls[0]}/metrics`));
    } finally {
      child.kill('SIGKILL');
    }
  });
});

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms).unref());

interface ChildInfo {
  dir: string;
  pids: number[];
  urls: { edges: Record<string, string>; centrals: Record<string, string>; service?: string };
}
