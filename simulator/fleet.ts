/**
 * The simulated meta-cluster: its nodes, its own control plane and the control planes of the
 * guest clusters it hosts, as the series a real edge Prometheus would scrape from node_exporter,
 * cAdvisor, kube-state-metrics, kube-apiserver, etcd, kube-scheduler and
 * kube-controller-manager. Metric names, label names and bucket layouts are upstream's.
 *
 * Control-plane series carry `cluster_id` (the guest cluster, or the meta-cluster's own name for
 * its own control plane): in production the edge's relabeling sets it from the pod, here the
 * simulator sets it so that a plain static scrape job feeds the default `cluster:` rules.
 *
 * Values are deterministic from the seed and the clock. Counters are piecewise linear in time
 * (rate × elapsed), re-based whenever a fault changes a rate, so they only ever increase.
 */
import { LABEL } from '../common/conventions.ts';
import { rng, type Rng } from './random.ts';

export interface FleetOptions {
  readonly metaCluster: string;
  /** Guest clusters whose control planes the meta-cluster hosts. */
  readonly guestClusters: number;
  /** Worker nodes of the meta-cluster (at least one is simulated). */
  readonly nodes: number;
  /**
   * Integer ≥ 1 that multiplies the apiserver resource kinds per cluster, the bulk of the series
   * (see estimateSeries). 1 gives about 850 series per cluster.
   */
  readonly seriesMultiplier?: number;
  /** Same seed, same fleet. Default "fedstack". */
  readonly seed?: string;
}

/**
 * Faults the simulator can inject. A fault replaces the previous one whole; `{}` heals.
 * Control-plane faults apply to every cluster (the meta-cluster's own included) unless
 * `clusterIds` names some.
 */
export interface Fault {
  /** Share (0..1) of apiserver requests answered 500/503. Healthy: 0.001. */
  readonly apiserverErrorRatio?: number;
  /** Median apiserver request latency in seconds (p99 is about 3.2× the median). Healthy: 10-80 ms. */
  readonly apiserverLatencySeconds?: number;
  /** etcd members report no leader (etcd_server_has_leader 0; leader changes counted). */
  readonly etcdLeaderLoss?: boolean;
  /** The first N nodes of the meta-cluster report Ready=false. */
  readonly nodesNotReady?: number;
  /** The whole meta-cluster is unreachable: /metrics answers 503, or the connection is closed. */
  readonly down?: false | '503' | 'close';
  readonly clusterIds?: readonly string[];
}

type MetricType = 'counter' | 'gauge' | 'histogram';

interface Family {
  readonly name: string;
  readonly help: string;
  readonly type: MetricType;
  readonly series: Series[];
}

interface Series {
  /** `name{labels} `, rendered once. */
  readonly prefix: string;
  readonly value: Value;
}

/** A counter: base + rate × (t − t0), rate recomputed from the fault by rateOf. */
interface CounterValue {
  readonly kind: 'counter';
  base: number;
  rate: number;
  t0: number;
  /** Reads the current fault (through faultFor) when the fault changes. */
  readonly rateOf: () => number;
  /** Integer-valued counters (request counts) are floored, as the real ones are integers. */
  readonly integer: boolean;
}

interface GaugeValue {
  readonly kind: 'gauge';
  readonly at: (tSec: number, f: Fault) => number;
}

type Value = CounterValue | GaugeValue;

/** kube-apiserver 1.27's apiserver_request_duration_seconds buckets. */
const APISERVER_BUCKETS = [
  0.005, 0.025, 0.05, 0.1, 0.2, 0.4, 0.6, 0.8, 1, 1.25, 1.5, 2, 3, 4, 5, 6, 8, 10, 15, 20, 30, 45, 60,
];
/** kube-scheduler: ExponentialBuckets(0.001, 2, 15). */
const SCHEDULER_BUCKETS = Array.from({ length: 15 }, (_, i) => Number((0.001 * 2 ** i).toPrecision(6)));

