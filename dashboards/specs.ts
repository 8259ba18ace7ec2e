/**
 * The four fedstack dashboards as data. Every query reads only series central has (checked by
 * topology/closure.ts against the topology's allow-lists and rules):
 * - the cascades' recording outputs (`meta_cluster:*`, `region:*`) and the edges' aggregates
 *   central keeps (`meta_cluster:*`, the two per-guest-cluster `cluster:*` health series);
 * - central's own rules (`big_region:*`) and ALERTS;
 * - the system series: the edge heartbeat, `up`/`scrape_*` of the cascades' edge-federation job,
 *   and central's own `up`/`scrape_*` of its cascade-federation job; with the victoriametrics
 *   backend, instead of that job, the cascades' own `up` and remote_write queue series and the
 *   backend's self-monitoring (cascadeLinkPanels).
 */
import { CASCADE_SELF_MATCHERS, HEARTBEAT_METRIC, JOB, LABEL, VM_JOB } from '../common/conventions.ts';
import { federationLag } from '../topology/facts.ts';
import type { Topology } from '../topology/model.ts';
import { drillDown, type DashboardSpec, type PanelSpec } from './compose.ts';
import { F_BIG_REGION, F_META_CLUSTER, F_REGION } from './queries.ts';

export const UID = {
  global: 'fedstack-global',
  region: 'fedstack-region',
  metaCluster: 'fedstack-meta-cluster',
  federation: 'fedstack-federation',
} as const;

const { bigRegion: BR, region: R, metaCluster: MC, clusterId: CID } = LABEL;
const EDGE_JOB = `job="${JOB.federateEdge}"`;
const CASCADE_JOB = `job="${JOB.federateCascade}"`;
/** A cascade's own series (backend victoriametrics: they arrive by its remote_write). */
const CASCADE_SELF = CASCADE_SELF_MATCHERS;
const VM_JOBS = `job=~"${Object.values(VM_JOB).join('|')}"`;
const isVm = (topo: Topology) => topo.central.backend === 'victoriametrics';
const HB = HEARTBEAT_METRIC;
const NO_ALERT = 'no alert is firing';

const RED_ABOVE = (v: number): ReadonlyArray<readonly [number | null, string]> => [
  [null, 'green'],
  [v, 'red'],
];
const RED_BELOW = (v: number): ReadonlyArray<readonly [number | null, string]> => [
  [null, 'red'],
  [v, 'green'],
];

const toRegion = drillDown('Region drill-down', UID.region, [BR, R]);
const toMetaCluster = drillDown('Meta-cluster drill-down', UID.metaCluster, [BR, R, MC]);

/** Heartbeat age past which an edge counts as stale: the same threshold as FederationStale. */
const staleAfterSeconds = (topo: Topology): number => federationLag(topo).staleAfterMs / 1000;

const lagPanel = (
  title: string,
  by: string,
  filter: string,
  staleAfter: number,
  links?: PanelSpec['links'],
): PanelSpec => ({
  title,
  description: `Age of the newest edge heartbeat (${HB}) seen by central: end-to-end federation lag. Above ${staleAfter}s the edge is stale.`,
  viz: 'timeseries',
  unit: 's',
  min: 0,
  thresholds: RED_ABOVE(staleAfter),
  targets: [
    {
      expr: `max by (${by}) (time() - ${HB}{${filter}})`,
      legend: by
        .split(', ')
        .map((l) => `{{${l}}}`)
        .join(' / '),
    },
  ],
  ...(links !== undefined ? { links } : {}),
});

