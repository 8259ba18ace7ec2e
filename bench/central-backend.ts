/**
 * Bench: central as a Prometheus vs as VictoriaMetrics, fed the same input side by side. One
 * edge scrapes the fleet source; one cascade (rendered with central.backend victoriametrics)
 * both serves /federate to a central Prometheus (rendered with the prometheus backend) and
 * remote_writes to a single-node victoria-metrics. Allow-lists keep everything, so central holds
 * the fleet's series and per-series costs dominate. Reports memory per active series, disk per
 * stored sample after the run, and p50/p99 of every global-view panel query over the window
 * both hold, on each backend.
 *
 * Then the issue's query window: the series a central holds with fedstack's default allow-lists
 * (captured from the live chain, copied over a fleet of meta-clusters) as 24 h of synthetic
 * history, backfilled into both (support/backfill.ts), and every global-view panel query as a
 * range query over the 24 h, on each; plus disk per sample of that history.
 */
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { victoriaMetricsArgs } from '../common/vmflags.ts';
import { parseDuration } from '../common/duration.ts';
import { toYaml } from '../common/serialize.ts';
import { BINARY, runVictoriaMetricsBinary, type RunningServer } from '../deploy/local/binaries.ts';
import { DASHBOARD_UID, exampleVariableValues, interpolate, panelQueries } from '../dashboards/index.ts';
import { createPlan } from '../render/plan.ts';
import { parseTopology } from '../topology/load.ts';
import { metaClusters, type Topology } from '../topology/model.ts';
import { REMOTE_WRITE_SELF_SELECTOR, SYSTEM_SELECTORS } from '../common/conventions.ts';
import { DEFAULT_CENTRAL_ALLOW_LIST, DEFAULT_CENTRAL_RULES } from '../topology/defaults.ts';
import { backfillAndQuery, duBytes, type BackfillResult } from './support/backfill.ts';
import { startFleetSource } from './support/fleet-source.ts';
import { copyOverFleet, seriesText, type FleetShape, type SeriesTemplate } from './support/history.ts';
import {
  freePort,
  query,
  queryNumber,
  startPrometheus,
  type RunningPrometheus,
} from './support/prometheus.ts';
import { recordCalibration } from './support/calibration.ts';
import type { Bench, Row } from './types.ts';

const FULL = { series: 100_000, nodes: 100, runMs: 120_000, repeats: 20 };
const SMOKE = { series: 1_800, nodes: 2, runMs: 5_000, repeats: 3 };
/**
 * The backfilled history: about `series` series (whole meta-clusters over 2 big regions × 2
 * regions) over `spanMs` at central's scrape interval, queried at Grafana's step for that span
 * on a ~1,400 px panel. Full: ~2,000 series × 5,760 samples (24 h at 15 s).
 */
const HISTORY_FULL = { series: 2_000, spanMs: 24 * 3600_000, stepS: 60, repeats: 20 };
const HISTORY_SMOKE = { series: 0, spanMs: 10 * 60_000, stepS: 10, repeats: 2 };

/**
 * What a central holds with fedstack's default allow-lists and the VictoriaMetrics backend:
 * the allow-listed aggregates and system series the cascade ships (read from VictoriaMetrics),
 * and central's own recording rules and ALERTS (read from the central Prometheus, which
 * evaluates them; vmalert would write the same back).
 */
async function centralSeries(vmUrl: string, promUrl: string): Promise<SeriesTemplate[]> {
  const shipped = [...DEFAULT_CENTRAL_ALLOW_LIST, ...SYSTEM_SELECTORS.central, REMOTE_WRITE_SELF_SELECTOR];
  const own = [`{__name__=~"${[...DEFAULT_CENTRAL_RULES.map((r) => r.record), 'ALERTS'].join('|')}"}`];
  const byText = new Map<string, SeriesTemplate>();
  for (const [url, selectors] of [
    [vmUrl, shipped],
    [promUrl, own],
  ] as const)
    for (const selector of selectors)
      for (const s of await query(url, selector)) {
        const t = { labels: s.metric, value: Number(s.value[1]) };
        byText.set(seriesText(t.labels), t);
      }
  return [...byText.values()];
}
const ALL = '{__name__=~".+"}';

