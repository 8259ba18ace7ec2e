/**
 * Bench: the rollout control plane at fleet scale. The service (its own process, with
 * --data-dir) holds a generated fleet; a rollout of a new edge recording rule puts every edge in
 * one wave. Measured as the service's CPU time (/proc/<pid>/stat): starting the rollout (both
 * revisions rendered and compared for every instance), then one wave: assigning every edge,
 * answering each edge sidecar's pull of its config (GET /v1/config/edge/<name>, rendered for
 * the new revision) and taking each one's report, until the wave soaks. Central is a stand-in
 * answering every gate query with an empty vector (the gates' PromQL runs at central, not here).
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { toYaml } from '../common/serialize.ts';
import { ACK_SCALE, generateFleet, generateFleetInput, type FleetSize } from './topology-gen.ts';
import type { Bench, Row } from './types.ts';

const CHILD = fileURLToPath(new URL('./rollout-control-child.ts', import.meta.url));
const SMOKE: FleetSize = { bigRegions: 2, regionsPerBigRegion: 2, metaClustersPerRegion: 3 };
const TICKS = 100; // USER_HZ on Linux

/** user + system CPU seconds of a process. */
function cpuSeconds(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(f[11]) + Number(f[12])) / TICKS;
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
    const child = spawn(
      process.execPath,
      [
        // FEDSTACK_BENCH_CPU_PROF=<dir>: the service writes a CPU profile there (where the CPU goes).
        ...(process.env.FEDSTACK_BENCH_CPU_PROF ? ['--cpu-prof', `--cpu-prof-dir=${process.env.FEDSTACK_BENCH_CPU_PROF}`] : []),
        '--import',
        'tsx',
        CHILD, JSON.stringify({ topologyFile: join(dir, 'from.yaml'), dataDir: join(dir, 'state'), tokenFile: join(dir, 'token') })],
      { stdio: ['ignore', 'pipe', 'inherit'] },
    );
    try {
      const url = await new Promise<string>((resolve, reject) => {
        child.stdout.once('data', (d: Buffer) => resolve(d.toString().trim()));
        child.once('exit', (code) => reject(new Error(`the service exited (${code})`)));
      });
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
      await inParallel(edges, 16, async (name) => {
        const res = await fetch(`${url}/v1/config/edge/${name}`, { headers: { ...auth, 'Accept-Encoding': 'gzip' } });
        const body = (await res.json()) as { hash: string };
        if (body.hash !== hash) throw new Error(`edge ${name} was served ${body.hash}, not ${hash}`);
        pulled++;
        const beat = await fetch(`${url}/v1/instances/edge/${name}/heartbeat`, {
          method: 'POST',
          headers: { ...auth, 'Content-Type': 'application/json' },
          body: JSON.stringify({ version: 'bench', configHash: 'x', revision: hash, sync: { revision: hash, promtool: 'ok', reload: 'ok' } }),
        });
        if (!beat.ok) throw new Error(`heartbeat of ${name}: HTTP ${beat.status}`);
      });
      await waitWave((s) => s.waves[0]!.state === 'soaking');
      const c2 = cpuSeconds(child.pid!);
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
          metric: 'one wave: assign every edge, answer their pulls and reports, service CPU',
          value: c2 - c1,
          unit: 's',
          target: { op: '<', bound: 1 },
          note: 'includes rendering each edge\'s new config on its first pull',
        },
      ];
      return rows;
    } finally {
      child.kill('SIGTERM');
      await new Promise((r) => child.once('exit', r));
      for (const c of centrals) c.close();
      rmSync(dir, { recursive: true, force: true });
    }
  },
};
