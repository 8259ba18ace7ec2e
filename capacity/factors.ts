/**
 * The numbers the capacity planner multiplies. Defaults are documented rules of thumb for a
 * Kubernetes control-plane fleet; `npm run bench` (federation-cost) measures bytesPerSeries on
 * real Prometheus and writes bench/results/capacity-factors.json, which `fedstack capacity`
 * uses when present.
 */
export interface CapacityFactors {
  /** Raw series one worker node brings to its edge (node-exporter ~500, kubelet + cAdvisor ~700). */
  readonly seriesPerNode: number;
  /** Raw series one guest cluster's control plane brings (apiserver histograms dominate). */
  readonly seriesPerGuestCluster: number;
  /** Raw series of the meta-cluster itself (its control plane, kube-state-metrics). */
  readonly baseSeriesPerMetaCluster: number;
  /** Raw series per extraScrapeTargets target. */
  readonly seriesPerExtraTarget: number;
  /** Scrape targets per guest cluster control plane (apiserver, etcd, controller-manager, scheduler). */
  readonly podsPerGuestCluster: number;
  /** Replicas of each meta-cluster control-plane component (apiserver, etcd, ...). */
  readonly controlPlaneReplicas: number;
  /** Series a Prometheus exposes about itself (its self-scrape job). */
  readonly selfSeries: number;
  /** Distinct `code` values of apiserver request counters, per grouping. */
  readonly statusCodes: number;
  /** Head memory per active series, bytes (calibrated by the federation-cost bench). */
  readonly bytesPerSeries: number;
  /** Memory of an idle Prometheus, bytes. */
  readonly baseMemoryBytes: number;
  /** Samples per second one core ingests with rules and compaction running. */
  readonly samplesPerCoreSecond: number;
  /** Largest pod memory limit a tier may be given before it must shard, bytes. */
  readonly maxPodMemoryBytes: number;
  /**
   * VictoriaMetrics (central.backend victoriametrics): vmstorage memory per active series,
   * bytes (upstream's capacity rule of thumb ~1 KiB; `npm run bench` can calibrate it).
   */
  readonly vmBytesPerSeries: number;
  /** VictoriaMetrics disk per stored sample after compression, bytes (upstream: 0.4-1). */
  readonly vmBytesPerSample: number;
  /** Samples per second one vCPU of vminsert or vmstorage ingests (upstream: 100k-300k). */
  readonly vmSamplesPerCoreSecond: number;
  /** Largest volume one vmstorage node should hold, bytes (resync and backup times grow with it). */
  readonly vmMaxDiskBytesPerNode: number;
  /** Fraction of every limit kept free (0.4: plan to 60% of a limit). */
  readonly headroom: number;
  /** Where these numbers come from (printed with the report). */
  readonly source: string;
}

export const DEFAULT_FACTORS: CapacityFactors = {
  seriesPerNode: 1200,
  seriesPerGuestCluster: 5000,
  baseSeriesPerMetaCluster: 15000,
  seriesPerExtraTarget: 1000,
  podsPerGuestCluster: 4,
  controlPlaneReplicas: 3,
  selfSeries: 1000,
  statusCodes: 4,
  bytesPerSeries: 4096,
  baseMemoryBytes: 100 * 2 ** 20,
  samplesPerCoreSecond: 100_000,
  maxPodMemoryBytes: 64 * 2 ** 30,
  vmBytesPerSeries: 1024,
  vmBytesPerSample: 1,
  vmSamplesPerCoreSecond: 150_000,
  vmMaxDiskBytesPerNode: 2 * 2 ** 40,
  headroom: 0.4,
  source: 'documented defaults',
};

/** Factors from a JSON object (e.g. the bench's calibration file), each checked, the rest defaulted. */
export function factorsFrom(json: unknown, source: string): CapacityFactors {
  if (json === null || typeof json !== 'object' || Array.isArray(json))
    throw new Error(`${source}: factors must be a JSON object`);
  const out: Record<string, unknown> = { ...DEFAULT_FACTORS, source };
  for (const [k, v] of Object.entries(json as Record<string, unknown>)) {
    if (k === 'source' || k === 'calibration') continue;
    if (!(k in DEFAULT_FACTORS)) throw new Error(`${source}: ${k}: unknown factor`);
    if (typeof v !== 'number' || !Number.isFinite(v) || v < 0)
      throw new Error(`${source}: ${k}: must be a number >= 0, got ${JSON.stringify(v)}`);
    out[k] = v;
  }
  if ((out.headroom as number) >= 1)
    throw new Error(`${source}: headroom: must be below 1, got ${JSON.stringify(out.headroom)}`);
  return out as unknown as CapacityFactors;
}
