import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { checkClosure, reachCentral } from '../../topology/closure.ts';
import { checkPlan, metaAlertReaders } from '../../render/check.ts';
import { createPlan } from '../../render/plan.ts';
import { seriesSelector } from '../../topology/promql.ts';
import type { AlertRule, Topology } from '../../topology/model.ts';
import { defaultTopology, defaultWith, fixture } from './helpers.ts';

/** The closure check as validate runs it: every rule, meta-alert and dashboard query. */
const checkAll = (t: Topology) => checkPlan(createPlan(t, 'kubernetes'));
/** Without the dashboards: the topology's rules and central's meta-alerts. */
const checkRules = (t: Topology) =>
  checkClosure(t, metaAlertReaders(createPlan(t, 'kubernetes').facts.metaAlertRules));

const NO_LEADER = (panel: string) =>
  `dashboard "fedstack-meta-cluster" panel "${panel}" uses "cluster:etcd_server_has_leader:min", dropped at central by allowLists.central`;

test('the default topology is closed: every central rule, meta-alert and dashboard query reaches central', () => {
  assert.deepEqual(checkAll(defaultTopology()), []);
});

test('the meta-alerts central evaluates (central/alerts.ts) all reach central', () => {
  const rules = createPlan(defaultTopology(), 'kubernetes').facts.metaAlertRules;
  assert.ok(rules.length >= 4);
  assert.deepEqual(checkClosure(defaultTopology(), metaAlertReaders(rules)), []);
});

test('central meta-alerts on the federation series are accepted', () => {
  const metaAlerts: AlertRule[] = [
    {
      alert: 'FederationStale',
      expr: 'time() - fedstack:heartbeat:timestamp_seconds > 300',
      labels: {},
      annotations: {},
    },
    {
      alert: 'EdgeFederationDown',
      expr: 'up{job="fedstack-federate-edge"} == 0',
      labels: {},
      annotations: {},
    },
    {
      alert: 'CascadeFederationDown',
      expr: 'up{job="fedstack-federate-cascade"} == 0',
      labels: {},
      annotations: {},
    },
    {
      alert: 'EdgeNearSampleLimit',
      expr: 'scrape_samples_post_metric_relabeling{job="fedstack-federate-edge"} > 160000',
      labels: {},
      annotations: {},
    },
  ];
  assert.deepEqual(checkClosure(defaultTopology(), metaAlertReaders(metaAlerts)), []);
});

test('a meta-alert on a series central never gets names the meta-alert, the metric and the tier', () => {
  const bad: AlertRule = {
    alert: 'EdgePrometheusDown',
    expr: 'up{job="prometheus"} == 0',
    labels: {},
    annotations: {},
  };
  assert.deepEqual(checkClosure(defaultTopology(), metaAlertReaders([bad])), [
    {
      path: ['allowLists', 'central'],
      message:
        'central meta-alert "EdgePrometheusDown" uses "up", dropped at central by allowLists.central (only other series of it are kept, not up{job="prometheus"})',
    },
  ]);
});

test('a topology whose central allow-list misses a metric a panel reads is refused, naming panel, metric and tier', () => {
  assert.deepEqual(checkAll(fixture('central-allow-list-drops-guest-etcd.bad.yaml')), [
    { path: ['allowLists', 'central'], message: NO_LEADER('Guest clusters reporting') },
    { path: ['allowLists', 'central'], message: NO_LEADER('Guest etcds without leader') },
    { path: ['allowLists', 'central'], message: NO_LEADER('Guest control planes') },
  ]);
});

test('central alert rules on series that are not federated are refused, pointing at the rule', () => {
  assert.deepEqual(checkAll(fixture('alert-rule-reads-raw-series.bad.yaml')), [
    {
      path: ['alertRules', 0, 'expr'],
      message:
        'central alert rule "ApiserverDown" uses "up", dropped at central by allowLists.central (only other series of it are kept, not up{job="apiserver"})',
    },
    {
      path: ['alertRules', 1, 'expr'],
      message:
        'central alert rule "ApiserverErrorsRaw" uses "apiserver_request_total", dropped at central by allowLists.central',
    },
  ]);
});

