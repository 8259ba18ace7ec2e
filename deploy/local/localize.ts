/**
 * Turns any topology into one that runs on this machine: every endpoint becomes a loopback
 * address with a port of our choosing, and each meta-cluster's edge scrapes its simulator.
 * Pure: ports and simulator addresses come in, a new frozen Topology goes out, and the
 * `local` profile of renderBundle does the rest.
 */
import { deepFreeze, type ExtraScrapeTarget, type Topology } from '../../topology/model.ts';

/** Scrape job of the fleet simulator at each edge. */
export const SIMULATOR_JOB = 'fleet-simulator';

export interface LocalPorts {
  /** Edge Prometheus port by meta-cluster name. */
  readonly edges: Readonly<Record<string, number>>;
  /** Cascade Prometheus port by big-region name. */
  readonly cascades: Readonly<Record<string, number>>;
  /** Central Prometheus port by replica name. */
  readonly centrals: Readonly<Record<string, number>>;
  /** Alertmanager HTTP and gossip ports by replica name. */
  readonly alertmanagers: Readonly<Record<string, { readonly web: number; readonly cluster: number }>>;
  /** The fedstack service, when the stack runs one. */
  readonly service?: number;
}

export interface LocalizeOptions {
  readonly ports: LocalPorts;
  /** host:port of the simulator of each meta-cluster; a meta-cluster without one keeps only its extraScrapeTargets. */
  readonly simulators?: Readonly<Record<string, string>>;
  /** Replace every tier's scrape and evaluation interval (e.g. "1s" for tests). */
  readonly intervals?: { readonly scrape: string; readonly evaluation: string };
  /**
   * Extra scrape targets that are not on loopback (the example topology's 10.x exporters):
   * "drop" (default) keeps a local stack from reaching into the network; "keep" scrapes them.
   */
  readonly remoteTargets?: 'drop' | 'keep';
  /** Told about each dropped remote target. */
  readonly onDrop?: (metaCluster: string, job: string, target: string) => void;
  readonly host?: string;
}

/** 127.0.0.0/8, localhost and [::1]: what a local stack may scrape without asking. */
export function isLoopbackTarget(target: string): boolean {
  const host = target.replace(/:\d+$/, '');
  return host === 'localhost' || host === '[::1]' || /^127\.\d+\.\d+\.\d+$/.test(host);
}

type DeepMutable<T> = T extends readonly (infer U)[]
  ? DeepMutable<U>[]
  : T extends object
    ? { -readonly [K in keyof T]: DeepMutable<T[K]> }
    : T;

export function localizeTopology(topo: Topology, opts: LocalizeOptions): Topology {
  const host = opts.host ?? '127.0.0.1';
  const at = (port: number | undefined, what: string): string => {
    if (port === undefined) throw new Error(`localize: no port for ${what}`);
    return `${host}:${port}`;
  };
  const t = structuredClone(topo) as DeepMutable<Topology>;
  if (opts.intervals !== undefined) {
    for (const tier of [t.global.edge, t.global.cascade, t.global.central]) {
      tier.scrapeInterval = opts.intervals.scrape;
      tier.evaluationInterval = opts.intervals.evaluation;
      // A configured timeout may exceed the new interval; the default (80%) fits any interval.
      tier.scrapeTimeout = undefined;
    }
  }
  if (opts.ports.service !== undefined)
    t.global.serviceUrl = `http://${at(opts.ports.service, 'the service')}`;
  for (const bigRegion of t.bigRegions) {
    bigRegion.cascade.endpoint = at(opts.ports.cascades[bigRegion.name], `cascade "${bigRegion.name}"`);
    for (const region of bigRegion.regions) {
      for (const mc of region.metaClusters) {
        mc.endpoint = at(opts.ports.edges[mc.name], `edge "${mc.name}"`);
        const sim = opts.simulators?.[mc.name];
        if (sim !== undefined) {
          const job: DeepMutable<ExtraScrapeTarget> = {
            job: SIMULATOR_JOB,
            targets: [sim],
            labels: {},
            metricsPath: '/metrics',
            scheme: 'http',
          };
          mc.extraScrapeTargets = [job, ...mc.extraScrapeTargets.filter((x) => x.job !== SIMULATOR_JOB)];
        }
        if (opts.remoteTargets !== 'keep') {
          for (const x of mc.extraScrapeTargets) {
            for (const target of x.targets.filter((tg) => !isLoopbackTarget(tg)))
              opts.onDrop?.(mc.name, x.job, target);
            x.targets = x.targets.filter(isLoopbackTarget);
          }
          mc.extraScrapeTargets = mc.extraScrapeTargets.filter((x) => x.targets.length > 0);
        }
      }
    }
  }
  for (const r of t.central.replicas)
    r.endpoint = at(opts.ports.centrals[r.name], `central replica "${r.name}"`);
  for (const r of t.alertmanager.replicas) {
    const p = opts.ports.alertmanagers[r.name];
    r.endpoint = at(p?.web, `alertmanager "${r.name}"`);
    r.clusterEndpoint = at(p?.cluster, `alertmanager "${r.name}" gossip`);
  }
  return deepFreeze(t as Topology);
}
