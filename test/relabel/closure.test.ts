/**
 * The allow-list closure check follows label rewrites: a central rule, a meta-alert or a
 * dashboard panel that matches on, groups by or joins on a label a rule renames or drops on the
 * way, or reads series a rule drops, is refused, naming the rule; reading the new name is fine.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { validateTopology } from '../../render/validate.ts';
import { formatError } from '../../topology/errors.ts';
import { TOPOLOGY_HEAD } from './topology-head.ts';

const BASE = `${TOPOLOGY_HEAD}bigRegions:
  - name: china
    cascade: { endpoint: c:9090 }
    regions:
      - name: cn-hangzhou
        metaClusters: [{ name: mc-1, endpoint: e1:9090 }]
      - name: cn-beijing
        metaClusters: [{ name: mc-2, endpoint: e2:9090 }]
allowLists:
  cascade: ['{__name__=~"cluster:.+|meta_cluster:.+"}', up, kube_pod_status_phase]
  central: ['{__name__=~"meta_cluster:.+|region:.+"}', cluster:apiserver_request_duration_seconds:p99_5m, cluster:etcd_server_has_leader:min, kube_pod_status_phase]
`;

const ALERT = (expr: string) => `alertRules:
  - { alert: PodPending, expr: '${expr}', labels: { severity: warning } }
`;

function errors(text: string): string[] {
  const r = validateTopology(text, 't.yaml');
  return r.ok ? [] : r.errors.map((e) => formatError(e).replace(/^t\.yaml:/, ''));
}

describe('the closure check follows label rewrites', () => {
  it('refuses a central alert that matches on a label the cascade renames, and names the new one', () => {
    const text = `${BASE}relabel: { cascade: [{ rename: { from: pod, to: pod_name } }] }\n${ALERT('kube_pod_status_phase{pod="etcd-0",phase="Pending"} > 0')}`;
    assert.deepEqual(errors(text), [
      '19:32: alertRules[0].expr: central alert rule "PodPending" uses "kube_pod_status_phase", matches on label "pod", renamed to "pod_name" at cascade by relabel.cascade[0]: match on "pod_name"',
    ]);
  });

  it('accepts the same alert written with the new name', () => {
    const text = `${BASE}relabel: { cascade: [{ rename: { from: pod, to: pod_name } }] }\n${ALERT('kube_pod_status_phase{pod_name="etcd-0",phase="Pending"} > 0')}`;
    assert.deepEqual(errors(text), []);
  });

  it("refuses a region's drop of a label a central alert matches on, and says whose series", () => {
    const text =
      BASE.replace(
        '      - name: cn-beijing\n',
        '      - name: cn-beijing\n        relabel: { central: [{ drop: { labels: [phase] } }] }\n',
      ) + ALERT('kube_pod_status_phase{phase="Pending"} > 0');
    assert.deepEqual(errors(text), [
      '19:32: alertRules[0].expr: central alert rule "PodPending" uses "kube_pod_status_phase", matches on label "phase", dropped at central by bigRegions[0].regions[1].relabel.central[0] (series of region cn-beijing)',
    ]);
  });

  it('refuses a central alert that groups by a label the cascade renames: every pod would collapse into one series', () => {
    const text = `${BASE}relabel: { cascade: [{ rename: { from: pod, to: pod_name } }] }\n${ALERT('count by (pod) (kube_pod_status_phase{phase="Pending"}) > 0')}`;
    assert.deepEqual(errors(text), [
      '19:32: alertRules[0].expr: central alert rule "PodPending" uses "kube_pod_status_phase", groups by label "pod", renamed to "pod_name" at cascade by relabel.cascade[0]: group by "pod_name"',
    ]);
    // The aggregation written with the new name, and a `without`, are fine.
    assert.deepEqual(errors(text.replace('count by (pod)', 'count by (pod_name)')), []);
    assert.deepEqual(errors(text.replace('count by (pod)', 'count without (pod)')), []);
  });

  it('refuses a join on a label a region drops, for each side whose series cross the drop', () => {
    const text =
      BASE.replace(
        '      - name: cn-beijing\n',
        '      - name: cn-beijing\n        relabel: { central: [{ drop: { labels: [namespace] } }] }\n',
      ) + ALERT('kube_pod_status_phase{phase="Pending"} * on (namespace) group_left () meta_cluster:kube_node:count > 0');
    assert.deepEqual(errors(text), [
      '19:32: alertRules[0].expr: central alert rule "PodPending" uses "kube_pod_status_phase", groups by label "namespace", dropped at central by bigRegions[0].regions[1].relabel.central[0] (series of region cn-beijing)',
      '19:32: alertRules[0].expr: central alert rule "PodPending" uses "meta_cluster:kube_node:count", groups by label "namespace", dropped at central by bigRegions[0].regions[1].relabel.central[0] (series of region cn-beijing)',
    ]);
  });

  it('refuses a central alert on series a cascade rule drops', () => {
    const text = `${BASE}relabel: { cascade: [{ drop: { series: 'kube_pod_status_phase{phase="Pending"}' } }] }\n${ALERT('kube_pod_status_phase{phase="Pending"} > 0')}`;
    assert.deepEqual(errors(text), [
      '19:32: alertRules[0].expr: central alert rule "PodPending" uses "kube_pod_status_phase", dropped at cascade by relabel.cascade[0]',
    ]);
  });

  it("refuses a rename of job at central: EdgeDown's up{job=...} would match nothing, so the rule is named", () => {
    const text = `${BASE}relabel: { central: [{ rename: { from: job, to: source_job } }] }\n`;
    const found = errors(text);
    assert.ok(found.length > 0);
    assert.ok(
      found.some((e) =>
        e.startsWith(
          '17:22: relabel.central[0]: central meta-alert "EdgeDown" uses "up", matches on label "job", renamed to "source_job" at central by relabel.central[0]',
        ),
      ),
      found.join('\n'),
    );
  });

  it("refuses a rule that matches on the federation job's job, which aggregates no longer carry", () => {
    const text = `${BASE}${ALERT('meta_cluster:kube_node:count{job="fedstack-federate-edge"} > 0')}`;
    assert.deepEqual(errors(text), [
      '18:32: alertRules[0].expr: central alert rule "PodPending" uses "meta_cluster:kube_node:count", matches on job="fedstack-federate-edge", which the cascade federation job drops from series without a job of their own',
    ]);
  });

  it('keeps accepting what fedstack itself reads: the default rules, meta-alerts and dashboards with no rewrites', () => {
    assert.deepEqual(errors(BASE), []);
  });
});
