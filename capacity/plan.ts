/**
 * planCapacity: series, samples/s and memory per edge, cascade and central, from the topology
 * alone (guest clusters, nodes, extra targets, allow-lists, recording rules), with recommended
 * cascade shards and pod resources at 40% headroom, and warnings where a tier's sampleLimit or
 * a pod's memory would be crossed.
 *
 * Each tier is modelled as an inventory of series groups (name, job, count); a federation hop
 * keeps the groups its match[] selectors select, so allow-lists are applied, not guessed, and
 * then applies the hop's relabel rules that drop series or labels (rewrite()).
 */
import { JOB, LABEL, SYSTEM_SELECTORS, SYNTHETIC_SCRAPE_METRICS } from '../common/conventions.ts';
import { parseDuration } from '../common/duration.ts';
import { matchParams } from '../common/scrape.ts';
import { metaClustersOf, type BigRegion, type PlacedMetaCluster, type Topology } from '../topology/model.ts';
import { parseSelector, selectorMatches, type Selector } from '../topology/selector.ts';
import { relabelChain, SYSTEM_SERIES, type PlacedRule, type RelabelTier } from '../topology/relabel.ts';
import { groupingLabels, ruleSeries, seriesOf, type LabelCardinality } from './cardinality.ts';
import { DEFAULT_FACTORS, type CapacityFactors } from './factors.ts';
import { planVictoriaMetrics, type VmEstimate } from './victoriametrics.ts';

/** A group of series with the same name and job. */
interface SeriesGroup {
  readonly name: string;
  readonly job: string;
  readonly count: number;
  /**
   * The labels its series vary by, with their cardinality, when known (a recording rule's
   * `by (...)`): what a rule that drops a label merges them by. Unknown for raw series.
   */
  readonly labels?: { readonly names: readonly string[]; readonly card: LabelCardinality };
  /** Where its series come from, as far as they carry it (a scoped relabel rule applies by it). */
  readonly place?: { readonly bigRegion: string; readonly region?: string; readonly metaCluster?: string };
}

export interface Resources {
  readonly cpuCores: number;
  readonly memoryBytes: number;
}

export interface TierEstimate {
  readonly name: string;
  readonly series: number;
  readonly samplesPerSecond: number;
  readonly memoryBytes: number;
  /** Pod requests = limits, sized so the estimate uses (1 - headroom) of them. */
  readonly recommended: Resources;
}

export interface EdgeEstimate extends TierEstimate {
  readonly bigRegion: string;
  /** Samples one cascade federation scrape of this edge returns (checked against cascade sampleLimit). */
  readonly federatedSeries: number;
  /** Of those, the series central keeps (its allow-list and relabel rules): this edge's share of central. */
  readonly centralSeries: number;
}

export interface CascadeEstimate extends TierEstimate {
  readonly edges: number;
  /** Samples central's federation scrape of this cascade returns, all shards together. */
  readonly federatedSeries: number;
  readonly shards: number;
  /** Resources of each shard. */
  readonly perShard: Resources;
}

export type WarningLevel = 'critical' | 'warning';

export interface CapacityWarning {
  readonly level: WarningLevel;
  /** Where: `edge/<name>`, `cascade/<big region>`, `central`. */
  readonly at: string;
  readonly message: string;
}

export interface CapacityReport {
  readonly factors: CapacityFactors;
  readonly totals: { readonly metaClusters: number; readonly guestClusters: number; readonly nodes: number };
  readonly edges: readonly EdgeEstimate[];
  readonly cascades: readonly CascadeEstimate[];
  /** One central replica (every replica federates everything). */
  readonly central: TierEstimate & { readonly replicas: number; readonly federatedSeries: number };
  /**
   * The same central on VictoriaMetrics (always sized, so the two can be compared; the
   * topology's replicationFactor when it uses that backend, else 2).
   */
  readonly victoriaMetrics: VmEstimate;
  readonly warnings: readonly CapacityWarning[];
}

/** Stand-in name for raw exporter series: selected by a catch-all, not by aggregate-name patterns. */
const RAW_SERIES_NAME = 'apiserver_request_total';
/** Stand-in name for a Prometheus' own series. */
const SELF_SERIES_NAME = 'prometheus_tsdb_head_series';
/** Meta-cluster jobs discovered in the kubernetes profile, besides the guest control planes. */
const NODE_JOBS = [JOB.nodeExporter, JOB.kubelet, JOB.cadvisor];
const CONTROL_PLANE_JOBS = [JOB.apiserver, JOB.controllerManager, JOB.scheduler, JOB.etcd];