const VERBS: readonly {
  verb: string;
  weight: number;
  median: number;
  ok: Readonly<Record<string, number>>;
}[] = [
  { verb: 'GET', weight: 4, median: 0.012, ok: { '200': 0.97, '404': 0.03 } },
  { verb: 'LIST', weight: 1, median: 0.08, ok: { '200': 1 } },
  { verb: 'WATCH', weight: 0.5, median: 0, ok: { '200': 1 } },
  { verb: 'POST', weight: 0.6, median: 0.025, ok: { '201': 0.98, '409': 0.02 } },
  { verb: 'PUT', weight: 1.5, median: 0.02, ok: { '200': 0.99, '409': 0.01 } },
  { verb: 'PATCH', weight: 0.8, median: 0.02, ok: { '200': 1 } },
  { verb: 'DELETE', weight: 0.2, median: 0.03, ok: { '200': 0.95, '404': 0.05 } },
];
const BASE_RESOURCES = [
  'pods',
  'leases',
  'configmaps',
  'nodes',
  'secrets',
  'endpoints',
  'deployments',
  'services',
  'events',
  'replicasets',
  'serviceaccounts',
  'namespaces',
  'statefulsets',
  'daemonsets',
  'jobs',
  'persistentvolumeclaims',
];
const SERVER_ERRORS: Readonly<Record<string, number>> = { '500': 0.6, '503': 0.4 };
const HEALTHY_ERROR_RATIO = 0.001;
const WORKQUEUES = [
  'deployment',
  'replicaset',
  'endpoint',
  'endpoint_slice',
  'namespace',
  'garbage_collector_attempt_to_delete',
  'job',
  'statefulset',
  'daemonset',
  'service',
];
const CPU_MODES = ['idle', 'iowait', 'irq', 'nice', 'softirq', 'steal', 'system', 'user'] as const;
const NODE_CONDITIONS = ['Ready', 'MemoryPressure', 'DiskPressure', 'PIDPressure', 'NetworkUnavailable'];
const POD_PHASES = ['Pending', 'Running', 'Succeeded', 'Failed', 'Unknown'];
const GiB = 1024 ** 3;

/** Log-logistic latency distribution (shape 4): share of requests at most `le` seconds. */
const latencyCdf = (le: number, median: number) => 1 / (1 + (median / le) ** 4);
/** Its mean: median × (π/4) / sin(π/4). */
const latencyMean = (median: number) => median * (Math.PI / 4 / Math.sin(Math.PI / 4));

function formatLabels(labels: Readonly<Record<string, string>>): string {
  const parts = Object.entries(labels).map(
    ([k, v]) => `${k}="${v.replace(/\\/g, '\\\\').replace(/\n/g, '\\n').replace(/"/g, '\\"')}"`,
  );
  return parts.length === 0 ? '' : `{${parts.join(',')}}`;
}

function formatValue(v: number): string {
  if (v === Infinity) return '+Inf';
  if (Number.isInteger(v)) return String(v);
  return String(Math.round(v * 1000) / 1000);
}

const formatLe = (le: number) => (le === Infinity ? '+Inf' : String(le));

export class Fleet {
  readonly metaCluster: string;
  /** The meta-cluster's own name first, then the guest clusters' ids. */
  readonly clusterIds: readonly string[];
  readonly nodeNames: readonly string[];
  private readonly families = new Map<string, Family>();
  private readonly counters: CounterValue[] = [];
  private currentFault: Fault = {};
  /** Leader changes per cluster caused by faults (each loss and each recovery is one change). */
  private readonly leaderChanges = new Map<string, number>();

  constructor(opts: FleetOptions, nowMs: number) {
    const seed = opts.seed ?? 'fedstack';
    const multiplier = Math.max(1, Math.floor(opts.seriesMultiplier ?? 1));
    this.metaCluster = opts.metaCluster;
    const r = rng(`${seed}/${opts.metaCluster}`);
    // ACK cluster ids: "c" + 32 hex; 16 keeps them readable in a terminal and still unique.
    const guests = Array.from({ length: Math.max(0, opts.guestClusters) }, () => `c${r.hex(16)}`);
    this.clusterIds = [opts.metaCluster, ...guests];
    this.nodeNames = Array.from(
      { length: Math.max(1, opts.nodes) },
      (_, i) => `${opts.metaCluster}-node-${String(i + 1).padStart(2, '0')}`,
    );
    const resources = Array.from(
      { length: 4 * multiplier },
      (_, i) => BASE_RESOURCES[i] ?? `crd${i}.example.com`,
    );

    this.addNodes(r, nowMs);
    for (const [i, clusterId] of this.clusterIds.entries()) {
      const cr = rng(`${seed}/${opts.metaCluster}/${clusterId}`);
      const namespace = i === 0 ? 'kube-system' : clusterId;
      this.addApiserver(cr, clusterId, resources, nowMs);
      this.addEtcd(cr, clusterId);
      this.addScheduler(cr, clusterId, nowMs);
      this.addControllerManager(cr, clusterId, nowMs);
      this.addControlPlanePods(cr, namespace, i, nowMs);
    }
  }

