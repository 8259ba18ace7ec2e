/**
 * The edge: one Prometheus per meta-cluster. It scrapes the meta-cluster (nodes, kubelet and
 * cAdvisor, kube-state-metrics, etcd, its own control plane) and the control-plane pods of the
 * guest clusters it hosts, aggregates them per guest cluster (`cluster:` rules) and exposes the
 * result on /federate for its big region's cascade.
 */
import {
  HEARTBEAT_METRIC,
  JOB,
  LABEL,
  MOUNT,
  POD_LABEL_CLUSTER_ID,
  PORT,
  type Profile,
} from '../common/conventions.ts';
import type { PrometheusBundle, RelabelConfig, RuleFile, ScrapeConfig } from '../common/prometheus.ts';
import { protectReservedLabels, recordingGroup, selfScrapeJob, sidecarScrapeJob } from '../common/scrape.ts';
import type { PlacedMetaCluster, Topology } from '../topology/model.ts';
import { selfScrapeClientConfig } from '../topology/security.ts';

export function renderEdge(topo: Topology, placed: PlacedMetaCluster, profile: Profile): PrometheusBundle {
  const { metaCluster } = placed;
  const tier = topo.global.edge;
  const selfTarget = profile === 'local' ? metaCluster.endpoint : `localhost:${PORT.prometheus}`;
  const jobs: ScrapeConfig[] = [
    selfScrapeJob(selfTarget, selfScrapeClientConfig(topo.security, profile)),
    ...(profile === 'kubernetes' ? [sidecarScrapeJob(), ...kubernetesJobs(metaCluster.name)] : []),
    ...metaCluster.extraScrapeTargets.map((t): ScrapeConfig => ({
      job_name: t.job,
      metrics_path: t.metricsPath,
      scheme: t.scheme,
      static_configs: [
        { targets: [...t.targets], labels: Object.keys(t.labels).length > 0 ? { ...t.labels } : undefined },
      ],
    })),
  ].map((job) => ({
    ...job,
    metric_relabel_configs: [...(job.metric_relabel_configs ?? []), ...protectReservedLabels()],
  }));

  return {
    config: {
      global: {
        scrape_interval: tier.scrapeInterval,
        evaluation_interval: tier.evaluationInterval,
        external_labels: { [LABEL.metaCluster]: metaCluster.name },
      },
      rule_files: ['rules.yml'],
      scrape_configs: jobs,
    },
    rules: edgeRules(topo),
  };
}

/**
 * Every edge evaluates the same rules: one object per topology, shared by all its edges (so
 * a 10,000-edge render builds and serializes it once).
 */
const rulesByTopology = new WeakMap<Topology, RuleFile>();
function edgeRules(topo: Topology): RuleFile {
  let rules = rulesByTopology.get(topo);
  if (rules === undefined) {
    rules = {
      groups: [
        recordingGroup('fedstack-edge', topo.global.edge.evaluationInterval, [
          // The heartbeat is always first: upstream, time() - value is the federation lag.
          { record: HEARTBEAT_METRIC, expr: 'vector(time())', labels: {} },
          ...topo.recordingRules.edge,
        ]),
      ],
    };
    rulesByTopology.set(topo, rules);
  }
  return rules;
}

const saToken = { type: 'Bearer', credentials_file: MOUNT.serviceAccountToken };
const saTls = { ca_file: MOUNT.serviceAccountCa };

/** Sets cluster_id to the meta-cluster's own name: its control plane is a cluster too. */
const ownClusterId = (name: string): RelabelConfig => ({
  target_label: LABEL.clusterId,
  replacement: name,
  action: 'replace',
});

/** Keeps the kube-system pods whose `component` label is the given control-plane component. */
const kubeSystemComponent = (component: string): RelabelConfig[] => [
  { source_labels: ['__meta_kubernetes_namespace'], regex: 'kube-system', action: 'keep' },
  { source_labels: ['__meta_kubernetes_pod_label_component'], regex: component, action: 'keep' },
  { source_labels: ['__meta_kubernetes_pod_name'], target_label: 'pod', action: 'replace' },
];

/** A Kubernetes pod label key as the meta label kubernetes_sd gives it. */
const podLabelMeta = (key: string) => `__meta_kubernetes_pod_label_${key.replace(/[^a-zA-Z0-9_]/g, '_')}`;

