/**
 * Names shared by every tier. A label, job or rule prefix that two modules must agree on
 * lives here and nowhere else, so that renaming it is one edit.
 */

/** Labels fedstack adds to every federated series (the cascade sets them as target labels). */
export const LABEL = {
  bigRegion: 'big_region',
  region: 'region',
  metaCluster: 'meta_cluster',
  /** Guest cluster id, set at the edge from the control-plane pod's namespace/labels. */
  clusterId: 'cluster_id',
  /** Distinguishes the central replicas; dropped from alerts so the Alertmanager cluster dedups. */
  replica: 'replica',
} as const;

/** Labels that fedstack owns: a user may not set them in extraScrapeTargets or rule labels. */
export const RESERVED_LABELS: readonly string[] = [
  LABEL.bigRegion,
  LABEL.region,
  LABEL.metaCluster,
  LABEL.replica,
];

/** Labels no rule may remove: without them series from different places or jobs would merge. */
export const UNDROPPABLE_LABELS: readonly string[] = ['__name__', 'job', 'instance', ...RESERVED_LABELS];

/** Scrape job names. Meta-alerts and dashboards select on them, so they are fixed. */
export const JOB = {
  /** A cascade's job that federates one big region's edges. */
  federateEdge: 'fedstack-federate-edge',
  /** A central replica's job that federates every cascade. */
  federateCascade: 'fedstack-federate-cascade',
  /** Every Prometheus scrapes itself under this job. */
  self: 'prometheus',
  nodeExporter: 'node-exporter',
  kubelet: 'kubelet',
  cadvisor: 'cadvisor',
  kubeStateMetrics: 'kube-state-metrics',
  etcd: 'etcd',
  apiserver: 'apiserver',
  controllerManager: 'kube-controller-manager',
  scheduler: 'kube-scheduler',
  /** Control-plane pods of guest clusters, hosted on the meta-cluster. */
  guestControlPlane: 'guest-control-plane',
  /** Central's scrape of the fedstack service (and the alert bridge in it). */
  fedstack: 'fedstack',
  /** Each Prometheus' scrape of its config sidecar, in the same pod (kubernetes profile). */
  sidecar: 'fedstack-sidecar',
} as const;

/**
 * The sidecar series that reach central from every Prometheus (as the heartbeat does), so a
 * config the sidecar refuses anywhere in the fleet pages someone.
 */
export const SIDECAR_CONFIG_VALID = 'fedstack_sidecar_config_valid';

/**
 * Jobs of the VictoriaMetrics backend's self-monitoring scrape (victoriametrics/scrape.yml):
 * the single node (local profile) or the cluster's components (kubernetes), and the vmalerts.
 */
export const VM_JOB = {
  single: 'victoria-metrics',
  vmstorage: 'vmstorage',
  vminsert: 'vminsert',
  vmselect: 'vmselect',
  vmauth: 'vmauth',
  vmagent: 'vmagent',
  vmalert: 'vmalert',
} as const;

/**
 * The service's gauge, by `team`: 1 while the latest staged rollout ended rolled back. Central's
 * FedstackRolloutRolledBack reads it; the team is the rollout plan's owner.
 */
export const ROLLOUT_ROLLED_BACK = 'fedstack_rollout_rolled_back';

/**
 * A series the edge records every evaluation: its value is the edge's clock. Upstream,
 * `time() - value` is the end-to-end federation lag (dashboards) and FederationStale keys on it.
 */
export const HEARTBEAT_METRIC = 'fedstack:heartbeat:timestamp_seconds';

/**
 * Series that fedstack's own meta-alerts and federation-health dashboard need at every tier.
 * They are always federated, whatever the topology's allow-lists say, so that a user's
 * allow-list cannot silently blind the meta-alerts.
 */
