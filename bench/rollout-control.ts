/**
 * Bench: the rollout control plane at fleet scale. The service (its own process, with
 * --data-dir) holds a generated fleet; a rollout of a new edge recording rule puts every edge in
 * one wave. Measured as the service's CPU time (the schedstat run time of all its threads):
 * starting the rollout (both revisions rendered and compared for every instance), then one wave:
 * assigning every edge,
 * answering each edge sidecar's pull of its config (GET /v1/config/edge/<name>, rendered for
 * the new revision) and taking each one's report, until the wave soaks. Central is a stand-in
 * answering every gate query with an empty vector (the gates' PromQL runs at central, not here).
 *
 * Beside it, in the same run: the floor, a bare node:http server (bench/http-floor-child.ts)
 * taking the same 20,000 requests from the same client loop, with bodies of the same size. What
 * the wave costs above it is the control plane's; what the floor costs is node's HTTP on this
 * machine.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { toYaml } from '../common/serialize.ts';
import { ACK_SCALE, generateFleet, generateFleetInput, type FleetSize } from './topology-gen.ts';
import type { Bench, Row } from './types.ts';

const CHILD = fileURLToPath(new URL('./rollout-control-child.ts', import.meta.url));
const FLOOR_CHILD = fileURLToPath(new URL('./http-floor-child.ts', import.meta.url));
/** Sidecars pulling and reporting at once, in the bench's client loop. */
const SIDECARS = 16;
const SMOKE: FleetSize = { bigRegions: 2, regionsPerBigRegion: 2, metaClustersPerRegion: 3 };

/**
 * CPU seconds a process has run, all its threads: the sum of each thread's schedstat run time
 * (nanoseconds, where /proc/<pid>/stat counts 10 ms ticks: a smoke run's 12 polls would read 0).
 */
function cpuSeconds(pid: number): number {
  let ns = 0;
  for (const task of readdirSync(`/proc/${pid}/task`)) {
    try {
      ns += Number(readFileSync(`/proc/${pid}/task/${task}/schedstat`, 'utf8').split(' ')[0]);
    } catch {
      // a thread that ended between the listing and the read
    }
  }
  return ns / 1e9;
}

/** Starts a child that prints its URL on its first line of stdout. */
async function startChild(args: string[]): Promise<{ child: ChildProcess; url: string }> {
  const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'inherit'] });
  const url = await new Promise<string>((resolve, reject) => {
    child.stdout!.once('data', (d: Buffer) => resolve(d.toString().trim()));
    child.once('exit', (code) => reject(new Error(`${args.at(-2)} exited (${code})`)));
  });
  return { child, url };
}

async function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  child.kill('SIGTERM');
  await new Promise((r) => child.once('exit', r));
}

/**
 * What each edge's sidecar does in the wave, as two rounds so that each is measured alone:
 * every edge pulls its config, then every edge reports it applied (its heartbeat). Returns the
 * largest answer's size.
 */
async function pullAll(
  url: string,
  edges: readonly string[],
  token: string,
  check: (name: string, res: Response, body: { hash: string }) => void,
): Promise<number> {
  let bytes = 0;
  await inParallel(edges, SIDECARS, async (name) => {
    const res = await fetch(`${url}/v1/config/edge/${name}`, {
      headers: { Authorization: `Bearer ${token}`, 'Accept-Encoding': 'gzip' },
    });
    const text = await res.text();
    bytes = Math.max(bytes, Buffer.byteLength(text));
    check(name, res, JSON.parse(text) as { hash: string });
  });
  return bytes;
}

async function reportAll(url: string, edges: readonly string[], token: string, hash: string): Promise<void> {
  await inParallel(edges, SIDECARS, async (name) => {
    const beat = await fetch(`${url}/v1/edges/${name}/heartbeat`, {
      method: 'POST',
      headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'application/json' },
      body: JSON.stringify({
        endpoint: `${name}.edge.example.com:9090`,
        version: 'bench',
        configHash: 'x',
        revision: hash,
        sync: { revision: hash, promtool: 'ok', reload: 'ok' },
      }),
    });
    if (!beat.ok) throw new Error(`heartbeat of ${name}: HTTP ${beat.status}`);
    await beat.arrayBuffer();
  });
}

