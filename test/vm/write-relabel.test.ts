/**
 * A cascade's remote_write to VictoriaMetrics must deliver what central's federation of it
 * delivers: the same series (allow-list and system selectors) with the same labels after
 * central's relabel rules. The oracle is the rendered Prometheus central itself: its federation
 * job's match[], target labels (honor_labels: the series' own win) and metric_relabel_configs,
 * run through the relabel interpreter, against the VictoriaMetrics cascade's
 * write_relabel_configs, on the relabel-rewrites scenario (every rule kind, scoped overrides).
 * `instance` is the one known difference: federation gives a series without one the cascade's
 * address; remote_write adds nothing.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { JOB } from '../../common/conventions.ts';
import type { RelabelConfig } from '../../common/prometheus.ts';
import { createPlan } from '../../render/plan.ts';
import { parseTopology } from '../../topology/load.ts';
import { applyRelabel } from '../../topology/relabel-eval.ts';
import { parseSelector, selectorMatches } from '../../topology/selector.ts';

const FILE = fileURLToPath(new URL('../fixtures/scenarios/relabel-rewrites.good.yaml', import.meta.url));
const text = readFileSync(FILE, 'utf8');
const withBackend = text.replace(
  /^central:\n/m,
  'central:\n  backend: victoriametrics\n  victoriaMetrics: { endpoint: vm.example.com:8427 }\n',
);
const parse = (t: string) => {
  const r = parseTopology(t, FILE);
  if (!r.ok) throw new Error(JSON.stringify(r.errors));
  return r.topology;
};
const promPlan = createPlan(parse(text), 'kubernetes');
const vmPlan = createPlan(parse(withBackend), 'kubernetes');

/** What the Prometheus central stores of `series` (as the cascade's /federate answers it), or undefined. */
function viaFederation(
  bigRegion: string,
  series: Record<string, string>,
): Record<string, string> | undefined {
  const job = promPlan
    .central('central-a')!
    .bundle.config.scrape_configs.find((j) => j.job_name === JOB.federateCascade)!;
  const { __name__: name, ...labels } = series;
  const match = (job.params?.['match[]'] ?? []).map(parseSelector);
  if (!match.some((m) => selectorMatches(m, name!, labels))) return undefined;
  const group = job.static_configs!.find((g) => g.labels?.big_region === bigRegion)!;
  const target = applyRelabel(
    {
      __address__: group.targets[0]!,
      instance: group.targets[0]!,
      job: JOB.federateCascade,
      ...group.labels,
    },
    (job.relabel_configs ?? []) as RelabelConfig[],
  )!;
  const visible = Object.fromEntries(Object.entries(target).filter(([k]) => !k.startsWith('__')));
  // honor_labels: the series' own labels win.
  const out = applyRelabel({ ...visible, ...series }, (job.metric_relabel_configs ?? []) as RelabelConfig[]);
  if (out === undefined) return undefined;
  const { instance: _instance, ...rest } = out;
  return rest;
}

/** What VictoriaMetrics stores of the same series, written by the cascade (external labels first). */
function viaRemoteWrite(
  bigRegion: string,
  series: Record<string, string>,
): Record<string, string> | undefined {
  const cascade = vmPlan.cascade(bigRegion)!.bundle.config;
  const external = cascade.global.external_labels ?? {};
  const out = applyRelabel(
    { ...series, ...external },
    cascade.remote_write![0]!.write_relabel_configs as RelabelConfig[],
  );
  if (out === undefined) return undefined;
  const { instance: _instance, ...rest } = out;
  return rest;
}

const place = (mc: string, region: string, br: string) => ({ big_region: br, region, meta_cluster: mc });
const CASES: [string, string, Record<string, string>][] = [
  [
    'a meta-cluster aggregate with a colliding team label',
    'china',
    {
      __name__: 'meta_cluster:node_cpu_utilisation:ratio',
      ...place('mc-prod-hz-01', 'cn-hangzhou', 'china'),
      team: 'a',
      env: 'prod',
    },
  ],
  [
    'a series of the meta-cluster whose central override sets env',
    'china',
    {
      __name__: 'meta_cluster:kube_node:count',
      ...place('mc-dev-hz-02', 'cn-hangzhou', 'china'),
      env: 'dev',
    },
  ],
  [
    'a region aggregate in europe, whose region is mapped to a continent',
    'europe',
    {
      __name__: 'region:apiserver_request_errors:ratio_rate5m',
      big_region: 'europe',
      region: 'eu-central-1',
    },
  ],
  [
    'a guest-cluster aggregate central keeps',
    'china',
    {
      __name__: 'cluster:etcd_server_has_leader:min',
      ...place('mc-prod-hz-01', 'cn-hangzhou', 'china'),
      cluster_id: 'c-1',
    },
  ],
  [
    'the heartbeat',
    'china',
    { __name__: 'fedstack:heartbeat:timestamp_seconds', ...place('mc-prod-hz-01', 'cn-hangzhou', 'china') },
  ],
  [
    'an edge federation up',
    'china',
    {
      __name__: 'up',
      job: JOB.federateEdge,
      instance: '10.10.1.10:9090',
      ...place('mc-prod-hz-01', 'cn-hangzhou', 'china'),
    },
  ],
  [
    'a raw series no allow-list keeps',
    'china',
    { __name__: 'node_cpu_seconds_total', ...place('mc-prod-hz-01', 'cn-hangzhou', 'china'), cpu: '0' },
  ],
  [
    'a cascade-only aggregate',
    'china',
    {
      __name__: 'cluster:apiserver_request:rate5m',
      ...place('mc-prod-hz-01', 'cn-hangzhou', 'china'),
      code: '200',
    },
  ],
  [
    'an up of another job',
    'china',
    { __name__: 'up', job: 'apiserver', ...place('mc-prod-hz-01', 'cn-hangzhou', 'china') },
  ],
];

describe("a cascade's remote_write delivers what central's federation would", () => {
  for (const [name, br, series] of CASES) {
    it(name, () => assert.deepEqual(viaRemoteWrite(br, series), viaFederation(br, series)));
  }

  it('also ships the cascade its own health, which central never federated, untouched by keep rules', () => {
    const own = {
      __name__: 'prometheus_remote_storage_samples_pending',
      job: 'prometheus',
      instance: 'localhost:9090',
    };
    assert.deepEqual(viaRemoteWrite('china', own), {
      __name__: own.__name__,
      job: 'prometheus',
      big_region: 'china',
      team: 'platform',
    });
    // The same name from an edge (it carries meta_cluster) is not the cascade's own.
    assert.equal(viaRemoteWrite('china', { ...own, meta_cluster: 'mc-prod-hz-01' }), undefined);
  });
});

it('the oracle sees the rewrites (the comparison is not of two empty answers)', () => {
  const [, br, series] = CASES[0]!;
  assert.deepEqual(viaFederation(br, series), {
    __name__: 'meta_cluster:node_cpu_utilisation:ratio',
    ...place('mc-prod-hz-01', 'cn-hangzhou', 'china'),
    env: 'prod',
    team: 'platform',
    exported_team: 'a',
  });
  assert.equal(viaFederation('europe', CASES[2]![2])!.continent, 'eu');
});
