/**
 * Bench: service throughput. The fedstack service (server/, issue 5) on loopback with one big
 * region of 2,500 edges; `wrk` (a separate process, so the load generator does not share the
 * service's event loop) drives http_sd and config GETs. "Cached" is the steady state (answers
 * are kept per topology revision); "uncached" is the first config GET after start, which
 * renders that one file from the revision's plan. Then a whole fleet (10,000 meta-clusters):
 * the first GET after each edit of the topology file.
 *
 * server/ is loaded with a dynamic import so this file compiles before issue 5 is merged;
 * until then the rows are NOT RUN.
 */
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { Secret } from '../common/secret.ts';
import { generateFleetYaml } from './topology-gen.ts';
import { notRun, type Bench, type Row } from './types.ts';

const SERVER_MAIN = fileURLToPath(new URL('../server/main.ts', import.meta.url));
const WRK = '/usr/bin/wrk';

/** The part of server/main.ts this bench uses. */
interface ServerModule {
  startServer(opts: {
    topologyFile: string;
    port: number;
    logger: unknown;
    readToken: Secret;
    pollIntervalMs?: number;
  }): Promise<{ url: string; close(): Promise<void> }>;
}

/** http_sd and configs answer only with the read token (server/auth.ts): the bench sends it. */
const READ_TOKEN = 'bench-read-token';
const AUTHORIZATION = `Authorization: Bearer ${READ_TOKEN}`;

export interface WrkResult {
  readonly requestsPerSecond: number;
  readonly p99Ms: number;
  readonly requests: number;
  readonly non2xx: number;
}

const unitMs = (v: string, unit: string) =>
  Number(v) * (unit === 'us' ? 0.001 : unit === 's' ? 1000 : unit === 'm' ? 60_000 : 1);

/** Parses `wrk --latency` output. */
export function parseWrk(out: string): WrkResult {
  const rps = /Requests\/sec:\s+([\d.]+)/.exec(out);
  const p99 = /^\s+99%\s+([\d.]+)(us|ms|s|m)\s*$/m.exec(out);
  const reqs = /(\d+) requests in/.exec(out);
  if (!rps || !p99 || !reqs) throw new Error(`cannot parse wrk output: ${out.slice(0, 400)}`);
  const non2xx = /Non-2xx or 3xx responses:\s+(\d+)/.exec(out);
  return {
    requestsPerSecond: Number(rps[1]),
    p99Ms: unitMs(p99[1]!, p99[2]!),
    requests: Number(reqs[1]),
    non2xx: non2xx ? Number(non2xx[1]) : 0,
  };
}

async function wrk(url: string, seconds: number, connections: number): Promise<WrkResult> {
  const { stdout } = await promisify(execFile)(
    WRK,
    ['-t1', `-c${connections}`, `-d${seconds}s`, '--latency', '-H', AUTHORIZATION, url],
    { timeout: (seconds + 30) * 1000 },
  );
  return parseWrk(stdout);
}