/** The standard jobs of a meta-cluster, discovered through the Kubernetes API (in-cluster). */
function kubernetesJobs(metaCluster: string): ScrapeConfig[] {
  const clusterIdMeta = podLabelMeta(POD_LABEL_CLUSTER_ID);
  return [
    {
      job_name: JOB.nodeExporter,
      kubernetes_sd_configs: [{ role: 'endpoints' }],
      relabel_configs: [
        {
          source_labels: ['__meta_kubernetes_service_label_app_kubernetes_io_name'],
          regex: 'node-exporter',
          action: 'keep',
        },
        { source_labels: ['__meta_kubernetes_pod_node_name'], target_label: 'node', action: 'replace' },
      ],
    },
    {
      job_name: JOB.kubelet,
      scheme: 'https',
      authorization: saToken,
      tls_config: saTls,
      kubernetes_sd_configs: [{ role: 'node' }],
      relabel_configs: [
        { source_labels: ['__meta_kubernetes_node_name'], target_label: 'node', action: 'replace' },
      ],
    },
    {
      job_name: JOB.cadvisor,
      scheme: 'https',
      metrics_path: '/metrics/cadvisor',
      authorization: saToken,
      tls_config: saTls,
      kubernetes_sd_configs: [{ role: 'node' }],
      relabel_configs: [
        { source_labels: ['__meta_kubernetes_node_name'], target_label: 'node', action: 'replace' },
      ],
      // cAdvisor's `id` and `name` are cgroup paths and container runtime ids: pure cardinality.
      metric_relabel_configs: [{ regex: 'id|name', action: 'labeldrop' }],
    },
    {
      job_name: JOB.kubeStateMetrics,
      honor_labels: true,
      kubernetes_sd_configs: [{ role: 'endpoints' }],
      relabel_configs: [
        {
          source_labels: ['__meta_kubernetes_service_label_app_kubernetes_io_name'],
          regex: 'kube-state-metrics',
          action: 'keep',
        },
        { source_labels: ['__meta_kubernetes_endpoint_port_name'], regex: 'http-metrics', action: 'keep' },
      ],
    },
    {
      job_name: JOB.apiserver,
      scheme: 'https',
      authorization: saToken,
      tls_config: saTls,
      kubernetes_sd_configs: [{ role: 'endpoints', namespaces: { names: ['default'] } }],
      relabel_configs: [
        {
          source_labels: ['__meta_kubernetes_service_name', '__meta_kubernetes_endpoint_port_name'],
          regex: 'kubernetes;https',
          action: 'keep',
        },
        ownClusterId(metaCluster),
      ],
    },
    {
      job_name: JOB.controllerManager,
      scheme: 'https',
      authorization: saToken,
      tls_config: { insecure_skip_verify: true },
      kubernetes_sd_configs: [{ role: 'pod', namespaces: { names: ['kube-system'] } }],
      relabel_configs: [
        ...kubeSystemComponent('kube-controller-manager'),
        podPort(10257),
        ownClusterId(metaCluster),
      ],
    },
    {
      job_name: JOB.scheduler,
      scheme: 'https',
      authorization: saToken,
      tls_config: { insecure_skip_verify: true },
      kubernetes_sd_configs: [{ role: 'pod', namespaces: { names: ['kube-system'] } }],
      relabel_configs: [...kubeSystemComponent('kube-scheduler'), podPort(10259), ownClusterId(metaCluster)],
    },
    {
      job_name: JOB.etcd,
      scheme: 'https',
      tls_config: { ca_file: MOUNT.etcdCa, cert_file: MOUNT.etcdCert, key_file: MOUNT.etcdKey },
      kubernetes_sd_configs: [{ role: 'pod', namespaces: { names: ['kube-system'] } }],
      relabel_configs: [...kubeSystemComponent('etcd'), podPort(2379), ownClusterId(metaCluster)],
    },
    {
      // Guest clusters' control planes run as pods on the meta-cluster (ACK's managed
      // Kubernetes). Each pod carries fedstack.io/cluster-id, which becomes `cluster_id`, and
      // says how to scrape it with the usual prometheus.io/{scrape,port,path,scheme} annotations.
      job_name: JOB.guestControlPlane,
      authorization: saToken,
      tls_config: { insecure_skip_verify: true },
      kubernetes_sd_configs: [{ role: 'pod' }],
      relabel_configs: [
        { source_labels: [clusterIdMeta], regex: '.+', action: 'keep' },
        {
          source_labels: ['__meta_kubernetes_pod_annotation_prometheus_io_scrape'],
          regex: 'true',
          action: 'keep',
        },
        { source_labels: [clusterIdMeta], target_label: LABEL.clusterId, action: 'replace' },
        {
          source_labels: ['__meta_kubernetes_pod_label_component'],
          target_label: 'component',
          action: 'replace',
        },
        { source_labels: ['__meta_kubernetes_namespace'], target_label: 'namespace', action: 'replace' },
        { source_labels: ['__meta_kubernetes_pod_name'], target_label: 'pod', action: 'replace' },
        {
          source_labels: ['__address__', '__meta_kubernetes_pod_annotation_prometheus_io_port'],
          regex: '([^:]+)(?::\\d+)?;(\\d+)',
          replacement: '$1:$2',
          target_label: '__address__',
          action: 'replace',
        },
        {
          source_labels: ['__meta_kubernetes_pod_annotation_prometheus_io_path'],
          regex: '(.+)',
          target_label: '__metrics_path__',
          action: 'replace',
        },
        {
          source_labels: ['__meta_kubernetes_pod_annotation_prometheus_io_scheme'],
          regex: '(https?)',
          target_label: '__scheme__',
          action: 'replace',
        },
      ],
    },
  ];
}

/** Points a discovered pod target at a fixed port (control-plane components' secure ports). */
function podPort(port: number): RelabelConfig {
  return {
    source_labels: ['__meta_kubernetes_pod_ip'],
    regex: '(.+)',
    replacement: `$1:${port}`,
    target_label: '__address__',
    action: 'replace',
  };
}

/**
 * The jobs every edge runs besides a meta-cluster's extraScrapeTargets (the kubernetes profile's
 * set; the local profile runs the self-scrape only). `explain` names them as a series' sources.
 */
export const EDGE_JOBS: readonly string[] = [JOB.self, JOB.sidecar, ...kubernetesJobs('').map((j) => j.job_name)];
