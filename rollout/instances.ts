/**
 * The Prometheus instances a rollout moves from one revision to the next: every edge, every
 * cascade and every central replica, named `<tier>/<name>` (`edge/mc-hz-01`, `cascade/china`,
 * `central/central-a`). Names are unique fleet-wide (topology/validate.ts), so an id is too.
 */
import { LABEL } from '../common/conventions.ts';
import type { PrometheusTier } from '../render/plan.ts';
import { metaClusters, type Topology } from '../topology/model.ts';

export type Tier = PrometheusTier;
export const TIERS: readonly Tier[] = ['edge', 'cascade', 'central'];

export interface Instance {
  readonly id: string;
  readonly tier: Tier;
  readonly name: string;
  /** Edges and cascades: the big region they belong to. */
  readonly bigRegion?: string;
  /** Edges: their region. */
  readonly region?: string;
}

export const instanceId = (tier: Tier, name: string): string => `${tier}/${name}`;

export function parseInstanceId(id: string): { tier: Tier; name: string } | undefined {
  const slash = id.indexOf('/');
  const tier = id.slice(0, slash) as Tier;
  const name = id.slice(slash + 1);
  return slash > 0 && TIERS.includes(tier) && name !== '' && !name.includes('/') ? { tier, name } : undefined;
}

/** Every instance of a topology: edges in topology order, then cascades, then central replicas. */
export function instancesOf(topo: Topology): Instance[] {
  return [
    ...metaClusters(topo).map((p) => ({
      id: instanceId('edge', p.metaCluster.name),
      tier: 'edge' as const,
      name: p.metaCluster.name,
      bigRegion: p.bigRegion.name,
      region: p.region.name,
    })),
    ...topo.bigRegions.map((b) => ({
      id: instanceId('cascade', b.name),
      tier: 'cascade' as const,
      name: b.name,
      bigRegion: b.name,
    })),
    ...topo.central.replicas.map((r) => ({
      id: instanceId('central', r.name),
      tier: 'central' as const,
      name: r.name,
    })),
  ];
}

/**
 * The label that names an instance in what central holds: an edge's series carry its
 * `meta_cluster`, a cascade's its `big_region`. Central replicas are asked directly.
 */
export const INSTANCE_LABEL: Readonly<Record<Exclude<Tier, 'central'>, string>> = {
  edge: LABEL.metaCluster,
  cascade: LABEL.bigRegion,
};
