/**
 * The federation tree with its live state, read from central in one batch of queries per
 * refresh (never one per node): the cascades' `up` and sample counts of their edge-federation
 * job, the age of each edge heartbeat, central's own `up` of each cascade, and every central
 * replica's head series. fedstack federates all of these whatever the allow-lists say
 * (SYSTEM_SELECTORS), so the tree never goes blind because of a narrow allow-list.
 */
import { parseDuration } from '../common/duration.ts';
import {
  CASCADE_SELF_MATCHERS,
  HEARTBEAT_METRIC,
  JOB,
  LABEL,
  PORT,
  SERVICE,
  type Profile,
} from '../common/conventions.ts';
import { promHeadSeries, promQuery, type PromSample } from '../deploy/local/promapi.ts';
import type { Registration } from '../server/registrations.ts';
import type { TopologySnapshot } from '../server/topology-watch.ts';
import { victoriaMetricsUrls } from '../topology/facts.ts';
import type { Topology } from '../topology/model.ts';
import type { Applied, CentralNode, MetaClusterNode, NodeState, TreeView } from './types.ts';

export interface CentralEndpoint {
  readonly name: string;
  readonly zone: string;
  readonly url: string;
}

/**
 * Where the console reaches each central replica: the given URLs (the service's
 * `--central-url`), else the replica's endpoint in the local profile, else its in-cluster
 * Service (kubernetes profile, as the manifests create it). With the VictoriaMetrics backend
 * the replicas are vmalerts, which answer no queries: the one query endpoint is
 * VictoriaMetrics itself (the single node locally, vmselect in a cluster).
 */
export function centralEndpoints(
  topo: Topology,
  profile: Profile,
  urls?: readonly string[],
): CentralEndpoint[] {
  const replicas = topo.central.replicas;
  const vm = urls !== undefined && urls.length > 0 ? undefined : victoriaMetricsUrls(topo, profile);
  if (vm !== undefined) return [{ name: 'victoriametrics', zone: '', url: vm.query }];
  if (urls !== undefined && urls.length > 0) {
    return urls.map((url, i) => {
      // Paired with the topology's replicas by position when the counts agree.
      const r = urls.length === replicas.length ? replicas[i] : undefined;
      return { name: r?.name ?? new URL(url).host, zone: r?.zone ?? '', url: url.replace(/\/+$/, '') };
    });
  }
  return replicas.map((r) => ({
    name: r.name,
    zone: r.zone,
    url:
      profile === 'local' && r.endpoint !== undefined
        ? `http://${r.endpoint}`
        : `http://${SERVICE.centralPrometheus(r.name, topo.global.namespace)}:${PORT.prometheus}`,
  }));
}

/** The fleet's state as one central replica holds it. */
export interface FleetReading {
  readonly edgeUp: ReadonlyMap<string, number>;
  readonly edgeLag: ReadonlyMap<string, number>;
  readonly edgeSamples: ReadonlyMap<string, number>;
  readonly cascadeUp: ReadonlyMap<string, number>;
  readonly cascadeSamples: ReadonlyMap<string, number>;
}

const EDGE = `job="${JOB.federateEdge}"`;
const CASCADE = `job="${JOB.federateCascade}"`;
/** The queries of one refresh; `min` for up so that any failing scrape shows. */
export const FLEET_QUERIES = {
  edgeUp: `min by (${LABEL.metaCluster}) (up{${EDGE}})`,
  edgeLag: `time() - max by (${LABEL.metaCluster}) (${HEARTBEAT_METRIC})`,
  edgeSamples: `max by (${LABEL.metaCluster}) (scrape_samples_post_metric_relabeling{${EDGE}})`,
  cascadeUp: `min by (${LABEL.bigRegion}) (up{${CASCADE}})`,
  cascadeSamples: `max by (${LABEL.bigRegion}) (scrape_samples_post_metric_relabeling{${CASCADE}})`,
} as const;

/**
 * With VictoriaMetrics no central scrape of a cascade exists: a cascade is up when its own
 * self-scrape arrives through its remote_write (the signal of that backend's CascadeDown), and
 * what it ships per scrape is not a series there.
 */