const sum = (xs: readonly number[]) => xs.reduce((a, b) => a + b, 0);
const total = (groups: readonly SeriesGroup[]) => sum(groups.map((g) => g.count));

function select(groups: readonly SeriesGroup[], selectors: readonly Selector[]): SeriesGroup[] {
  return groups.filter((g) => selectors.some((s) => selectorMatches(s, g.name, { job: g.job })));
}

/** up, scrape_duration_seconds, ... for `targets` targets of `job`. */
const synthetic = (job: string, targets: number): SeriesGroup[] =>
  SYNTHETIC_SCRAPE_METRICS.map((name) => ({ name, job, count: targets }));

function edgeInventory(topo: Topology, placed: PlacedMetaCluster, f: CapacityFactors): SeriesGroup[] {
  const mc = placed.metaCluster;
  const G = mc.guestClusters;
  const extraTargets = sum(mc.extraScrapeTargets.map((t) => t.targets.length));
  const raw =
    f.baseSeriesPerMetaCluster +
    mc.nodes * f.seriesPerNode +
    G * f.seriesPerGuestCluster +
    extraTargets * f.seriesPerExtraTarget;
  const jobs = 1 + NODE_JOBS.length + 1 + CONTROL_PLANE_JOBS.length + 1 + mc.extraScrapeTargets.length;
  const card: LabelCardinality = (label) =>
    label === LABEL.clusterId ? G + 1 : label === 'code' ? f.statusCodes : label === 'job' ? jobs : 1;
  return [
    { name: RAW_SERIES_NAME, job: JOB.guestControlPlane, count: raw },
    { name: SELF_SERIES_NAME, job: JOB.self, count: f.selfSeries },
    ...synthetic(JOB.self, 1),
    ...NODE_JOBS.flatMap((job) => synthetic(job, mc.nodes)),
    ...synthetic(JOB.kubeStateMetrics, 1),
    ...CONTROL_PLANE_JOBS.flatMap((job) => synthetic(job, f.controlPlaneReplicas)),
    ...synthetic(JOB.guestControlPlane, G * f.podsPerGuestCluster),
    ...mc.extraScrapeTargets.flatMap((t) => synthetic(t.job, t.targets.length)),
    { name: SYSTEM_SELECTORS.cascade[0]!, job: '', count: 1 },
    ...topo.recordingRules.edge.map((r) => ruleGroup(r.record, r.expr, card)),
  ].map((g) => ({
    ...g,
    place: { bigRegion: placed.bigRegion.name, region: placed.region.name, metaCluster: mc.name },
  }));
}

/** A recording rule's series, with the labels they vary by. */
function ruleGroup(name: string, expr: string, card: LabelCardinality): SeriesGroup {
  const names = groupingLabels(expr) ?? [];
  return { name, job: '', count: ruleSeries(expr, card), labels: { names, card } };
}

/**
 * What a hop's relabel rules do to the series count: keep/drop series rules drop the groups
 * they select by name and job (a selector on other labels, whose values are unknown here,
 * drops nothing: the estimate stays an upper bound), and a rule that drops a label a group
 * varies by merges its series. fedstack's own series are never dropped, as in the configs.
 */
