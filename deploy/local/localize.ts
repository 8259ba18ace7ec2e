/**
 * Turns any topology into one that runs on this machine: every endpoint becomes a loopback
 * address with a port of our choosing, and each meta-cluster's edge scrapes its simulator.
 * Pure: ports and simulator addresses come in, a new frozen Topology goes out, and the
 * `local` profile of renderBundle does the rest.
 */
import YAML from 'yaml';
import { parseDuration } from '../../common/duration.ts';
import { DINGTALK_SEND_URL } from '../../alerting/bridge/dingtalk.ts';
import { deepFreeze, type ExtraScrapeTarget, type Topology } from '../../topology/model.ts';
import type { Routing } from '../../topology/routing.ts';
import { DEFAULT_FEDERATION_SECURITY, securitySchema } from '../../topology/security.ts';

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
  /** backend victoriametrics: where the cascades write (the single node, or vmauth in front of it). */
  readonly victoriaMetrics?: number;
  /** backend victoriametrics behind vmauth (federation basic auth): the single node itself. */
  readonly victoriaMetricsQuery?: number;
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
  /**
   * The local stand-ins every notification goes to instead (deploy/local/stand-ins): DingTalk
   * robots, the SMS endpoint (plain HTTP) and the SMTP relay (no STARTTLS) of the routing.
   */
  readonly integrations?: {
    readonly dingtalkUrl?: string;
    readonly smsEndpoint?: string;
    readonly smarthost?: string;
  };
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

/**
 * Every place the stack would send something that is not on loopback: the alertmanager.yml it
 * runs (webhook URLs, SMTP smarthosts, whatever its receivers name) and the bridge's routing
 * (DingTalk robots, the SMS endpoint). The local stack refuses to start unless this is empty.
 */
export function externalDestinations(topo: Pick<Topology, 'routing'>, alertmanagerYaml: string): string[] {
  const out: string[] = [];
  const check = (what: string, target: string) => {
    if (!isLoopbackTarget(target)) out.push(`${what}: ${target}`);
  };
  const walk = (v: unknown, path: string): void => {
    if (Array.isArray(v)) v.forEach((x, i) => walk(x, `${path}[${i}]`));
    else if (v !== null && typeof v === 'object')
      for (const [k, x] of Object.entries(v)) walk(x, path === '' ? k : `${path}.${k}`);
    else if (typeof v === 'string') {
      if (/^[a-z][a-z0-9+.-]*:\/\//i.test(v)) check(`alertmanager.yml ${path}`, hostPort(v));
      else if (/smarthost$/.test(path)) check(`alertmanager.yml ${path}`, v);
    }
  };
  walk(YAML.parse(alertmanagerYaml), '');
  const routing = topo.routing as Routing | undefined;
  for (const team of routing?.teams ?? [])
    for (const r of team.receivers) {
      for (const robot of r.dingtalk?.robots ?? [])
        check(`receiver ${r.name} DingTalk robot`, hostPort(robot.url ?? DINGTALK_SEND_URL));
      if (r.sms)
        check(`receiver ${r.name} SMS endpoint`, r.sms.endpoint ?? 'dysmsapi.aliyuncs.com (the SDK default)');
    }
  return out;
}

/** host:port of a URL (templated URLs fall back to the text, which then counts as remote). */
function hostPort(url: string): string {
  try {
    const u = new URL(url);
    return `${u.hostname}:${u.port || (u.protocol === 'https:' ? '443' : '80')}`;
  } catch {
    return url;
  }
}

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
  // The secure path, exactly as production runs it: a topology that names no federation
  // security gets fedstack's suggested section; only an explicit opt-out runs plain HTTP.
  // (Through the schema, so the section carries its defaults as a parsed topology would.)
  if (t.security === undefined)
    t.security = securitySchema.parse({ federation: DEFAULT_FEDERATION_SECURITY });
  if (t.routing !== undefined) localizeRouting(t.routing as DeepMutable<Routing>, opts);
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
  const vm = t.central.victoriaMetrics;
  if (t.central.backend === 'victoriametrics' && vm !== undefined) {
    vm.endpoint = at(opts.ports.victoriaMetrics, 'victoria-metrics');
    // vmauth holds `endpoint` when the cascades authenticate; the single node then listens apart.
    vm.queryEndpoint =
      t.security?.federation.basicAuth !== undefined
        ? at(opts.ports.victoriaMetricsQuery, 'victoria-metrics behind vmauth')
        : undefined;
  }
  for (const r of t.alertmanager.replicas) {
    const p = opts.ports.alertmanagers[r.name];
    r.endpoint = at(p?.web, `alertmanager "${r.name}"`);
    r.clusterEndpoint = at(p?.cluster, `alertmanager "${r.name}" gossip`);
  }
  return deepFreeze(t as Topology);
}

/**
 * Points every notification at the local stand-ins, and with shortened intervals also the
 * first notification of a group (group_wait) at most one evaluation interval away.
 */
function localizeRouting(routing: DeepMutable<Routing>, opts: LocalizeOptions): void {
  const i = opts.integrations;
  if (i?.smarthost !== undefined && routing.email !== undefined) {
    routing.email.smarthost = i.smarthost;
    // Plain SMTP on loopback (Go's net/smtp sends credentials unencrypted only to localhost).
    routing.email.requireTls = false;
  }
  for (const team of routing.teams)
    for (const r of team.receivers) {
      if (i?.dingtalkUrl !== undefined)
        for (const robot of r.dingtalk?.robots ?? []) robot.url = i.dingtalkUrl;
      if (i?.smsEndpoint !== undefined && r.sms !== undefined) {
        r.sms.endpoint = i.smsEndpoint;
        r.sms.protocol = 'http';
      }
    }
  if (opts.intervals !== undefined) {
    const cap = parseDuration(opts.intervals.evaluation);
    const shorten = (d: string | undefined) =>
      d !== undefined && parseDuration(d) > cap ? opts.intervals!.evaluation : d;
    routing.groupWait = shorten(routing.groupWait)!;
    for (const route of routing.routes) route.groupWait = shorten(route.groupWait);
  }
}
