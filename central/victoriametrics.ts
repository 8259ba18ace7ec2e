/**
 * The VictoriaMetrics backend of the global tier (`central.backend: victoriametrics`):
 *
 *   cascade ──remote_write (allow-listed, central's relabels, TLS + basic auth)──▶ [vmauth] ──▶
 *     vminsert ──▶ vmstorage × N (replicationFactor copies, alternating zones) ◀── vmselect
 *     (kubernetes), or the single-node victoria-metrics (local)
 *   vmalert × central replicas ── central's rules against VictoriaMetrics ──▶ every Alertmanager
 *
 * Why the cascades' own remote_write, not a vmagent beside each cascade: the cascade already
 * holds every sample in its WAL, so the queue costs no new component, no new volume and no
 * second /federate hop (which would see only the latest sample per scrape). Prometheus retries
 * a failed batch (5xx, 429, connection errors) with backoff for as long as the WAL still holds
 * it, about 2 h, and resumes where it stopped: an outage of VictoriaMetrics or of the WAN up to
 * then loses nothing. What it does not do, and vmagent's on-disk queue would: survive a cascade
 * restart during an outage (Prometheus restarts sending from "now"), or an outage longer than
 * the WAL. The cascade's own retention (7 d by default) still has that data; README says how to
 * backfill it. A 4xx is never retried: those samples count in
 * prometheus_remote_storage_samples_failed_total and RemoteWriteFailing pages.
 *
 * HA: in Kubernetes, vminsert writes `replicationFactor` copies of each sample to consecutive
 * vmstorage nodes of its -storageNode list, which alternates the central replicas' zones, so
 * the copies land in different zones; vmselect merges them (-dedup.minScrapeInterval). The two
 * vmalerts evaluate the same rules at the same aligned timestamps and send identical alerts
 * (no replica label), which the Alertmanager cluster deduplicates as it does the Prometheus
 * pair's; their identical recording results are deduplicated by the same 1 ms dedup.
 */
import {
  PORT,
  SERVICE,
  SYSTEM_SELECTORS,
  REMOTE_WRITE_SELF_SELECTOR,
  VM_DIR,
  VM_JOB,
  VM_MOUNT,
  VMAUTH_PASSWORD_ENV,
  FILE,
  type Profile,
} from '../common/conventions.ts';
import { formatDuration, parseDuration } from '../common/duration.ts';
import type { RemoteWriteConfig, RuleFile, ScrapeConfig, ScrapeFile } from '../common/prometheus.ts';
import { matchParams } from '../common/scrape.ts';
import type {
  ServingTls,
  VictoriaMetricsFlags,
  VmagentFlags,
  VmalertFlags,
  VmauthFlags,
  VminsertFlags,
  VmselectFlags,
  VmstorageFlags,
} from '../common/vmflags.ts';
import { remoteWriteDeadlineMs, victoriaMetricsUrls } from '../topology/facts.ts';
import type { BigRegion, CentralReplica, Topology } from '../topology/model.ts';
import { compileAllowList, compileWriteRelabel } from '../topology/relabel-compile.ts';
import { federationClientConfig, LOCAL_SECRET_FILES } from '../topology/security.ts';
import {
  alertmanagerAddresses,
  centralRules,
  requireEndpoint,
  serviceScrapeJob,
  type CentralAlerts,
} from './render.ts';

/** What a cascade's remote_write always ships besides the central allow-list. */
export const REMOTE_WRITE_SYSTEM: readonly string[] = [
  ...SYSTEM_SELECTORS.central,
  REMOTE_WRITE_SELF_SELECTOR,
];

/** The remote_write `name` (a label of every prometheus_remote_storage_* series). */
export const REMOTE_WRITE_NAME = 'victoriametrics';

/** Identical samples only: the vmalert pair's and the replicated copies (see vmflags.ts). */
const DEDUP = '1ms';

const vmSettings = (topo: Topology) => {
  const vm = topo.central.victoriaMetrics;
  if (topo.central.backend !== 'victoriametrics' || vm === undefined)
    throw new Error('central.backend is not victoriametrics');
  return vm;
};

/** vmauth fronts the write path exactly when the cascades authenticate (basic auth). */
const hasVmauth = (topo: Topology) => topo.security?.federation.basicAuth !== undefined;