export const SYSTEM_SELECTORS = {
  /** What a cascade always pulls from its edges. */
  cascade: [HEARTBEAT_METRIC, SIDECAR_CONFIG_VALID],
  /** What a central replica always pulls from each cascade. */
  central: [
    HEARTBEAT_METRIC,
    SIDECAR_CONFIG_VALID,
    `{__name__=~"up|scrape_duration_seconds|scrape_samples_scraped|scrape_samples_post_metric_relabeling|scrape_series_added",job="${JOB.federateEdge}"}`,
  ],
} as const;

/**
 * Matchers of the series a cascade makes about itself (its self-scrape), as opposed to the
 * edges' own series it federated under the same job name: those carry `meta_cluster`.
 */
export const CASCADE_SELF_MATCHERS = `job="${JOB.self}",${LABEL.metaCluster}=""`;

/**
 * What every cascade ships to VictoriaMetrics about itself (backend: victoriametrics), besides
 * SYSTEM_SELECTORS.central: its own `up` (CascadeDown keys on its absence) and the remote_write
 * queue's health (RemoteWriteFailing, RemoteWriteBehind, the federation-health dashboard).
 */
export const REMOTE_WRITE_SELF_SELECTOR = `{__name__=~"up|prometheus_remote_storage_(samples_total|samples_failed_total|samples_retried_total|samples_dropped_total|samples_pending|highest_timestamp_in_seconds|queue_highest_sent_timestamp_seconds|shards|shards_max|shards_desired)",${CASCADE_SELF_MATCHERS}}`;

/**
 * What reaches central with the victoriametrics backend besides the allow-listed series: each
 * cascade's own health (REMOTE_WRITE_SELF_SELECTOR, shipped by its remote_write) and every
 * series of the backend's self-monitoring scrape (its components, the vmalerts, the service).
 */
export const VM_CENTRAL_SERIES: readonly string[] = [
  REMOTE_WRITE_SELF_SELECTOR,
  `{job=~"${[...Object.values(VM_JOB), JOB.fedstack].join('|')}"}`,
];

/**
 * Series a Prometheus makes itself for each scrape target. They exist at a tier without being
 * federated into it, so the allow-list subset check must count them as present.
 */
export const SYNTHETIC_SCRAPE_METRICS: readonly string[] = [
  'up',
  'scrape_duration_seconds',
  'scrape_samples_scraped',
  'scrape_samples_post_metric_relabeling',
  'scrape_series_added',
];

/** File names inside a rendered bundle; the server and the local stack address files by them. */
export const FILE = {
  prometheus: 'prometheus.yml',
  rules: 'rules.yml',
  webConfig: 'web-config.yml',
  manifests: 'manifests.yaml',
  alertmanager: 'alertmanager.yml',
  /** victoriametrics/: what vmagent (kubernetes) or the single node (local) scrapes of the backend itself. */
  vmScrape: 'scrape.yml',
  /** victoriametrics/: vmauth's users and routes, when federation is secured. */
  vmAuth: 'auth.yml',
} as const;

/** The directory of the VictoriaMetrics backend's shared files and manifests. */
export const VM_DIR = 'victoriametrics';

/** Where Kubernetes mounts secrets inside a Prometheus pod; the rendered configs point here. */
export const MOUNT = {
  config: '/etc/prometheus',
  rules: '/etc/prometheus/rules',
  secrets: '/etc/prometheus/secrets',
  federationPasswordFile: '/etc/prometheus/secrets/federation/password',
  federationCaFile: '/etc/prometheus/secrets/federation/ca.crt',
  tlsCertFile: '/etc/prometheus/secrets/tls/tls.crt',
  tlsKeyFile: '/etc/prometheus/secrets/tls/tls.key',
  /** Mutual TLS: the certificate a scraping Prometheus presents (security.federation.tls.clientCertSecret). */
  clientCertFile: '/etc/prometheus/secrets/client/tls.crt',
  clientKeyFile: '/etc/prometheus/secrets/client/tls.key',
  /** The token a cascade presents to the service's http_sd (SECRET.readToken). */
  readTokenFile: '/etc/prometheus/secrets/fedstack-read/token',
  serviceAccountToken: '/var/run/secrets/kubernetes.io/serviceaccount/token',
  serviceAccountCa: '/var/run/secrets/kubernetes.io/serviceaccount/ca.crt',
  etcdCa: '/etc/prometheus/secrets/etcd/ca.crt',
  etcdCert: '/etc/prometheus/secrets/etcd/client.crt',
  etcdKey: '/etc/prometheus/secrets/etcd/client.key',
} as const;

