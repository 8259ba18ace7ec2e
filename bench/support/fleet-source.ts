/**
 * Where the benches' edge gets its series: the fleet simulator (simulator/, issue 3) when it is
 * in the tree, else the static exposition in exposition.ts. The simulator is loaded with a
 * dynamic import so this compiles before issue 3 is merged; the `source` field says which ran.
 */
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { startExposition } from './exposition.ts';

const SIMULATOR = fileURLToPath(new URL('../../simulator/exporter.ts', import.meta.url));
const FLEET = fileURLToPath(new URL('../../simulator/fleet.ts', import.meta.url));

export interface FleetSource {
  /** host:port to scrape /metrics from. */
  readonly address: string;
  readonly series: number;
  readonly source: 'simulator' | 'static exposition';
  /** Every guest cluster's etcd loses its leader. */
  etcdLeaderLoss(): void;
  close(): Promise<void>;
}

/** The part of simulator/ the benches use. */
interface SimulatorModule {
  startExporter(opts: { metaCluster: string; guestClusters: number; nodes: number }): Promise<{
    target: string;
    fleet: { seriesCount: number };
    setFault(f: { etcdLeaderLoss?: boolean }): void;
    close(): Promise<void>;
  }>;
}
interface FleetModule {
  guestClustersFor(opts: { metaCluster: string; nodes: number; series: number }): number;
}

/** A source of about `series` series (at least a few guest clusters' worth). */
export async function startFleetSource(opts: { series: number; nodes: number }): Promise<FleetSource> {
  if (existsSync(SIMULATOR) && existsSync(FLEET)) {
    const { startExporter } = (await import(SIMULATOR)) as SimulatorModule;
    const { guestClustersFor } = (await import(FLEET)) as FleetModule;
    const base = { metaCluster: 'mc-1', nodes: opts.nodes };
    const exporter = await startExporter({
      ...base,
      guestClusters: Math.max(1, guestClustersFor({ ...base, series: opts.series })),
    });
    return {
      address: exporter.target,
      series: exporter.fleet.seriesCount,
      source: 'simulator',
      etcdLeaderLoss: () => exporter.setFault({ etcdLeaderLoss: true }),
      close: () => exporter.close(),
    };
  }
  // ~852 series per guest cluster + 58 per node in the static exposition.
  const guestClusters = Math.max(1, Math.round((opts.series - 58 * opts.nodes) / 852));
  const sim = await startExposition({ guestClusters, nodes: opts.nodes });
  return {
    address: sim.address,
    series: sim.series,
    source: 'static exposition',
    etcdLeaderLoss: () => {
      for (let g = 0; g < guestClusters; g++)
        sim.set('etcd_server_has_leader', { cluster_id: `gc-${String(g).padStart(4, '0')}` }, 0);
    },
    close: () => sim.close(),
  };
}
