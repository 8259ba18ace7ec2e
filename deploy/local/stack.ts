/**
 * `fedstack up`: the whole federated stack on this machine, for real. Free loopback ports, a
 * rendered `local` bundle in a temp dir, then tier by tier: simulators, the Alertmanager
 * cluster, one edge Prometheus per meta-cluster, one cascade per big region, the central
 * replicas (and the fedstack service when a startService hook is given). Stops in reverse
 * order, leaves no process and, unless asked, no file.
 */
import { mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  CASCADE_SELF_MATCHERS,
  FILE,
  HEARTBEAT_METRIC,
  JOB,
  LABEL,
  VMAUTH_PASSWORD_ENV,
} from '../../common/conventions.ts';
import { toYaml } from '../../common/serialize.ts';
import { treeFiles } from '../../render/emit.ts';
import { createPlan, type PrometheusTier, type RenderPlan } from '../../render/plan.ts';
import { writeTreeAtomically } from '../../render/write.ts';
import type { Topology } from '../../topology/model.ts';
import { formatPath } from '../../topology/errors.ts';
import { crossCheck } from '../../topology/validate.ts';
import { metaClusters } from '../../topology/model.ts';
import { runSimulate, type SimulateHandle } from '../../simulator/cli.ts';
import type { Fault } from '../../simulator/fleet.ts';
import { fillWebConfig } from '../../sidecar/web-config.ts';
import { LOCAL_SECRET_FILES, securityWarnings } from '../../topology/security.ts';
import {
  BINARY,
  runAlertmanager,
  runPrometheus,
  runVictoriaMetricsBinary,
  type RunningServer,
} from './binaries.ts';
import { vmalertArgs, vmauthArgs, victoriaMetricsArgs } from '../../common/vmflags.ts';
import { httpGet, type ClientCredentials } from './http.ts';
import { externalDestinations, localizeTopology, type LocalPorts } from './localize.ts';
import { ExitedError, freePort, waitFor } from './process.ts';
import { amAlerts, amPeers, promHeadSeries, promQuery, promTargets } from './promapi.ts';
import { writeLocalSecrets, type LocalSecretPaths, type LocalSecrets } from './secrets.ts';
import { startStandIns, throwawayReceiverValues, type Delivery, type StandIns } from './stand-ins/index.ts';
import { parseDuration } from '../../common/duration.ts';

/**
 * `central` is a Prometheus replica, or with the victoriametrics backend a vmalert replica;
 * `victoriametrics` the single-node victoria-metrics (and `vmauth` in front of it when the
 * cascades authenticate).
 */
export type ComponentKind = 'edge' | 'cascade' | 'central' | 'alertmanager' | 'victoriametrics' | 'vmauth';

/** The filled web config each protected Prometheus reads, next to the rendered template. */
export const LIVE_WEB_CONFIG = 'web-config.live.yml';

export interface ServiceContext {
  /** The localized topology (loopback endpoints, serviceUrl pointing at `port`). */
  readonly topology: Topology;
  /** The same topology as a file (for a service that loads and watches its topology file). */
  readonly topologyFile: string;
  /** The local profile's render plan of `topology`. */
  readonly plan: RenderPlan;
  /** Where the rendered tree is written (edge/, cascade/, central/, alerting/ ...). */
  readonly bundleDir: string;
  /** The port the service must listen on (127.0.0.1), as global.serviceUrl says. */
  readonly port: number;
  /** The service's token files and the receivers' Secrets (the bridge's secrets dir). */
  readonly secrets: LocalSecretPaths;
  readonly log: (line: string) => void;
}

export interface LocalStackOptions {
  readonly topology: Topology;
  /** Root for configs and data. Default: a fresh temp dir, removed on stop unless `keep`. A given dir is never removed. */
  readonly dataDir?: string;
  readonly keep?: boolean;
  /** Replace every tier's scrape and evaluation interval (tests use "1s"). */
  readonly intervals?: { readonly scrape: string; readonly evaluation: string };
  /**
   * Start a fleet simulator per meta-cluster (default, with at most 3 guest clusters each),
   * or false to scrape only the topology's extraScrapeTargets.
   */
  readonly simulate?:
    | false
    | { readonly maxGuestClusters?: number; readonly seriesMultiplier?: number; readonly seed?: string };
  /** alertmanager.yml text instead of the rendered alerting/alertmanager.yml (tests). */
  readonly alertmanagerConfig?: string;
  /** Scrape extraScrapeTargets that are not on loopback too (default: they are left out, and said so). */
  readonly keepRemoteTargets?: boolean;
  /** --cluster.peer-timeout of the Alertmanagers. Default 3s (upstream 15s): faster failover on loopback. */
  readonly alertmanagerPeerTimeout?: string;
  /** Starts the fedstack service (server/ owns it); the stack stops it first on the way down. */
  readonly startService?: (ctx: ServiceContext) => Promise<{ readonly url?: string; stop(): Promise<void> }>;
  /** Wait until central holds federated data before printing the summary. Default true. */
  readonly waitForData?: boolean;
  /** Progress and summary lines. Default: nowhere. */
  readonly log?: (line: string) => void;
  /** Aborting stops the stack (the CLI wires SIGINT/SIGTERM here). */
  readonly signal?: AbortSignal;
}