export function globalOverview(topo: Topology): DashboardSpec {
  const stale = staleAfterSeconds(topo);
  return {
    uid: UID.global,
    title: 'fedstack / Global overview',
    description: 'Health of every big region and region, from the central tier.',
    rows: [
      {
        title: 'Fleet',
        panels: [
          {
            title: 'Edges federated',
            description: 'Edge Prometheus servers the cascades scrape successfully, of all edges.',
            viz: 'stat',
            targets: [
              { expr: `sum(up{${EDGE_JOB}, ${F_REGION}})`, legend: 'up' },
              { expr: `count(up{${EDGE_JOB}, ${F_REGION}})`, legend: 'total' },
            ],
          },
          isVm(topo)
            ? {
                title: 'Cascades writing',
                description:
                  'Cascades whose own samples reach VictoriaMetrics (their remote_write delivers), of those seen.',
                viz: 'stat',
                targets: [
                  { expr: `sum(up{${CASCADE_SELF}, ${F_BIG_REGION}})`, legend: 'up' },
                  { expr: `count(up{${CASCADE_SELF}, ${F_BIG_REGION}})`, legend: 'total' },
                ],
              }
            : {
                title: 'Cascades federated',
                description: 'Cascades this central replica scrapes successfully, of all cascades.',
                viz: 'stat',
                targets: [
                  { expr: `sum(up{${CASCADE_JOB}, ${F_BIG_REGION}})`, legend: 'up' },
                  { expr: `count(up{${CASCADE_JOB}, ${F_BIG_REGION}})`, legend: 'total' },
                ],
              },
          {
            title: 'Max federation lag',
            description: 'Oldest edge heartbeat among the selected regions.',
            viz: 'stat',
            unit: 's',
            thresholds: RED_ABOVE(stale),
            targets: [{ expr: `max(time() - ${HB}{${F_REGION}})` }],
          },
          {
            title: 'Firing alerts',
            description: 'Alerts central is firing now (both replicas evaluate the same rules).',
            viz: 'stat',
            thresholds: RED_ABOVE(1),
            targets: [{ expr: 'count(ALERTS{alertstate="firing"}) or vector(0)' }],
          },
        ],
      },
      {
        title: 'Regions',
        panels: [
          {
            title: 'Edges up by region',
            description:
              'Share of edges each cascade federates successfully (cascade rule region:edge_up:ratio).',
            viz: 'timeseries',
            unit: 'percentunit',
            min: 0,
            max: 1,
            targets: [{ expr: `region:edge_up:ratio{${F_REGION}}`, legend: '{{region}}' }],
            links: [toRegion],
          },
          lagPanel('Federation lag by region', `${BR}, ${R}`, F_REGION, stale, [toRegion]),
          {
            title: 'Apiserver error ratio',
            description:
              'Share of kube-apiserver requests answered 5xx, per region (cascade rule) and per big region (central rule).',
            viz: 'timeseries',
            unit: 'percentunit',
            min: 0,
            thresholds: RED_ABOVE(0.05),
            targets: [
              { expr: `region:apiserver_request_errors:ratio_rate5m{${F_REGION}}`, legend: '{{region}}' },
              {
                expr: `big_region:apiserver_request_errors:ratio_rate5m{${F_BIG_REGION}}`,
                legend: '{{big_region}} (big region)',
              },
            ],
            links: [toRegion],
          },
          {
            title: 'Apiserver p99 latency',
            description:
              'Worst meta-cluster p99 kube-apiserver latency per region (excluding WATCH/CONNECT).',
            viz: 'timeseries',
            unit: 's',
            min: 0,
            thresholds: RED_ABOVE(1),
            targets: [
              {
                expr: `max by (${BR}, ${R}) (meta_cluster:apiserver_request_duration_seconds:p99_5m{${F_REGION}})`,
                legend: '{{region}}',
              },
            ],
            links: [toRegion],
          },
          {
            title: 'etcd clusters without leader',
            description: 'Guest-cluster etcds that have no leader, per region.',
            viz: 'timeseries',
            min: 0,
            thresholds: RED_ABOVE(1),
            targets: [
              {
                expr: `sum by (${BR}, ${R}) (meta_cluster:etcd_clusters_without_leader:count{${F_REGION}})`,
                legend: '{{region}}',
              },
            ],
            links: [toRegion],
          },
          {
            title: 'Nodes not ready',
            description: 'Meta-cluster nodes not Ready, per region.',
            viz: 'timeseries',
            min: 0,
            thresholds: RED_ABOVE(1),
            targets: [{ expr: `region:kube_node_not_ready:count{${F_REGION}}`, legend: '{{region}}' }],
            links: [toRegion],
          },
          {
            title: 'Targets up by job',
            description:
              "Share of the edges' scrape targets that are up, per job (edge rule meta_cluster:up:ratio).",
            viz: 'timeseries',
            unit: 'percentunit',
            min: 0,
            max: 1,
            targets: [{ expr: `avg by (job) (meta_cluster:up:ratio{${F_REGION}})`, legend: '{{job}}' }],
          },
          {
            title: 'Firing alerts by name',
            description: 'Alerts firing at central, by name, severity and place.',
            viz: 'table',
            targets: [
              {
                expr: `sum by (alertname, severity, ${BR}, ${R}, ${MC}) (ALERTS{alertstate="firing"})`,
                mayBeEmpty: NO_ALERT,
              },
            ],
          },
        ],
      },
    ],
  };
}

