import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  explain as explainPlan,
  formatExplain,
  parseLabelArgs,
  type ExplainResult,
} from '../../render/explain.ts';
import { createPlan } from '../../render/plan.ts';
import type { Topology } from '../../topology/model.ts';
import { defaultTopology, defaultWith } from './helpers.ts';

const topo = defaultTopology();
const explain = (t: Topology, metric: string, labels: Record<string, string> = {}) =>
  explainPlan(createPlan(t, 'kubernetes'), metric, labels);
const statuses = (r: ExplainResult) => r.steps.map((s) => `${s.tier}:${s.status}`);

test('a guest-cluster aggregate central keeps is recorded at the edge, kept twice and relabelled on the way', () => {
  const r = explain(topo, 'cluster:etcd_server_has_leader:min', {
    cluster_id: 'c-1',
    meta_cluster: 'mc-bj-02',
  });
  assert.deepEqual(statuses(r), ['edge:recorded', 'cascade:kept', 'central:kept']);
  const [edge, cascade, central] = r.steps;
  assert.deepEqual(edge!.rule, {
    record: 'cluster:etcd_server_has_leader:min',
    expr: 'min by (cluster_id) (etcd_server_has_leader)',
  });
  assert.deepEqual(edge!.metaClusters, ['mc-bj-02']);
  assert.deepEqual(cascade!.entry, {
    list: 'allowLists.cascade',
    index: 0,
    selector: '{__name__=~"cluster:.+|meta_cluster:.+"}',
  });
  assert.deepEqual(cascade!.labelsAdded, {
    big_region: 'china',
    region: 'cn-beijing',
    meta_cluster: 'mc-bj-02',
  });
  assert.deepEqual(cascade!.labelsDropped, []);
  assert.deepEqual(central!.entry, {
    list: 'allowLists.central',
    index: 2,
    selector: 'cluster:etcd_server_has_leader:min',
  });
  assert.equal(r.reachesCentral, true);
  assert.equal(
    r.atCentral,
    'cluster:etcd_server_has_leader:min{big_region="china", cluster_id="c-1", meta_cluster="mc-bj-02", region="cn-beijing"}',
  );
});

test('a raw edge series is scraped by the named job and dropped at the cascade', () => {
  const r = explain(topo, 'apiserver_request_total', { job: 'apiserver', code: '500' });
  assert.deepEqual(statuses(r), ['edge:scraped', 'cascade:dropped', 'central:not-reached']);
  assert.deepEqual(r.steps[0]!.jobs, ['apiserver']);
  assert.equal(r.steps[0]!.metaClusters!.length, 12);
  assert.equal(r.steps[1]!.by, 'allowLists.cascade');
  assert.equal(r.reachesCentral, false);
  assert.equal(r.atCentral, undefined);
});

test('an edge aggregate the cascade keeps but central does not is dropped at central', () => {
  const r = explain(topo, 'cluster:apiserver_request:rate5m', { code: '200', cluster_id: 'c-9' });
  assert.deepEqual(statuses(r), ['edge:recorded', 'cascade:kept', 'central:dropped']);
  assert.equal(r.steps[2]!.by, 'allowLists.central');
  // Not pinned to a meta-cluster: the cascade adds each edge's own labels.
  assert.deepEqual(r.steps[1]!.labelsAdded, {
    big_region: '<per edge>',
    region: '<per edge>',
    meta_cluster: '<per edge>',
  });
});

test('labels in dropLabels are dropped at the cascade and the rest of the series travels on', () => {
  const r = explain(topo, 'meta_cluster:kube_node:count', {
    region: 'eu-west-1',
    pod_template_hash: 'abc',
    uid: 'u-1',
  });
  assert.deepEqual(statuses(r), ['edge:recorded', 'cascade:kept', 'central:kept']);
  assert.deepEqual(r.steps[1]!.labelsDropped, ['pod_template_hash', 'uid']);
  assert.deepEqual(r.steps[1]!.labelsAdded, {
    big_region: 'europe',
    region: 'eu-west-1',
    meta_cluster: 'mc-lon-01',
  });
  assert.equal(
    r.atCentral,
    'meta_cluster:kube_node:count{big_region="europe", meta_cluster="mc-lon-01", region="eu-west-1"}',
  );
  assert.match(formatExplain(r), /drops pod_template_hash, uid \(dropLabels\)/);
});

