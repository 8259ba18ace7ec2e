/**
 * The command lines of the VictoriaMetrics backend's processes (1.79.5, Debian's and the
 * images' version): victoria-metrics (single node, local profile), vmstorage, vminsert,
 * vmselect, vmagent, vmauth (kubernetes) and vmalert (both). The render plan fills the typed
 * flags; the Kubernetes manifests and the local stack turn them into args here, so a pod and a
 * local process can never be started differently. Every flag name was checked against the
 * binaries' `-help` (FACTS.md); tests run the rendered args through the real binaries.
 *
 * Dependency-free on purpose, like flags.ts: generators, manifests and the local stack share it.
 */

/** `-name=value`; VictoriaMetrics binaries take Go's single-dash flags. */
const flag = (name: string, value: string | number) => `-${name}=${value}`;
const many = (name: string, values: readonly string[]) => values.map((v) => flag(name, v));
const maybe = (name: string, value: string | number | undefined) =>
  value === undefined ? [] : [flag(name, value)];

/** TLS on the listening side (`-tls -tlsCertFile -tlsKeyFile`), re-read by the binary each second. */
export interface ServingTls {
  readonly certFile: string;
  readonly keyFile: string;
}
const servingTls = (tls: ServingTls | undefined) =>
  tls === undefined ? [] : ['-tls', flag('tlsCertFile', tls.certFile), flag('tlsKeyFile', tls.keyFile)];

/** What every VictoriaMetrics process shares. */
interface Common {
  /** `host:port` or `:port`. */
  readonly httpListenAddr: string;
  /** INFO by default upstream; the local stack asks for WARN. */
  readonly loggerLevel?: 'INFO' | 'WARN' | 'ERROR';
}
const common = (f: Common) => [flag('httpListenAddr', f.httpListenAddr), ...maybe('loggerLevel', f.loggerLevel)];

/** Storage settings the single node and vmstorage share. */
interface Storage {
  readonly storageDataPath: string;
  /** `-retentionPeriod` with a unit suffix (h, d, w, y): a bare number means months upstream. */
  readonly retentionPeriod: string;
  /**
   * `-dedup.minScrapeInterval`: one sample per series per interval. fedstack sets 1ms: the
   * vmalert pair writes identical samples (queryTimeAlignment gives both the same timestamp)
   * and replicated vmstorage copies are identical too, so exact duplicates go and nothing else.
   */
  readonly dedupMinScrapeInterval: string;
}
const storage = (f: Storage) => [
  flag('storageDataPath', f.storageDataPath),
  flag('retentionPeriod', f.retentionPeriod),
  flag('dedup.minScrapeInterval', f.dedupMinScrapeInterval),
];

/** Query settings the single node and vmselect share. */
interface Query {
  /**
   * `-search.latencyOffset` (upstream 30s): queries near "now" are answered as of now minus
   * this. fedstack sets the cascades' remote_write batch deadline, so alerts are not late by
   * 30 s yet a batch in flight does not show as a gap.
   */
  readonly latencyOffset: string;
}

/** victoria-metrics, the single-node server (local profile). */
export interface VictoriaMetricsFlags extends Common, Storage, Query {
  /** Its own scrape config (the backend's self-monitoring, victoriametrics/scrape.yml). */
  readonly promscrapeConfig?: string;
  readonly tls?: ServingTls;
}

export function victoriaMetricsArgs(f: VictoriaMetricsFlags): string[] {
  return [
    ...common(f),
    ...storage(f),
    flag('search.latencyOffset', f.latencyOffset),
    ...maybe('promscrape.config', f.promscrapeConfig),
    ...servingTls(f.tls),
  ];
}

/** vmstorage (cluster). */
export interface VmstorageFlags extends Common, Storage {
  /** Where vminsert writes (upstream :8400). */
  readonly vminsertAddr: string;
  /** Where vmselect reads (upstream :8401). */
  readonly vmselectAddr: string;
}

export function vmstorageArgs(f: VmstorageFlags): string[] {
  return [
    ...common(f),
    ...storage(f),
    flag('vminsertAddr', f.vminsertAddr),
    flag('vmselectAddr', f.vmselectAddr),
  ];
}

/** vminsert (cluster): spreads every sample to `replicationFactor` consecutive storage nodes. */
export interface VminsertFlags extends Common {
  /** vmstorage `host:vminsertPort`, in the order replicas are placed (alternating zones). */
  readonly storageNodes: readonly string[];
  readonly replicationFactor: number;
}

