/**
 * Meta-alerts: the stack watching itself. They key on what fails first and cannot linger:
 * the federation jobs' `up` (a dead source's federated series stay ~5m with honor_timestamps,
 * its `up` drops at the next scrape) and the edge heartbeat's age.
 */
import { HEARTBEAT_METRIC, JOB, LABEL } from '../common/conventions.ts';
import { formatDuration, parseDuration } from '../common/duration.ts';
import type { FederationLag } from '../topology/facts.ts';
import type { AlertRule, Topology } from '../topology/model.ts';

export function metaAlertRules(topo: Topology, lag: FederationLag): AlertRule[] {
  const { cascade, central } = topo.global;
  const ms = (d: string) => parseDuration(d);
  const rules: AlertRule[] = [
    {
      alert: 'EdgeDown',
      expr: `up{job="${JOB.federateEdge}"} == 0`,
      for: formatDuration(3 * ms(cascade.scrapeInterval)),
      labels: { severity: 'critical' },
      annotations: {
        summary: 'Edge Prometheus of {{ $labels.meta_cluster }} cannot be federated',
        description:
          'The {{ $labels.big_region }} cascade fails to scrape /federate of meta-cluster {{ $labels.meta_cluster }} ({{ $labels.region }}) at {{ $labels.instance }}.',
      },
    },
    {
      alert: 'CascadeDown',
      expr: `up{job="${JOB.federateCascade}"} == 0`,
      for: formatDuration(3 * ms(central.scrapeInterval)),
      labels: { severity: 'critical' },
      annotations: {
        summary: 'Cascade Prometheus of {{ $labels.big_region }} cannot be federated',
        description:
          'Central fails to scrape /federate of the {{ $labels.big_region }} cascade at {{ $labels.instance }}; its regions are blind.',
      },
    },
    {
      alert: 'FederationStale',
      expr: `time() - max by (${LABEL.bigRegion}, ${LABEL.region}, ${LABEL.metaCluster}) (${HEARTBEAT_METRIC}) > ${lag.staleAfterMs / 1000}`,
      for: formatDuration(2 * ms(central.evaluationInterval)),
      labels: { severity: 'warning' },
      annotations: {
        summary: 'Federated data from {{ $labels.meta_cluster }} is stale',
        description:
          'The newest sample from meta-cluster {{ $labels.meta_cluster }} ({{ $labels.region }}) is {{ $value | humanizeDuration }} old at central.',
      },
    },
  ];
  if (cascade.sampleLimit > 0) {
    rules.push(
      sampleLimitAlert(
        'cascade',
        JOB.federateEdge,
        cascade.sampleLimit,
        "the {{ $labels.big_region }} cascade's scrape of {{ $labels.meta_cluster }}",
      ),
    );
  }
  if (central.sampleLimit > 0) {
    rules.push(
      sampleLimitAlert(
        'central',
        JOB.federateCascade,
        central.sampleLimit,
        "central's scrape of the {{ $labels.big_region }} cascade",
      ),
    );
  }
  rules.push({
    alert: 'Watchdog',
    expr: 'vector(1)',
    labels: { severity: 'none' },
    annotations: {
      summary: 'Always firing: proves the alerting pipeline works end to end',
      description: 'If this alert stops arriving, central or Alertmanager is broken.',
    },
  });
  return rules;
}

/** sample_limit is all-or-nothing: warn at 80% so the limit is raised before a scrape fails. */
function sampleLimitAlert(tier: 'cascade' | 'central', job: string, limit: number, what: string): AlertRule {
  return {
    alert: 'FederationSampleLimitNear',
    expr: `scrape_samples_post_metric_relabeling{job="${job}"} > ${Math.floor(limit * 0.8)}`,
    for: '15m',
    // `tier` names the Prometheus whose scrape is near its limit (and keeps the two rules distinct).
    labels: { severity: 'warning', tier },
    annotations: {
      summary: `Federation scrape near its sample_limit of ${limit}`,
      description: `{{ $value }} samples in ${what}; over ${limit} the whole scrape fails.`,
    },
  };
}