export const serviceThroughputBench: Bench = {
  name: 'service-throughput',
  description: 'http_sd (2,500 edges) and config GETs under wrk on loopback (needs server/)',
  async run({ smoke, log }) {
    const bench = 'service-throughput';
    if (!existsSync(SERVER_MAIN)) {
      const reason = 'server/ (issue 5) not on main yet';
      return [
        notRun(bench, 'http_sd big region (2,500 edges), cached', reason, { op: '>=', bound: 3000 }),
        notRun(bench, 'http_sd big region, cached p99', reason, { op: '<', bound: 50 }),
        notRun(bench, 'config GET, cached', reason),
        notRun(bench, 'config GET, uncached (renders the one file)', reason),
        notRun(bench, 'first config GET after a topology change, 10,000 meta-clusters', reason, {
          op: '<',
          bound: 200,
        }),
      ];
    }
    const { startServer } = (await import(SERVER_MAIN)) as ServerModule;
    const { default: pino } = await import('pino');
    const dir = mkdtempSync(join(tmpdir(), 'fedstack-bench-service-'));
    const size = smoke
      ? { bigRegions: 1, regionsPerBigRegion: 5, metaClustersPerRegion: 10 }
      : { bigRegions: 1, regionsPerBigRegion: 50, metaClustersPerRegion: 50 };
    const edges = size.regionsPerBigRegion * size.metaClustersPerRegion;
    const file = join(dir, 'topology.yaml');
    writeFileSync(file, generateFleetYaml(size));
    const server = await startServer({
      topologyFile: file,
      port: 0,
      logger: pino({ level: 'silent' }),
      readToken: new Secret(READ_TOKEN),
    });
    let rows: Row[];
    try {
      const seconds = smoke ? 1 : 10;
      const configPath = '/v1/config/edge/mc-1/prometheus.yml';
      // Uncached: the first config GET renders that file from this revision's plan.
      const t0 = performance.now();
      const first = await fetch(`${server.url}${configPath}`, {
        headers: { Authorization: `Bearer ${READ_TOKEN}` },
      });
      await first.text();
      const uncachedMs = performance.now() - t0;
      if (!first.ok) throw new Error(`GET ${configPath}: ${first.status}`);
      log(`service-throughput: ${edges} edges, wrk ${seconds} s per run`);
      // Warm-up (JIT, sockets): discarded, so p99 is the steady state, not the first second.
      await wrk(`${server.url}/v1/sd/cascade/br-0`, smoke ? 1 : 3, 32);
      await wrk(`${server.url}${configPath}`, smoke ? 1 : 3, 32);
      const sd = await wrk(`${server.url}/v1/sd/cascade/br-0`, seconds, 32);
      const cfg = await wrk(`${server.url}${configPath}`, seconds, 32);
      rows = [
        {
          bench,
          metric: `http_sd big region (${edges} edges), cached`,
          value: sd.requestsPerSecond,
          unit: 'req/s',
          target: { op: '>=', bound: 3000 },
          note: `${sd.requests} requests, ${sd.non2xx} non-2xx, 32 connections`,
        },
        {
          bench,
          metric: 'http_sd big region, cached p99',
          value: sd.p99Ms,
          unit: 'ms',
          target: { op: '<', bound: 50 },
        },
        {
          bench,
          metric: 'config GET, cached',
          value: cfg.requestsPerSecond,
          unit: 'req/s',
          note: `p99 ${cfg.p99Ms.toFixed(1)} ms, ${cfg.non2xx} non-2xx`,
        },
        {
          bench,
          metric: 'config GET, uncached (renders the one file)',
          value: uncachedMs,
          unit: 'ms',
          note: 'first GET of a topology revision',
        },
      ];
      if (sd.non2xx > 0 || cfg.non2xx > 0)
        throw new Error(`non-2xx responses under load (sd ${sd.non2xx}, config ${cfg.non2xx})`);
    } finally {
      await server.close();
    }
    try {
      const fleet = smoke
        ? { bigRegions: 2, regionsPerBigRegion: 2, metaClustersPerRegion: 5 }
        : { bigRegions: 20, regionsPerBigRegion: 10, metaClustersPerRegion: 50 };
      const afterChange = await firstGetAfterChange(startServer, pino, join(dir, 'fleet.yaml'), fleet);
      rows.push({
        bench,
        metric: `first config GET after a topology change, ${afterChange.metaClusters} meta-clusters, median`,
        value: afterChange.medianMs,
        unit: 'ms',
        target: smoke ? undefined : { op: '<', bound: 200 },
        note: `max ${afterChange.maxMs.toFixed(0)} ms over ${afterChange.trials} changes; one edge's prometheus.yml, no other GET of that revision before it`,
      });
      return rows;
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  },
};

/**
 * A service on a whole fleet; the topology file is edited (one meta-cluster's endpoint), the
 * service swaps the revision in, and the first GET of another edge's prometheus.yml is timed:
 * the wait every sidecar would see after an edit.
 */
async function firstGetAfterChange(
  startServer: ServerModule['startServer'],
  pino: (o: { level: string }) => unknown,
  file: string,
  size: { bigRegions: number; regionsPerBigRegion: number; metaClustersPerRegion: number },
): Promise<{ metaClusters: number; medianMs: number; maxMs: number; trials: number }> {
  const text = generateFleetYaml(size);
  writeFileSync(file, text);
  const server = await startServer({
    topologyFile: file,
    port: 0,
    logger: pino({ level: 'silent' }),
    readToken: new Secret(READ_TOKEN),
    pollIntervalMs: 100,
  });
  const headers = { Authorization: `Bearer ${READ_TOKEN}` };
  const metaClusters = size.bigRegions * size.regionsPerBigRegion * size.metaClustersPerRegion;
  const times: number[] = [];
  try {
    const trials = 7;
    for (let i = 1; i <= trials; i++) {
      // mc-1's endpoint in the generated fleet; every trial gives it a new port.
      const edited = text.replace(/(name: mc-1\n\s+endpoint: [^:\n]+:)\d+/, `$1${20000 + i}`);
      if (edited === text) throw new Error('service-throughput: the generated fleet has no mc-1 to edit');
      writeFileSync(file, edited);
      const deadline = Date.now() + 60_000;
      for (;;) {
        const r = (await (await fetch(`${server.url}/readyz`)).json()) as { revision?: number };
        if (r.revision === i + 1) break;
        if (Date.now() > deadline)
          throw new Error(`service-throughput: revision ${i + 1} never served: /readyz says ${JSON.stringify(r)}`);
        await new Promise((res) => setTimeout(res, 20));
      }
      const path = `/v1/config/edge/mc-${1 + ((i * 997) % metaClusters)}/prometheus.yml`;
      const t = performance.now();
      const res = await fetch(`${server.url}${path}`, { headers });
      await res.text();
      times.push(performance.now() - t);
      if (!res.ok) throw new Error(`GET ${path}: ${res.status}`);
    }
    times.sort((a, b) => a - b);
    return { metaClusters, medianMs: times[times.length >> 1]!, maxMs: times[times.length - 1]!, trials };
  } finally {
    await server.close();
  }
}
