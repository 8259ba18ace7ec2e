/**
 * fedstack's defaults for the parts of a topology that are policy rather than inventory:
 * allow-lists, noise labels, recording rules per tier and global alert rules. A topology that
 * omits a section gets these; one that gives it replaces them whole.
 *
 * The design follows Prometheus' federation guidance: aggregate before crossing the WAN.
 * The edge aggregates raw series to one series per guest cluster (`cluster:`), the cascade to
 * meta-cluster and region (`meta_cluster:`, `region:`), central to big region (`big_region:`).
 */
import { JOB, LABEL } from '../common/conventions.ts';

export interface RecordingRule {
  readonly record: string;
  readonly expr: string;
  readonly labels: Readonly<Record<string, string>>;
}

export interface AlertRule {
  readonly alert: string;
  readonly expr: string;
  readonly for?: string | undefined;
  readonly labels: Readonly<Record<string, string>>;
  readonly annotations: Readonly<Record<string, string>>;
}

const rule = (record: string, expr: string): RecordingRule => ({ record, expr, labels: {} });

const { bigRegion: BR, region: R, metaCluster: MC, clusterId: CID } = LABEL;
const byMC = `${BR}, ${R}, ${MC}`;
const byRegion = `${BR}, ${R}`;

/** Edge: raw control-plane and node series → one series per guest cluster / per meta-cluster. */
export const DEFAULT_EDGE_RULES: readonly RecordingRule[] = [
  rule('cluster:apiserver_request:rate5m', `sum by (${CID}, code) (rate(apiserver_request_total[5m]))`),
  rule(
    'cluster:apiserver_request_duration_seconds:p99_5m',
    `histogram_quantile(0.99, sum by (${CID}, le) (rate(apiserver_request_duration_seconds_bucket{verb!~"WATCH|CONNECT"}[5m])))`,
  ),
  rule('cluster:etcd_server_has_leader:min', `min by (${CID}) (etcd_server_has_leader)`),
  rule(
    'cluster:etcd_server_leader_changes:increase1h',
    `sum by (${CID}) (increase(etcd_server_leader_changes_seen_total[1h]))`,
  ),
  rule('cluster:scheduler_pending_pods:sum', `sum by (${CID}) (scheduler_pending_pods)`),
  rule('cluster:workqueue_depth:sum', `sum by (${CID}) (workqueue_depth)`),
  rule('meta_cluster:node_cpu_utilisation:ratio', `1 - avg(rate(node_cpu_seconds_total{mode="idle"}[5m]))`),
  rule(
    'meta_cluster:node_memory_utilisation:ratio',
    `1 - sum(node_memory_MemAvailable_bytes) / sum(node_memory_MemTotal_bytes)`,
  ),
  rule('meta_cluster:kube_node:count', `count(kube_node_info)`),
  rule(
    'meta_cluster:kube_node_ready:count',
    `sum(kube_node_status_condition{condition="Ready",status="true"})`,
  ),
  rule(
    'meta_cluster:container_cpu_usage_seconds:rate5m',
    `sum(rate(container_cpu_usage_seconds_total{container!=""}[5m]))`,
  ),
  rule(
    'meta_cluster:container_memory_working_set_bytes:sum',
    `sum(container_memory_working_set_bytes{container!=""})`,
  ),
  rule('meta_cluster:up:ratio', `avg by (job) (up)`),
];

/** Cascade: guest-cluster series of a big region → meta-cluster and region aggregates. */
export const DEFAULT_CASCADE_RULES: readonly RecordingRule[] = [
  rule('meta_cluster:apiserver_request:rate5m', `sum by (${byMC}, code) (cluster:apiserver_request:rate5m)`),
  rule(
    'meta_cluster:apiserver_request_errors:ratio_rate5m',
    `sum by (${byMC}) (cluster:apiserver_request:rate5m{code=~"5.."}) / sum by (${byMC}) (cluster:apiserver_request:rate5m)`,
  ),
  rule(
    'region:apiserver_request_errors:ratio_rate5m',
    `sum by (${byRegion}) (cluster:apiserver_request:rate5m{code=~"5.."}) / sum by (${byRegion}) (cluster:apiserver_request:rate5m)`,
  ),
  rule(
    'meta_cluster:apiserver_request_duration_seconds:p99_5m',
    `max by (${byMC}) (cluster:apiserver_request_duration_seconds:p99_5m)`,
  ),
  rule(
    'meta_cluster:etcd_clusters_without_leader:count',
    `sum by (${byMC}) (cluster:etcd_server_has_leader:min == bool 0)`,
  ),
  rule(
    'region:kube_node_not_ready:count',
    `sum by (${byRegion}) (meta_cluster:kube_node:count) - sum by (${byRegion}) (meta_cluster:kube_node_ready:count)`,
  ),
  rule('region:edge_up:ratio', `avg by (${byRegion}) (up{job="${JOB.federateEdge}"})`),
];