function topology(
  addr: Record<'edge' | 'cascade' | 'central' | 'vm' | 'am' | 'amc', string>,
  sim: string,
  interval: string,
  backend: string,
): Topology {
  const tier = `{ scrapeInterval: ${interval}, evaluationInterval: ${interval}, retention: 1d }`;
  const text = `
apiVersion: fedstack/v1
kind: Topology
metadata: { name: bench-central-backend }
global: { edge: ${tier}, cascade: ${tier}, central: ${tier} }
central:
  backend: ${backend}
  replicas: [{ name: central-a, zone: a, endpoint: ${addr.central} }]
${backend === 'victoriametrics' ? `  victoriaMetrics: { endpoint: ${addr.vm}, vmstorage: 1, replicationFactor: 1 }` : ''}
alertmanager: { replicas: [{ name: am-0, zone: a, endpoint: ${addr.am}, clusterEndpoint: ${addr.amc} }] }
bigRegions:
  - name: br
    cascade: { endpoint: ${addr.cascade} }
    regions:
      - name: r1
        metaClusters:
          - { name: mc-1, endpoint: ${addr.edge}, guestClusters: 110, extraScrapeTargets: [{ job: fleet, targets: [${sim}] }] }
allowLists: { cascade: ['${ALL}'], central: ['${ALL}'] }
`;
  const r = parseTopology(text, 'bench-central-backend.yaml', { profile: 'local' });
  if (!r.ok)
    throw new Error(`bench topology invalid: ${r.errors.map((e) => `${e.path}: ${e.message}`).join('; ')}`);
  return r.topology;
}

const rss = (pid: number) =>
  Number(/VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0) * 1024;
/** A metric of a process' own /metrics (sum over its series). */
async function selfMetric(url: string, name: string, filter = ''): Promise<number> {
  const text = await (await fetch(`${url}/metrics`)).text();
  let sum = 0;
  for (const line of text.split('\n'))
    if (line.startsWith(`${name}{`) || line.startsWith(`${name} `))
      if (line.includes(filter)) sum += Number(line.split(' ').at(-1));
  return sum;
}
const quantile = (xs: number[], q: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(q * s.length))]!;
};