/**
 * One cascade's remote_write to VictoriaMetrics: the series central would have federated
 * (SYSTEM_SELECTORS.central, the cascade's own remote-write health, allowLists.central), with
 * central's relabel rules, over the same TLS and basic auth as federation.
 */
export function cascadeRemoteWrite(
  topo: Topology,
  bigRegion: BigRegion,
  profile: Profile,
): RemoteWriteConfig[] {
  const vm = vmSettings(topo);
  const client = federationClientConfig(topo.security, profile);
  // vmauth takes /api/v1/write and routes it to vminsert's tenant path; without it the cascade
  // writes to vminsert (kubernetes) or the single node (local) directly.
  const path = hasVmauth(topo) || profile === 'local' ? '/api/v1/write' : '/insert/0/prometheus/api/v1/write';
  const deadline = formatDuration(remoteWriteDeadlineMs(topo));
  return [
    {
      url: `${client.scheme}://${vm.endpoint}${path}`,
      name: REMOTE_WRITE_NAME,
      remote_timeout: '30s',
      write_relabel_configs: [
        ...compileAllowList(matchParams(REMOTE_WRITE_SYSTEM, topo.allowLists.central)),
        ...compileWriteRelabel(topo, bigRegion, REMOTE_WRITE_SYSTEM),
      ],
      basic_auth: client.basic_auth === undefined ? undefined : { ...client.basic_auth },
      tls_config: client.tls_config === undefined ? undefined : { ...client.tls_config },
      queue_config: {
        // A WAN link: enough in flight to catch up after an outage, backoff capped so the first
        // batch after it goes out within seconds; 429 from an overloaded vminsert is retried.
        capacity: 10000,
        max_shards: 50,
        max_samples_per_send: 2000,
        batch_send_deadline: deadline,
        min_backoff: '100ms',
        max_backoff: '10s',
        retry_on_http_429: true,
      },
      // VictoriaMetrics 1.79 ignores metadata: do not spend WAN bandwidth on it.
      metadata_config: { send: false },
    },
  ];
}

/** A vmalert replica: central's rules and the flags it runs with. */
export interface VmalertBundle {
  readonly rules: RuleFile;
  readonly flags: VmalertFlags;
}

/** The rules file of every vmalert replica, relative to the flags' working directory. */
const rulesPath = (replica: string, profile: Profile) =>
  profile === 'kubernetes' ? `${VM_MOUNT.rules}/${FILE.rules}` : `central/${replica}/${FILE.rules}`;

export function renderVmalert(
  topo: Topology,
  replica: CentralReplica,
  profile: Profile,
  alerts: CentralAlerts,
): VmalertBundle {
  vmSettings(topo);
  const urls = victoriaMetricsUrls(topo, profile)!;
  const eval_ = topo.global.central.evaluationInterval;
  return {
    rules: centralRules(topo, alerts),
    flags: {
      httpListenAddr:
        profile === 'local'
          ? requireEndpoint(replica.endpoint, `central replica "${replica.name}"`)
          : `:${PORT.vmalert}`,
      rules: [rulesPath(replica.name, profile)],
      datasourceUrl: urls.query,
      remoteWriteUrl: urls.insert,
      remoteReadUrl: urls.query,
      notifierUrls: alertmanagerAddresses(topo, profile).map((a) => `http://${a}`),
      evaluationInterval: eval_,
      configCheckInterval: profile === 'kubernetes' ? '30s' : undefined,
      // As the Prometheus pair's --rules.alert.resend-delay default (1m), never above an evaluation's
      // worth of Alertmanager's resolve timeout.
      resendDelay: formatDuration(Math.min(60_000, Math.max(parseDuration(eval_), 1000))),
    },
  };
}

/** vmauth's -auth.config: the federation user may write, nothing else. */
export interface VmauthConfig {
  readonly users: readonly {
    readonly username: string;
    readonly password: string;
    readonly url_map: readonly { readonly src_paths: readonly string[]; readonly url_prefix: string }[];
  }[];
}

/** The storage side of the backend: its self-monitoring scrape, vmauth, and the processes. */
export interface VictoriaMetricsBundle {
  /** victoriametrics/scrape.yml: the backend's own components and the vmalerts. */
  readonly scrape: ScrapeFile;
  /** victoriametrics/auth.yml, when the cascades authenticate. */
  readonly auth?: VmauthConfig;
  readonly vmauth?: VmauthFlags;
  /** Local profile: the single node (the local stack adds its data path). */
  readonly single?: Omit<VictoriaMetricsFlags, 'storageDataPath'>;
  /** Kubernetes profile. */
  readonly cluster?: VictoriaMetricsCluster;
}