function rewrite(
  groups: readonly SeriesGroup[],
  chain: readonly PlacedRule[],
  tier: RelabelTier,
): SeriesGroup[] {
  const system = SYSTEM_SERIES[tier].map(parseSelector);
  const applies = (placed: PlacedRule, g: SeriesGroup) => {
    const guard = placed.guard;
    if (guard === undefined) return true;
    const at =
      guard.label === LABEL.bigRegion
        ? g.place?.bigRegion
        : guard.label === LABEL.region
          ? g.place?.region
          : g.place?.metaCluster;
    return at === guard.value;
  };
  return groups.flatMap((group): SeriesGroup[] => {
    let g = group;
    for (const placed of chain) {
      if (!applies(placed, g)) continue;
      const rule = placed.rule;
      if (rule.kind === 'dropSeries' || rule.kind === 'keepSeries') {
        const sel = parseSelector(rule.selector);
        if (sel.matchers.some((m) => m.name !== '__name__' && m.name !== 'job')) continue;
        if (system.some((s) => selectorMatches(s, g.name, { job: g.job }))) continue;
        if (selectorMatches(sel, g.name, { job: g.job }) === (rule.kind === 'dropSeries')) return [];
      } else if (rule.kind === 'rename' && g.labels !== undefined) {
        const { names, card } = g.labels;
        g = {
          ...g,
          labels: {
            names: names.map((l) => (l === rule.from ? rule.to : l)),
            card: (l) => card(l === rule.to ? rule.from : l),
          },
        };
      } else if (rule.kind === 'dropLabels' && g.labels !== undefined) {
        const names = g.labels.names.filter((l) => !rule.labels.includes(l));
        g = { ...g, count: seriesOf(names, g.labels.card), labels: { names, card: g.labels.card } };
      }
    }
    return [g];
  });
}

/** Seconds between scrapes of a tier: samples/s = series / this (rules are a small share). */
const scrapeSeconds = (topo: Topology, tier: 'edge' | 'cascade' | 'central') =>
  parseDuration(topo.global[tier].scrapeInterval) / 1000;

function resources(
  series: number,
  samplesPerSecond: number,
  f: CapacityFactors,
): { memoryBytes: number; recommended: Resources } {
  const memoryBytes = f.baseMemoryBytes + series * f.bytesPerSeries;
  const use = 1 - f.headroom;
  return {
    memoryBytes,
    recommended: {
      // Quarter cores and 64 MiB steps: what a Kubernetes resource spec would say.
      cpuCores: Math.max(0.25, Math.ceil((samplesPerSecond / f.samplesPerCoreSecond / use) * 4) / 4),
      memoryBytes: Math.ceil(memoryBytes / use / 2 ** 26) * 2 ** 26,
    },
  };
}

const fmtCount = (n: number) => Math.round(n).toLocaleString('en-US');
const GiB = (b: number) => `${(b / 2 ** 30).toFixed(1)} GiB`;

