/**
 * Bench: federation cost on real Prometheus. One edge scraping ~100k fleet series, federated
 * side by side by two cascade → central chains rendered from the same topology with the local
 * profile: (a) naive, allow-lists `{__name__=~".+"}`; (b) fedstack's default allow-lists and
 * recording rules. Reports b/a for series, bytes and duration of federation scrapes and RSS,
 * checks every central rule still answers in (b), and calibrates the capacity planner's bytes
 * per series.
 */
import { request } from 'node:http';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { JOB } from '../common/conventions.ts';
import type { PrometheusBundle } from '../common/prometheus.ts';
import { toYaml } from '../common/serialize.ts';
import { createPlan } from '../render/plan.ts';
import { parseTopology } from '../topology/load.ts';
import { metaClusters, type Topology } from '../topology/model.ts';
import { recordCalibration } from './support/calibration.ts';
import { startFleetSource } from './support/fleet-source.ts';
import {
  freePort,
  query,
  queryNumber,
  startPrometheus,
  type RunningPrometheus,
} from './support/prometheus.ts';
import type { Bench, Row } from './types.ts';

/** ~100k series at the edge in full mode (the issue's size), ~2k in smoke mode. */
const FULL = { series: 100_000, nodes: 100 };
const SMOKE = { series: 1_800, nodes: 2 };
const NAIVE = '{__name__=~".+"}';

interface Ports {
  edge: string;
  cascade: string;
  central: string;
  alertmanager: string;
  alertmanagerCluster: string;
}

function topologyText(p: Ports, simulator: string, interval: string, naive: boolean): string {
  const tier = `{ scrapeInterval: ${interval}, evaluationInterval: ${interval}, retention: 1h }`;
  return `
apiVersion: fedstack/v1
kind: Topology
metadata: { name: bench-federation }
global:
  edge: ${tier}
  cascade: ${tier}
  central: ${tier}
central: { replicas: [{ name: central-a, zone: a, endpoint: ${p.central} }] }
alertmanager: { replicas: [{ name: am-0, zone: a, endpoint: ${p.alertmanager}, clusterEndpoint: ${p.alertmanagerCluster} }] }
bigRegions:
  - name: br
    cascade: { endpoint: ${p.cascade} }
    regions:
      - name: r1
        metaClusters:
          - name: mc-1
            endpoint: ${p.edge}
            guestClusters: 110
            extraScrapeTargets: [{ job: fleet, targets: [${simulator}] }]
${naive ? `allowLists: { cascade: ['${NAIVE}'], central: ['${NAIVE}'] }\n` : ''}`;
}

function load(text: string): Topology {
  const r = parseTopology(text, 'bench-federation.yaml', { profile: 'local' });
  if (!r.ok)
    throw new Error(`bench topology invalid: ${r.errors.map((e) => `${e.path}: ${e.message}`).join('; ')}`);
  return r.topology;
}

const matchOf = (b: PrometheusBundle, job: string): string[] => {
  const sc = b.config.scrape_configs?.find((s) => s.job_name === job);
  return [...(sc?.params?.['match[]'] ?? [])];
};

