/**
 * Every dashboard query against a real Prometheus 2.42 holding series shaped as central stores
 * them (labels as the federation jobs set them: hierarchy labels added, no federation-job `job`
 * on aggregates). It proves the queries run without
 * error and select data when the tiers below deliver; the full three-tier e2e run uses the same
 * runPanelQueries() against the local stack's central replica.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { HEARTBEAT_METRIC, JOB } from '../../common/conventions.ts';
import { metaClusters, type Topology } from '../../topology/model.ts';
import { describeProblems, runPanelQueries } from '../../dashboards/check.ts';
import { ALL_VALUES } from '../../dashboards/index.ts';
import { defaultTopology } from './helpers.ts';

const topo = defaultTopology();
// A recent time, so the backfilled block is inside the default retention.
const T = Math.floor(Date.now() / 1000) - 3600;
let dir = '';
let prom: ChildProcess | undefined;
let baseUrl = '';

function series(name: string, labels: Record<string, string>, value: number): string {
  const l = Object.entries(labels).map(([k, v]) => `${k}="${v}"`).join(',');
  return `${name}{${l}} ${value} ${T}`;
}

/** What central holds for this topology when every tier works (OpenMetrics text). */
function centralSeries(t: Topology): string {
  const lines: string[] = [];
  for (const p of metaClusters(t)) {
    const place = { big_region: p.bigRegion.name, region: p.region.name, meta_cluster: p.metaCluster.name };
    const target = { ...place, instance: p.metaCluster.endpoint, job: JOB.federateEdge };
    lines.push(series('up', target, 1), series('scrape_duration_seconds', target, 0.2), series('scrape_samples_scraped', target, 900));
    lines.push(series('scrape_samples_post_metric_relabeling', target, 880), series('scrape_series_added', target, 0));
    // Edge aggregates have no job of their own, and the federation jobs drop theirs.
    lines.push(series(HEARTBEAT_METRIC, place, T - 20));
    for (const cid of ['c-1', 'c-2']) {
      lines.push(series('cluster:etcd_server_has_leader:min', { ...place, cluster_id: cid }, 1));
      lines.push(series('cluster:apiserver_request_duration_seconds:p99_5m', { ...place, cluster_id: cid }, 0.3));
    }
    for (const [name, v] of [
      ['meta_cluster:node_cpu_utilisation:ratio', 0.4],
      ['meta_cluster:node_memory_utilisation:ratio', 0.5],
      ['meta_cluster:kube_node:count', 5],
      ['meta_cluster:kube_node_ready:count', 5],
      ['meta_cluster:container_cpu_usage_seconds:rate5m', 3],
      ['meta_cluster:container_memory_working_set_bytes:sum', 1e10],
    ] as const) lines.push(series(name, place, v));
    lines.push(series('meta_cluster:up:ratio', { ...place, instance: p.metaCluster.endpoint, job: JOB.apiserver }, 1));
    // Cascade rule outputs (aggregated by big_region, region, meta_cluster).
    lines.push(series('meta_cluster:apiserver_request:rate5m', { ...place, code: '200' }, 50));
    lines.push(series('meta_cluster:apiserver_request:rate5m', { ...place, code: '500' }, 1));
    lines.push(series('meta_cluster:apiserver_request_errors:ratio_rate5m', place, 0.02));
    lines.push(series('meta_cluster:apiserver_request_duration_seconds:p99_5m', place, 0.3));
    lines.push(series('meta_cluster:etcd_clusters_without_leader:count', place, 0));
  }
  for (const br of t.bigRegions) {
    for (const r of br.regions) {
      const place = { big_region: br.name, region: r.name };
      lines.push(series('region:apiserver_request_errors:ratio_rate5m', place, 0.02));
      lines.push(series('region:kube_node_not_ready:count', place, 0));
      lines.push(series('region:edge_up:ratio', place, 1));
    }
    lines.push(series('big_region:apiserver_request_errors:ratio_rate5m', { big_region: br.name }, 0.02));
    lines.push(series('big_region:edge_up:ratio', { big_region: br.name }, 1));
    const cascade = { big_region: br.name, instance: br.cascade.endpoint, job: JOB.federateCascade };
    lines.push(series('up', cascade, 1), series('scrape_duration_seconds', cascade, 0.5), series('scrape_samples_scraped', cascade, 5000));
    lines.push(series('scrape_samples_post_metric_relabeling', cascade, 5000), series('scrape_series_added', cascade, 0));
  }
  return `${lines.join('\n')}\n# EOF\n`;
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'fedstack-dash-live-'));
  writeFileSync(join(dir, 'central.om'), centralSeries(topo));
  execFileSync('promtool', ['tsdb', 'create-blocks-from', 'openmetrics', join(dir, 'central.om'), join(dir, 'data')], { stdio: 'pipe' });
  writeFileSync(join(dir, 'prometheus.yml'), 'global: {}\n');
  const port = await freePort();
  baseUrl = `http://127.0.0.1:${port}`;
  prom = spawn(
    'prometheus',
    [`--config.file=${join(dir, 'prometheus.yml')}`, `--storage.tsdb.path=${join(dir, 'data')}`, `--web.listen-address=127.0.0.1:${port}`],
    { stdio: 'ignore' },
  );
  for (let i = 0; i < 200; i++) {
    try {
      if ((await fetch(`${baseUrl}/-/ready`)).ok) return;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error('prometheus did not become ready');
});