export function planCapacity(topo: Topology, factors: Partial<CapacityFactors> = {}): CapacityReport {
  const f: CapacityFactors = { ...DEFAULT_FACTORS, ...factors };
  const warnings: CapacityWarning[] = [];
  const use = 1 - f.headroom;
  const cascadeSelectors = matchParams(SYSTEM_SELECTORS.cascade, topo.allowLists.cascade).map(parseSelector);
  const centralSelectors = matchParams(SYSTEM_SELECTORS.central, topo.allowLists.central).map(parseSelector);
  const edgeScrape = scrapeSeconds(topo, 'edge');
  const cascadeScrape = scrapeSeconds(topo, 'cascade');
  const centralScrape = scrapeSeconds(topo, 'central');
  const { cascade: cascadeTier, central: centralTier } = topo.global;

  /** Warns when `value` crosses `limit` (critical) or eats into the headroom (warning). */
  const checkLimit = (at: string, value: number, limit: number, what: string) => {
    if (limit <= 0) return;
    if (value > limit)
      warnings.push({
        level: 'critical',
        at,
        message: `${what}: ${fmtCount(value)} is over the limit ${fmtCount(limit)}`,
      });
    else if (value > limit * use)
      warnings.push({
        level: 'warning',
        at,
        message: `${what}: ${fmtCount(value)} leaves less than ${f.headroom * 100}% headroom under ${fmtCount(limit)}`,
      });
  };
  const checkMemory = (at: string, memoryBytes: number) => {
    if (memoryBytes / use > f.maxPodMemoryBytes)
      warnings.push({
        level: memoryBytes > f.maxPodMemoryBytes ? 'critical' : 'warning',
        at,
        message: `memory: ${GiB(memoryBytes)} estimated, over ${Math.round(use * 100)}% of the largest pod (${GiB(f.maxPodMemoryBytes)})`,
      });
  };

  const centralChain = relabelChain(topo, 'central');
  const edges: EdgeEstimate[] = [];
  const cascades: CascadeEstimate[] = [];
  const centralInventory: SeriesGroup[] = [];

  for (const bigRegion of topo.bigRegions) {
    const placedEdges = metaClustersOf(bigRegion);
    const cascadeChain = relabelChain(topo, 'cascade', bigRegion);
    const federatedFromEdges: SeriesGroup[] = [];
    for (const placed of placedEdges) {
      const inv = edgeInventory(topo, placed, f);
      const series = total(inv);
      // sample_limit counts what is left after metric relabelling: the rewrites count.
      const federated = rewrite(select(inv, cascadeSelectors), cascadeChain, 'cascade');
      const federatedSeries = total(federated);
      federatedFromEdges.push(...federated);
      const centralSeries = total(rewrite(select(federated, centralSelectors), centralChain, 'central'));
      const samplesPerSecond = series / edgeScrape;
      const r = resources(series, samplesPerSecond, f);
      const at = `edge/${placed.metaCluster.name}`;
      edges.push({
        name: placed.metaCluster.name,
        bigRegion: bigRegion.name,
        series,
        samplesPerSecond,
        federatedSeries,
        centralSeries,
        ...r,
      });
      checkMemory(at, r.memoryBytes);
      checkLimit(at, federatedSeries, cascadeTier.sampleLimit, `cascade sampleLimit per edge scrape`);
    }
    const cascadeInv = cascadeInventory(topo, bigRegion, placedEdges.length, federatedFromEdges, f);
    const series = total(cascadeInv);
    const federated = rewrite(select(cascadeInv, centralSelectors), centralChain, 'central');
    const federatedSeries = total(federated);
    centralInventory.push(...federated);
    const samplesPerSecond = series / cascadeScrape;
    const r = resources(series, samplesPerSecond, f);
    // Shard until each shard fits a pod and each shard's answer to central fits its sampleLimit.
    const shards = Math.max(
      1,
      Math.ceil(r.memoryBytes / use / f.maxPodMemoryBytes),
      centralTier.sampleLimit > 0 ? Math.ceil(federatedSeries / (centralTier.sampleLimit * use)) : 1,
    );
    const perShard = resources(series / shards, samplesPerSecond / shards, f).recommended;
    cascades.push({
      name: bigRegion.name,
      edges: placedEdges.length,
      series,
      samplesPerSecond,
      federatedSeries,
      shards,
      perShard,
      ...r,
    });
    const at = `cascade/${bigRegion.name}`;
    if (shards === 1) {
      checkMemory(at, r.memoryBytes);
      checkLimit(at, federatedSeries, centralTier.sampleLimit, 'central sampleLimit per cascade scrape');
    } else {
      warnings.push({
        level: 'warning',
        at,
        message: `needs ${shards} shards (memory ${GiB(r.memoryBytes)}, ${fmtCount(federatedSeries)} series federated to central, sampleLimit ${fmtCount(centralTier.sampleLimit)})`,
      });
    }
  }

  const cascadeCount = sum(cascades.map((c) => c.shards));
  const centralCard: LabelCardinality = (label) =>
    label === LABEL.bigRegion
      ? topo.bigRegions.length
      : label === LABEL.region
        ? sum(topo.bigRegions.map((b) => b.regions.length))
        : label === LABEL.metaCluster
          ? edges.length
          : label === LABEL.clusterId
            ? sum(
                topo.bigRegions.flatMap((b) => metaClustersOf(b).map((p) => p.metaCluster.guestClusters + 1)),
              )
            : label === 'code'
              ? f.statusCodes
              : 1;
  const federatedSeries = total(centralInventory);
  const centralInv: SeriesGroup[] = [
    ...centralInventory,
    { name: SELF_SERIES_NAME, job: JOB.self, count: f.selfSeries },
    ...synthetic(JOB.self, 1),
    ...synthetic(JOB.federateCascade, cascadeCount),
    ...topo.recordingRules.central.map((r) => ({
      name: r.record,
      job: '',
      count: ruleSeries(r.expr, centralCard),
    })),
  ];
  const series = total(centralInv);
  const samplesPerSecond = series / centralScrape;
  const r = resources(series, samplesPerSecond, f);
  const vmBackend = topo.central.backend === 'victoriametrics' ? topo.central.victoriaMetrics : undefined;
  if (vmBackend === undefined && r.memoryBytes / use > f.maxPodMemoryBytes)
    warnings.push({
      level: r.memoryBytes > f.maxPodMemoryBytes ? 'critical' : 'warning',
      at: 'central',
      message: `memory: ${GiB(r.memoryBytes)} estimated, over ${Math.round(use * 100)}% of the largest pod (${GiB(f.maxPodMemoryBytes)}): one central is not enough, switch to central.backend: victoriametrics (README "When one central is not enough")`,
    });
  else if (vmBackend === undefined) checkMemory('central', r.memoryBytes);
  // With VictoriaMetrics every sample a cascade keeps is shipped, at the cascade's scrape rate.
  const vm = planVictoriaMetrics(
    {
      series,
      samplesPerSecond:
        sum(cascades.map((c) => c.federatedSeries / cascadeScrape)) +
        (series - federatedSeries) / centralScrape,
      retention: centralTier.retention,
      replicationFactor: vmBackend?.replicationFactor ?? 2,
      zones: new Set(topo.central.replicas.map((x) => x.zone)).size,
    },
    f,
  );
  if (vmBackend !== undefined) {
    if (vmBackend.vmstorage < vm.vmstorage)
      warnings.push({
        level: 'warning',
        at: 'central.victoriaMetrics',
        message: `vmstorage: ${vmBackend.vmstorage} node(s) configured, ${vm.vmstorage} needed (${vm.limitedBy})`,
      });
    if (quantityBytes(vmBackend.storageSize) < vm.storagePerNodeBytes * (vm.vmstorage / vmBackend.vmstorage))
      warnings.push({
        level: 'warning',
        at: 'central.victoriaMetrics',
        message: `storageSize: ${vmBackend.storageSize} per node holds less than the retention needs (${GiB(vm.diskBytes / vmBackend.vmstorage / use)} per node on ${vmBackend.vmstorage} nodes)`,
      });
  }

  const placedAll = topo.bigRegions.flatMap((b) => metaClustersOf(b));
  return {
    factors: f,
    totals: {
      metaClusters: placedAll.length,
      guestClusters: sum(placedAll.map((p) => p.metaCluster.guestClusters)),
      nodes: sum(placedAll.map((p) => p.metaCluster.nodes)),
    },
    edges,
    cascades,
    central: {
      name: 'central',
      replicas: topo.central.replicas.length,
      series,
      samplesPerSecond,
      federatedSeries,
      ...r,
    },
    victoriaMetrics: vm,
    warnings,
  };
}