export interface StackUrls {
  readonly edges: Readonly<Record<string, string>>;
  readonly cascades: Readonly<Record<string, string>>;
  readonly centrals: Readonly<Record<string, string>>;
  readonly alertmanagers: Readonly<Record<string, string>>;
  /** backend victoriametrics: the single node's query API (where global views read). */
  readonly victoriaMetrics?: string;
  /** Simulator base URLs by meta-cluster (GET /metrics, POST /-/fault). */
  readonly simulators: Readonly<Record<string, string>>;
  readonly service?: string;
}

export interface ComponentStatus {
  readonly kind: ComponentKind;
  readonly name: string;
  readonly url: string;
  readonly running: boolean;
  /** Head series (Prometheus) or undefined. */
  readonly series?: number;
  readonly targetsUp?: number;
  readonly targets?: number;
  /** Alertmanager: members it sees. */
  readonly peers?: number;
}

export interface StackSummary {
  readonly components: readonly ComponentStatus[];
  /** Alert name → number of active alerts, as the first live Alertmanager holds them. */
  readonly firingAlerts: Readonly<Record<string, number>>;
}

export interface LocalStack {
  readonly topology: Topology;
  /** Root dir: topology.yaml (the localized topology), config/ (the rendered bundle, secrets/ in it), data/ (TSDBs, logs), mail/. */
  readonly dir: string;
  readonly urls: StackUrls;
  /** The throwaway secrets: their paths, how to reach an edge or cascade now, rotation. */
  readonly secrets: LocalSecrets;
  /** The DingTalk, SMS and SMTP stand-ins every notification goes to. */
  readonly standIns: Pick<StandIns, 'endpoints' | 'deliveries' | 'problems' | 'dingtalkOutage'>;
  stopEdge(metaCluster: string): Promise<void>;
  stopCascade(bigRegion: string): Promise<void>;
  stopCentral(replica: string): Promise<void>;
  stopAlertmanager(replica: string): Promise<void>;
  /** backend victoriametrics: stops the single node (its data stays for a restart). */
  stopVictoriaMetrics(): Promise<void>;
  /** Starts a stopped component again, same port and data. */
  restart(kind: ComponentKind, name: string): Promise<void>;
  /** Injects a fault at a meta-cluster's simulator (`{}` heals). */
  setFault(metaCluster: string, fault: Fault): void;
  /** PIDs of the processes running now (tests check none survive stop()). */
  pids(): number[];
  summary(): Promise<StackSummary>;
  stop(): Promise<void>;
  /** Resolves once the stack has stopped (stop() or the abort signal). */
  readonly stopped: Promise<void>;
}

interface Component {
  readonly kind: ComponentKind;
  readonly name: string;
  readonly url: string;
  /** Served behind the federation web config (edges, cascades): asked with the stack's credentials. */
  readonly protected: boolean;
  readonly start: () => Promise<RunningServer>;
  server?: RunningServer;
}

/** Starts at most `limit` at a time: a dozen Prometheus starting at once starve 2 cores. */
async function inBatches<T>(
  items: readonly T[],
  limit: number,
  fn: (item: T) => Promise<void>,
): Promise<void> {
  for (let i = 0; i < items.length; i += limit) await Promise.all(items.slice(i, i + limit).map(fn));
}