export function regionDrillDown(topo: Topology): DashboardSpec {
  const stale = staleAfterSeconds(topo);
  const byMc = '{{meta_cluster}}';
  return {
    uid: UID.region,
    title: 'fedstack / Region drill-down',
    description: 'The meta-clusters of the selected regions, side by side.',
    rows: [
      {
        title: 'Federation',
        panels: [
          {
            title: 'Edge federated',
            description: "Whether the cascade scrapes each meta-cluster's edge Prometheus (1 = up).",
            viz: 'timeseries',
            min: 0,
            max: 1,
            thresholds: RED_BELOW(1),
            targets: [{ expr: `max by (${MC}) (up{${EDGE_JOB}, ${F_REGION}})`, legend: byMc }],
            links: [toMetaCluster],
          },
          lagPanel('Federation lag', `${BR}, ${R}, ${MC}`, F_REGION, stale, [toMetaCluster]),
        ],
      },
      {
        title: 'Control planes',
        panels: [
          {
            title: 'Apiserver error ratio',
            description: 'Share of guest kube-apiserver requests answered 5xx, per meta-cluster.',
            viz: 'timeseries',
            unit: 'percentunit',
            min: 0,
            thresholds: RED_ABOVE(0.05),
            targets: [
              { expr: `meta_cluster:apiserver_request_errors:ratio_rate5m{${F_REGION}}`, legend: byMc },
            ],
            links: [toMetaCluster],
          },
          {
            title: 'Apiserver requests by code',
            description: 'Guest kube-apiserver request rate per meta-cluster and HTTP code.',
            viz: 'timeseries',
            unit: 'reqps',
            min: 0,
            targets: [
              {
                expr: `sum by (${MC}, code) (meta_cluster:apiserver_request:rate5m{${F_REGION}})`,
                legend: '{{meta_cluster}} {{code}}',
              },
            ],
            links: [toMetaCluster],
          },
          {
            title: 'Apiserver p99 latency',
            description: 'Worst guest-cluster p99 kube-apiserver latency per meta-cluster.',
            viz: 'timeseries',
            unit: 's',
            min: 0,
            thresholds: RED_ABOVE(1),
            targets: [
              { expr: `meta_cluster:apiserver_request_duration_seconds:p99_5m{${F_REGION}}`, legend: byMc },
            ],
            links: [toMetaCluster],
          },
          {
            title: 'etcd clusters without leader',
            description: 'Guest-cluster etcds without a leader, per meta-cluster.',
            viz: 'timeseries',
            min: 0,
            thresholds: RED_ABOVE(1),
            targets: [{ expr: `meta_cluster:etcd_clusters_without_leader:count{${F_REGION}}`, legend: byMc }],
            links: [toMetaCluster],
          },
        ],
      },
      {
        title: 'Capacity',
        panels: [
          {
            title: 'Nodes ready',
            description: 'Ready nodes and all nodes of each meta-cluster.',
            viz: 'timeseries',
            min: 0,
            targets: [
              { expr: `meta_cluster:kube_node_ready:count{${F_REGION}}`, legend: '{{meta_cluster}} ready' },
              { expr: `meta_cluster:kube_node:count{${F_REGION}}`, legend: '{{meta_cluster}} total' },
            ],
          },
          {
            title: 'Node CPU and memory utilisation',
            description: 'Meta-cluster node CPU (non-idle) and memory utilisation.',
            viz: 'timeseries',
            unit: 'percentunit',
            min: 0,
            max: 1,
            targets: [
              {
                expr: `meta_cluster:node_cpu_utilisation:ratio{${F_REGION}}`,
                legend: '{{meta_cluster}} cpu',
              },
              {
                expr: `meta_cluster:node_memory_utilisation:ratio{${F_REGION}}`,
                legend: '{{meta_cluster}} memory',
              },
            ],
          },
        ],
      },
    ],
  };
}