  get fault(): Fault {
    return this.currentFault;
  }

  /** Number of series one scrape returns. */
  get seriesCount(): number {
    let n = 0;
    for (const f of this.families.values()) n += f.series.length;
    return n;
  }

  /** Replaces the fault; counters keep their value and change their slope from now on. */
  setFault(fault: Fault, nowMs: number): void {
    for (const id of this.clusterIds) {
      const wasLost = this.faultFor(id).etcdLeaderLoss === true;
      const isLost = applies(fault, id) && fault.etcdLeaderLoss === true;
      if (wasLost !== isLost) this.leaderChanges.set(id, (this.leaderChanges.get(id) ?? 0) + 1);
    }
    for (const c of this.counters) {
      c.base += c.rate * ((nowMs - c.t0) / 1000);
      c.t0 = nowMs;
    }
    this.currentFault = fault;
    for (const c of this.counters) c.rate = c.rateOf();
  }

  /** The exposition (text format 0.0.4) as scraped at `nowMs`. */
  render(nowMs: number): string {
    const tSec = nowMs / 1000;
    const out: string[] = [];
    for (const f of this.families.values()) {
      out.push(`# HELP ${f.name} ${f.help}\n# TYPE ${f.name} ${f.type}\n`);
      for (const s of f.series) out.push(s.prefix, formatValue(this.valueOf(s.value, nowMs, tSec)), '\n');
    }
    return out.join('');
  }

  private valueOf(v: Value, nowMs: number, tSec: number): number {
    if (v.kind === 'gauge') return v.at(tSec, this.currentFault);
    const raw = v.base + v.rate * ((nowMs - v.t0) / 1000);
    return v.integer ? Math.floor(raw) : raw;
  }

  /** The fault as it applies to one cluster's control plane. */
  private faultFor(clusterId: string): Fault {
    return applies(this.currentFault, clusterId) ? this.currentFault : {};
  }

  private family(name: string, type: MetricType, help: string): Family {
    let f = this.families.get(name);
    if (f === undefined) {
      f = { name, help, type, series: [] };
      this.families.set(name, f);
    }
    return f;
  }

  private gauge(family: Family, name: string, labels: Record<string, string>, at: GaugeValue['at']): void {
    family.series.push({ prefix: `${name}${formatLabels(labels)} `, value: { kind: 'gauge', at } });
  }

  /** A counter that has been running for `uptimeSec` at its current rate. */
  private counter(
    family: Family,
    name: string,
    labels: Record<string, string>,
    opts: { rateOf: () => number; uptimeSec: number; integer: boolean; nowMs: number },
  ): void {
    const rate = opts.rateOf();
    const value: CounterValue = {
      kind: 'counter',
      base: rate * opts.uptimeSec,
      rate,
      t0: opts.nowMs,
      rateOf: opts.rateOf,
      integer: opts.integer,
    };
    this.counters.push(value);
    family.series.push({ prefix: `${name}${formatLabels(labels)} `, value });
  }

  /** A histogram whose observations arrive at `rateOf` per second with the given median. */
  private histogram(
    family: Family,
    labels: Record<string, string>,
    buckets: readonly number[],
    opts: { rateOf: () => number; medianOf: () => number; uptimeSec: number; nowMs: number },
  ): void {
    const { name } = family;
    // Buckets are not floored: flooring each bucket on its own makes a slow series' +Inf bucket
    // tick before its lower buckets, which histogram_quantile reads as requests slower than the
    // largest bucket (a p99 of 60s on a healthy cluster over short windows).
    for (const le of [...buckets, Infinity]) {
      this.counter(
        family,
        `${name}_bucket`,
        { ...labels, le: formatLe(le) },
        {
          rateOf: () => opts.rateOf() * (le === Infinity ? 1 : latencyCdf(le, opts.medianOf())),
          uptimeSec: opts.uptimeSec,
          integer: false,
          nowMs: opts.nowMs,
        },
      );
    }
    this.counter(family, `${name}_sum`, labels, {
      rateOf: () => opts.rateOf() * latencyMean(opts.medianOf()),
      uptimeSec: opts.uptimeSec,
      integer: false,
      nowMs: opts.nowMs,
    });
    this.counter(family, `${name}_count`, labels, {
      rateOf: opts.rateOf,
      uptimeSec: opts.uptimeSec,
      integer: false,
      nowMs: opts.nowMs,
    });
  }