export function vminsertArgs(f: VminsertFlags): string[] {
  return [...common(f), ...many('storageNode', f.storageNodes), flag('replicationFactor', f.replicationFactor)];
}

/** vmselect (cluster). */
export interface VmselectFlags extends Common, Query {
  /** vmstorage `host:vmselectPort`. */
  readonly storageNodes: readonly string[];
  /** Replicated copies are merged at query time: the same 1ms as vmstorage's. */
  readonly dedupMinScrapeInterval: string;
}

export function vmselectArgs(f: VmselectFlags): string[] {
  return [
    ...common(f),
    ...many('storageNode', f.storageNodes),
    flag('dedup.minScrapeInterval', f.dedupMinScrapeInterval),
    flag('search.latencyOffset', f.latencyOffset),
  ];
}

/** vmagent (kubernetes): scrapes the backend's own components and writes to vminsert. */
export interface VmagentFlags extends Common {
  readonly promscrapeConfig: string;
  /** Re-read the scrape config this often (kubelet swaps the ConfigMap's files). */
  readonly configCheckInterval: string;
  readonly remoteWriteUrls: readonly string[];
  /** Its on-disk queue while vminsert is unreachable. */
  readonly tmpDataPath: string;
}

export function vmagentArgs(f: VmagentFlags): string[] {
  return [
    ...common(f),
    flag('promscrape.config', f.promscrapeConfig),
    flag('promscrape.configCheckInterval', f.configCheckInterval),
    // An unknown key in the scrape config is an error, not silently ignored.
    '-promscrape.config.strictParse',
    ...many('remoteWrite.url', f.remoteWriteUrls),
    flag('remoteWrite.tmpDataPath', f.tmpDataPath),
  ];
}

/** vmauth: the cascades' authenticated write entry (when federation is secured). */
export interface VmauthFlags extends Common {
  readonly authConfig: string;
  readonly tls?: ServingTls;
}

export function vmauthArgs(f: VmauthFlags): string[] {
  return [...common(f), flag('auth.config', f.authConfig), ...servingTls(f.tls)];
}

/** vmalert: central's rules against VictoriaMetrics, notifying every Alertmanager. */
export interface VmalertFlags extends Common {
  /** Rule files (Prometheus rule format). */
  readonly rules: readonly string[];
  /** Prometheus query API to evaluate against (the single node, or vmselect's /select/0/prometheus). */
  readonly datasourceUrl: string;
  /** Where recording-rule results and ALERTS/ALERTS_FOR_STATE go (vmalert appends /api/v1/write). */
  readonly remoteWriteUrl: string;
  /** Where a restarted vmalert reads ALERTS_FOR_STATE back, so `for` does not start over. */
  readonly remoteReadUrl: string;
  /** Every Alertmanager, each on its own (never through a load balancer): the HA contract. */
  readonly notifierUrls: readonly string[];
  /** Groups without an interval of their own; fedstack's groups all set one. */
  readonly evaluationInterval: string;
  /** Re-read the rule files this often (kubelet swaps the ConfigMap's files; no restart). */
  readonly configCheckInterval?: string;
  /** How often a firing alert is sent again (upstream 0: every evaluation). */
  readonly resendDelay?: string;
}

export function vmalertArgs(f: VmalertFlags): string[] {
  return [
    ...common(f),
    ...many('rule', f.rules),
    flag('datasource.url', f.datasourceUrl),
    flag('remoteWrite.url', f.remoteWriteUrl),
    flag('remoteRead.url', f.remoteReadUrl),
    ...many('notifier.url', f.notifierUrls),
    flag('evaluationInterval', f.evaluationInterval),
    ...maybe('configCheckInterval', f.configCheckInterval),
    ...maybe('rule.resendDelay', f.resendDelay),
  ];
}

/**
 * The files a VictoriaMetrics command line makes its process read: `-rule`,
 * `-promscrape.config`, `-auth.config` and every `-…File` flag. The join tests check each is
 * mounted; a new file flag is covered by its name.
 */
export function vmFilesRead(args: readonly string[]): string[] {
  const out: string[] = [];
  for (const a of args) {
    const m = /^-([\w.]+)=(.*)$/s.exec(a);
    if (m === null) continue;
    const [, name, value] = m as unknown as [string, string, string];
    if (name === 'rule' || name === 'promscrape.config' || name === 'auth.config' || name.endsWith('File'))
      out.push(value);
  }
  return out;
}
