/**
 * Each wave's predicted series change, from the capacity model (capacity/plan.ts) of the old
 * and the new topology: what `fedstack rollout plan` prints beside the waves.
 *
 *   - At the wave's instances: the sum, over the Prometheus instances the wave moves, of the
 *     model's series estimate under the new revision minus the old one.
 *   - At central (one replica, as `fedstack capacity` sizes it): central's series are a sum of
 *     parts, each owned by one instance's config: every edge's share (what its cascade
 *     federates of it and central keeps), every cascade's own series (its recording rules and
 *     self-monitoring, as central keeps them), and central's own (its rules, its scrapes). A
 *     part's change is predicted for the wave that moves its owner; when the owner does not
 *     change (an allow-list edit changes the cascade's config, not the edge's), for the wave
 *     of the next instance up that does (its cascade, then the first central replica). The
 *     waves' central changes therefore add up to the model's whole change at central, and a
 *     change no config carries (a meta-cluster's size) is reported apart, as `outsideWaves`.
 *
 * Estimates, not measurements: the model's own caveats apply (capacity/plan.ts).
 */
import { planCapacity, type CapacityReport } from '../capacity/plan.ts';
import type { Topology } from '../topology/model.ts';
import { instanceId } from './instances.ts';
import type { Wave } from './plan-file.ts';

export interface WavePrediction {
  readonly wave: string;
  /** Series change summed over the wave's instances. */
  readonly instances: number;
  /** Series change at central (one replica) once the wave is done. */
  readonly central: number;
}

export interface SeriesPrediction {
  readonly waves: readonly WavePrediction[];
  /** Central's series (one replica) before and after the whole rollout. */
  readonly centralBefore: number;
  readonly centralAfter: number;
  /** The part of central's change that no wave's config change carries. */
  readonly outsideWaves: number;
}

/** Series of each instance, and each instance's own part of central, in one report. */
function parts(r: CapacityReport) {
  const series = new Map<string, number>();
  const atCentral = new Map<string, number>();
  const edgesOf = new Map<string, number>();
  for (const e of r.edges) {
    const id = instanceId('edge', e.name);
    series.set(id, e.series);
    atCentral.set(id, e.centralSeries);
    edgesOf.set(e.bigRegion, (edgesOf.get(e.bigRegion) ?? 0) + e.centralSeries);
  }
  for (const c of r.cascades) {
    const id = instanceId('cascade', c.name);
    series.set(id, c.series);
    atCentral.set(id, c.federatedSeries - (edgesOf.get(c.name) ?? 0));
  }
  return { series, atCentral, own: r.central.series - r.central.federatedSeries, central: r.central.series };
}

export function predictWaves(
  before: CapacityReport,
  after: CapacityReport,
  waves: readonly Pick<Wave, 'name' | 'tier' | 'instances'>[],
  centralReplicas: readonly string[],
): SeriesPrediction {
  const a = parts(before);
  const b = parts(after);
  const waveOf = new Map<string, number>();
  waves.forEach((w, i) => w.instances.forEach((id) => waveOf.set(id, i)));
  const firstCentral = centralReplicas.map((n) => waveOf.get(instanceId('central', n))).find((i) => i !== undefined);
  const out = waves.map((w) => ({ wave: w.name, instances: 0, central: 0 }));
  const delta = (m: 'series' | 'atCentral', id: string) => (b[m].get(id) ?? 0) - (a[m].get(id) ?? 0);

  for (const [i, w] of waves.entries())
    for (const id of w.instances)
      out[i]!.instances += id.startsWith('central/') ? b.central - a.central : delta('series', id);

  let outsideWaves = 0;
  const credit = (owners: readonly (number | undefined)[], change: number) => {
    const i = owners.find((x) => x !== undefined);
    if (i === undefined) outsideWaves += change;
    else out[i]!.central += change;
  };
  const bigRegionOf = new Map<string, string>();
  for (const e of [...before.edges, ...after.edges]) bigRegionOf.set(instanceId('edge', e.name), e.bigRegion);
  const ids = new Set([...a.atCentral.keys(), ...b.atCentral.keys()]);
  for (const id of ids) {
    const change = delta('atCentral', id);
    if (change === 0) continue;
    const cascade = id.startsWith('edge/') ? waveOf.get(instanceId('cascade', bigRegionOf.get(id)!)) : undefined;
    credit([waveOf.get(id), cascade, firstCentral], change);
  }
  credit([firstCentral], b.own - a.own);
  return { waves: out, centralBefore: a.central, centralAfter: b.central, outsideWaves };
}

/** The prediction for a rollout from one topology to another, with the model's default factors. */
export function predictSeries(
  from: Topology,
  to: Topology,
  waves: readonly Pick<Wave, 'name' | 'tier' | 'instances'>[],
): SeriesPrediction {
  return predictWaves(planCapacity(from), planCapacity(to), waves, to.central.replicas.map((r) => r.name));
}