test('a cascade allow-list that loses edge aggregates is reported at the cascade, for cascade rules and panels', () => {
  const issues = checkAll(fixture('cascade-allow-list-too-narrow.bad.yaml'));
  // fedstack's default rules are not in the file: the error points at the allow-list.
  assert.deepEqual(issues.slice(0, 2), [
    {
      path: ['allowLists', 'cascade'],
      message:
        'cascade recording rule "region:kube_node_not_ready:count" uses "meta_cluster:kube_node:count", dropped at cascade by allowLists.cascade',
    },
    {
      path: ['allowLists', 'cascade'],
      message:
        'cascade recording rule "region:kube_node_not_ready:count" uses "meta_cluster:kube_node_ready:count", dropped at cascade by allowLists.cascade',
    },
  ]);
  // Every other issue is a panel reading an edge meta_cluster:* aggregate; cascade-recorded
  // meta_cluster:* series (apiserver, etcd) still reach central and are not reported.
  for (const i of issues.slice(2)) {
    assert.deepEqual(i.path, ['allowLists', 'cascade']);
    assert.match(
      i.message,
      /^dashboard "fedstack-[a-z-]+" panel "[^"]+" uses "meta_cluster:(up|kube_node|kube_node_ready|node_cpu|node_memory|container)[a-z_:0-9]*", dropped at cascade by allowLists\.cascade$/,
    );
  }
  assert.equal(issues.length, 14);
  assert.ok(!issues.some((i) => i.message.includes('apiserver_request')));
});

test('central rules and alerts reading series the central allow-list drops are refused', () => {
  const t = defaultWith(`allowLists:\n  central: ['{__name__=~"region:.+"}']`);
  const dropped = (what: string, metric: string) => ({
    path: ['allowLists', 'central'],
    message: `${what} uses "${metric}", dropped at central by allowLists.central`,
  });
  assert.deepEqual(checkRules(t), [
    dropped(
      'central recording rule "big_region:apiserver_request_errors:ratio_rate5m"',
      'meta_cluster:apiserver_request:rate5m',
    ),
    dropped(
      'central alert rule "ApiserverErrorRatioHigh"',
      'meta_cluster:apiserver_request_errors:ratio_rate5m',
    ),
    dropped(
      'central alert rule "ApiserverLatencyHigh"',
      'meta_cluster:apiserver_request_duration_seconds:p99_5m',
    ),
    dropped('central alert rule "EtcdNoLeader"', 'meta_cluster:etcd_clusters_without_leader:count'),
  ]);
});

test('a dropped label a query matches on is reported as dropped by dropLabels', () => {
  const t = defaultWith('dropLabels: [code]');
  const issues = checkRules(t);
  assert.deepEqual(
    issues.map((i) => i.path),
    [['dropLabels'], ['dropLabels']],
  );
  assert.match(
    issues[0]!.message,
    /uses "cluster:apiserver_request:rate5m", matches on label "code", dropped at cascade by dropLabels$/,
  );
});

test('a rule written in the topology file is pointed at itself', () => {
  const t = defaultWith(
    `recordingRules:\n  central:\n    - { record: 'big_region:x:sum', expr: 'sum by (big_region) (cluster:apiserver_request:rate5m)' }`,
  );
  assert.deepEqual(checkRules(t), [
    {
      path: ['recordingRules', 'central', 0, 'expr'],
      message:
        'central recording rule "big_region:x:sum" uses "cluster:apiserver_request:rate5m", dropped at central by allowLists.central',
    },
  ]);
});

test('reachCentral tells which entries carry a series there', () => {
  const t = defaultTopology();
  const r = reachCentral(t, seriesSelector('cluster:etcd_server_has_leader:min{meta_cluster="mc-hz-01"}'));
  assert.ok(r.ok);
  assert.deepEqual(
    r.via.map((s) => s.describe),
    [
      'allowLists.central[2] cluster:etcd_server_has_leader:min',
      'allowLists.cascade[0] {__name__=~"cluster:.+|meta_cluster:.+"}',
    ],
  );
});

test('the closure check covers every dashboard query by default', () => {
  // A central allow-list that keeps nothing dashboards need (edge `up` only): every non-synthetic panel query is reported.
  const t = defaultWith(`allowLists:\n  central: [up]`);
  const issues = checkAll(t);
  const reported = new Set(
    issues
      .map((i) =>
        i.message
          .match(/^dashboard "([^"]+)" panel "([^"]+)"/)
          ?.slice(1)
          .join('|'),
      )
      .filter(Boolean),
  );
  const reading = new Set(
    createPlan(t, 'kubernetes')
      .facts.panelQueries.filter((q) => q.kind === 'panel' && /(meta_cluster|region|cluster):/.test(q.expr))
      .map((q) => `${q.dashboard}|${q.panel}`),
  );
  for (const p of reading) assert.ok(reported.has(p), `not reported: ${p}`);
});

test('every bad fixture opens with a comment that says why', () => {
  const dir = fileURLToPath(new URL('./fixtures/', import.meta.url));
  const bad = readdirSync(dir).filter((f) => f.endsWith('.bad.yaml'));
  assert.ok(bad.length >= 3);
  for (const f of bad) assert.match(readFileSync(`${dir}${f}`, 'utf8'), /^# Bad: /, f);
});