  private addApiserver(r: Rng, clusterId: string, resources: readonly string[], nowMs: number): void {
    const total = this.family(
      'apiserver_request_total',
      'counter',
      'Counter of apiserver requests broken out for each verb, dry run value, group, version, resource, scope, component, and HTTP response code.',
    );
    const duration = this.family(
      'apiserver_request_duration_seconds',
      'histogram',
      'Response latency distribution in seconds for each verb, dry run value, group, version, resource, subresource, scope and component.',
    );
    const uptimeSec = r.between(1, 30) * 86400;
    const errorRatio = () => this.faultFor(clusterId).apiserverErrorRatio ?? HEALTHY_ERROR_RATIO;
    for (const { verb, weight, median, ok } of VERBS) {
      for (const resource of resources) {
        const rps = weight * r.between(0.05, 2);
        const labels = { [LABEL.clusterId]: clusterId, verb, resource };
        const codes: [string, () => number][] = [
          ...Object.entries(ok).map(([code, share]): [string, () => number] => [
            code,
            () => rps * (1 - errorRatio()) * share,
          ]),
          ...Object.entries(SERVER_ERRORS).map(([code, share]): [string, () => number] => [
            code,
            () => rps * errorRatio() * share,
          ]),
        ];
        for (const [code, rateOf] of codes) {
          this.counter(
            total,
            'apiserver_request_total',
            { ...labels, code },
            { rateOf, uptimeSec, integer: true, nowMs },
          );
        }
        // Long-running requests (WATCH) are not observed by the duration histogram upstream either.
        if (median === 0) continue;
        const healthyMedian = median * r.between(0.7, 1.4);
        this.histogram(duration, labels, APISERVER_BUCKETS, {
          rateOf: () => rps,
          medianOf: () => this.faultFor(clusterId).apiserverLatencySeconds ?? healthyMedian,
          uptimeSec,
          nowMs,
        });
      }
    }
  }

  private addEtcd(r: Rng, clusterId: string): void {
    const hasLeader = this.family(
      'etcd_server_has_leader',
      'gauge',
      'Whether or not a leader exists. 1 is existence, 0 is not.',
    );
    const changes = this.family(
      'etcd_server_leader_changes_seen_total',
      'counter',
      'The number of leader changes seen.',
    );
    const dbSize = this.family(
      'etcd_mvcc_db_total_size_in_bytes',
      'gauge',
      'Total size of the underlying database physically allocated in bytes.',
    );
    const seenBefore = Math.floor(r.between(0, 4));
    for (let m = 0; m < 3; m++) {
      const labels = { [LABEL.clusterId]: clusterId, pod: `etcd-${m}` };
      const size = r.between(20, 400) * 1024 * 1024;
      const growth = r.between(50, 500); // bytes per second until the next compaction
      this.gauge(hasLeader, 'etcd_server_has_leader', labels, () =>
        this.faultFor(clusterId).etcdLeaderLoss === true ? 0 : 1,
      );
      this.gauge(
        changes,
        'etcd_server_leader_changes_seen_total',
        labels,
        () => seenBefore + (this.leaderChanges.get(clusterId) ?? 0),
      );
      // Grows, then compaction and defrag bring it back every hour.
      this.gauge(dbSize, 'etcd_mvcc_db_total_size_in_bytes', labels, (t) =>
        Math.round(size + growth * (t % 3600)),
      );
    }
  }

  private addScheduler(r: Rng, clusterId: string, nowMs: number): void {
    const pending = this.family(
      'scheduler_pending_pods',
      'gauge',
      'Number of pending pods, by the queue type.',
    );
    const e2e = this.family(
      'scheduler_e2e_scheduling_duration_seconds',
      'histogram',
      'E2e scheduling latency in seconds (scheduling algorithm + binding).',
    );
    const phase = r.between(0, 2 * Math.PI);
    for (const queue of ['active', 'backoff', 'unschedulable', 'gated']) {
      const scale = queue === 'active' ? 3 : queue === 'unschedulable' ? 1 : 0;
      this.gauge(pending, 'scheduler_pending_pods', { [LABEL.clusterId]: clusterId, queue }, (t) =>
        Math.max(0, Math.round(scale * (1 + Math.sin(t / 60 + phase)))),
      );
    }
    const podsPerSec = r.between(0.01, 0.3);
    const median = r.between(0.003, 0.02);
    this.histogram(
      e2e,
      { [LABEL.clusterId]: clusterId, profile: 'default-scheduler', result: 'scheduled' },
      SCHEDULER_BUCKETS,
      {
        rateOf: () => podsPerSec,
        medianOf: () => median,
        uptimeSec: r.between(1, 30) * 86400,
        nowMs,
      },
    );
  }