async function inParallel<T>(items: readonly T[], limit: number, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(limit, items.length) }, async () => {
      while (next < items.length) await fn(items[next++]!);
    }),
  );
}

export const rolloutControlBench: Bench = {
  name: 'rollout-control',
  description: 'staged rollout control plane: service CPU to start a rollout and to run one wave of every edge',
  async run({ smoke, log }) {
    const b = 'rollout-control';
    const size = smoke ? SMOKE : ACK_SCALE;
    const dir = mkdtempSync(join(tmpdir(), 'fedstack-bench-rollout-'));
    // Central stand-ins (one per replica): every gate query answers an empty vector.
    const centrals = [0, 1].map(() =>
      createServer((_req, res) =>
        res
          .writeHead(200, { 'Content-Type': 'application/json' })
          .end('{"status":"success","data":{"resultType":"vector","result":[]}}'),
      ),
    );
    for (const c of centrals) await new Promise<void>((r) => c.listen(0, '127.0.0.1', r));
    const input = generateFleetInput(size);
    input.central.replicas = input.central.replicas.map((r, i) => ({
      ...r,
      endpoint: `127.0.0.1:${(centrals[i]!.address() as AddressInfo).port}`,
    }));
    const defaults = generateFleet(size).recordingRules.edge.map((r) => ({ record: r.record, expr: r.expr }));
    const fromText = toYaml(input, { header: false });
    const toText = toYaml(
      { ...input, recordingRules: { edge: [...defaults, { record: 'meta_cluster:rollout_probe:count', expr: 'count(up)' }] } },
      { header: false },
    );
    const token = 'bench-token';
    writeFileSync(join(dir, 'token'), token);
    writeFileSync(join(dir, 'from.yaml'), fromText);
    let service: ChildProcess | undefined;
    let floor: ChildProcess | undefined;
    try {
      const started = await startChild([
        // FEDSTACK_BENCH_CPU_PROF=<dir>: the service writes a CPU profile there (where the CPU goes).
        ...(process.env.FEDSTACK_BENCH_CPU_PROF ? ['--cpu-prof', `--cpu-prof-dir=${process.env.FEDSTACK_BENCH_CPU_PROF}`] : []),
        '--import',
        'tsx',
        CHILD,
        JSON.stringify({ topologyFile: join(dir, 'from.yaml'), dataDir: join(dir, 'state'), tokenFile: join(dir, 'token') }),
      ]);
      service = started.child;
      const { child, url } = started;
      const auth = { Authorization: `Bearer ${token}` };
      const api = async (method: string, path: string, body?: unknown) => {
        const res = await fetch(`${url}${path}`, {
          method,
          headers: { ...auth, ...(body === undefined ? {} : { 'Content-Type': 'application/json' }) },
          ...(body === undefined ? {} : { body: JSON.stringify(body) }),
        });
        const json = (await res.json()) as Record<string, unknown>;
        if (!res.ok) throw new Error(`${method} ${path}: HTTP ${res.status} ${JSON.stringify(json)}`);
        return json;
      };
      const edges = input.bigRegions.flatMap((br) => br.regions.flatMap((r) => r.metaClusters.map((m) => m.name)));
      log(`rollout-control: ${edges.length} edges`);

      const c0 = cpuSeconds(child.pid!);
      const plan = `apiVersion: fedstack/v1\nkind: RolloutPlan\nwaves:\n  - { name: every edge, edges: all, maxConcurrency: ${edges.length} }\n`;
      await api('POST', '/v1/rollouts', { topology: toText, topologyFile: 'to.yaml', plan, planFile: 'plan.yaml' });
      const c1 = cpuSeconds(child.pid!);
      type Status = { to: { hash: string }; waves: { state: string; assigned: number; applied: number }[] };
      const waitWave = async (ok: (s: Status) => boolean) => {
        for (let i = 0; i < 3000; i++) {
          const s = (await api('GET', '/v1/rollouts/current')) as unknown as Status;
          if (ok(s)) return s;
          await new Promise((r) => setTimeout(r, 200));
        }
        throw new Error('the wave did not move');
      };
      const assigned = await waitWave((s) => s.waves[0]!.assigned === edges.length);
      const hash = assigned.to.hash;
      let pulled = 0;
      const etags = new Map<string, string>();
      const cAssigned = cpuSeconds(child.pid!);
      const answerBytes = await pullAll(url, edges, token, (name, res, body) => {
        if (body.hash !== hash) throw new Error(`edge ${name} was served ${body.hash}, not ${hash}`);
        etags.set(name, res.headers.get('etag') ?? '');
        pulled++;
      });
      const cPulled = cpuSeconds(child.pid!);
      await reportAll(url, edges, token, hash);
      await waitWave((s) => s.waves[0]!.state === 'soaking');
      const c2 = cpuSeconds(child.pid!);
      // Steady state: every sidecar polls again (every 30 s by default) with the ETag it has.
      await inParallel(edges, SIDECARS, async (name) => {
        const res = await fetch(`${url}/v1/config/edge/${name}`, {
          headers: { ...auth, 'If-None-Match': etags.get(name)! },
        });
        await res.arrayBuffer();
        if (res.status !== 304) throw new Error(`edge ${name}'s poll with its ETag: HTTP ${res.status}, not 304`);
      });
      const c3 = cpuSeconds(child.pid!);
      await stopChild(child);

      // The floor: the same requests from the same loops, to a server that only does HTTP.
      const bare = await startChild(['--import', 'tsx', FLOOR_CHILD, JSON.stringify({ bodyBytes: answerBytes })]);
      floor = bare.child;
      const f0 = cpuSeconds(floor.pid!);
      await pullAll(bare.url, edges, token, () => {});
      const f1 = cpuSeconds(floor.pid!);
      await reportAll(bare.url, edges, token, 'floor');
      const f2 = cpuSeconds(floor.pid!);
      const wave = c2 - c1;
      const bareCpu = f2 - f0;
      const rows: Row[] = [
        { bench: b, metric: 'edges in the wave', value: pulled, unit: '' },
        {
          bench: b,
          metric: 'start a rollout (render and compare both revisions of every instance), service CPU',
          value: c1 - c0,
          unit: 's',
        },
        {
          bench: b,
          metric: 'one wave: assign every edge and answer their pulls, service CPU',
          value: cPulled - c1,
          unit: 's',
          target: { op: '<', bound: 1 },
          note: `the issue's measure; each edge's new config rendered on its pull (${Math.round(answerBytes / 1024)} KiB)`,
        },
        {
          bench: b,
          metric: 'the same wave: take their reports until it soaks, service CPU',
          value: c2 - cPulled,
          unit: 's',
          note: 'every edge sidecar heartbeats with what it applied',
        },
        {
          bench: b,
          metric: 'one wave in all: assign, pulls and reports, service CPU',
          value: wave,
          unit: 's',
          detail: { assign: cAssigned - c1, pulls: cPulled - cAssigned, reports: c2 - cPulled },
        },
        {
          bench: b,
          metric: `every edge polls again with its ETag: ${edges.length} 304s, service CPU`,
          value: c3 - c2,
          unit: 's',
          note: 'between waves, sidecars poll every 30 s: this is the service\'s steady load per interval',
        },
        {
          bench: b,
          metric: `the same ${edges.length} pulls answered by a bare node:http server (prebuilt bodies), CPU`,
          value: f1 - f0,
          unit: 's',
          note: 'the floor on this machine: HTTP alone, no auth, routing, state or rendering',
        },
        {
          bench: b,
          metric: `the same ${edges.length} reports answered by that server (JSON parsed), CPU`,
          value: f2 - f1,
          unit: 's',
        },
        {
          bench: b,
          metric: 'one wave in all / the floor for its requests',
          value: wave / bareCpu,
          unit: 'x',
          detail: { wave, floor: bareCpu },
        },
      ];
      return rows;
    } finally {
      if (service !== undefined) await stopChild(service);
      if (floor !== undefined) await stopChild(floor);
      for (const c of centrals) c.close();
      rmSync(dir, { recursive: true, force: true });
    }
  },
};