const QUANTITY_UNITS: Record<string, number> = {
  '': 1,
  k: 1e3,
  M: 1e6,
  G: 1e9,
  T: 1e12,
  P: 1e15,
  E: 1e18,
  Ki: 2 ** 10,
  Mi: 2 ** 20,
  Gi: 2 ** 30,
  Ti: 2 ** 40,
  Pi: 2 ** 50,
  Ei: 2 ** 60,
};
/** A Kubernetes quantity (500Gi, 1T) in bytes; the schema has checked its shape. */
function quantityBytes(q: string): number {
  const m = /^(\d+(?:\.\d+)?)([a-zA-Z]*)$/.exec(q);
  return m === null ? 0 : Number(m[1]) * (QUANTITY_UNITS[m[2]!] ?? 1);
}

function cascadeInventory(
  topo: Topology,
  bigRegion: BigRegion,
  edgeCount: number,
  federated: readonly SeriesGroup[],
  f: CapacityFactors,
): SeriesGroup[] {
  const placed = metaClustersOf(bigRegion);
  const card: LabelCardinality = (label) =>
    label === LABEL.bigRegion
      ? 1
      : label === LABEL.region
        ? bigRegion.regions.length
        : label === LABEL.metaCluster
          ? edgeCount
          : label === LABEL.clusterId
            ? sum(placed.map((p) => p.metaCluster.guestClusters + 1))
            : label === 'code'
              ? f.statusCodes
              : 1;
  return [
    ...federated,
    { name: SELF_SERIES_NAME, job: JOB.self, count: f.selfSeries },
    ...synthetic(JOB.self, 1),
    ...synthetic(JOB.federateEdge, edgeCount),
    ...topo.recordingRules.cascade.map((r) => ruleGroup(r.record, r.expr, card)),
  ].map((g) => ({ ...g, place: g.place ?? { bigRegion: bigRegion.name } }));
}