/** The backfilled history's rows: query p50/p99 side by side, the cross-checks, disk. */
function historyRows(
  h: BackfillResult,
  queries: number,
  hist: { spanMs: number; stepS: number; repeats: number },
  shape: FleetShape,
): Row[] {
  const bench = 'central-backend';
  const span = hist.spanMs >= 3600_000 ? `${hist.spanMs / 3600_000} h` : `${hist.spanMs / 60_000} min`;
  const p = h.prometheus;
  const v = h.victoriaMetrics;
  const ms = (x: number) => `${x.toFixed(1)} ms`;
  const what = `${queries} queries × ${hist.repeats}, range over ${span} at step ${hist.stepS} s; ${h.series} series (${shape.bigRegions} × ${shape.regionsPerBigRegion} × ${shape.metaClustersPerRegion} meta-clusters) × ${h.samples / h.series} samples`;
  const differ = p.seriesPerQuery.flatMap((n, i) =>
    n === v.seriesPerQuery[i] ? [] : [`query ${i + 1}: ${n} vs ${v.seriesPerQuery[i]}`],
  );
  return [
    {
      bench,
      metric: `both backends hold the backfilled ${span} (samples counted by each / generated)`,
      value: Math.min(p.samplesHeld, v.samplesHeld) / h.samples,
      unit: '',
      target: { op: '>=', bound: 1 },
      note: `generated ${h.samples}; Prometheus counts ${p.samplesHeld}, VictoriaMetrics ${v.samplesHeld} (setup: generate + promtool ${h.setupS.generateAndPromtool.toFixed(0)} s over ${h.windows} blocks, vmctl ${h.setupS.vmctl.toFixed(0)} s, compaction/merges settle ${h.setupS.settle.toFixed(0)} s)`,
    },
    {
      bench,
      metric: `panel queries over ${span} of history answering the same series on both`,
      value: (queries - differ.length) / queries,
      unit: '',
      target: { op: '>=', bound: 1 },
      note:
        differ.length === 0
          ? `${p.seriesPerQuery.reduce((a, b) => a + b, 0)} series in all`
          : differ.join('; '),
    },
    {
      bench,
      metric: `global-view panel queries over ${span} of backfilled history, p50, VictoriaMetrics / Prometheus`,
      value: quantile(v.ms, 0.5) / quantile(p.ms, 0.5),
      unit: '',
      note: `Prometheus ${ms(quantile(p.ms, 0.5))}, VictoriaMetrics ${ms(quantile(v.ms, 0.5))}; ${what}`,
      detail: { prometheusMs: quantile(p.ms, 0.5), victoriaMetricsMs: quantile(v.ms, 0.5) },
    },
    {
      bench,
      metric: `global-view panel queries over ${span} of backfilled history, p99, VictoriaMetrics / Prometheus`,
      value: quantile(v.ms, 0.99) / quantile(p.ms, 0.99),
      unit: '',
      target: { op: '<=', bound: 1.5 },
      note: `Prometheus ${ms(quantile(p.ms, 0.99))}, VictoriaMetrics ${ms(quantile(v.ms, 0.99))} (VictoriaMetrics with nocache=1)`,
      detail: { prometheusMs: quantile(p.ms, 0.99), victoriaMetricsMs: quantile(v.ms, 0.99) },
    },
    {
      bench,
      metric: `disk per sample after ${span} of backfilled history, VictoriaMetrics / Prometheus`,
      value: v.diskBytes / h.samples / (p.diskBytes / h.samples),
      unit: '',
      note: `Prometheus ${(p.diskBytes / h.samples).toFixed(2)} B, VictoriaMetrics ${(v.diskBytes / h.samples).toFixed(2)} B (data dir after stop / samples; Prometheus' compacted blocks)`,
      detail: {
        prometheusBytesPerSample: p.diskBytes / h.samples,
        victoriaMetricsBytesPerSample: v.diskBytes / h.samples,
      },
    },
  ];
}

