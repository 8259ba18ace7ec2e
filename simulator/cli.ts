/**
 * `fedstack simulate`: one exporter per meta-cluster of a topology, on loopback. The CLI adapter
 * parses flags, calls runSimulate, and stops the handle on SIGINT/SIGTERM (or passes `signal`).
 */
import { metaClusters, type Topology } from '../topology/model.ts';
import { startExporter, type Exporter } from './exporter.ts';
import type { Fault } from './fleet.ts';

export interface SimulateOptions {
  readonly topology: Topology;
  /** Listen host. Default 127.0.0.1. */
  readonly host?: string;
  /** Fixed ports by meta-cluster name; the others get free ports. */
  readonly ports?: Readonly<Record<string, number>>;
  /** Only these meta-clusters (default: all of the topology). */
  readonly only?: readonly string[];
  /**
   * Simulate at most this many guest clusters per meta-cluster (default: as the topology says).
   * A laptop runs the default topology comfortably with 2-4.
   */
  readonly maxGuestClusters?: number;
  /** Multiplies the per-cluster series (see simulator/fleet.ts). Default 1. */
  readonly seriesMultiplier?: number;
  readonly seed?: string;
  /** Where progress lines go. Default: nowhere. */
  readonly log?: (line: string) => void;
  /** Aborting stops every exporter (the CLI wires SIGINT/SIGTERM to it). */
  readonly signal?: AbortSignal;
}

export interface SimulateHandle {
  readonly exporters: readonly Exporter[];
  /** The exporter of a meta-cluster; throws for an unknown name. */
  exporter(metaCluster: string): Exporter;
  setFault(metaCluster: string, fault: Fault): void;
  stop(): Promise<void>;
  /** Resolves once stop() (or the abort signal) has closed every exporter. */
  readonly stopped: Promise<void>;
}

export async function runSimulate(opts: SimulateOptions): Promise<SimulateHandle> {
  const log = opts.log ?? (() => {});
  const placed = metaClusters(opts.topology).filter(
    (p) => opts.only === undefined || opts.only.includes(p.metaCluster.name),
  );
  if (opts.only !== undefined) {
    const known = new Set(placed.map((p) => p.metaCluster.name));
    const unknown = opts.only.filter((n) => !known.has(n));
    if (unknown.length > 0)
      throw new Error(`only: unknown meta-cluster ${unknown.map((n) => JSON.stringify(n)).join(', ')}`);
  }
  const exporters: Exporter[] = [];
  let resolveStopped!: () => void;
  const stopped = new Promise<void>((resolve) => (resolveStopped = resolve));
  let stopping: Promise<void> | undefined;
  const stop = (): Promise<void> => {
    stopping ??= Promise.all(exporters.map((e) => e.close())).then(() => resolveStopped());
    return stopping;
  };
  try {
    for (const { metaCluster, region } of placed) {
      const guestClusters = Math.min(
        metaCluster.guestClusters,
        opts.maxGuestClusters ?? Number.POSITIVE_INFINITY,
      );
      const e = await startExporter({
        metaCluster: metaCluster.name,
        guestClusters,
        nodes: metaCluster.nodes,
        seriesMultiplier: opts.seriesMultiplier,
        seed: opts.seed,
        host: opts.host,
        port: opts.ports?.[metaCluster.name] ?? 0,
      });
      exporters.push(e);
      log(
        `simulate: ${metaCluster.name.padEnd(16)} ${region.name.padEnd(16)} ${e.url}/metrics  ${guestClusters} guest clusters, ${e.fleet.seriesCount} series`,
      );
    }
  } catch (err) {
    await stop();
    throw err;
  }
  const byName = (name: string): Exporter => {
    const e = exporters.find((x) => x.metaCluster === name);
    if (e === undefined) throw new Error(`no simulator for meta-cluster ${JSON.stringify(name)}`);
    return e;
  };
  if (exporters[0] !== undefined) {
    log(
      `simulate: inject a fault with  curl -X POST ${exporters[0].url}/-/fault -d '{"apiserverErrorRatio":0.3}'  (heal with '{}')`,
    );
  }
  opts.signal?.addEventListener('abort', () => void stop(), { once: true });
  if (opts.signal?.aborted === true) await stop();
  return {
    exporters,
    exporter: byName,
    setFault: (name, fault) => byName(name).setFault(fault),
    stop,
    stopped,
  };
}