export function metaClusterDrillDown(topo: Topology): DashboardSpec {
  const stale = staleAfterSeconds(topo);
  return {
    uid: UID.metaCluster,
    title: 'fedstack / Meta-cluster drill-down',
    description:
      'One meta-cluster and the control planes of the guest clusters it hosts (per cluster_id series kept by central).',
    rows: [
      {
        title: 'Guest control planes',
        panels: [
          {
            title: 'Guest clusters reporting',
            description: 'Guest clusters whose etcd health reaches central.',
            viz: 'stat',
            targets: [{ expr: `count(cluster:etcd_server_has_leader:min{${F_META_CLUSTER}})` }],
          },
          {
            title: 'Guest etcds without leader',
            description: 'Guest clusters whose etcd has no leader.',
            viz: 'stat',
            thresholds: RED_ABOVE(1),
            targets: [
              { expr: `count(cluster:etcd_server_has_leader:min{${F_META_CLUSTER}} == 0) or vector(0)` },
            ],
          },
          {
            title: 'Worst guest apiserver p99',
            description: 'Highest p99 kube-apiserver latency among the guest clusters.',
            viz: 'stat',
            unit: 's',
            thresholds: RED_ABOVE(1),
            targets: [{ expr: `max(cluster:apiserver_request_duration_seconds:p99_5m{${F_META_CLUSTER}})` }],
          },
          {
            title: 'Federation lag',
            description: "Age of the meta-cluster's newest heartbeat seen by central.",
            viz: 'stat',
            unit: 's',
            thresholds: RED_ABOVE(stale),
            targets: [{ expr: `max(time() - ${HB}{${F_META_CLUSTER}})` }],
          },
          {
            title: 'Guest apiserver p99 latency (top 20)',
            description: 'p99 kube-apiserver latency of the 20 slowest guest clusters.',
            viz: 'timeseries',
            unit: 's',
            min: 0,
            thresholds: RED_ABOVE(1),
            targets: [
              {
                expr: `topk(20, max by (${MC}, ${CID}) (cluster:apiserver_request_duration_seconds:p99_5m{${F_META_CLUSTER}}))`,
                legend: '{{cluster_id}}',
              },
            ],
          },
          {
            title: 'Guest control planes',
            description: 'Per guest cluster: etcd has a leader (1) and apiserver p99 latency.',
            viz: 'table',
            targets: [
              {
                expr: `min by (${MC}, ${CID}) (cluster:etcd_server_has_leader:min{${F_META_CLUSTER}})`,
                legend: 'etcd leader',
              },
              {
                expr: `max by (${MC}, ${CID}) (cluster:apiserver_request_duration_seconds:p99_5m{${F_META_CLUSTER}})`,
                legend: 'apiserver p99',
              },
            ],
          },
        ],
      },
      {
        title: 'Meta-cluster',
        panels: [
          {
            title: 'Apiserver requests by code',
            description: 'Guest kube-apiserver request rate of this meta-cluster by HTTP code.',
            viz: 'timeseries',
            unit: 'reqps',
            min: 0,
            targets: [
              {
                expr: `sum by (${MC}, code) (meta_cluster:apiserver_request:rate5m{${F_META_CLUSTER}})`,
                legend: '{{meta_cluster}} {{code}}',
              },
            ],
          },
          {
            title: 'Apiserver error ratio',
            description: 'Share of guest kube-apiserver requests answered 5xx.',
            viz: 'timeseries',
            unit: 'percentunit',
            min: 0,
            thresholds: RED_ABOVE(0.05),
            targets: [
              {
                expr: `meta_cluster:apiserver_request_errors:ratio_rate5m{${F_META_CLUSTER}}`,
                legend: '{{meta_cluster}}',
              },
            ],
          },
          {
            title: 'Targets up by job',
            description: "Share of the edge's scrape targets that are up, per job.",
            viz: 'timeseries',
            unit: 'percentunit',
            min: 0,
            max: 1,
            targets: [
              {
                expr: `max by (${MC}, job) (meta_cluster:up:ratio{${F_META_CLUSTER}})`,
                legend: '{{meta_cluster}} {{job}}',
              },
            ],
          },
          {
            title: 'Node CPU and memory utilisation',
            description: 'Meta-cluster node CPU (non-idle) and memory utilisation.',
            viz: 'timeseries',
            unit: 'percentunit',
            min: 0,
            targets: [
              {
                expr: `meta_cluster:node_cpu_utilisation:ratio{${F_META_CLUSTER}}`,
                legend: '{{meta_cluster}} node cpu',
              },
              {
                expr: `meta_cluster:node_memory_utilisation:ratio{${F_META_CLUSTER}}`,
                legend: '{{meta_cluster}} node memory',
              },
            ],
          },
          {
            title: 'Containers',
            description: 'Container CPU (cores) and memory working set (bytes) of the meta-cluster.',
            viz: 'timeseries',
            min: 0,
            targets: [
              {
                expr: `meta_cluster:container_cpu_usage_seconds:rate5m{${F_META_CLUSTER}}`,
                legend: '{{meta_cluster}} cpu cores',
              },
              {
                expr: `meta_cluster:container_memory_working_set_bytes:sum{${F_META_CLUSTER}}`,
                legend: '{{meta_cluster}} memory bytes',
              },
            ],
          },
          {
            title: 'Nodes ready',
            description: 'Ready nodes and all nodes of the meta-cluster.',
            viz: 'timeseries',
            min: 0,
            targets: [
              {
                expr: `meta_cluster:kube_node_ready:count{${F_META_CLUSTER}}`,
                legend: '{{meta_cluster}} ready',
              },
              { expr: `meta_cluster:kube_node:count{${F_META_CLUSTER}}`, legend: '{{meta_cluster}} total' },
            ],
          },
        ],
      },
    ],
  };
}