  private addControllerManager(r: Rng, clusterId: string, nowMs: number): void {
    const depth = this.family('workqueue_depth', 'gauge', 'Current depth of workqueue');
    const adds = this.family('workqueue_adds_total', 'counter', 'Total number of adds handled by workqueue');
    const uptimeSec = r.between(1, 30) * 86400;
    for (const name of WORKQUEUES) {
      const labels = { [LABEL.clusterId]: clusterId, name };
      const phase = r.between(0, 2 * Math.PI);
      const peak = Math.floor(r.between(0, 5));
      const rate = r.between(0.01, 2);
      this.gauge(depth, 'workqueue_depth', labels, (t) =>
        Math.max(0, Math.round(peak * Math.sin(t / 30 + phase))),
      );
      this.counter(adds, 'workqueue_adds_total', labels, {
        rateOf: () => rate,
        uptimeSec,
        integer: true,
        nowMs,
      });
    }
  }

  /**
   * cAdvisor and kube-state-metrics series of one cluster's control-plane pods. The
   * pod_template_hash / controller_revision_hash labels are what a `labelmap` of pod labels
   * adds in many real setups: noise the cascade is expected to drop.
   */
  private addControlPlanePods(r: Rng, namespace: string, index: number, nowMs: number): void {
    const cpu = this.family(
      'container_cpu_usage_seconds_total',
      'counter',
      'Cumulative cpu time consumed in seconds.',
    );
    const mem = this.family('container_memory_working_set_bytes', 'gauge', 'Current working set in bytes.');
    const phaseFamily = this.family('kube_pod_status_phase', 'gauge', 'The pods current phase.');
    const hash = r.hex(10);
    const pods: { pod: string; container: string; noise: Record<string, string> }[] = [
      ...[0, 1].map(() => ({
        pod: `kube-apiserver-${hash}-${r.hex(5)}`,
        container: 'kube-apiserver',
        noise: { pod_template_hash: hash },
      })),
      ...[0, 1, 2].map((i) => ({
        pod: `etcd-${i}`,
        container: 'etcd',
        noise: { controller_revision_hash: `etcd-${hash}` },
      })),
      {
        pod: `kube-controller-manager-${r.hex(10)}-${r.hex(5)}`,
        container: 'kube-controller-manager',
        noise: { pod_template_hash: r.hex(10) },
      },
      {
        pod: `kube-scheduler-${r.hex(10)}-${r.hex(5)}`,
        container: 'kube-scheduler',
        noise: { pod_template_hash: r.hex(10) },
      },
    ];
    const uptimeSec = r.between(1, 30) * 86400;
    for (const [j, { pod, container, noise }] of pods.entries()) {
      const node = this.nodeNames[(index * 7 + j) % this.nodeNames.length]!;
      const cores = r.between(0.02, 0.8);
      const bytes = r.between(100, 2000) * 1024 * 1024;
      const phase = r.between(0, 2 * Math.PI);
      // The pod cgroup (container="") is the sum of its containers; cAdvisor reports both.
      for (const c of [container, '']) {
        const labels = { namespace, pod, container: c, node, ...noise };
        this.counter(cpu, 'container_cpu_usage_seconds_total', labels, {
          rateOf: () => cores,
          uptimeSec,
          integer: false,
          nowMs,
        });
        this.gauge(mem, 'container_memory_working_set_bytes', labels, (t) =>
          Math.round(bytes * (1 + 0.05 * Math.sin(t / 120 + phase))),
        );
      }
      const uid = `${r.hex(8)}-${r.hex(4)}-${r.hex(4)}-${r.hex(4)}-${r.hex(12)}`;
      for (const p of POD_PHASES) {
        this.gauge(phaseFamily, 'kube_pod_status_phase', { namespace, pod, uid, phase: p }, () =>
          p === 'Running' ? 1 : 0,
        );
      }
    }
  }

