/**
 * Facts derived from the model alone, each defined once. The render plan computes them once per
 * topology and hands them to the generators, the server and the local stack, so a rule that
 * says "stale" and a dashboard that colours "stale" can never disagree.
 */
import { LABEL, PORT, SERVICE, type Profile } from '../common/conventions.ts';
import { parseDuration } from '../common/duration.ts';
import { metaClustersOf, type BigRegion, type Topology } from './model.ts';

/** How late federated data may normally be at central, and when it counts as stale. */
export interface FederationLag {
  /**
   * One edge evaluation (the heartbeat is recorded), one cascade scrape and one central scrape:
   * the longest a sample normally takes to cross both hops.
   */
  readonly normalMs: number;
  /** Twice the normal lag: one late scrape does not flap FederationStale or the dashboards. */
  readonly staleAfterMs: number;
}

export function federationLag(topo: Pick<Topology, 'global' | 'central'>): FederationLag {
  const { edge, cascade, central } = topo.global;
  // The last hop: central's federation scrape, or the cascade's remote_write batch.
  const lastHop =
    topo.central.backend === 'victoriametrics'
      ? remoteWriteDeadlineMs(topo)
      : parseDuration(central.scrapeInterval);
  const normalMs = parseDuration(edge.evaluationInterval) + parseDuration(cascade.scrapeInterval) + lastHop;
  return { normalMs, staleAfterMs: 2 * normalMs };
}

/**
 * How long a cascade's remote_write holds samples before it sends a batch (backend
 * victoriametrics): Prometheus' default 5 s, shorter when the cascade produces samples faster,
 * so a batch never waits for more than one round of them.
 */
export function remoteWriteDeadlineMs(topo: Pick<Topology, 'global'>): number {
  const { cascade } = topo.global;
  return Math.min(5000, parseDuration(cascade.scrapeInterval), parseDuration(cascade.evaluationInterval));
}

/** One Prometheus target group (static_configs entry, or an http_sd answer item). */
export interface TargetGroup {
  readonly targets: readonly string[];
  readonly labels: Readonly<Record<string, string>>;
}

/** Where an edge answers now, when its sidecar has said so (LoadBalancer addresses change). */
export type LiveEndpoints = ReadonlyMap<string, { readonly endpoint: string }>;

/**
 * What a cascade federates: one group per meta-cluster of its big region, labelled with the
 * hierarchy. The cascade's static_configs (local profile) and the service's http_sd answer
 * (kubernetes profile, with live registrations over the topology's endpoints) are both this.
 */
export function edgeTargetGroups(bigRegion: BigRegion, live?: LiveEndpoints): TargetGroup[] {
  return metaClustersOf(bigRegion).map(({ region, metaCluster }) => ({
    targets: [live?.get(metaCluster.name)?.endpoint ?? metaCluster.endpoint],
    labels: {
      [LABEL.bigRegion]: bigRegion.name,
      [LABEL.region]: region.name,
      [LABEL.metaCluster]: metaCluster.name,
    },
  }));
}

/** What central federates: one group per cascade. */
export function cascadeTargetGroups(topo: Pick<Topology, 'bigRegions'>): TargetGroup[] {
  return topo.bigRegions.map((b) => ({
    targets: [b.cascade.endpoint],
    labels: { [LABEL.bigRegion]: b.name },
  }));
}

/** Where the VictoriaMetrics backend answers queries and takes writes from inside central. */
export interface VictoriaMetricsUrls {
  /** Prometheus query API base (vmalert's datasource, Grafana, the dashboards' checks). */
  readonly query: string;
  /** Write API base (vmalert's results, the self-monitoring scrape); `/api/v1/write` is appended. */
  readonly insert: string;
}

/**
 * The single node on loopback (local profile: `queryEndpoint`, else `endpoint`), or vmselect's
 * and vminsert's in-cluster Services under tenant 0 (kubernetes). Undefined with the
 * prometheus backend.
 */
export function victoriaMetricsUrls(
  topo: Pick<Topology, 'central' | 'global'>,
  profile: Profile,
): VictoriaMetricsUrls | undefined {
  const vm = topo.central.victoriaMetrics;
  if (topo.central.backend !== 'victoriametrics' || vm === undefined) return undefined;
  if (profile === 'local') {
    const url = `http://${vm.queryEndpoint ?? vm.endpoint}`;
    return { query: url, insert: url };
  }
  const ns = topo.global.namespace;
  return {
    query: `http://${SERVICE.vmselect(ns)}:${PORT.vmselect}/select/0/prometheus`,
    insert: `http://${SERVICE.vminsert(ns)}:${PORT.vminsert}/insert/0/prometheus`,
  };
}