export async function startLocalStack(opts: LocalStackOptions): Promise<LocalStack> {
  const log = opts.log ?? (() => {});
  const dir = opts.dataDir ?? mkdtempSync(join(tmpdir(), 'fedstack-up-'));
  const removeDir = opts.dataDir === undefined && opts.keep !== true;
  const configDir = join(dir, 'config');
  const components: Component[] = [];
  let sims: SimulateHandle | undefined;
  let standIns: StandIns | undefined;
  let housekeeping: NodeJS.Timeout | undefined;
  let service: { url?: string; stop(): Promise<void> } | undefined;
  const t0 = Date.now();
  const elapsed = () => `${((Date.now() - t0) / 1000).toFixed(1)}s`;

  let resolveStopped!: () => void;
  const stopped = new Promise<void>((resolve) => (resolveStopped = resolve));
  let stopping: Promise<void> | undefined;
  const stop = (): Promise<void> => {
    stopping ??= (async () => {
      log('fedstack up: stopping');
      if (housekeeping !== undefined) clearInterval(housekeeping);
      await service?.stop().catch((e: unknown) => log(`service: stop failed: ${(e as Error).message}`));
      for (const kind of [
        'central',
        'cascade',
        'edge',
        'vmauth',
        'victoriametrics',
        'alertmanager',
      ] as const) {
        await Promise.all(components.filter((c) => c.kind === kind).map((c) => c.server?.stop()));
      }
      await sims?.stop();
      await standIns?.close();
      if (removeDir) rmSync(dir, { recursive: true, force: true });
      else log(`fedstack up: configs and data kept in ${dir}`);
      log('fedstack up: stopped');
      resolveStopped();
    })();
    return stopping;
  };
  const checkAbort = () => {
    if (opts.signal?.aborted === true) throw new Error('fedstack up: interrupted while starting');
  };

  try {
    // 1. Simulators first: their addresses go into the edges' scrape configs.
    if (opts.simulate !== false) {
      const s = opts.simulate ?? {};
      sims = await runSimulate({
        topology: opts.topology,
        maxGuestClusters: s.maxGuestClusters ?? 3,
        seriesMultiplier: s.seriesMultiplier,
        seed: s.seed,
      });
      const series = sims.exporters.reduce((n, e) => n + e.fleet.seriesCount, 0);
      log(`fedstack up: ${sims.exporters.length} fleet simulators serving ${series} series (${elapsed()})`);
    }

    // 2. The stand-ins of the outside world: every notification stays on this machine.
    const receiverValues = throwawayReceiverValues(opts.topology);
    standIns = await startStandIns(opts.topology, receiverValues, join(dir, 'mail'));

    // 3. Ports, the local topology, the bundle, its secrets.
    const ports: LocalPorts = {
      edges: await portsFor(metaClusters(opts.topology).map((p) => p.metaCluster.name)),
      cascades: await portsFor(opts.topology.bigRegions.map((b) => b.name)),
      centrals: await portsFor(opts.topology.central.replicas.map((r) => r.name)),
      alertmanagers: Object.fromEntries(
        await Promise.all(
          opts.topology.alertmanager.replicas.map(
            async (r) => [r.name, { web: await freePort(), cluster: await freePort() }] as const,
          ),
        ),
      ),
      service: opts.startService === undefined ? undefined : await freePort(),
      ...(opts.topology.central.backend === 'victoriametrics'
        ? { victoriaMetrics: await freePort(), victoriaMetricsQuery: await freePort() }
        : {}),
    };
    const topology = localizeTopology(opts.topology, {
      ports,
      simulators:
        sims === undefined
          ? undefined
          : Object.fromEntries(sims.exporters.map((e) => [e.metaCluster, e.target])),
      intervals: opts.intervals,
      integrations: standIns.endpoints,
      remoteTargets: opts.keepRemoteTargets === true ? 'keep' : 'drop',
      onDrop: (mc, job, target) =>
        log(
          `fedstack up: ${mc}: not scraping ${job} target ${target} (not on loopback; keepRemoteTargets scrapes it)`,
        ),
    });
    const issues = crossCheck(topology, { profile: 'local' });
    if (issues.length > 0) {
      throw new Error(
        `fedstack up: the local topology is invalid:\n${issues.map((i) => `  ${formatPath(i.path)}: ${i.message}`).join('\n')}`,
      );
    }
    const plan = createPlan(topology, 'local');
    const written = await writeTreeAtomically(treeFiles(plan), configDir);
    const topologyFile = join(dir, 'topology.yaml');
    writeFileSync(topologyFile, toYaml(topology));
    const amConfigFile = join(configDir, 'alerting', FILE.alertmanager);
    if (opts.alertmanagerConfig !== undefined) {
      mkdirSync(join(configDir, 'alerting'), { recursive: true });
      writeFileSync(amConfigFile, opts.alertmanagerConfig);
    }
    log(`fedstack up: rendered ${written.files} files (local profile) into ${configDir}`);
    for (const w of securityWarnings(topology.security))
      log(`fedstack up: warning: ${formatPath(w.path)}: ${w.message}`);
    const secrets = writeLocalSecrets({ root: configDir, topology, receiverValues });
    log(
      secrets.federation === undefined
        ? 'fedstack up: federation over plain HTTP (security.federation.insecure)'
        : `fedstack up: throwaway CA, certificates, federation password and tokens (0600) in ${join(configDir, 'secrets')}`,
    );
    // Refuse to run anything that would send to another machine (a notification, a webhook).
    const outside = externalDestinations(topology, readFileSync(amConfigFile, 'utf8'));
    if (outside.length > 0)
      throw new Error(
        `fedstack up: refusing to start, the stack would reach beyond loopback:\n  ${outside.join('\n  ')}`,
      );

    // The sidecar's job in a pod: fill the password hash into each protected Prometheus' web
    // config, again whenever the hash file changes (a rotation), with the sidecar's own code.
    const webConfigs: { template: string; live: string; text?: string }[] = [];
    const refreshWebConfigs = () => {
      for (const w of webConfigs) {
        let text: string;
        try {
          text = fillWebConfig(readFileSync(w.template, 'utf8'), secrets.paths.passwordHash);
        } catch (e) {
          log(`fedstack up: ${w.template}: ${(e as Error).message}`);
          continue;
        }
        if (text === w.text) continue;
        writeFileSync(`${w.live}.tmp`, text, { mode: 0o600 });
        renameSync(`${w.live}.tmp`, w.live);
        w.text = text;
      }
    };

    // 4. Components, each with how to (re)start it.
    const scheme: 'http' | 'https' = topology.security?.federation.tls !== undefined ? 'https' : 'http';
    const dataDir = (kind: string, name: string) => join(dir, 'data', kind, name);
    const prometheus = (kind: ComponentKind, name: string, endpoint: string): Component => {
      const cfgDir = join(configDir, kind, name);
      const webConfig =
        plan.webConfigFor(kind as PrometheusTier) === undefined
          ? undefined
          : {
              template: join(cfgDir, FILE.webConfig),
              // Next to the rendered one: its relative paths resolve the same.
              live: join(cfgDir, LIVE_WEB_CONFIG),
            };
      if (webConfig !== undefined) webConfigs.push(webConfig);
      return {
        kind,
        name,
        url: `${webConfig === undefined ? 'http' : scheme}://${endpoint}`,
        protected: webConfig !== undefined,
        start: () =>
          runPrometheus({
            name: `${kind} ${name}`,
            configFile: join(cfgDir, FILE.prometheus),
            dataDir: dataDir(kind, name),
            listen: endpoint,
            // Credentials read at each start: a restart after a rotation uses the new ones.
            protection: webConfig && { scheme, credentials: secrets.credentials() },
            extraArgs: [
              ...(webConfig !== undefined ? [`--web.config.file=${webConfig.live}`] : []),
              // Alertmanagers are discovered on a 5 s tick, so the first alerts of a fresh central
              // find none and would wait a minute (the default resend delay) to be sent again.
              ...(kind === 'central'
                ? [`--rules.alert.resend-delay=${topology.global.central.evaluationInterval}`]
                : []),
            ],
            logFile: join(dir, 'data', `${kind}-${name}.log`),
          }),
      };
    };
    for (const r of topology.alertmanager.replicas) {
      const others = topology.alertmanager.replicas
        .filter((o) => o.name !== r.name)
        .map((o) => o.clusterEndpoint!);
      components.push({
        kind: 'alertmanager',
        name: r.name,
        url: `http://${r.endpoint!}`,
        protected: false,
        start: () =>
          runAlertmanager({
            name: `alertmanager ${r.name}`,
            // Alertmanager 0.25 resolves smtp_auth_password_file against its working directory,
            // http_config files against the config's: alerting/ makes both the local profile's.
            cwd: join(configDir, 'alerting'),
            configFile: amConfigFile,
            dataDir: dataDir('alertmanager', r.name),
            listen: r.endpoint!,
            clusterListen: r.clusterEndpoint!,
            peers: others,
            peerTimeout: opts.alertmanagerPeerTimeout ?? '3s',
            settleTimeout: '2s',
            logFile: join(dir, 'data', `alertmanager-${r.name}.log`),
          }),
      });
    }
    for (const p of metaClusters(topology))
      components.push(prometheus('edge', p.metaCluster.name, p.metaCluster.endpoint));
    for (const b of topology.bigRegions) components.push(prometheus('cascade', b.name, b.cascade.endpoint));
    const vm = plan.victoriaMetrics();
    if (vm === undefined) {
      for (const r of topology.central.replicas) components.push(prometheus('central', r.name, r.endpoint!));
    } else {
      components.push(
        ...victoriaMetricsComponents(plan, configDir, dataDir, join(dir, 'data'), {
          scheme,
          credentials: () => secrets.credentials(),
        }),
      );
    }
    mkdirSync(join(dir, 'data'), { recursive: true });
    refreshWebConfigs();

    // 5. Tier by tier, bottom up, so each tier finds the one below already answering.
    const tierNames: Record<ComponentKind, string> = {
      alertmanager: 'Alertmanagers (one gossip cluster)',
      victoriametrics: 'victoria-metrics (single node)',
      vmauth: "vmauth (the cascades' authenticated write entry)",
      edge: 'edges',
      cascade: 'cascades',
      central: vm === undefined ? 'central replicas' : 'vmalert replicas (central)',
    };
    // VictoriaMetrics before the cascades, so their remote_write finds it answering.
    for (const kind of ['alertmanager', 'victoriametrics', 'vmauth', 'edge', 'cascade', 'central'] as const) {
      checkAbort();
      const tier = components.filter((c) => c.kind === kind);
      if (tier.length === 0) continue;
      await inBatches(tier, 4, async (c) => {
        c.server = await c.start();
      });
      log(`fedstack up: ${tier.length} ${tierNames[kind]} ready (${elapsed()})`);
    }
    if (opts.startService !== undefined) {
      checkAbort();
      service = await opts.startService({
        topology,
        topologyFile,
        plan,
        bundleDir: configDir,
        port: ports.service!,
        secrets: secrets.paths,
        log,
      });
      log(
        `fedstack up: fedstack service ready at ${service.url ?? topology.global.serviceUrl} (${elapsed()})`,
      );
    }

    const byKind = (kind: ComponentKind) =>
      Object.fromEntries(components.filter((c) => c.kind === kind).map((c) => [c.name, c.url]));
    const urls: StackUrls = {
      edges: byKind('edge'),
      cascades: byKind('cascade'),
      centrals: byKind('central'),
      alertmanagers: byKind('alertmanager'),
      victoriaMetrics: Object.values(byKind('victoriametrics'))[0],
      simulators: Object.fromEntries((sims?.exporters ?? []).map((e) => [e.metaCluster, e.url])),
      service: service === undefined ? undefined : (service.url ?? topology.global.serviceUrl),
    };
    const find = (kind: ComponentKind, name: string): Component => {
      const c = components.find((x) => x.kind === kind && x.name === name);
      if (c === undefined) throw new Error(`no ${kind} named ${JSON.stringify(name)} in this stack`);
      return c;
    };
    const stopOne = async (kind: ComponentKind, name: string) => {
      await find(kind, name).server?.stop();
      log(`fedstack up: stopped ${kind} ${name}`);
    };

    const stack: LocalStack = {
      topology,
      dir,
      urls,
      secrets,
      standIns,
      stopEdge: (n) => stopOne('edge', n),
      stopCascade: (n) => stopOne('cascade', n),
      stopCentral: (n) => stopOne('central', n),
      stopAlertmanager: (n) => stopOne('alertmanager', n),
      stopVictoriaMetrics: () => stopOne('victoriametrics', VM_SINGLE),
      restart: async (kind, name) => {
        const c = find(kind, name);
        if (c.server?.process.running === true) return;
        c.server = await c.start();
        log(`fedstack up: restarted ${kind} ${name}`);
      },
      setFault: (mc, fault) => {
        if (sims === undefined) throw new Error('this stack runs no simulators (simulate: false)');
        sims.setFault(mc, fault);
      },
      pids: () =>
        components.flatMap((c) => (c.server?.process.running === true ? [c.server.process.pid] : [])),
      summary: () => summarize(components, secrets),
      stop,
      stopped,
    };

    opts.signal?.addEventListener('abort', () => void stop(), { once: true });
    if (opts.signal?.aborted === true) void stop();
    // While the stack runs, every second: the web configs follow the hash file (a rotation),
    // and each notification a stand-in accepted is printed.
    let printed = 0;
    housekeeping = setInterval(() => {
      refreshWebConfigs();
      const d = standIns!.deliveries();
      for (; printed < d.length; printed++)
        log(`fedstack up: notification delivered: ${describeDelivery(d[printed]!)}`);
    }, 1000);
    housekeeping.unref();

    if (opts.waitForData !== false && stopping === undefined) {
      // Three normal federation lags (start-up staggers the tiers), plus Prometheus' 5 s target tick.
      const budget = 3 * plan.facts.lag.normalMs + 15_000;
      log(`fedstack up: waiting for federated data to reach central (up to ${Math.round(budget / 1000)}s)`);
      const reached = await waitForCentralData(urls, budget, () => stopping !== undefined).then(
        () => {
          log(`fedstack up: every edge's data reached every central replica (${elapsed()})`);
          return true;
        },
        (e: unknown) => {
          log(`fedstack up: ${(e as Error).message}`);
          return false;
        },
      );
      if (reached && stopping === undefined)
        log(
          await notificationVerdict({
            topology,
            customConfig: opts.alertmanagerConfig !== undefined,
            standIns,
            alertmanagers: components.filter((c) => c.kind === 'alertmanager'),
            logFile: (c) => join(dir, 'data', `alertmanager-${c.name}.log`),
            stopping: () => stopping !== undefined,
            elapsed,
          }),
        );
    }
    // Interrupted while waiting: the stack is on its way down, `stopped` tells when it is.
    if (stopping === undefined) log(formatSummary(await stack.summary(), urls, topology, secrets));
    return stack;
  } catch (err) {
    await stop();
    throw err;
  }
}