export const centralBackendBench: Bench = {
  name: 'central-backend',
  description: 'the same federated input into central as Prometheus and as VictoriaMetrics',
  async run({ smoke, log, resultsDir }) {
    const size = smoke ? SMOKE : FULL;
    // 15 s in full: central's federation scrape of ~100k series must finish inside its timeout
    // on 2 shared cores while the cascade also remote_writes.
    const interval = smoke ? '1s' : '15s';
    const dir = mkdtempSync(join(tmpdir(), 'fedstack-bench-backend-'));
    const procs: RunningPrometheus[] = [];
    let vm: RunningServer | undefined;
    const sim = await startFleetSource(size);
    let simClosed = false;
    try {
      const a = async () => `127.0.0.1:${await freePort()}`;
      const addr = {
        edge: await a(),
        cascade: await a(),
        central: await a(),
        vm: await a(),
        am: await a(),
        amc: await a(),
      };
      const vmPlan = createPlan(topology(addr, sim.address, interval, 'victoriametrics'), 'local');
      const promPlan = createPlan(topology(addr, sim.address, interval, 'prometheus'), 'local');
      const mc = metaClusters(vmPlan.topology)[0]!.metaCluster.name;
      const start = async (name: string, address: string, b: { config: object; rules: object }) => {
        const p = await startPrometheus({
          name,
          dir,
          address,
          config: toYaml(b.config),
          rules: toYaml(b.rules),
        });
        procs.push(p);
        return p;
      };
      const vmData = join(dir, 'vm-data');
      mkdirSync(vmData);
      // Without its self-scrape: VictoriaMetrics holds exactly what the cascade writes.
      const { promscrapeConfig: _scrape, ...single } = vmPlan.victoriaMetrics()!.single!;
      vm = await runVictoriaMetricsBinary(
        BINARY.victoriaMetrics,
        single.httpListenAddr,
        victoriaMetricsArgs({ ...single, storageDataPath: vmData, loggerLevel: 'ERROR' }),
        { name: 'victoria-metrics' },
      );
      await start('edge', addr.edge, vmPlan.edge(mc)!.bundle);
      await start('cascade', addr.cascade, vmPlan.cascade('br')!.bundle);
      const central = await start('central', addr.central, promPlan.central('central-a')!.bundle);
      log(`central-backend: ${sim.series} series from the ${sim.source}, interval ${interval}`);

      const count = (url: string) => queryNumber(url, `count(${ALL})`);
      const deadline = Date.now() + (smoke ? 40_000 : 240_000);
      const t0 = Date.now();
      let held = { p: 0, v: 0 };
      while (Date.now() < deadline) {
        held = { p: await count(central.url), v: await count(vm.url) };
        if (held.p > sim.series * 0.9 && held.v > sim.series * 0.9) break;
        await new Promise((r) => setTimeout(r, smoke ? 1000 : 5000));
      }
      // Per-series costs compare only when both hold the fleet: say so rather than divide.
      if (held.p <= sim.series * 0.9 || held.v <= sim.series * 0.9)
        return [
          {
            bench: 'central-backend',
            metric: 'memory per active series, VictoriaMetrics / Prometheus',
            value: null,
            unit: '',
            target: { op: '<=', bound: 1 / 3 },
            notRun: `the two centrals never both held the fleet (${sim.series} series): Prometheus ${held.p}, VictoriaMetrics ${held.v}`,
          },
        ];
      await new Promise((r) => setTimeout(r, size.runMs));
      const windowS = Math.floor((Date.now() - t0) / 1000);

      const promSeries = await selfMetric(central.url, 'prometheus_tsdb_head_series');
      // hour_metric_ids holds the series seen this hour: just after an hour boundary it is still
      // refilling (a CI run at 00:05 read 0), so the series a query sees bound it from below.
      const vmSeries = Math.max(
        await selfMetric(vm.url, 'vm_cache_entries', 'type="storage/hour_metric_ids"'),
        held.v,
      );
      const promSamples = await selfMetric(central.url, 'prometheus_tsdb_head_samples_appended_total');
      const vmSamples = await selfMetric(vm.url, 'vm_rows_inserted_total');
      const promMem = rss(central.pid) / promSeries;
      const vmMem = rss(vm.process.pid) / vmSeries;

      // Every global-view panel query, as an instant query and as a range query over the window.
      const values = exampleVariableValues(vmPlan.topology);
      const exprs = panelQueries(vmPlan.topology)
        .filter((q) => q.dashboard === DASHBOARD_UID.global && q.kind === 'panel')
        .map((q) => interpolate(q.expr, values));
      const times = async (url: string) => {
        const ms: number[] = [];
        const end = Math.floor(Date.now() / 1000) - 5;
        for (let i = 0; i < size.repeats; i++)
          for (const expr of exprs) {
            const body = new URLSearchParams({
              query: expr,
              start: String(end - windowS),
              end: String(end),
              step: interval.replace('s', ''),
            });
            const t = performance.now();
            const res = await fetch(`${url}/api/v1/query_range`, { method: 'POST', body });
            await res.arrayBuffer();
            ms.push(performance.now() - t);
          }
        return ms;
      };
      const promMs = await times(central.url);
      const vmMs = await times(vm.url);
      const captured = await centralSeries(vm.url, central.url);
      // Stop both so what is buffered in memory is on disk before it is measured.
      await central.stop();
      await vm.stop();
      const promDisk = duBytes(join(dir, 'central', 'data'));
      const vmDisk = duBytes(vmData);
      // The rest of the chain too: the backfill below has the cores to itself.
      for (const p of procs.splice(0).reverse()) await p.stop();
      await sim.close();
      simClosed = true;

      const hist = smoke ? HISTORY_SMOKE : HISTORY_FULL;
      const perMetaCluster = captured.filter((t) => (t.labels['meta_cluster'] ?? '') !== '').length;
      const shape = smoke
        ? { bigRegions: 1, regionsPerBigRegion: 1, metaClustersPerRegion: 2 }
        : {
            bigRegions: 2,
            regionsPerBigRegion: 2,
            metaClustersPerRegion: Math.max(1, Math.floor(hist.series / 4 / Math.max(1, perMetaCluster))),
          };
      const intervalMs = parseDuration(vmPlan.topology.global.central.scrapeInterval);
      const { promscrapeConfig: _s, ...singleFlags } = vmPlan.victoriaMetrics()!.single!;
      const history = await backfillAndQuery({
        dir,
        templates: copyOverFleet(captured, shape),
        // A minute back, so VictoriaMetrics' latency offset cuts nothing off the window's end.
        endMs: Math.floor((Date.now() - 60_000) / intervalMs) * intervalMs,
        spanMs: hist.spanMs,
        intervalMs,
        seed: 'central-backend',
        victoriaMetrics: singleFlags,
        exprs,
        stepS: hist.stepS,
        repeats: hist.repeats,
        log,
      });

      const bench = 'central-backend';
      const both = (p: number, v: number, unit: string) =>
        `Prometheus ${p.toFixed(unit === 'ms' ? 1 : 2)} ${unit}, VictoriaMetrics ${v.toFixed(unit === 'ms' ? 1 : 2)} ${unit}`;
      const rows: Row[] = [
        {
          bench,
          metric: 'memory per active series, VictoriaMetrics / Prometheus',
          value: vmMem / promMem,
          unit: '',
          target: { op: '<=', bound: 1 / 3 },
          note: `${both(promMem, vmMem, 'B')} (RSS / ${Math.round(promSeries)} and ${Math.round(vmSeries)} series)`,
          detail: { prometheusBytesPerSeries: promMem, victoriaMetricsBytesPerSeries: vmMem },
        },
        {
          bench,
          metric: `disk per sample after ${windowS} s, VictoriaMetrics / Prometheus`,
          value: vmDisk / vmSamples / (promDisk / promSamples),
          unit: '',
          note: `${both(promDisk / promSamples, vmDisk / vmSamples, 'B')}; a short run: Prometheus' is mostly WAL, not compacted blocks`,
          detail: {
            prometheusBytesPerSample: promDisk / promSamples,
            victoriaMetricsBytesPerSample: vmDisk / vmSamples,
          },
        },
        {
          bench,
          metric: `global-view panel queries p50 (${exprs.length} queries × ${size.repeats}, ${windowS} s window)`,
          value: quantile(vmMs, 0.5) / quantile(promMs, 0.5),
          unit: '',
          note: both(quantile(promMs, 0.5), quantile(vmMs, 0.5), 'ms'),
        },
        {
          bench,
          metric: 'global-view panel queries p99, VictoriaMetrics / Prometheus',
          value: quantile(vmMs, 0.99) / quantile(promMs, 0.99),
          unit: '',
          target: { op: '<=', bound: 1.5 },
          note: both(quantile(promMs, 0.99), quantile(vmMs, 0.99), 'ms'),
        },
        ...historyRows(history, exprs.length, hist, shape),
      ];
      // What `fedstack capacity` sizes vmstorage by: memory per active series (live), disk per
      // sample once the data is compacted (the backfilled history, not a few minutes of parts).
      if (!smoke)
        recordCalibration(
          resultsDir,
          {
            vmBytesPerSeries: vmMem,
            vmBytesPerSample: history.victoriaMetrics.diskBytes / history.samples,
          },
          bench,
        );
      return rows;
    } finally {
      for (const p of procs.reverse()) await p.stop();
      await vm?.stop();
      if (!simClosed) await sim.close();
      rmSync(dir, { recursive: true, force: true });
    }
  },
};