export interface VmstorageSlice {
  /** The central replica whose zone this StatefulSet lives in. */
  readonly replica: CentralReplica;
  readonly nodes: number;
  readonly flags: VmstorageFlags;
}

export interface VictoriaMetricsCluster {
  /** One StatefulSet per central replica's zone, nodes dealt out in turn. */
  readonly vmstorage: readonly VmstorageSlice[];
  readonly vminsert: { readonly replicas: number; readonly flags: VminsertFlags };
  readonly vmselect: { readonly replicas: number; readonly flags: VmselectFlags };
  readonly vmagent: { readonly flags: VmagentFlags };
  readonly storageSize: string;
}

/**
 * VictoriaMetrics' -retentionPeriod from a Prometheus duration: whole days when it is some,
 * else hours, rounded up, at least a day (VictoriaMetrics' minimum).
 */
export function vmRetention(retention: string): string {
  const hours = Math.max(24, Math.ceil(parseDuration(retention) / 3_600_000));
  return hours % 24 === 0 ? `${hours / 24}d` : `${hours}h`;
}

/**
 * vmstorage node `j` of `n` goes to replica `j % zones`: the -storageNode list then alternates
 * zones, and vminsert's consecutive replicas of a sample sit in different zones.
 */
export function vmstorageNodes(topo: Topology): { replica: CentralReplica; ordinal: number; host: string }[] {
  const replicas = topo.central.replicas;
  const ns = topo.global.namespace;
  return Array.from({ length: vmSettings(topo).vmstorage }, (_, j) => {
    const replica = replicas[j % replicas.length]!;
    const ordinal = Math.floor(j / replicas.length);
    return { replica, ordinal, host: SERVICE.vmstorage(replica.name, ordinal, ns) };
  });
}

export function renderVictoriaMetrics(topo: Topology, profile: Profile): VictoriaMetricsBundle {
  const vm = vmSettings(topo);
  const urls = victoriaMetricsUrls(topo, profile)!;
  const latencyOffset = formatDuration(remoteWriteDeadlineMs(topo));
  const retentionPeriod = vmRetention(topo.global.central.retention);
  const tls = topo.security?.federation.tls;
  const servingTls: ServingTls | undefined =
    tls === undefined
      ? undefined
      : profile === 'kubernetes'
        ? { certFile: VM_MOUNT.tlsCertFile, keyFile: VM_MOUNT.tlsKeyFile }
        : { certFile: LOCAL_SECRET_FILES.tlsCert, keyFile: LOCAL_SECRET_FILES.tlsKey };
  const configPath = (file: string) =>
    profile === 'kubernetes' ? `${VM_MOUNT.config}/${file}` : `${VM_DIR}/${file}`;

  const auth = hasVmauth(topo)
    ? {
        config: {
          users: [
            {
              username: topo.security!.federation.basicAuth!.username,
              // Read from the environment: the rendered file never holds the password.
              password: `%{${VMAUTH_PASSWORD_ENV}}`,
              url_map: [{ src_paths: ['/api/v1/write'], url_prefix: urls.insert }],
            },
          ],
        } satisfies VmauthConfig,
        flags: {
          httpListenAddr: profile === 'local' ? vm.endpoint : `:${PORT.vmauth}`,
          authConfig: configPath(FILE.vmAuth),
          tls: servingTls,
        } satisfies VmauthFlags,
      }
    : undefined;

  const scrape: ScrapeFile = {
    global: { scrape_interval: topo.global.central.scrapeInterval },
    scrape_configs: selfScrapeJobs(topo, profile),
  };

  if (profile === 'local') {
    return {
      scrape,
      ...(auth ? { auth: auth.config, vmauth: auth.flags } : {}),
      single: {
        httpListenAddr: auth ? vm.queryEndpoint! : (vm.queryEndpoint ?? vm.endpoint),
        retentionPeriod,
        dedupMinScrapeInterval: DEDUP,
        latencyOffset,
        promscrapeConfig: configPath(FILE.vmScrape),
        // Without vmauth the cascades write here directly, over the federation's TLS.
        tls: auth ? undefined : servingTls,
      },
    };
  }

  const nodes = vmstorageNodes(topo);
  return {
    scrape,
    ...(auth ? { auth: auth.config, vmauth: auth.flags } : {}),
    cluster: {
      vmstorage: topo.central.replicas.map((replica) => ({
        replica,
        nodes: nodes.filter((n) => n.replica === replica).length,
        flags: {
          httpListenAddr: `:${PORT.vmstorage}`,
          vminsertAddr: `:${PORT.vmstorageInsert}`,
          vmselectAddr: `:${PORT.vmstorageSelect}`,
          storageDataPath: VM_MOUNT.storage,
          retentionPeriod,
          dedupMinScrapeInterval: DEDUP,
        },
      })),
      vminsert: {
        replicas: vm.vminsert,
        flags: {
          httpListenAddr: `:${PORT.vminsert}`,
          storageNodes: nodes.map((n) => `${n.host}:${PORT.vmstorageInsert}`),
          replicationFactor: vm.replicationFactor,
        },
      },
      vmselect: {
        replicas: vm.vmselect,
        flags: {
          httpListenAddr: `:${PORT.vmselect}`,
          storageNodes: nodes.map((n) => `${n.host}:${PORT.vmstorageSelect}`),
          dedupMinScrapeInterval: DEDUP,
          latencyOffset,
        },
      },
      vmagent: {
        flags: {
          httpListenAddr: `:${PORT.vmagent}`,
          promscrapeConfig: configPath(FILE.vmScrape),
          configCheckInterval: '30s',
          remoteWriteUrls: [`${urls.insert}/api/v1/write`],
          tmpDataPath: VM_MOUNT.queue,
        },
      },
      storageSize: vm.storageSize,
    },
  };
}