/** The single node's component name. */
const VM_SINGLE = 'single';

/**
 * The backend's processes from the plan (central/victoriametrics.ts, common/vmflags.ts): the
 * single node, vmauth when the cascades authenticate, and a vmalert per central replica. They
 * run in the config dir, where the flags' relative paths (rules, scrape config) point.
 */
function victoriaMetricsComponents(
  plan: RenderPlan,
  configDir: string,
  dataDir: (kind: string, name: string) => string,
  logDir: string,
  /** How the cascades reach vmauth: the federation's scheme and the stack's credentials. */
  federation: { readonly scheme: 'http' | 'https'; credentials(): ClientCredentials | undefined },
): Component[] {
  const vm = plan.victoriaMetrics()!;
  const single = vm.single!;
  const log = (name: string) => join(logDir, `${name}.log`);
  const out: Component[] = [
    {
      kind: 'victoriametrics',
      name: VM_SINGLE,
      url: `http://${single.httpListenAddr}`,
      protected: false,
      start: () =>
        runVictoriaMetricsBinary(
          BINARY.victoriaMetrics,
          single.httpListenAddr,
          victoriaMetricsArgs({
            ...single,
            storageDataPath: dataDir('victoriametrics', VM_SINGLE),
            loggerLevel: 'WARN',
          }),
          { name: 'victoria-metrics', cwd: configDir, logFile: log('victoria-metrics') },
        ),
    },
  ];
  const vmauth = vm.vmauth;
  if (vmauth !== undefined)
    out.push({
      kind: 'vmauth',
      name: 'vmauth',
      url: `${federation.scheme}://${vmauth.httpListenAddr}`,
      protected: true,
      start: () =>
        runVictoriaMetricsBinary(
          BINARY.vmauth,
          vmauth.httpListenAddr,
          vmauthArgs({ ...vmauth, loggerLevel: 'WARN' }),
          {
            name: 'vmauth',
            cwd: configDir,
            // auth.yml names the password by environment variable: the rendered file holds none.
            env: {
              ...process.env,
              [VMAUTH_PASSWORD_ENV]: readFileSync(
                join(configDir, LOCAL_SECRET_FILES.federationPassword),
                'utf8',
              ).trim(),
            },
            protection: { scheme: federation.scheme, credentials: federation.credentials() },
            logFile: log('vmauth'),
          },
        ),
    });
  for (const r of plan.topology.central.replicas) {
    const flags = plan.vmalert(r.name)!.flags;
    out.push({
      kind: 'central',
      name: r.name,
      url: `http://${flags.httpListenAddr}`,
      protected: false,
      start: () =>
        runVictoriaMetricsBinary(
          BINARY.vmalert,
          flags.httpListenAddr,
          vmalertArgs({ ...flags, loggerLevel: 'WARN' }),
          {
            name: `vmalert ${r.name}`,
            cwd: configDir,
            logFile: log(`vmalert-${r.name}`),
          },
        ),
    });
  }
  return out;
}