test('series recorded at the cascade or at central say so and skip the tiers below', () => {
  const region = explain(topo, 'region:edge_up:ratio', { region: 'cn-hangzhou' });
  assert.deepEqual(statuses(region), ['edge:not-involved', 'cascade:made', 'central:kept']);
  assert.equal(region.steps[1]!.rule!.record, 'region:edge_up:ratio');
  const big = explain(topo, 'big_region:apiserver_request_errors:ratio_rate5m', {});
  assert.deepEqual(statuses(big), ['edge:not-involved', 'cascade:not-reached', 'central:made']);
  const fed = explain(topo, 'scrape_duration_seconds', { job: 'fedstack-federate-edge' });
  assert.deepEqual(statuses(fed), ['edge:not-involved', 'cascade:made', 'central:kept']);
  assert.deepEqual(fed.steps[2]!.entry!.list, 'system');
});

test('an entry that depends on a label you did not give is reported as a condition', () => {
  const r = explain(topo, 'up', {});
  assert.deepEqual(statuses(r), ['edge:scraped', 'cascade:kept', 'central:kept']);
  assert.deepEqual(r.steps[2]!.conditions, ['job="fedstack-federate-edge"']);
  assert.match(formatExplain(r), /=> reaches central only if job="fedstack-federate-edge" as up\{/);
  // The edge's own `up` of a real job is kept at the cascade and dropped at central.
  assert.deepEqual(statuses(explain(topo, 'up', { job: 'kubelet' })), [
    'edge:scraped',
    'cascade:kept',
    'central:dropped',
  ]);
});

test('a label value no meta-cluster has is not reached anywhere', () => {
  const r = explain(topo, 'meta_cluster:up:ratio', { meta_cluster: 'mc-nowhere' });
  assert.deepEqual(statuses(r), ['edge:not-reached', 'cascade:not-reached', 'central:not-reached']);
});

test("explain follows the topology's own allow-lists and extra scrape jobs", () => {
  const t = defaultWith(
    `allowLists:\n  cascade: ['{__name__=~"cluster:.+|meta_cluster:.+"}', 'up', 'DCGM_FI_DEV_GPU_UTIL']\n  central: ['{__name__=~"meta_cluster:.+|region:.+"}', 'cluster:apiserver_request_duration_seconds:p99_5m', 'cluster:etcd_server_has_leader:min', 'DCGM_FI_DEV_GPU_UTIL{job="gpu-exporter"}']`,
  );
  const r = explain(t, 'DCGM_FI_DEV_GPU_UTIL', { job: 'gpu-exporter', meta_cluster: 'mc-tyo-01' });
  assert.deepEqual(statuses(r), ['edge:scraped', 'cascade:kept', 'central:kept']);
  assert.match(r.steps[0]!.note, /scraped at the edge by job "gpu-exporter"/);
  assert.deepEqual(r.steps[1]!.entry, {
    list: 'allowLists.cascade',
    index: 2,
    selector: 'DCGM_FI_DEV_GPU_UTIL',
  });
  assert.deepEqual(r.steps[2]!.entry, {
    list: 'allowLists.central',
    index: 3,
    selector: 'DCGM_FI_DEV_GPU_UTIL{job="gpu-exporter"}',
  });
  // On a meta-cluster without that job, the series has no source.
  const elsewhere = explain(t, 'DCGM_FI_DEV_GPU_UTIL', { job: 'gpu-exporter', meta_cluster: 'mc-hz-01' });
  assert.match(elsewhere.steps[0]!.note, /job "gpu-exporter" is not an edge job/);
  assert.equal(elsewhere.reachesCentral, false);
});

test('the text answer has one line per tier and the --json answer is the plain result', () => {
  const r = explain(topo, 'meta_cluster:apiserver_request_errors:ratio_rate5m', { meta_cluster: 'mc-sg-01' });
  const lines = formatExplain(r).trimEnd().split('\n');
  assert.equal(lines.length, 5);
  assert.equal(lines[0], 'meta_cluster:apiserver_request_errors:ratio_rate5m{meta_cluster="mc-sg-01"}');
  assert.match(lines[1]!, /^ {2}edge +not-involved/);
  assert.match(lines[2]!, /^ {2}cascade +made +recorded at the cascade by cascade recording rule/);
  assert.match(lines[3]!, /^ {2}central +kept +kept by allowLists.central\[0\]/);
  assert.deepEqual(JSON.parse(JSON.stringify(r)), r);
});

test('bad metric names, label names and label arguments are errors', () => {
  assert.throws(() => explain(topo, 'not a metric', {}), /invalid metric name "not a metric"/);
  assert.throws(() => explain(topo, 'up', { '1x': 'a' }), /invalid label name "1x"/);
  assert.deepEqual(parseLabelArgs(['job=apiserver', 'code="500"', 'empty=']), {
    job: 'apiserver',
    code: '500',
    empty: '',
  });
  assert.throws(() => parseLabelArgs(['job']), /invalid label "job" \(want name=value\)/);
});