/** Paths inside the VictoriaMetrics backend's pods (kubernetes profile); its flags point here. */
export const VM_MOUNT = {
  /** vmalert's rules.yml (its ConfigMap). */
  rules: '/etc/vmalert',
  /** scrape.yml and auth.yml (the victoriametrics ConfigMap). */
  config: '/etc/victoriametrics',
  /** The serving certificate of vmauth (a kubernetes.io/tls Secret). */
  tlsCertFile: '/etc/victoriametrics/tls/tls.crt',
  tlsKeyFile: '/etc/victoriametrics/tls/tls.key',
  /** vmstorage's data (its PersistentVolumeClaim). */
  storage: '/storage',
  /** vmagent's on-disk queue. */
  queue: '/vmagent-queue',
} as const;

/** The environment variable vmauth reads the federation password from (`%{...}` in auth.yml). */
export const VMAUTH_PASSWORD_ENV = 'FEDSTACK_FEDERATION_PASSWORD';

/** Ports fedstack assumes inside a cluster (kubernetes profile). */
export const PORT = {
  prometheus: 9090,
  alertmanager: 9093,
  alertmanagerCluster: 9094,
  fedstack: 8080,
  sidecar: 8081,
  /** VictoriaMetrics' defaults, kept so docs and dashboards read the same numbers. */
  victoriaMetrics: 8428,
  vminsert: 8480,
  vmselect: 8481,
  vmstorage: 8482,
  vmstorageInsert: 8400,
  vmstorageSelect: 8401,
  vmalert: 8880,
  vmauth: 8427,
  vmagent: 8429,
} as const;

/**
 * Kubernetes pod label that marks a guest cluster's control-plane pod on a meta-cluster, and
 * whose value becomes the `cluster_id` label of everything scraped from it.
 */
export const POD_LABEL_CLUSTER_ID = 'fedstack.io/cluster-id';

/** In-cluster DNS names of fedstack's components (kubernetes profile); manifests create these Services. */
export const SERVICE = {
  /** One Service per central replica. */
  centralPrometheus: (replica: string, namespace: string) => `prometheus-${replica}.${namespace}.svc`,
  /** The fedstack service: headless, so the name resolves to every replica. */
  fedstack: (namespace: string) => `fedstack.${namespace}.svc`,
  /** One Service per Alertmanager replica (so each is addressed on its own, never via a load balancer). */
  alertmanager: (replica: string, namespace: string) => `alertmanager-${replica}.${namespace}.svc`,
  /** backend victoriametrics: one vmalert per central replica. */
  vmalert: (replica: string, namespace: string) => `vmalert-${replica}.${namespace}.svc`,
  /** vmstorage nodes of one zone slice (a StatefulSet per central replica's zone), node `ordinal`. */
  vmstorage: (replica: string, ordinal: number, namespace: string) =>
    `vmstorage-${replica}-${ordinal}.vmstorage-${replica}.${namespace}.svc`,
  /** Load-balanced in-cluster Services of the stateless components. */
  vminsert: (namespace: string) => `vminsert.${namespace}.svc`,
  vmselect: (namespace: string) => `vmselect.${namespace}.svc`,
  /** Headless twins of those, for the self-monitoring scrape to find every pod (dns_sd). */
  vminsertPods: (namespace: string) => `vminsert-pods.${namespace}.svc`,
  vmselectPods: (namespace: string) => `vmselect-pods.${namespace}.svc`,
  vmauthPods: (namespace: string) => `vmauth-pods.${namespace}.svc`,
} as const;

export const GENERATED_HEADER = '# Code generated by fedstack. DO NOT EDIT.';

export type Profile = 'kubernetes' | 'local';
export const PROFILES: readonly Profile[] = ['kubernetes', 'local'];