async function portsFor(names: readonly string[]): Promise<Record<string, number>> {
  const out: Record<string, number> = {};
  for (const n of names) out[n] = await freePort();
  return out;
}

/** Central has data once every replica holds the heartbeat of every edge (it crossed both hops). */
async function waitForCentralData(
  urls: StackUrls,
  timeoutMs: number,
  stopping: () => boolean,
): Promise<void> {
  const start = Date.now();
  const edges = Object.keys(urls.edges).length;
  const notStopping = () => {
    if (stopping()) throw new ExitedError('stopped while waiting for data');
  };
  await waitFor(
    async () => {
      notStopping();
      // With VictoriaMetrics the global views read the single node, not the vmalerts.
      for (const url of urls.victoriaMetrics !== undefined
        ? [urls.victoriaMetrics]
        : Object.values(urls.centrals)) {
        const n = await promQuery(url, `count(count by (${LABEL.metaCluster}) (${HEARTBEAT_METRIC}))`);
        if ((n[0]?.value ?? 0) < edges) return false;
      }
      return true;
    },
    { timeoutMs, intervalMs: 500, what: `the heartbeat of all ${edges} edges at every central replica` },
  );
  // Watchdog always fires: once it is at an Alertmanager, the alerting path works too.
  const am = Object.values(urls.alertmanagers)[0];
  if (am !== undefined) {
    await waitFor(
      async () => {
        notStopping();
        return (await amAlerts(am)).length > 0;
      },
      {
        timeoutMs: Math.max(5000, timeoutMs - (Date.now() - start)),
        intervalMs: 500,
        what: 'the first alert (Watchdog) at the Alertmanagers',
      },
    );
  }
}

