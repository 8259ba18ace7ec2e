/**
 * The same synthetic history in both central backends, then the same queries against both.
 * Prometheus gets it from `promtool tsdb create-blocks-from openmetrics` (one 2 h window per
 * promtool run: promtool 2.42 re-parses its whole input for every block it writes, so one file of
 * 24 h would be parsed 13 times); VictoriaMetrics gets it from `vmctl prometheus` reading those
 * very blocks, the migration path the README describes, so both hold identical samples. Both
 * processes start in a temp dir on loopback ports and are stopped by PID.
 */
import { execFile } from 'node:child_process';
import {
  closeSync,
  mkdirSync,
  openSync,
  readFileSync,
  readdirSync,
  rmSync,
  statSync,
  writeFileSync,
  writeSync,
} from 'node:fs';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { promisify } from 'node:util';
import { victoriaMetricsArgs, type VictoriaMetricsFlags } from '../../common/vmflags.ts';
import {
  BINARY,
  runPrometheus,
  runVictoriaMetricsBinary,
  type RunningServer,
} from '../../deploy/local/binaries.ts';
import { History, type SeriesTemplate } from './history.ts';
import { freePort } from './prometheus.ts';

const run = promisify(execFile);

export interface BackfillOptions {
  readonly dir: string;
  readonly templates: readonly SeriesTemplate[];
  readonly endMs: number;
  readonly spanMs: number;
  readonly intervalMs: number;
  readonly seed: string;
  /** The single node's flags from the render plan; address and data path are replaced. */
  readonly victoriaMetrics: Omit<VictoriaMetricsFlags, 'storageDataPath'>;
  /** PromQL run as range queries over the whole span. */
  readonly exprs: readonly string[];
  readonly stepS: number;
  readonly repeats: number;
  readonly log: (line: string) => void;
}

export interface BackendTimes {
  /** Wall time of every range query, ms. */
  readonly ms: number[];
  /** Result series per query (first repetition), in `exprs` order. */
  readonly seriesPerQuery: number[];
  /** `sum(count_over_time(...))` over the span: the samples it holds. */
  readonly samplesHeld: number;
  readonly diskBytes: number;
}

export interface BackfillResult {
  readonly series: number;
  readonly samples: number;
  readonly windows: number;
  readonly setupS: { readonly generateAndPromtool: number; readonly vmctl: number; readonly settle: number };
  readonly prometheus: BackendTimes;
  readonly victoriaMetrics: BackendTimes;
}

export function duBytes(path: string): number {
  const st = statSync(path);
  if (!st.isDirectory()) return st.size;
  return readdirSync(path).reduce((n, f) => n + duBytes(join(path, f)), 0);
}

/** CPU seconds a process has used (utime + stime from /proc, at 100 ticks per second). */
function cpuSeconds(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

/**
 * Waits until a process uses under 5% of a core for 2 s: compactions and merges are done, so
 * they do not run during the timing.
 */
async function waitIdle(pid: number, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const before = cpuSeconds(pid);
    await new Promise((r) => setTimeout(r, 2000));
    if (cpuSeconds(pid) - before < 0.1) return;
  }
  throw new Error(`process ${pid} still busy after ${timeoutMs / 1000} s`);
}

/** An aggregating instant query at `timeS`: its single number (0 when empty). */
async function numberAt(url: string, promql: string, timeS: number): Promise<number> {
  const body = new URLSearchParams({ query: promql, time: String(timeS) });
  const json = (await (await fetch(`${url}/api/v1/query`, { method: 'POST', body })).json()) as {
    status: string;
    error?: string;
    data?: { result: Array<{ value: [number, string] }> };
  };
  if (json.status !== 'success') throw new Error(`${url}: ${promql}: ${json.error}`);
  return Number(json.data!.result[0]?.value[1] ?? 0);
}

/**
 * Every sample a backend holds in the `window` before `timeS`, counted by metric name: one
 * count_over_time over all names would drop `__name__` and collide.
 */
async function samplesHeld(url: string, window: string, timeS: number): Promise<number> {
  const names = ((await (await fetch(`${url}/api/v1/label/__name__/values`)).json()) as { data: string[] })
    .data;
  let n = 0;
  for (const name of names)
    n += await numberAt(url, `sum(count_over_time({__name__="${name}"}[${window}]))`, timeS);
  return n;
}

async function selfCounter(url: string, name: string): Promise<number> {
  const text = await (await fetch(`${url}/metrics`)).text();
  return Number(new RegExp(`^${name} (\\S+)$`, 'm').exec(text)?.[1] ?? 0);
}

/** Writes each window to a file and runs promtool on it while the next window is generated. */
async function backfillPrometheus(history: History, dir: string, dataDir: string): Promise<void> {
  let pending: Promise<unknown> = Promise.resolve();
  let i = 0;
  for (const w of history.windows()) {
    const file = join(dir, `window-${i++ % 2}.om`);
    const fd = openSync(file, 'w');
    try {
      for (const chunk of history.window(w)) writeSync(fd, chunk);
    } finally {
      closeSync(fd);
    }
    await pending;
    pending = run('promtool', ['tsdb', 'create-blocks-from', 'openmetrics', '-q', file, dataDir], {
      maxBuffer: 1 << 22,
    });
  }
  await pending;
  for (const f of ['window-0.om', 'window-1.om']) rmSync(join(dir, f), { force: true });
}

