/**
 * Facts derived from the model alone, each defined once. The render plan computes them once per
 * topology and hands them to the generators, the server and the local stack, so a rule that
 * says "stale" and a dashboard that colours "stale" can never disagree.
 */
import { LABEL } from '../common/conventions.ts';
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

export function federationLag(topo: Pick<Topology, 'global'>): FederationLag {
  const { edge, cascade, central } = topo.global;
  const normalMs =
    parseDuration(edge.evaluationInterval) +
    parseDuration(cascade.scrapeInterval) +
    parseDuration(central.scrapeInterval);
  return { normalMs, staleAfterMs: 2 * normalMs };
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