function describeDelivery(d: Delivery): string {
  const channel = { dingtalk: 'DingTalk', sms: 'SMS', email: 'email' }[d.channel];
  return `${JSON.stringify(d.what)} by ${channel} to ${d.to} (local stand-in)`;
}

/**
 * Whether alerts reach anyone, said only once it is true: a notification a stand-in accepted.
 * Otherwise the reasons the stack can see: Alertmanager's failed notifications and its last
 * error, and what the stand-ins refused.
 */
async function notificationVerdict(o: {
  topology: Topology;
  customConfig: boolean;
  standIns: StandIns;
  alertmanagers: readonly Component[];
  logFile: (am: Component) => string;
  stopping: () => boolean;
  elapsed: () => string;
}): Promise<string> {
  if (o.customConfig)
    return 'fedstack up: alerts reach Alertmanager (with the alertmanager config given; where it sends them is not checked here)';
  const routing = o.topology.routing;
  if (routing === undefined)
    return 'fedstack up: alerts reach Alertmanager, but the topology has no routing section: they notify nobody';
  // The first group waits group_wait, then the bridge sends at once.
  const budget =
    parseDuration(routing.groupWait) +
    2 * parseDuration(o.topology.global.central.evaluationInterval) +
    20_000;
  // Waits for the first delivery; a notification Alertmanager reports failed ends the wait
  // early unless another one gets through within a few seconds (several receivers may race).
  const running = () => o.alertmanagers.filter((c) => c.server?.process.running === true);
  let failedSince: number | undefined;
  let checkedAt = 0;
  const first = await waitFor(
    async () => {
      if (o.stopping()) throw new ExitedError('stopped');
      const d = o.standIns.deliveries()[0];
      if (d !== undefined) return d;
      if (Date.now() - checkedAt >= 1000) {
        checkedAt = Date.now();
        const failed = await Promise.all(running().map((am) => notificationFailures(am.url).catch(() => '')));
        if (failedSince === undefined && failed.some((f) => f !== '')) failedSince = Date.now();
      }
      if (failedSince !== undefined && Date.now() - failedSince > FAILED_GRACE_MS)
        throw new ExitedError('notifications fail');
      return undefined;
    },
    { timeoutMs: budget, intervalMs: 250, what: 'a delivered notification' },
  ).catch(() => undefined);
  if (first !== undefined)
    return `fedstack up: alerts reach Alertmanager and notifications are delivered: ${describeDelivery(first)} (${o.elapsed()})`;
  if (o.stopping()) return 'fedstack up: stopped before a notification was delivered';
  const reasons: string[] = [];
  for (const am of running()) {
    const failed = await notificationFailures(am.url).catch(() => '');
    if (failed !== '') reasons.push(`alertmanager ${am.name}: failed notifications: ${failed}`);
    const lastError = readFileSync(o.logFile(am), 'utf8')
      .split('\n')
      .filter((l) => l.includes('level=error'))
      .pop();
    if (lastError !== undefined) reasons.push(`alertmanager ${am.name}: ${lastError.slice(0, 400)}`);
  }
  reasons.push(...o.standIns.problems());
  if (reasons.length === 0) reasons.push('no notification was attempted (nothing routed to a receiver yet)');
  return [
    failedSince === undefined
      ? `fedstack up: NO notification was delivered within ${Math.round(budget / 1000)}s: alerts reach nobody yet.`
      : `fedstack up: NO notification was delivered: Alertmanager's notifications fail, alerts reach nobody (${o.elapsed()}).`,
    ...reasons.map((r) => `  ${r}`),
  ].join('\n');
}