export function federationHealth(topo: Topology): DashboardSpec {
  const stale = staleAfterSeconds(topo);
  const edgeLimit = topo.global.cascade.sampleLimit;
  const cascadeLimit = topo.global.central.sampleLimit;
  const edgeSel = `{${EDGE_JOB}, ${F_REGION}}`;
  // Central labels each cascade target with its big region (central/render.ts).
  const cascadeSel = `{${CASCADE_JOB}, ${F_BIG_REGION}}`;
  // sample_limit counts samples after metric relabelling; over it the whole scrape fails (up=0).
  const headroom = (limit: number, sel: string, by: string, who: string): PanelSpec => ({
    title: `sample_limit headroom (${who})`,
    description:
      limit > 0
        ? `Share of sample_limit (${limit}) still free per federation target; at 0 the scrape fails whole and nothing is stored.`
        : 'No sample_limit is set for this federation job (0 = unlimited): samples per scrape shown instead.',
    viz: 'timeseries',
    unit: limit > 0 ? 'percentunit' : 'short',
    ...(limit > 0 ? { max: 1, thresholds: RED_BELOW(0.2) } : {}),
    targets: [
      {
        expr:
          limit > 0
            ? `1 - max by (${by}) (scrape_samples_post_metric_relabeling${sel}) / ${limit}`
            : `max by (${by}) (scrape_samples_post_metric_relabeling${sel})`,
        legend: `{{${by.split(', ').at(-1)!}}}`,
      },
    ],
  });
  return {
    uid: UID.federation,
    title: 'fedstack / Federation health',
    description:
      'The federation links themselves: scrape cost, series per tier, sample_limit headroom, stale edges.',
    rows: [
      {
        title: 'Liveness',
        panels: [
          {
            title: 'Unreachable edges',
            description:
              'Edges whose federation scrape fails (up = 0): body too big, sample_limit, TLS, network.',
            viz: 'stat',
            thresholds: RED_ABOVE(1),
            targets: [{ expr: `count(up${edgeSel} == 0) or vector(0)` }],
          },
          {
            title: 'Stale edges',
            description: `Edges whose newest heartbeat at central is older than ${stale}s (a dead edge's series linger ~5m with honor_timestamps).`,
            viz: 'stat',
            thresholds: RED_ABOVE(1),
            targets: [{ expr: `count((time() - ${HB}{${F_REGION}}) > ${stale}) or vector(0)` }],
          },
          {
            title: 'Edges without heartbeat',
            description: `Edges scraped successfully whose heartbeat does not reach central: an allow-list or relabel problem on the path.`,
            viz: 'stat',
            thresholds: RED_ABOVE(1),
            targets: [{ expr: `count(up${edgeSel} == 1 unless on (${BR}, ${R}, ${MC}) ${HB}) or vector(0)` }],
          },
          isVm(topo)
            ? {
                title: 'Cascades failing to write',
                description:
                  'Cascades whose remote_write to VictoriaMetrics drops samples (a 4xx: not retried).',
                viz: 'stat',
                thresholds: RED_ABOVE(1),
                targets: [
                  {
                    expr: `count(sum by (${BR}) (rate(prometheus_remote_storage_samples_failed_total{${CASCADE_SELF}, ${F_BIG_REGION}}[5m])) > 0) or vector(0)`,
                  },
                ],
              }
            : {
                title: 'Cascades unreachable',
                description: 'Cascades this central replica fails to scrape.',
                viz: 'stat',
                thresholds: RED_ABOVE(1),
                targets: [{ expr: `count(up${cascadeSel} == 0) or vector(0)` }],
              },
          lagPanel('Federation lag per edge', `${BR}, ${R}, ${MC}`, F_REGION, stale, [toMetaCluster]),
          {
            title: 'Stale or unreachable edges',
            description:
              'Edges with a heartbeat older than the stale threshold, and edges whose federation scrape fails.',
            viz: 'table',
            targets: [
              {
                expr: `max by (${BR}, ${R}, ${MC}) (time() - ${HB}{${F_REGION}}) > ${stale}`,
                legend: 'lag',
                mayBeEmpty: 'every edge is fresh',
              },
              {
                expr: `max by (${BR}, ${R}, ${MC}) (up${edgeSel}) == 0`,
                legend: 'up',
                mayBeEmpty: 'every edge is reachable',
              },
            ],
          },
        ],
      },
      {
        title: 'Scrape cost',
        panels: [
          {
            title: 'Scrape duration: cascade ← edge',
            description:
              'How long each cascade takes to federate each edge (must stay under the scrape timeout).',
            viz: 'timeseries',
            unit: 's',
            min: 0,
            targets: [
              {
                expr: `max by (${BR}, ${R}, ${MC}) (scrape_duration_seconds${edgeSel})`,
                legend: '{{meta_cluster}}',
              },
            ],
          },
          ...(isVm(topo) ? vmLinkPanels() : []),
          ...(isVm(topo)
            ? []
            : [
                {
                  title: 'Scrape duration: central ← cascade',
                  description: 'How long this central replica takes to federate each cascade.',
                  viz: 'timeseries' as const,
                  unit: 's',
                  min: 0,
                  targets: [
                    {
                      expr: `max by (${BR}) (scrape_duration_seconds${cascadeSel})`,
                      legend: '{{big_region}}',
                    },
                  ],
                },
              ]),
          {
            title: 'Samples per scrape: cascade ← edge',
            description: 'Samples each edge federation scrape returns.',
            viz: 'timeseries',
            min: 0,
            targets: [
              {
                expr: `max by (${BR}, ${R}, ${MC}) (scrape_samples_scraped${edgeSel})`,
                legend: '{{meta_cluster}}',
              },
            ],
          },
          ...(isVm(topo)
            ? []
            : [
                {
                  title: 'Samples per scrape: central ← cascade',
                  description: 'Samples each cascade federation scrape returns.',
                  viz: 'timeseries' as const,
                  min: 0,
                  targets: [
                    {
                      expr: `max by (${BR}) (scrape_samples_scraped${cascadeSel})`,
                      legend: '{{big_region}}',
                    },
                  ],
                },
              ]),
          {
            title: 'Series per tier',
            description:
              'Series federated into the cascades (from all edges, per big region) and into this central replica (from all cascades).',
            viz: 'timeseries',
            min: 0,
            targets: [
              {
                expr: `sum by (${BR}) (scrape_samples_post_metric_relabeling${edgeSel})`,
                legend: 'cascade {{big_region}}',
              },
              isVm(topo)
                ? {
                    expr: `sum(max_over_time(vm_cache_entries{${VM_JOBS}, type="storage/hour_metric_ids"}[5m]))`,
                    legend: 'central (VictoriaMetrics active series)',
                  }
                : { expr: `sum(scrape_samples_post_metric_relabeling${cascadeSel})`, legend: 'central' },
            ],
          },
          {
            title: 'New series per scrape',
            description:
              'Series appearing for the first time, per federation job: churn that costs memory upstream.',
            viz: 'timeseries',
            min: 0,
            targets: [
              { expr: `sum by (${BR}) (scrape_series_added${edgeSel})`, legend: 'cascade {{big_region}}' },
              isVm(topo)
                ? {
                    expr: `sum(rate(vm_new_timeseries_created_total{${VM_JOBS}}[5m]))`,
                    legend: 'central (new series/s)',
                  }
                : { expr: `sum(scrape_series_added${cascadeSel})`, legend: 'central' },
            ],
          },
          headroom(edgeLimit, edgeSel, `${BR}, ${R}, ${MC}`, 'cascade ← edge'),
          ...(isVm(topo) ? [] : [headroom(cascadeLimit, cascadeSel, BR, 'central ← cascade')]),
        ],
      },
    ],
  };
}