/** Central: region aggregates → big region. */
export const DEFAULT_CENTRAL_RULES: readonly RecordingRule[] = [
  rule(
    'big_region:apiserver_request_errors:ratio_rate5m',
    `sum by (${BR}) (meta_cluster:apiserver_request:rate5m{code=~"5.."}) / sum by (${BR}) (meta_cluster:apiserver_request:rate5m)`,
  ),
  rule('big_region:edge_up:ratio', `avg by (${BR}) (up{job="${JOB.federateEdge}"})`),
];

/** What each cascade federates from its edges: the edge aggregates and the edges' own `up`. */
export const DEFAULT_CASCADE_ALLOW_LIST: readonly string[] = [
  '{__name__=~"cluster:.+|meta_cluster:.+"}',
  'up',
];

/** What central federates from each cascade: regional aggregates and per-guest-cluster health. */
export const DEFAULT_CENTRAL_ALLOW_LIST: readonly string[] = [
  '{__name__=~"meta_cluster:.+|region:.+"}',
  'cluster:apiserver_request_duration_seconds:p99_5m',
  'cluster:etcd_server_has_leader:min',
];

/** Labels that multiply series without helping a fleet view. Dropped at the cascade. */
export const DEFAULT_DROP_LABELS: readonly string[] = [
  'pod_template_hash',
  'controller_revision_hash',
  'container_id',
  'image_id',
  'uid',
];

/** Fleet-wide alert rules every central replica evaluates (meta-alerts are added by central/). */
export const DEFAULT_ALERT_RULES: readonly AlertRule[] = [
  {
    alert: 'ApiserverErrorRatioHigh',
    expr: 'meta_cluster:apiserver_request_errors:ratio_rate5m > 0.05',
    for: '5m',
    labels: { severity: 'critical' },
    annotations: {
      summary: 'kube-apiserver error ratio above 5% in {{ $labels.meta_cluster }}',
      description:
        '{{ $value | humanizePercentage }} of apiserver requests fail with 5xx in meta-cluster {{ $labels.meta_cluster }} ({{ $labels.region }}).',
    },
  },
  {
    alert: 'ApiserverLatencyHigh',
    expr: 'meta_cluster:apiserver_request_duration_seconds:p99_5m > 1',
    for: '10m',
    labels: { severity: 'warning' },
    annotations: {
      summary: 'kube-apiserver p99 latency above 1s in {{ $labels.meta_cluster }}',
      description:
        'p99 apiserver latency is {{ $value | humanizeDuration }} in meta-cluster {{ $labels.meta_cluster }} ({{ $labels.region }}).',
    },
  },
  {
    alert: 'EtcdNoLeader',
    expr: 'meta_cluster:etcd_clusters_without_leader:count > 0',
    for: '1m',
    labels: { severity: 'critical' },
    annotations: {
      summary: 'etcd without leader in {{ $labels.meta_cluster }}',
      description:
        '{{ $value }} guest cluster etcd(s) have no leader in meta-cluster {{ $labels.meta_cluster }} ({{ $labels.region }}).',
    },
  },
  {
    alert: 'RegionNodesNotReady',
    expr: 'region:kube_node_not_ready:count > 0',
    for: '15m',
    labels: { severity: 'warning' },
    annotations: {
      summary: 'Nodes not ready in {{ $labels.region }}',
      description: '{{ $value }} meta-cluster node(s) are not Ready in region {{ $labels.region }}.',
    },
  },
];