/** One /federate GET as Prometheus makes it: bytes on the wire (gzip) and decoded, and time. */
async function federateOnce(
  base: string,
  match: readonly string[],
): Promise<{ wire: number; text: number; ms: number }> {
  const qs = match.map((m) => `match[]=${encodeURIComponent(m)}`).join('&');
  const t0 = performance.now();
  const wire = await new Promise<number>((resolve, reject) => {
    const req = request(
      `${base}/federate?${qs}`,
      { headers: { 'accept-encoding': 'gzip', accept: 'text/plain;version=0.0.4' } },
      (res) => {
        let n = 0;
        res.on('data', (d: Buffer) => (n += d.length));
        res.on('end', () => resolve(n));
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end();
  });
  const ms = performance.now() - t0;
  const text = (await (await fetch(`${base}/federate?${qs}`)).text()).length;
  return { wire, text, ms };
}

const countAll = 'count({__name__=~".+"})';

/** The expression an alert rule compares, without its threshold (so "answers" means data is there). */
export function alertSubject(expr: string): string {
  return expr.replace(/\s*(?:>|<|==|!=|>=|<=)\s*(?:bool\s+)?-?[\d.e+]+\s*$/, '');
}

export const federationCostBench: Bench = {
  name: 'federation-cost',
  description: 'real Prometheus: naive vs fedstack federation of a ~100k-series edge',
  async run({ smoke, log, resultsDir }) {
    const size = smoke ? SMOKE : FULL;
    const interval = smoke ? '1s' : '5s';
    const dir = mkdtempSync(join(tmpdir(), 'fedstack-bench-fed-'));
    const procs: RunningPrometheus[] = [];
    const sim = await startFleetSource(size);
    try {
      const addr = async () => `127.0.0.1:${await freePort()}`;
      const edgeAddr = await addr();
      // No Alertmanager runs: nothing fires in this bench, the address only has to be valid.
      const am = { alertmanager: await addr(), alertmanagerCluster: await addr() };
      const portsA: Ports = { edge: edgeAddr, cascade: await addr(), central: await addr(), ...am };
      const portsB: Ports = { edge: edgeAddr, cascade: await addr(), central: await addr(), ...am };
      const topoA = load(topologyText(portsA, sim.address, interval, true));
      const topoB = load(topologyText(portsB, sim.address, interval, false));
      const placed = metaClusters(topoB)[0]!;
      const planA = createPlan(topoA, 'local');
      const planB = createPlan(topoB, 'local');
      const edgeB = planB.edge(placed.metaCluster.name)!.bundle;
      const render = (plan: typeof planA) => ({
        cascade: plan.cascade(plan.topology.bigRegions[0]!.name)!.bundle,
        central: plan.central(plan.topology.central.replicas[0]!.name)!.bundle,
      });
      const a = render(planA);
      const b = render(planB);
      log(`federation-cost: ${sim.series} series from the ${sim.source}, interval ${interval}`);

      const start = async (name: string, address: string, bundle: PrometheusBundle) => {
        const p = await startPrometheus({
          name,
          dir,
          address,
          config: toYaml(bundle.config),
          rules: toYaml(bundle.rules),
        });
        procs.push(p);
        return p;
      };
      const edge = await start('edge', edgeAddr, edgeB);
      const cascadeA = await start('cascade-naive', portsA.cascade, a.cascade);
      const centralA = await start('central-naive', portsA.central, a.central);
      const cascadeB = await start('cascade-fedstack', portsB.cascade, b.cascade);
      const centralB = await start('central-fedstack', portsB.central, b.central);

      // What must answer at central (b): every central recording rule and every alert's subject.
      const checks = [
        ...topoB.recordingRules.central.map((r) => r.record),
        ...[...topoB.alertRules, ...planB.facts.metaAlertRules].map((r) => alertSubject(r.expr)),
      ];
      const answering = async () => {
        let n = 0;
        for (const c of checks) if ((await query(centralB.url, c)).length > 0) n++;
        return n;
      };
      const deadline = Date.now() + (smoke ? 30_000 : 120_000);
      let answered = 0;
      while (Date.now() < deadline) {
        answered = await answering();
        const naiveReady = (await queryNumber(centralA.url, `count(up{job="${JOB.federateEdge}"})`)) > 0;
        if (answered === checks.length && naiveReady) break;
        await new Promise((r) => setTimeout(r, 1000));
      }
      // Two more rounds so every tier holds a steady head, then measure.
      await new Promise((r) => setTimeout(r, 2 * (smoke ? 1000 : 5000)));
      answered = await answering();
      log(`federation-cost: ${answered}/${checks.length} central checks answer`);

      const series = async (p: RunningPrometheus) => queryNumber(p.url, countAll);
      const scrapeDuration = async (p: RunningPrometheus, job: string) =>
        queryNumber(p.url, `max(scrape_duration_seconds{job="${job}"})`);
      const edgeSeries = await series(edge);
      const casA = await series(cascadeA);
      const casB = await series(cascadeB);
      const cenA = await series(centralA);
      const cenB = await series(centralB);
      const fedEdgeA = await federateOnce(edge.url, matchOf(a.cascade, JOB.federateEdge));
      const fedEdgeB = await federateOnce(edge.url, matchOf(b.cascade, JOB.federateEdge));
      const fedCasA = await federateOnce(cascadeA.url, matchOf(a.central, JOB.federateCascade));
      const fedCasB = await federateOnce(cascadeB.url, matchOf(b.central, JOB.federateCascade));
      const durEdgeA = await scrapeDuration(cascadeA, JOB.federateEdge);
      const durEdgeB = await scrapeDuration(cascadeB, JOB.federateEdge);
      const durCasA = await scrapeDuration(centralA, JOB.federateCascade);
      const durCasB = await scrapeDuration(centralB, JOB.federateCascade);
      const rss = {
        casA: cascadeA.rssBytes(),
        casB: cascadeB.rssBytes(),
        cenA: centralA.rssBytes(),
        cenB: centralB.rssBytes(),
        edge: edge.rssBytes(),
      };

      const bench = 'federation-cost';
      const ratio = (metric: string, va: number, vb: number, unit: string, target?: Row['target']): Row => ({
        bench,
        metric: `${metric} b/a`,
        value: va === 0 ? null : vb / va,
        unit: '',
        target,
        note: `a (naive) ${`${fmt(va)} ${unit}`.trim()}, b (fedstack) ${`${fmt(vb)} ${unit}`.trim()}`,
        detail: { a: va, b: vb },
        ...(va === 0 ? { notRun: `naive value is 0 (${metric})` } : {}),
      });
      const MiB = 2 ** 20;
      const rows: Row[] = [
        {
          bench,
          metric: 'edge series (fleet + rules + self)',
          value: edgeSeries,
          unit: '',
          note: `${sim.series} from the ${sim.source}`,
          detail: { fleet: sim.series },
        },
        ratio('cascade series', casA, casB, ''),
        ratio('central series', cenA, cenB, '', { op: '<', bound: 0.05 }),
        ratio('edge→cascade federation bytes (gzip)', fedEdgeA.wire, fedEdgeB.wire, 'B'),
        ratio('edge→cascade federation bytes (text)', fedEdgeA.text, fedEdgeB.text, 'B'),
        ratio('cascade→central federation bytes (gzip)', fedCasA.wire, fedCasB.wire, 'B'),
        ratio('edge→cascade scrape duration', durEdgeA, durEdgeB, 's'),
        ratio('cascade→central scrape duration', durCasA, durCasB, 's'),
        ratio('cascade RSS', rss.casA / MiB, rss.casB / MiB, 'MiB'),
        ratio('central RSS', rss.cenA / MiB, rss.cenB / MiB, 'MiB'),
        {
          bench,
          metric: 'central rules/alerts answering in b',
          value: answered / checks.length,
          unit: '',
          target: { op: '>=', bound: 1 },
          note: `${answered} of ${checks.length}`,
          detail: { answered, total: checks.length },
        },
        await dashboardPanels(bench, centralB.url, topoB),
      ];

      // Head memory per series, from the two chains' difference (same binary, same base).
      const bytesPerSeries = (rss.casA + rss.cenA - rss.casB - rss.cenB) / (casA + cenA - casB - cenB);
      if (Number.isFinite(bytesPerSeries) && bytesPerSeries > 0) {
        rows.push({
          bench,
          metric: 'Prometheus memory per series (calibration)',
          value: bytesPerSeries,
          unit: 'B',
        });
        if (!smoke) recordCalibration(resultsDir, { bytesPerSeries: Math.round(bytesPerSeries) }, bench);
      }
      return rows;
    } finally {
      for (const p of procs.reverse()) await p.stop();
      await sim.close();
      rmSync(dir, { recursive: true, force: true });
    }
  },
};

const DASHBOARD_CHECK = fileURLToPath(new URL('../dashboards/check.ts', import.meta.url));

/** The part of dashboards/check.ts (issue 6) used here; loaded dynamically so this compiles before it lands. */
interface DashboardCheckModule {
  runPanelQueries(opts: {
    baseUrl: string;
    topology: Topology;
  }): Promise<{ problem: string | undefined; expr: string }[]>;
}

/** Every default dashboard panel's query run at central (b) as Grafana would. */
async function dashboardPanels(bench: string, baseUrl: string, topology: Topology): Promise<Row> {
  const metric = 'default dashboard panels answering in b';
  const target = { op: '>=', bound: 1 } as const;
  if (!existsSync(DASHBOARD_CHECK))
    return { bench, metric, value: null, unit: '', target, notRun: 'dashboards/ (issue 6) not on main yet' };
  const { runPanelQueries } = (await import(DASHBOARD_CHECK)) as DashboardCheckModule;
  const outcomes = await runPanelQueries({ baseUrl, topology });
  const ok = outcomes.filter((o) => o.problem === undefined).length;
  const firstProblem = outcomes.find((o) => o.problem !== undefined);
  return {
    bench,
    metric,
    value: outcomes.length === 0 ? null : ok / outcomes.length,
    unit: '',
    target,
    note: `${ok} of ${outcomes.length}${firstProblem ? `; first problem: ${firstProblem.problem}` : ''}`,
    detail: { answering: ok, total: outcomes.length },
    ...(outcomes.length === 0 ? { notRun: 'dashboards/ defines no panel queries' } : {}),
  };
}

const fmt = (v: number) => (Number.isInteger(v) ? v.toLocaleString('en-US') : v.toFixed(v >= 100 ? 0 : 3));