/**
 * Backend victoriametrics: the cascade → VictoriaMetrics hop in place of central's federation
 * scrape of each cascade: how far each cascade's remote_write is behind, what it sends, what
 * waits in its queue.
 */
function vmLinkPanels(): PanelSpec[] {
  const self = `{${CASCADE_SELF}, ${F_BIG_REGION}}`;
  return [
    {
      title: 'remote_write lag: cascade → VictoriaMetrics',
      description:
        'How far each cascade has sent behind what it holds (prometheus-mixin PrometheusRemoteWriteBehind): global views lag by this much.',
      viz: 'timeseries',
      unit: 's',
      min: 0,
      targets: [
        {
          expr: `max by (${BR}) (prometheus_remote_storage_highest_timestamp_in_seconds${self} - ignoring (remote_name, url) group_right prometheus_remote_storage_queue_highest_sent_timestamp_seconds${self})`,
          legend: '{{big_region}}',
        },
      ],
    },
    {
      title: 'Samples sent: cascade → VictoriaMetrics',
      description: 'Samples per second each cascade writes, and those it retries.',
      viz: 'timeseries',
      min: 0,
      targets: [
        {
          expr: `sum by (${BR}) (rate(prometheus_remote_storage_samples_total${self}[5m]))`,
          legend: 'sent {{big_region}}',
        },
        {
          expr: `sum by (${BR}) (rate(prometheus_remote_storage_samples_retried_total${self}[5m]))`,
          legend: 'retried {{big_region}}',
        },
      ],
    },
    {
      title: 'Samples queued: cascade → VictoriaMetrics',
      description:
        'Samples each cascade holds waiting to be sent: rises while VictoriaMetrics or the WAN is down.',
      viz: 'timeseries',
      min: 0,
      targets: [
        {
          expr: `sum by (${BR}) (prometheus_remote_storage_samples_pending${self})`,
          legend: '{{big_region}}',
        },
      ],
    },
  ];
}

export function dashboardSpecs(topo: Topology): DashboardSpec[] {
  return [globalOverview(topo), regionDrillDown(topo), metaClusterDrillDown(topo), federationHealth(topo)];
}