/**
 * The backend watching itself: every VictoriaMetrics process and every vmalert, so `up` and
 * their metrics are in VictoriaMetrics for the meta-alerts and dashboards; and the fedstack
 * service, which central's Prometheus would otherwise scrape (self-monitoring alerts). Single node and
 * vmalerts by address (local); vmstorage and vmalerts by Service name, the Deployments' pods
 * through their headless Services (kubernetes).
 */
function selfScrapeJobs(topo: Topology, profile: Profile): ScrapeConfig[] {
  const vm = vmSettings(topo);
  const ns = topo.global.namespace;
  const statics = (job: string, targets: readonly string[]): ScrapeConfig => ({
    job_name: job,
    static_configs: [{ targets: [...targets] }],
  });
  const dns = (job: string, name: string, port: number): ScrapeConfig => ({
    job_name: job,
    dns_sd_configs: [{ names: [name], type: 'A', port }],
  });
  // vmauth serves TLS with the LoadBalancer's certificate: verify nothing on this in-cluster
  // (or loopback) hop, which reads only its /metrics.
  const overTls = (c: ScrapeConfig): ScrapeConfig =>
    topo.security?.federation.tls === undefined
      ? c
      : { ...c, scheme: 'https', tls_config: { insecure_skip_verify: true } };
  const vmalerts =
    profile === 'local'
      ? topo.central.replicas.map((r) => requireEndpoint(r.endpoint, `central replica "${r.name}"`))
      : topo.central.replicas.map((r) => `${SERVICE.vmalert(r.name, ns)}:${PORT.vmalert}`);
  if (profile === 'local') {
    return [
      statics(VM_JOB.single, [vm.queryEndpoint ?? vm.endpoint]),
      ...(hasVmauth(topo) ? [overTls(statics(VM_JOB.vmauth, [vm.endpoint]))] : []),
      statics(VM_JOB.vmalert, vmalerts),
      serviceScrapeJob(topo, profile),
    ];
  }
  return [
    statics(
      VM_JOB.vmstorage,
      vmstorageNodes(topo).map((n) => `${n.host}:${PORT.vmstorage}`),
    ),
    dns(VM_JOB.vminsert, SERVICE.vminsertPods(ns), PORT.vminsert),
    dns(VM_JOB.vmselect, SERVICE.vmselectPods(ns), PORT.vmselect),
    ...(hasVmauth(topo) ? [overTls(dns(VM_JOB.vmauth, SERVICE.vmauthPods(ns), PORT.vmauth))] : []),
    statics(VM_JOB.vmagent, [`localhost:${PORT.vmagent}`]),
    statics(VM_JOB.vmalert, vmalerts),
    serviceScrapeJob(topo, profile),
  ];
}