/** How long failed notifications may wait for a delivery before up says they fail. */
const FAILED_GRACE_MS = 5000;

/** `webhook: 3, email: 1` from alertmanager_notifications_failed_total, or '' when none failed. */
async function notificationFailures(amUrl: string): Promise<string> {
  const { text } = await httpGet(`${amUrl}/metrics`, undefined);
  return [...text.matchAll(/^alertmanager_notifications_failed_total\{integration="([^"]+)"\} (\d+)/gm)]
    .filter((m) => Number(m[2]) > 0)
    .map((m) => `${m[1]}: ${m[2]}`)
    .join(', ');
}

async function summarize(components: readonly Component[], secrets: LocalSecrets): Promise<StackSummary> {
  const statuses = await Promise.all(
    components.map(async (c): Promise<ComponentStatus> => {
      const running = c.server?.process.running === true;
      const base = { kind: c.kind, name: c.name, url: c.url, running };
      if (!running) return base;
      try {
        if (c.kind === 'alertmanager') return { ...base, peers: (await amPeers(c.url)).length };
        const creds = c.protected ? secrets.credentials() : undefined;
        const [series, targets] = await Promise.all([
          promHeadSeries(c.url, creds),
          promTargets(c.url, creds),
        ]);
        return {
          ...base,
          series,
          targets: targets.length,
          targetsUp: targets.filter((t) => t.health === 'up').length,
        };
      } catch {
        return base;
      }
    }),
  );
  const firingAlerts: Record<string, number> = {};
  for (const am of statuses.filter((s) => s.kind === 'alertmanager' && s.running)) {
    try {
      for (const a of await amAlerts(am.url)) {
        if (a.status.state !== 'active') continue;
        const name = a.labels.alertname ?? '(unnamed)';
        firingAlerts[name] = (firingAlerts[name] ?? 0) + 1;
      }
      break;
    } catch {
      // try the next member
    }
  }
  return { components: statuses, firingAlerts };
}

/**
 * How to reach a protected edge the way a cascade does, and the request that must fail: the
 * password stays in its file (`$(cat ...)`), never in the output.
 */
function federationAccess(urls: StackUrls, secrets: LocalSecrets | undefined): string[] {
  const edge = Object.values(urls.edges)[0];
  const fed = secrets?.federation;
  if (edge === undefined || fed === undefined || !edge.startsWith('https:')) return [];
  const { ca, password } = secrets!.paths;
  const auth = fed.username === undefined ? '' : ` -u "${fed.username}:$(cat ${password})"`;
  return [
    `  an edge, as a cascade scrapes it (TLS + basic auth${fed.serverName ? `, verified as ${fed.serverName}` : ''}):`,
    `    curl --cacert ${ca}${auth} '${edge}/federate?match[]=up'`,
    `    without credentials: curl --cacert ${ca} -o /dev/null -w '%{http_code}\\n' '${edge}/federate'  → 401`,
  ];
}

/** The table `fedstack up` prints once the stack is up: where to look and what to query. */
export function formatSummary(
  summary: StackSummary,
  urls: StackUrls,
  topology: Topology,
  secrets?: LocalSecrets,
): string {
  const rows = summary.components.map((c) => {
    const detail =
      c.kind === 'alertmanager'
        ? `${c.peers ?? '?'} peers`
        : `${String(c.series ?? '?').padStart(7)} series  ${c.targetsUp ?? '?'}/${c.targets ?? '?'} targets up`;
    return `  ${c.kind.padEnd(16)}${c.name.padEnd(18)}${c.url.padEnd(26)}${c.running ? detail : 'stopped'}`;
  });
  const alerts = Object.entries(summary.firingAlerts)
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([name, n]) => `${name} ×${n}`)
    .join(', ');
  const vm = urls.victoriaMetrics;
  const central = vm ?? Object.values(urls.centrals)[0];
  const sim = Object.entries(urls.simulators)[0];
  const q = (expr: string) =>
    vm === undefined
      ? `${central}/graph?g0.expr=${encodeURIComponent(expr)}&g0.tab=1`
      : `${vm}/vmui/#/?g0.expr=${encodeURIComponent(expr)}`;
  const lines = [
    '',
    `fedstack up: "${topology.metadata.name}" is running`,
    ...rows,
    `  firing alerts: ${alerts === '' ? 'none' : alerts}`,
    '',
    'Look at:',
    vm === undefined
      ? `  central targets     ${central}/targets  (one ${JOB.federateCascade} target per big region)`
      : `  cascades writing    ${q(`up{${CASCADE_SELF_MATCHERS}}`)}  (each cascade's remote_write)`,
    `  regional error rate ${q('region:apiserver_request_errors:ratio_rate5m')}`,
    `  edges up per region ${q(`up{job="${JOB.federateEdge}"}`)}`,
    `  federation lag      ${q(`time() - ${HEARTBEAT_METRIC}`)}`,
    `  alerts              ${Object.values(urls.alertmanagers)[0]}/#/alerts`,
    ...(sim === undefined
      ? []
      : [
          `  inject a fault      curl -X POST ${sim[1]}/-/fault -d '{"apiserverErrorRatio":0.3}'   (heal: -d '{}')`,
        ]),
    ...(urls.service === undefined
      ? []
      : [
          `  operator console    ${urls.service}/  (the fleet, rollouts, pages, explain, graph)`,
          `  fedstack service    ${urls.service}  (/v1/config and /v1/sd: -H "Authorization: Bearer $(cat ${secrets?.paths.readToken ?? 'READ-TOKEN-FILE'})")`,
        ]),
    ...federationAccess(urls, secrets),
    'Ctrl-C stops everything.',
  ];
  return lines.join('\n');
}
