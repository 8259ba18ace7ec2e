/**
 * Meta-alerts: the stack watching itself. They key on what fails first and cannot linger:
 * the federation jobs' `up` (a dead source's federated series stay ~5m with honor_timestamps,
 * its `up` drops at the next scrape) and the edge heartbeat's age.
 */
import { CASCADE_SELF_MATCHERS, HEARTBEAT_METRIC, JOB, LABEL, VM_JOB } from '../common/conventions.ts';
import { formatDuration, parseDuration } from '../common/duration.ts';
import { remoteWriteDeadlineMs, type FederationLag } from '../topology/facts.ts';
import type { AlertRule, Topology } from '../topology/model.ts';

export function metaAlertRules(topo: Topology, lag: FederationLag): AlertRule[] {
  const { cascade, central } = topo.global;
  const ms = (d: string) => parseDuration(d);
  // With VictoriaMetrics no central scrape exists: the cascades' remote_write is the last hop.
  const vm = topo.central.backend === 'victoriametrics';
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
    vm
      ? cascadeSilent(topo)
      : {
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
  if (vm) rules.push(...victoriaMetricsAlerts());
  else if (central.sampleLimit > 0) {
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

/**
 * CascadeDown without a central scrape: no sample of a cascade's own `up` has reached
 * VictoriaMetrics for three of its scrape intervals (plus the remote_write hop's delay). One absent_over_time per big region (the
 * topology names them): a cascade that is down and one whose remote_write cannot deliver look
 * the same from here, and both blind its regions.
 */
function cascadeSilent(topo: Topology): AlertRule {
  const { cascade, central } = topo.global;
  // Three of its scrapes, plus a batch deadline in its queue and one for VictoriaMetrics to
  // make the batch searchable: a healthy cascade never looks silent.
  const window = formatDuration(3 * parseDuration(cascade.scrapeInterval) + 2 * remoteWriteDeadlineMs(topo));
  return {
    alert: 'CascadeDown',
    expr: topo.bigRegions
      .map((b) => `absent_over_time(up{${CASCADE_SELF_MATCHERS},${LABEL.bigRegion}="${b.name}"}[${window}])`)
      .join(' or '),
    for: formatDuration(2 * parseDuration(central.evaluationInterval)),
    labels: { severity: 'critical' },
    annotations: {
      summary: 'Nothing from the {{ $labels.big_region }} cascade reaches VictoriaMetrics',
      description: `No sample of the {{ $labels.big_region }} cascade has arrived for ${window}: the cascade is down or its remote_write cannot deliver (RemoteWriteFailing, its logs); its regions are blind.`,
    },
  };
}

const REMOTE = `{${CASCADE_SELF_MATCHERS}}`;
const VM_JOBS = Object.values(VM_JOB).join('|');

/** The remote_write hop and VictoriaMetrics itself (backend victoriametrics). */
function victoriaMetricsAlerts(): AlertRule[] {
  return [
    {
      alert: 'RemoteWriteFailing',
      // Failed samples are given up on (a 4xx answer): they are lost to VictoriaMetrics.
      expr: `sum by (${LABEL.bigRegion}, url) (rate(prometheus_remote_storage_samples_failed_total${REMOTE}[5m])) > 0`,
      for: '5m',
      labels: { severity: 'critical' },
      annotations: {
        summary: 'The {{ $labels.big_region }} cascade drops samples it cannot write to VictoriaMetrics',
        description:
          '{{ $value | humanize }} samples/s are refused by {{ $labels.url }} and not retried (a 4xx answer: credentials, labels, limits).',
      },
    },
    {
      alert: 'RemoteWriteBehind',
      // prometheus-mixin's PrometheusRemoteWriteBehind: what the cascade has vs what it has sent.
      expr: `max by (${LABEL.bigRegion}) (prometheus_remote_storage_highest_timestamp_in_seconds${REMOTE} - ignoring (remote_name, url) group_right prometheus_remote_storage_queue_highest_sent_timestamp_seconds${REMOTE}) > 120`,
      for: '15m',
      labels: { severity: 'warning' },
      annotations: {
        summary: 'The {{ $labels.big_region }} cascade is behind writing to VictoriaMetrics',
        description:
          'Its remote_write queue is {{ $value | humanizeDuration }} behind: global views lag by as much, and past the WAL (~2h) samples are lost.',
      },
    },
    {
      alert: 'VictoriaMetricsDown',
      expr: `up{job=~"${VM_JOBS}"} == 0`,
      for: '2m',
      labels: { severity: 'critical' },
      annotations: {
        summary: '{{ $labels.job }} {{ $labels.instance }} is down',
        description:
          'The self-monitoring scrape cannot reach {{ $labels.job }} at {{ $labels.instance }}; with replication the cluster still answers, one more loss may not.',
      },
    },
    {
      alert: 'VictoriaMetricsRowsRejected',
      expr: `sum by (job, instance, reason) (rate(vm_rows_ignored_total[5m])) > 0`,
      for: '15m',
      labels: { severity: 'warning' },
      annotations: {
        summary: '{{ $labels.job }} {{ $labels.instance }} ignores incoming samples ({{ $labels.reason }})',
        description:
          '{{ $value | humanize }} rows/s are dropped on ingestion: they never reach the global views.',
      },
    },
    {
      alert: 'VictoriaMetricsDiskFull',
      // VictoriaMetrics' own DiskRunsOutOfSpace: data over 80% of what the volume can hold.
      expr: `sum by (job, instance) (vm_data_size_bytes) / (sum by (job, instance) (vm_free_disk_space_bytes) + sum by (job, instance) (vm_data_size_bytes)) > 0.8`,
      for: '30m',
      labels: { severity: 'warning' },
      annotations: {
        summary: '{{ $labels.job }} {{ $labels.instance }} disk is {{ $value | humanizePercentage }} full',
        description: 'Grow the volume or shorten the retention before writes stop.',
      },
    },
    {
      alert: 'VmalertRuleErrors',
      expr: `sum by (job, instance) (vmalert_alerting_rules_error) + sum by (job, instance) (vmalert_recording_rules_error) > 0`,
      for: '5m',
      labels: { severity: 'warning' },
      annotations: {
        summary: 'vmalert {{ $labels.instance }} fails to evaluate {{ $value }} rule(s)',
        description: "Some central rules are not evaluated: their alerts cannot fire. See vmalert's log.",
      },
    },
    {
      alert: 'VmalertNotificationsFailing',
      expr: `sum by (job, instance) (increase(vmalert_alerts_send_errors_total[5m])) > 0`,
      for: '5m',
      labels: { severity: 'critical' },
      annotations: {
        summary: 'vmalert {{ $labels.instance }} cannot send alerts to Alertmanager',
        description: 'Pages from this replica do not arrive; the other replica may still deliver them.',
      },
    },
  ];
}