export const VM_FLEET_QUERIES = {
  ...FLEET_QUERIES,
  cascadeUp: `min by (${LABEL.bigRegion}) (up{${CASCADE_SELF_MATCHERS}})`,
  cascadeSamples: undefined,
} as const;

type FleetQueries = { readonly [K in keyof typeof FLEET_QUERIES]: string | undefined };

const byLabel = (samples: readonly PromSample[], label: string): Map<string, number> =>
  new Map(samples.flatMap((s) => (s.metric[label] === undefined ? [] : [[s.metric[label]!, s.value]])));

async function readFleet(url: string, q: FleetQueries): Promise<FleetReading> {
  const ask = async (expr: string | undefined) => (expr === undefined ? [] : promQuery(url, expr));
  const [edgeUp, edgeLag, edgeSamples, cascadeUp, cascadeSamples] = await Promise.all([
    ask(q.edgeUp),
    ask(q.edgeLag),
    ask(q.edgeSamples),
    ask(q.cascadeUp),
    ask(q.cascadeSamples),
  ]);
  return {
    edgeUp: byLabel(edgeUp, LABEL.metaCluster),
    edgeLag: byLabel(edgeLag, LABEL.metaCluster),
    edgeSamples: byLabel(edgeSamples, LABEL.metaCluster),
    cascadeUp: byLabel(cascadeUp, LABEL.bigRegion),
    cascadeSamples: byLabel(cascadeSamples, LABEL.bigRegion),
  };
}

/** How often the page refreshes: half the central scrape interval, within 0.5-15 s. */
export function refreshMsOf(topo: Topology): number {
  return Math.min(15_000, Math.max(500, Math.round(parseDuration(topo.global.central.scrapeInterval) / 2)));
}

export function appliedOf(
  reg: Pick<Registration, 'configHash' | 'version' | 'receivedAt'> | undefined,
  nowMs: number,
): Applied | undefined {
  if (reg === undefined) return undefined;
  return {
    configHash: reg.configHash,
    version: reg.version,
    heartbeatAgeSeconds: Math.max(0, (nowMs - reg.receivedAt) / 1000),
  };
}

const round1 = (n: number) => Math.round(n * 10) / 10;
const usage = (samples: number | undefined, limit: number) =>
  samples === undefined || limit <= 0 ? undefined : Math.round((samples / limit) * 10_000) / 10_000;

/** The tree from a topology, central's reading (undefined: no replica answered) and registrations. */
export function buildTree(input: {
  readonly snapshot: TopologySnapshot;
  readonly lastError: string | undefined;
  /** Heartbeat age above which an edge is stale (the plan's federation lag fact). */
  readonly lagBudgetSeconds: number;
  readonly reading: FleetReading | undefined;
  readonly source: string | undefined;
  readonly central: readonly CentralNode[];
  readonly registrations: ReadonlyMap<string, Registration>;
  readonly now: number;
  readonly refreshMs: number;
}): TreeView {
  const { snapshot, reading, now } = input;
  const topo = snapshot.topology;
  const budget = input.lagBudgetSeconds;
  const limits = { cascade: topo.global.cascade.sampleLimit, central: topo.global.central.sampleLimit };

  const bigRegions = topo.bigRegions.map((br) => {
    const cascadeUp = reading?.cascadeUp.get(br.name);
    const cascadeBlind = reading !== undefined && cascadeUp === 0;
    let maxLag: number | undefined;
    const regions = br.regions.map((region) => ({
      name: region.name,
      metaClusters: region.metaClusters.map((mc): MetaClusterNode => {
        const up = reading?.edgeUp.get(mc.name);
        const lag = reading?.edgeLag.get(mc.name);
        const samples = reading?.edgeSamples.get(mc.name);
        if (lag !== undefined) maxLag = Math.max(maxLag ?? 0, lag);
        const [state, why] = edgeState({ reading, up, lag, budget, cascadeBlind });
        const applied = appliedOf(input.registrations.get(mc.name), now);
        const sampleLimitUsage = usage(samples, limits.cascade);
        return {
          name: mc.name,
          state,
          why,
          ...(lag === undefined ? {} : { lagSeconds: round1(lag) }),
          ...(samples === undefined ? {} : { samples }),
          ...(sampleLimitUsage === undefined ? {} : { sampleLimitUsage }),
          ...(applied === undefined ? {} : { applied }),
        };
      }),
    }));
    const samples = reading?.cascadeSamples.get(br.name);
    const sampleLimitUsage = usage(samples, limits.central);
    const [state, why] = cascadeState(reading, cascadeUp, topo.central.backend === 'victoriametrics');
    return {
      name: br.name,
      cascade: {
        state,
        why,
        ...(samples === undefined ? {} : { samples }),
        ...(sampleLimitUsage === undefined ? {} : { sampleLimitUsage }),
        ...(maxLag === undefined ? {} : { lagSeconds: round1(maxLag) }),
      },
      regions,
    };
  });

  return {
    generatedAt: now,
    refreshMs: input.refreshMs,
    topology: {
      name: topo.metadata.name,
      revision: snapshot.revision,
      hash: snapshot.hash,
      ...(input.lastError === undefined ? {} : { lastError: input.lastError }),
    },
    lagBudgetSeconds: budget,
    sampleLimits: limits,
    ...(input.source === undefined ? {} : { source: input.source }),
    central: input.central,
    bigRegions,
  };
}

