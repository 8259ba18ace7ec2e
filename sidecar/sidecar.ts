/**
 * The edge sidecar (`fedstack sidecar`), next to each protected Prometheus:
 * - heartbeats the meta-cluster's LoadBalancer address to the fedstack service, so cascades
 *   discover the edge where it really is;
 * - syncs the mounted config (a ConfigMap) into the directory Prometheus reads, but only after
 *   `promtool check config` passes on a staged copy, then POSTs `/-/reload`. A bad config is
 *   never copied and never reloaded: Prometheus keeps running — and restarts — on the last good
 *   one, because the live directory only ever holds configs that passed;
 * - fills the federation password hash into the web config (see web-config.ts);
 * - exposes its own metrics.
 */
import { execFile } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import {
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { createServer, type Server } from 'node:http';
import { Agent } from 'node:https';
import { isIP, type AddressInfo } from 'node:net';
import { lookup } from 'node:dns/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import axios, { type AxiosInstance } from 'axios';
import pino, { type Logger } from 'pino';
import { Counter, Gauge, Registry, collectDefaultMetrics } from 'prom-client';
import { FILE, SIDECAR_CONFIG_VALID } from '../common/conventions.ts';
import { fillWebConfig } from './web-config.ts';

const run = promisify(execFile);

export interface SidecarOptions {
  /**
   * Heartbeats go out only when serviceUrl, metaCluster, endpoint and tokenFile are all set
   * (edges); cascades and central run the sidecar for the checked config sync alone.
   */
  /** Base URL of the fedstack service, e.g. http://fedstack.fedstack-system.svc:8080. */
  readonly serviceUrl?: string;
  readonly metaCluster?: string;
  /** The LoadBalancer address (host:port) cascades should scrape. */
  readonly endpoint?: string;
  /** Bearer token for heartbeats (a mounted Secret); re-read every time, so rotation works. */
  readonly tokenFile?: string;
  /**
   * `<tier>/<name>` (edge/mc-hz-01, cascade/china, central/central-a): pull the config from the
   * service (GET /v1/config/<tier>/<name>, the revision a rollout assigns this instance) instead
   * of reading configDir, and report the revision applied and how promtool and the reload went
   * in every heartbeat. Needs serviceUrl, tokenFile and readTokenFile.
   */
  readonly instance?: string;
  /** The read token GET /v1/config takes (a mounted Secret), re-read at each pull. */
  readonly readTokenFile?: string;
  /**
   * Files of the live directory that are not the sidecar's: never written, checked or removed
   * (the local stack keeps each Prometheus' web config itself, with paths relative to it).
   */
  readonly keepFiles?: readonly string[];
  /**
   * The mounted config: prometheus.yml, rules.yml and optionally web-config.yml (template).
   * When pulling, only the first start's fallback while the service is out of reach.
   */
  readonly configDir?: string;
  /** Where Prometheus reads its config (--config.file=<liveDir>/prometheus.yml): only good configs land here. */
  readonly liveDir: string;
  /** Prometheus' own URL from inside the pod, e.g. https://localhost:9090. */
  readonly prometheusUrl: string;
  /** How to reach a protected Prometheus for /-/reload: basic auth. */
  readonly prometheusAuth?: {
    readonly username: string;
    readonly passwordFile: string;
  };
  /** ... and TLS (an https prometheusUrl). */
  readonly prometheusTls?: {
    readonly caFile?: string;
    /** Mutual TLS: the client certificate and key to present. */
    readonly certFile?: string;
    readonly keyFile?: string;
    /** In-pod calls go to localhost, which a LoadBalancer certificate rarely names. */
    readonly insecureSkipVerify?: boolean;
  };
  /** The bcrypt hash file that replaces the web config's placeholder. */
  readonly passwordHashFile?: string;
  readonly promtoolPath?: string;
  /** ms between config checks and heartbeats (default 30 s). */
  readonly interval?: number;
  /** Metrics port (0 = random, undefined = no metrics server). */
  readonly metricsPort?: number;
  readonly metricsHost?: string;
  readonly version?: string;
  readonly logger?: Logger;
  /** Sync once without reloading and return (the init container before Prometheus starts). */
  readonly once?: boolean;
  /** Every address of a host name (tests inject it); default: DNS, all A/AAAA records. */
  readonly resolveAll?: (host: string) => Promise<string[]>;
  /** Aborting is close(): the promtool check or heartbeat in flight is cancelled (SIGTERM, SIGINT). */
  readonly signal?: AbortSignal;
}

async function defaultResolveAll(host: string): Promise<string[]> {
  if (isIP(host.replace(/^\[|\]$/g, ''))) return [host.replace(/^\[|\]$/g, '')];
  const found = await lookup(host, { all: true });
  return [...new Set(found.map((a) => a.address))];
}

export type SyncOutcome = 'unchanged' | 'applied' | 'rejected' | 'reload-failed';

export interface RunningSidecar {
  /** http://host:port/metrics, when a metrics port was given. */
  readonly metricsUrl?: string;
  /** Checks the mounted config now (the loop calls this every interval). */
  sync(): Promise<SyncOutcome>;
  /** Sends one heartbeat now; true when the service accepted it. */
  heartbeat(): Promise<boolean>;
  /** Hash of the config in the live directory ("none" before the first good one). */
  appliedHash(): string;
  /** Pulling: the revision (topology hash) whose files are live. */
  liveRevision(): string | undefined;
  readonly registry: Registry;
  close(): Promise<void>;
}

export async function runSidecar(opts: SidecarOptions): Promise<RunningSidecar> {
  const logger = opts.logger ?? pino({ name: 'fedstack-sidecar' });
  const interval = opts.interval ?? 30_000;
  const promtool = opts.promtoolPath ?? 'promtool';
  const version = opts.version ?? '0.1.0';
  const registry = new Registry();
  if (opts.metricsPort !== undefined)
    collectDefaultMetrics({ register: registry, prefix: 'fedstack_sidecar_' });
  const m = sidecarMetrics(registry);
  const http = promHttp(opts);
  mkdirSync(opts.liveDir, { recursive: true });
  // Cancels what is in flight on close, so a stop never waits out a promtool run or an HTTP
  // timeout, and no promtool outlives the sidecar.
  const halt = new AbortController();
  opts.signal?.addEventListener('abort', () => halt.abort(), { once: true });

  // What is live now: on restart, whatever the live dir holds passed a check before.
  const keep = new Set(opts.keepFiles ?? []);
  let applied = existsSync(join(opts.liveDir, FILE.prometheus))
    ? hashFiles(readLive(opts.liveDir, keep))
    : 'none';
  let rejected: string | undefined;
  let busy: Promise<SyncOutcome> | undefined;

  // A live config Prometheus has not loaded yet (its reload failed): retried every sync.
  let reloadPending = false;

  // Pulling: the revision whose files are live (kept beside them, so a restart still knows) and
  // what the last sync of a new revision said, both reported in the heartbeat.
  const revisionFile = join(opts.liveDir, '.fedstack-revision');
  let liveRevision = existsSync(revisionFile) ? readFileSync(revisionFile, 'utf8').trim() : undefined;
  let lastSync: SyncReport | undefined;
  const setLiveRevision = (revision: string | undefined) => {
    if (revision === undefined || revision === liveRevision) return;
    liveRevision = revision;
    writeFileSync(revisionFile, `${revision}\n`);
  };
  const pull = opts.instance === undefined ? undefined : pullSource(opts, halt.signal);
  const readConfig = async (): Promise<{ files: Map<string, string>; revision?: string }> => {
    if (pull !== undefined) {
      try {
        const got = await pull();
        for (const name of keep) got.files.delete(name);
        return got;
      } catch (e) {
        // A first start while the service is out of reach: the mounted config (the manifests
        // still mount the ConfigMap of the last apply) lets Prometheus start; the pull takes
        // over once the service answers. Later failures keep the live config (doSync).
        if (applied !== 'none' || opts.configDir === undefined) throw e;
        logger.warn(
          { err: describeHttpError(e) },
          'cannot pull the config from the service and nothing is live yet: starting from the mounted config',
        );
        return { files: readMounted(opts.configDir, opts.passwordHashFile) };
      }
    }
    if (opts.configDir === undefined) throw new Error('no --config-dir and no --instance to pull');
    return { files: readMounted(opts.configDir, opts.passwordHashFile) };
  };

  const reloadPrometheus = async (hash: string, revision?: string): Promise<SyncOutcome> => {
    try {
      await http.post('/-/reload');
      reloadPending = false;
      if (revision !== undefined) lastSync = { revision, promtool: 'ok', reload: 'ok' };
      m.syncs.inc({ outcome: 'applied' });
      m.lastReload.set(Date.now() / 1000);
      logger.info({ hash }, 'config applied and Prometheus reloaded');
      return 'applied';
    } catch (e) {
      reloadPending = true;
      if (revision !== undefined)
        lastSync = { revision, promtool: 'ok', reload: 'failed', problem: describeHttpError(e) };
      m.syncs.inc({ outcome: 'reload-failed' });
      logger.error({ hash, err: describeHttpError(e) }, 'Prometheus reload failed, will retry');
      return 'reload-failed';
    }
  };

  const doSync = async (reload: boolean): Promise<SyncOutcome> => {
    let files: Map<string, string>;
    let revision: string | undefined;
    try {
      ({ files, revision } = await readConfig());
    } catch (e) {
      if (halt.signal.aborted) return 'unchanged';
      // Not reaching the service is no verdict on the config: keep the live one, say nothing.
      if (pull !== undefined) {
        logger.warn({ err: describeHttpError(e) }, 'cannot pull the config from the service, keeping the live config');
        return 'unchanged';
      }
      m.syncs.inc({ outcome: 'rejected' });
      m.valid.set(0);
      logger.warn({ err: (e as Error).message }, 'mounted config unreadable, keeping the live config');
      return 'rejected';
    }
    const hash = hashFiles(files);
    if (hash === applied) {
      // Back to (or still on) the live config, e.g. a bad edit reverted, or a revision that
      // changes nothing here: it is live as it stands.
      rejected = undefined;
      m.valid.set(1);
      if (revision !== undefined && revision !== liveRevision) {
        setLiveRevision(revision);
        lastSync = { revision, promtool: 'ok', reload: 'not-needed' };
      }
      return reload && reloadPending ? reloadPrometheus(hash, revision) : 'unchanged';
    }
    if (hash === rejected) return 'unchanged';

    const staging = join(opts.liveDir, `.staging-${randomBytes(4).toString('hex')}`);
    try {
      mkdirSync(staging, { mode: 0o700 });
      for (const [name, text] of files) writeFileSync(join(staging, name), text, { mode: 0o600 });
      const problem = await check(promtool, staging, files, halt.signal);
      // Stopped mid-check: the config was not judged, so it is neither applied nor rejected.
      if (halt.signal.aborted) return 'unchanged';
      if (problem !== undefined) {
        rejected = hash;
        if (revision !== undefined) lastSync = { revision, promtool: 'failed', reload: 'not-needed', problem };
        m.syncs.inc({ outcome: 'rejected' });
        m.valid.set(0);
        logger.warn({ hash, problem }, 'new config failed promtool check, keeping the last good one');
        return 'rejected';
      }
      // One rename per file: each is atomic, and Prometheus reads only on reload (below).
      for (const name of files.keys()) renameSync(join(staging, name), join(opts.liveDir, name));
      for (const name of liveNames(opts.liveDir, keep))
        if (!files.has(name)) rmSync(join(opts.liveDir, name), { force: true });
    } catch (e) {
      // A disk problem, not a config problem: try again next time.
      m.syncs.inc({ outcome: 'rejected' });
      logger.error({ hash, err: (e as Error).message }, 'could not stage the new config');
      return 'rejected';
    } finally {
      rmSync(staging, { recursive: true, force: true });
    }
    applied = hash;
    rejected = undefined;
    setLiveRevision(revision);
    m.valid.set(1);
    if (!reload) {
      if (revision !== undefined) lastSync = { revision, promtool: 'ok', reload: 'not-needed' };
      m.syncs.inc({ outcome: 'applied' });
      return 'applied';
    }
    return reloadPrometheus(hash, revision);
  };
  const sync = (reload = true): Promise<SyncOutcome> => {
    // Never two syncs at once: they would share the live directory.
    const next = (busy ?? Promise.resolve<SyncOutcome>('unchanged'))
      .catch(() => 'unchanged' as const)
      .then(() => doSync(reload));
    busy = next;
    return next;
  };

  const { serviceUrl, metaCluster, endpoint, tokenFile } = opts;
  const registers = metaCluster !== undefined && endpoint !== undefined;
  const heartbeats =
    serviceUrl !== undefined && tokenFile !== undefined && (registers || opts.instance !== undefined);
  const resolveAll = opts.resolveAll ?? defaultResolveAll;
  /**
   * The service keeps registrations in memory per replica, so the sidecar tells every replica:
   * it resolves the service host (a headless Service yields one address per pod) and posts to
   * each address. True only when every replica accepted.
   */
  const heartbeat = async (): Promise<boolean> => {
    if (!heartbeats) return false;
    let token: string;
    let addresses: string[];
    // An edge registers its endpoint; a pulling cascade or central replica only reports.
    const url = new URL(
      registers
        ? `${serviceUrl.replace(/\/$/, '')}/v1/edges/${encodeURIComponent(metaCluster)}/heartbeat`
        : `${serviceUrl.replace(/\/$/, '')}/v1/instances/${opts.instance!.split('/').map(encodeURIComponent).join('/')}/heartbeat`,
    );
    const body = {
      ...(registers ? { endpoint } : {}),
      version,
      configHash: applied,
      ...(liveRevision === undefined ? {} : { revision: liveRevision }),
      ...(lastSync === undefined ? {} : { sync: lastSync }),
    };
    try {
      token = readFileSync(tokenFile, 'utf8').trim();
      addresses = await resolveAll(url.hostname);
    } catch (e) {
      m.heartbeats.inc({ outcome: 'failed' });
      logger.warn({ err: (e as NodeJS.ErrnoException).code ?? (e as Error).message }, 'heartbeat failed');
      return false;
    }
    const results = await Promise.all(
      addresses.map(async (address) => {
        const target = new URL(url);
        target.hostname = address.includes(':') ? `[${address}]` : address;
        try {
          await axios.post(
            target.toString(),
            body,
            // The original Host, for virtual hosting and TLS names in front of the service.
            {
              headers: { Authorization: `Bearer ${token}`, Host: url.host },
              timeout: 10_000,
              signal: halt.signal,
            },
          );
          m.heartbeats.inc({ outcome: 'ok' });
          return true;
        } catch (e) {
          m.heartbeats.inc({ outcome: 'failed' });
          logger.warn({ address, err: describeHttpError(e) }, 'heartbeat failed');
          return false;
        }
      }),
    );
    const ok = results.length > 0 && results.every(Boolean);
    if (ok) m.lastHeartbeat.set(Date.now() / 1000);
    return ok;
  };

  if (opts.once) {
    const outcome = await sync(false);
    if (outcome === 'rejected' && applied === 'none')
      throw new Error(`${opts.configDir ?? opts.instance}: config failed promtool check and there is no last good config`);
    return {
      sync: () => sync(),
      heartbeat,
      appliedHash: () => applied,
      liveRevision: () => liveRevision,
      registry,
      close: async () => {},
    };
  }

  let server: Server | undefined;
  let metricsUrl: string | undefined;
  if (opts.metricsPort !== undefined) {
    server = createServer((req, res) => {
      if (req.url === '/metrics') {
        registry
          .metrics()
          .then((text) => res.writeHead(200, { 'Content-Type': registry.contentType }).end(text));
      } else if (req.url === '/healthz') {
        res.writeHead(200, { 'Content-Type': 'application/json' }).end('{"status":"ok"}');
      } else {
        res
          .writeHead(404, { 'Content-Type': 'application/json' })
          .end('{"error":"not found","reason":"try /metrics"}');
      }
    });
    await new Promise<void>((resolve) =>
      server!.listen(opts.metricsPort, opts.metricsHost ?? '127.0.0.1', resolve),
    );
    metricsUrl = `http://${opts.metricsHost ?? '127.0.0.1'}:${(server.address() as AddressInfo).port}/metrics`;
  }

  let stopped = false;
  const tick = async () => {
    await sync();
    if (heartbeats) await heartbeat();
  };
  let timer: NodeJS.Timeout | undefined;
  const loop = () => {
    if (stopped) return;
    timer = setTimeout(() => void tick().finally(loop), interval);
  };
  void tick().finally(loop);

  return {
    metricsUrl,
    sync: () => sync(),
    heartbeat,
    appliedHash: () => applied,
    liveRevision: () => liveRevision,
    registry,
    close: async () => {
      stopped = true;
      halt.abort();
      if (timer) clearTimeout(timer);
      await busy?.catch(() => undefined);
      // Idle keep-alive connections (Prometheus scraping /metrics) would hold close() for seconds.
      server?.closeAllConnections();
      if (server) await new Promise<void>((r) => server!.close(() => r()));
    },
  };
}

/** What a pulling sidecar reports about its last sync of a new revision. */
interface SyncReport {
  readonly revision: string;
  readonly promtool: 'ok' | 'failed';
  readonly reload: 'ok' | 'failed' | 'not-needed';
  readonly problem?: string;
}

/** GET /v1/config/<tier>/<name> at the service: the files of the revision assigned, as one answer. */
function pullSource(
  opts: SidecarOptions,
  signal: AbortSignal,
): () => Promise<{ files: Map<string, string>; revision: string }> {
  const { serviceUrl, readTokenFile, instance } = opts;
  if (serviceUrl === undefined || readTokenFile === undefined)
    throw new Error('--instance: pulling the config needs --service-url and --read-token-file');
  const url = `${serviceUrl.replace(/\/$/, '')}/v1/config/${instance!.split('/').map(encodeURIComponent).join('/')}`;
  type Answer = { hash: string; files: Record<string, string> };
  // The last answer and its ETag: a poll that changes nothing is a 304, which the service
  // answers without rendering (at 10,000 edges polling every 30 s, that is its steady load).
  let last: { etag: string; data: Answer } | undefined;
  return async () => {
    const token = readFileSync(readTokenFile, 'utf8').trim();
    const res = await axios.get<Answer>(url, {
      headers: { Authorization: `Bearer ${token}`, ...(last ? { 'If-None-Match': last.etag } : {}) },
      timeout: 10_000,
      signal,
      validateStatus: (s) => s === 200 || (s === 304 && last !== undefined),
    });
    const data = res.status === 304 ? last!.data : res.data;
    const etag = res.headers.etag as string | undefined;
    if (res.status === 200) last = etag ? { etag, data } : undefined;
    const files = new Map<string, string>();
    for (const name of Object.keys(data.files).sort()) {
      const text = data.files[name]!;
      files.set(name, name === FILE.webConfig ? fillWebConfig(text, opts.passwordHashFile) : text);
    }
    if (!files.has(FILE.prometheus)) throw new Error(`${url}: no ${FILE.prometheus} in the answer`);
    return { files, revision: data.hash };
  };
}

/** The mounted files to sync, web config filled in. ConfigMap mounts hide their plumbing in `..data` entries. */
function readMounted(dir: string, hashFile: string | undefined): Map<string, string> {
  const files = new Map<string, string>();
  for (const name of readdirSync(dir).sort()) {
    if (name.startsWith('.')) continue;
    const path = join(dir, name);
    if (!statSync(path).isFile()) continue;
    const text = readFileSync(path, 'utf8');
    files.set(name, name === FILE.webConfig ? fillWebConfig(text, hashFile) : text);
  }
  if (!files.has(FILE.prometheus)) throw new Error(`${dir}: no ${FILE.prometheus}`);
  return files;
}

function liveNames(dir: string, keep: ReadonlySet<string>): string[] {
  return readdirSync(dir).filter((n) => !n.startsWith('.') && !keep.has(n) && statSync(join(dir, n)).isFile());
}

function readLive(dir: string, keep: ReadonlySet<string>): Map<string, string> {
  return new Map(
    liveNames(dir, keep)
      .sort()
      .map((n) => [n, readFileSync(join(dir, n), 'utf8')]),
  );
}

function hashFiles(files: ReadonlyMap<string, string>): string {
  const h = createHash('sha256');
  for (const [name, text] of [...files].sort(([a], [b]) => (a < b ? -1 : 1))) h.update(`${name}\0${text}\0`);
  return h.digest('hex').slice(0, 16);
}

/** undefined when promtool accepts the staged config (and web config); else its complaint. */
async function check(
  promtool: string,
  staging: string,
  files: ReadonlyMap<string, string>,
  signal: AbortSignal,
): Promise<string | undefined> {
  const runs: string[][] = [['check', 'config', join(staging, FILE.prometheus)]];
  if (files.has(FILE.webConfig)) runs.push(['check', 'web-config', join(staging, FILE.webConfig)]);
  for (const args of runs) {
    try {
      await run(promtool, args, { timeout: 60_000, signal });
    } catch (e) {
      const err = e as { stdout?: string; stderr?: string; message: string };
      const out = `${err.stdout ?? ''}${err.stderr ?? ''}`.trim() || err.message;
      return `promtool ${args.slice(0, 2).join(' ')}: ${out.split(staging).join('.').slice(0, 2000)}`;
    }
  }
  return undefined;
}

function promHttp(opts: SidecarOptions): AxiosInstance {
  const auth = opts.prometheusAuth;
  const tls = opts.prometheusTls;
  const client = axios.create({ baseURL: opts.prometheusUrl.replace(/\/$/, ''), timeout: 30_000 });
  // Credentials are read per call (reloads are rare), so rotated files take effect without a restart.
  client.interceptors.request.use((config) => {
    if (tls)
      config.httpsAgent = new Agent({
        ca: tls.caFile ? readFileSync(tls.caFile) : undefined,
        cert: tls.certFile ? readFileSync(tls.certFile) : undefined,
        key: tls.keyFile ? readFileSync(tls.keyFile) : undefined,
        rejectUnauthorized: tls.insecureSkipVerify !== true,
      });
    if (auth) {
      const password = readFileSync(auth.passwordFile, 'utf8').trim();
      config.headers.set(
        'Authorization',
        `Basic ${Buffer.from(`${auth.username}:${password}`).toString('base64')}`,
      );
    }
    return config;
  });
  return client;
}

/** Status and message only: an axios error object carries the request headers (credentials). */
function describeHttpError(e: unknown): string {
  if (axios.isAxiosError(e)) return e.response ? `HTTP ${e.response.status}` : (e.code ?? e.message);
  return (e as Error).message;
}

function sidecarMetrics(registry: Registry) {
  const registers = [registry];
  return {
    syncs: new Counter({
      name: 'fedstack_sidecar_config_syncs_total',
      help: 'Config changes handled: applied, rejected (promtool check failed) or reload-failed.',
      labelNames: ['outcome'],
      registers,
    }),
    valid: new Gauge({
      // Federated to central (SYSTEM_SELECTORS): FedstackSidecarConfigRefused reads it there.
      name: SIDECAR_CONFIG_VALID,
      help: '1 when the mounted config is the one live, 0 when it was rejected.',
      registers,
    }),
    lastReload: new Gauge({
      name: 'fedstack_sidecar_last_reload_success_timestamp_seconds',
      help: 'When Prometheus last reloaded a config the sidecar applied.',
      registers,
    }),
    heartbeats: new Counter({
      name: 'fedstack_sidecar_heartbeats_total',
      help: 'Heartbeats sent, by outcome.',
      labelNames: ['outcome'],
      registers,
    }),
    lastHeartbeat: new Gauge({
      name: 'fedstack_sidecar_last_heartbeat_success_timestamp_seconds',
      help: 'When the service last accepted a heartbeat.',
      registers,
    }),
  };
}