  private addNodes(r: Rng, nowMs: number): void {
    const cpu = this.family('node_cpu_seconds_total', 'counter', 'Seconds the CPUs spent in each mode.');
    const memTotal = this.family(
      'node_memory_MemTotal_bytes',
      'gauge',
      'Memory information field MemTotal_bytes.',
    );
    const memAvail = this.family(
      'node_memory_MemAvailable_bytes',
      'gauge',
      'Memory information field MemAvailable_bytes.',
    );
    const fsSize = this.family('node_filesystem_size_bytes', 'gauge', 'Filesystem size in bytes.');
    const fsAvail = this.family(
      'node_filesystem_avail_bytes',
      'gauge',
      'Filesystem space available to non-root users in bytes.',
    );
    const fsFree = this.family('node_filesystem_free_bytes', 'gauge', 'Filesystem free space in bytes.');
    const info = this.family('kube_node_info', 'gauge', 'Information about a cluster node.');
    const condition = this.family('kube_node_status_condition', 'gauge', 'The condition of a cluster node.');
    for (const [n, node] of this.nodeNames.entries()) {
      const uptimeSec = r.between(1, 60) * 86400;
      const busy = r.between(0.1, 0.5);
      const share: Record<(typeof CPU_MODES)[number], number> = {
        user: busy * 0.7,
        system: busy * 0.22,
        iowait: busy * 0.03,
        softirq: busy * 0.03,
        irq: busy * 0.01,
        steal: busy * 0.01,
        nice: 0,
        idle: 1 - busy,
      };
      for (let c = 0; c < 4; c++) {
        for (const mode of CPU_MODES) {
          const rate = share[mode];
          this.counter(
            cpu,
            'node_cpu_seconds_total',
            { node, cpu: String(c), mode },
            { rateOf: () => rate, uptimeSec, integer: false, nowMs },
          );
        }
      }
      const total = (r.next() < 0.5 ? 32 : 64) * GiB;
      const availShare = r.between(0.3, 0.7);
      const phase = r.between(0, 2 * Math.PI);
      this.gauge(memTotal, 'node_memory_MemTotal_bytes', { node }, () => total);
      this.gauge(memAvail, 'node_memory_MemAvailable_bytes', { node }, (t) =>
        Math.round(total * (availShare + 0.05 * Math.sin(t / 300 + phase))),
      );
      for (const [device, mountpoint, size] of [
        ['/dev/vda1', '/', 120 * GiB],
        ['/dev/vdb', '/var/lib/containerd', 200 * GiB],
      ] as const) {
        const labels = { node, device, fstype: 'ext4', mountpoint };
        const used = r.between(0.2, 0.8);
        this.gauge(fsSize, 'node_filesystem_size_bytes', labels, () => size);
        this.gauge(fsFree, 'node_filesystem_free_bytes', labels, () => Math.round(size * (1 - used)));
        this.gauge(fsAvail, 'node_filesystem_avail_bytes', labels, () => Math.round(size * (0.95 - used)));
      }
      this.gauge(
        info,
        'kube_node_info',
        {
          node,
          kernel_version: '5.10.134-16.1.al8.x86_64',
          os_image: 'Alibaba Cloud Linux 3.2104 U10 (OpenAnolis Edition)',
          container_runtime_version: 'containerd://1.6.28',
          kubelet_version: 'v1.28.3-aliyun.1',
          internal_ip: `10.${(n >> 8) & 255}.${n & 255}.${10 + (n % 200)}`,
        },
        () => 1,
      );
      const notReady = (f: Fault) => n < (f.nodesNotReady ?? 0);
      for (const cond of NODE_CONDITIONS) {
        for (const status of ['true', 'false', 'unknown']) {
          this.gauge(condition, 'kube_node_status_condition', { node, condition: cond, status }, (_t, f) => {
            // Ready is "true" on a healthy node; every pressure condition is "false".
            const healthy = cond === 'Ready' ? !notReady(f) : true;
            const want = cond === 'Ready' ? (healthy ? 'true' : 'false') : 'false';
            return status === want ? 1 : 0;
          });
        }
      }
    }
  }
}

function applies(fault: Fault, clusterId: string): boolean {
  return fault.clusterIds === undefined || fault.clusterIds.includes(clusterId);
}

/** Series one exporter serves for a size, without keeping the fleet (benchmarks size with it). */
export function estimateSeries(opts: FleetOptions): number {
  return new Fleet(opts, 0).seriesCount;
}

/**
 * The guest-cluster count that makes one exporter serve about `series` series (at least the
 * meta-cluster's own share): what a benchmark asks for when it wants "an edge with 100k series".
 */
export function guestClustersFor(
  opts: Omit<FleetOptions, 'guestClusters'> & { readonly series: number },
): number {
  const base = estimateSeries({ ...opts, guestClusters: 0 });
  const perCluster = estimateSeries({ ...opts, guestClusters: 1 }) - base;
  return Math.max(0, Math.round((opts.series - base) / perCluster));
}