function edgeState(x: {
  reading: FleetReading | undefined;
  up: number | undefined;
  lag: number | undefined;
  budget: number;
  cascadeBlind: boolean;
}): [NodeState, string] {
  if (x.reading === undefined) return ['unknown', 'no central replica answered'];
  // With honor_timestamps a dead cascade's federated series linger ~5 minutes at central.
  if (x.cascadeBlind) return ['unknown', 'its cascade cannot be federated: central has no fresh data'];
  if (x.up === undefined) return ['unknown', 'central has no federation target for it (not discovered yet?)'];
  if (x.up === 0) return ['down', 'the cascade cannot scrape its /federate'];
  if (x.lag === undefined) return ['stale', 'federated, but no heartbeat of it reached central'];
  if (x.lag > x.budget)
    return ['stale', `heartbeat ${Math.round(x.lag)} s old at central, over the ${x.budget} s budget`];
  // Short: ten thousand of these go to every page; the lag has its own field.
  return ['up', `federated, heartbeat within the ${x.budget} s budget`];
}

function cascadeState(
  reading: FleetReading | undefined,
  up: number | undefined,
  remoteWrite: boolean,
): [NodeState, string] {
  if (reading === undefined) return ['unknown', 'no central replica answered'];
  if (remoteWrite) {
    if (up === undefined) return ['unknown', 'nothing of it has reached VictoriaMetrics lately'];
    return up === 0
      ? ['down', 'it cannot scrape itself']
      : ['up', 'its remote_write reaches VictoriaMetrics'];
  }
  if (up === undefined) return ['unknown', 'central has no federation target for it'];
  if (up === 0) return ['down', 'central cannot scrape its /federate'];
  return ['up', 'federated by central'];
}

/**
 * Every replica's health (head series), and the fleet from the first replica that answers,
 * both at once: the fleet's five queries need not wait for the health checks.
 */
export async function readCentral(
  endpoints: readonly CentralEndpoint[],
  backend: Topology['central']['backend'] = 'prometheus',
): Promise<{
  central: CentralNode[];
  reading: FleetReading | undefined;
  source: string | undefined;
}> {
  const health = Promise.all(
    endpoints.map(async (e): Promise<CentralNode> => {
      try {
        return { name: e.name, zone: e.zone, url: e.url, state: 'up', series: await promHeadSeries(e.url) };
      } catch (err) {
        return { name: e.name, zone: e.zone, url: e.url, state: 'down', error: (err as Error).message };
      }
    }),
  );
  let reading: FleetReading | undefined;
  let source: string | undefined;
  for (const e of endpoints) {
    try {
      reading = await readFleet(e.url, backend === 'victoriametrics' ? VM_FLEET_QUERIES : FLEET_QUERIES);
      source = e.name;
      break;
    } catch {
      // Try the next replica: they hold the same data (active-active).
    }
  }
  return { central: await health, reading, source };
}