after(() => {
  if (prom?.pid !== undefined) prom.kill('SIGTERM');
  if (dir !== '') rmSync(dir, { recursive: true, force: true });
});

test('every panel and variable query returns data with the variables set to one big region, region and meta-cluster', async () => {
  const outcomes = await runPanelQueries({ baseUrl, topology: topo, time: T });
  assert.deepEqual(describeProblems(outcomes), []);
  assert.ok(outcomes.length > 60);
  // Only the "nothing is wrong" queries came back empty.
  assert.deepEqual(
    outcomes.filter((o) => o.series === 0).map((o) => o.query.mayBeEmpty).sort(),
    ['every edge is fresh', 'every edge is reachable', 'no alert is firing'],
  );
});

test('every query returns data with every variable set to All', async () => {
  const outcomes = await runPanelQueries({ baseUrl, topology: topo, time: T, values: ALL_VALUES });
  assert.deepEqual(describeProblems(outcomes), []);
});

test('the drill-down variables narrow the answer to the chosen meta-cluster', async () => {
  const outcomes = await runPanelQueries({ baseUrl, topology: topo, time: T });
  const variable = (uid: string, name: string) => outcomes.find((o) => o.query.dashboard === uid && o.query.panel === `variable $${name}`)!;
  assert.equal(variable('fedstack-global', 'big_region').series, topo.bigRegions.length);
  assert.equal(variable('fedstack-global', 'region').series, topo.bigRegions[0]!.regions.length);
  assert.equal(variable('fedstack-global', 'meta_cluster').series, topo.bigRegions[0]!.regions[0]!.metaClusters.length);
  const guests = outcomes.find((o) => o.query.dashboard === 'fedstack-meta-cluster' && o.query.panel === 'Guest apiserver p99 latency (top 20)')!;
  assert.equal(guests.series, 2, 'two guest clusters of one meta-cluster');
});

test('a query Prometheus refuses is reported as a problem, not as empty', async () => {
  const broken = await runPanelQueries({ baseUrl, topology: topo, time: T, values: { big_region: ['('] } });
  // The variable value is regex-escaped, so even "(" stays valid: no problem.
  assert.deepEqual(describeProblems(broken).filter((p) => p.includes('error:')), []);
  const refused = await runPanelQueries({
    baseUrl,
    topology: topo,
    time: T,
    fetch: (async () => new Response(JSON.stringify({ status: 'error', errorType: 'bad_data', error: 'parse error' }), { status: 400 })) as typeof fetch,
  });
  assert.ok(refused.every((o) => o.problem === 'error: parse error'));
});