export async function backfillAndQuery(o: BackfillOptions): Promise<BackfillResult> {
  const history = new History(o.templates, {
    startMs: o.endMs - o.spanMs,
    endMs: o.endMs,
    intervalMs: o.intervalMs,
    seed: o.seed,
  });
  const promData = join(o.dir, 'prom-history');
  const vmData = join(o.dir, 'vm-history');
  mkdirSync(promData);
  mkdirSync(vmData);
  const servers: RunningServer[] = [];
  try {
    let t = performance.now();
    await backfillPrometheus(history, o.dir, promData);
    const generateAndPromtool = (performance.now() - t) / 1000;
    o.log(
      `central-backend: ${history.series} series × ${history.samplesPerSeries} samples in ${readdirSync(promData).length} blocks (${generateAndPromtool.toFixed(1)} s)`,
    );

    const vmListen = `127.0.0.1:${await freePort()}`;
    const vm = await runVictoriaMetricsBinary(
      BINARY.victoriaMetrics,
      vmListen,
      victoriaMetricsArgs({
        ...o.victoriaMetrics,
        httpListenAddr: vmListen,
        storageDataPath: vmData,
        retentionPeriod: '30d',
        loggerLevel: 'ERROR',
      }),
      { name: 'victoria-metrics (history)' },
    );
    servers.push(vm);
    t = performance.now();
    // vmctl 1.79's snapshot reader draws a progress bar and exits when stdout is no terminal
    // (--vm-disable-progress-bar covers only the writers): `script` gives it a pseudo-terminal.
    const vmctl = `vmctl prometheus -s --prom-snapshot=${promData} --vm-addr=${vm.url} --vm-disable-progress-bar`;
    const out = await run('script', ['-qec', vmctl, '/dev/null'], { maxBuffer: 1 << 22 });
    if (!/Total time/.test(out.stdout)) throw new Error(`vmctl did not finish: ${out.stdout.slice(-2000)}`);
    await fetch(`${vm.url}/internal/force_flush`);
    const vmctlS = (performance.now() - t) / 1000;

    t = performance.now();
    const promListen = `127.0.0.1:${await freePort()}`;
    const configFile = join(o.dir, 'prom-history.yml');
    writeFileSync(configFile, `global: { scrape_interval: ${o.intervalMs / 1000}s }\n`);
    const prom = await runPrometheus({
      configFile,
      dataDir: promData,
      listen: promListen,
      retention: '30d',
      logLevel: 'error',
      name: 'prometheus (history)',
    });
    servers.push(prom);
    // Prometheus merges the 2 h blocks into 6 h and 18 h ones on its first compaction tick, a
    // minute after start; a long-running central would have them merged already, so wait for it.
    if (history.windows().length > 3) {
      const deadline = Date.now() + 120_000;
      while ((await selfCounter(prom.url, 'prometheus_tsdb_compactions_triggered_total')) < 1) {
        if (Date.now() > deadline) throw new Error('prometheus never started its first compaction');
        await new Promise((r) => setTimeout(r, 1000));
      }
    }
    await waitIdle(prom.process.pid, 120_000);
    await waitIdle(vm.process.pid, 120_000);
    const settle = (performance.now() - t) / 1000;

    const spanS = o.spanMs / 1000;
    const endS = o.endMs / 1000;
    const window = `${spanS + 2 * (o.intervalMs / 1000)}s`;
    const promHeld = await samplesHeld(prom.url, window, endS);
    const vmHeld = await samplesHeld(vm.url, window, endS);

    // Interleaved, so both see the same load on the shared cores. nocache: VictoriaMetrics
    // would otherwise answer repetitions from its rollup cache, and Prometheus has none.
    const times = { prom: [] as number[], vm: [] as number[] };
    const counts = { prom: [] as number[], vm: [] as number[] };
    for (let i = 0; i < o.repeats; i++)
      for (const expr of o.exprs)
        for (const [key, server] of [
          ['prom', prom],
          ['vm', vm],
        ] as const) {
          const body = new URLSearchParams({
            query: expr,
            start: String(endS - spanS),
            end: String(endS),
            step: String(o.stepS),
            nocache: '1',
          });
          const t0 = performance.now();
          const res = await fetch(`${server.url}/api/v1/query_range`, { method: 'POST', body });
          const text = await res.text();
          times[key].push(performance.now() - t0);
          if (i > 0) continue;
          const json = JSON.parse(text) as { status: string; error?: string; data?: { result: unknown[] } };
          if (json.status !== 'success') throw new Error(`${key}: ${expr}: ${json.error ?? res.status}`);
          counts[key].push(json.data!.result.length);
        }

    for (const s of servers.splice(0).reverse()) await s.stop();
    return {
      series: history.series,
      samples: history.samples,
      windows: history.windows().length,
      setupS: { generateAndPromtool, vmctl: vmctlS, settle },
      prometheus: {
        ms: times.prom,
        seriesPerQuery: counts.prom,
        samplesHeld: promHeld,
        diskBytes: duBytes(promData),
      },
      victoriaMetrics: {
        ms: times.vm,
        seriesPerQuery: counts.vm,
        samplesHeld: vmHeld,
        diskBytes: duBytes(vmData),
      },
    };
  } finally {
    for (const s of servers.reverse()) await s.stop();
    rmSync(promData, { recursive: true, force: true });
    rmSync(vmData, { recursive: true, force: true });
  }
}
