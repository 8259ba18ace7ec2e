/**
 * The command lines of fedstack's long-running processes, `serve` and `sidecar`, both ways:
 * the Kubernetes manifests build container args with `serveArgs`/`sidecarArgs`, the CLI turns
 * them back with `parseServeArgs`/`parseSidecarArgs`. One table per command is the contract,
 * so a deployment can never start a process with a flag the process does not know.
 *
 * Dependency-free on purpose (node builtins only): generators, the server and the CLI all
 * import it without importing each other.
 */
import { parseArgs } from 'node:util';

type Kind =
  | { readonly type: 'string' }
  | { readonly type: 'bool' }
  | { readonly type: 'int'; readonly min: number; readonly max: number }
  | { readonly type: 'port' }
  /** ms; written in ms, read as ms or with a unit (500ms, 30s, 2m). */
  | { readonly type: 'duration' }
  | { readonly type: 'enum'; readonly values: readonly string[] };

type Spec = Readonly<Record<string, Kind & { readonly short?: string }>>;

const STRING = { type: 'string' } as const;
const BOOL = { type: 'bool' } as const;

/** `fedstack serve`: the service (http_sd, configs, heartbeats, metrics) and the alert bridge. */
export interface ServeFlags {
  /** Topology file to serve and watch; the embedded example when omitted. */
  readonly topologyFile?: string;
  readonly port: number;
  readonly host?: string;
  /** The sidecars' bearer token (a mounted Secret). */
  readonly heartbeatTokenFile?: string;
  /** The read token of /v1/sd and /v1/config (a mounted Secret). */
  readonly readTokenFile?: string;
  /** The operator token of rollout actions and the console's buttons (a mounted Secret). */
  readonly operatorTokenFile?: string;
  readonly registrationTtlMs?: number;
  readonly pollIntervalMs?: number;
  readonly profile?: 'kubernetes' | 'local';
  /** Durable outbox of the alert bridge (a persistent volume); with secretsDir, enables the bridge. */
  readonly outboxDir?: string;
  /** Receivers' Secrets, mounted as <dir>/<secret name>/<key>. */
  readonly secretsDir?: string;
  /** DingTalk's rate window (default 60000): tests shrink it together with their DingTalk stand-in. */
  readonly dingtalkWindowMs?: number;
  /** Where the console reads central: base URLs, comma-separated (default: from the topology). */
  readonly centralUrl?: string;
  /** How many service replicas' bridges share each robot's and number's budget (default 1). */
  readonly bridgeReplicas?: number;
  /** Durable rollout state (revisions, the rollout in progress); enables staged rollouts (operator token). */
  readonly dataDir?: string;
  /** How often the rollout controller looks, ms (default 1000). */
  readonly rolloutTickMs?: number;
}

const SERVE: Spec = {
  topologyFile: { ...STRING, short: 't' },
  port: { type: 'int', min: 0, max: 65535, short: 'p' },
  host: STRING,
  heartbeatTokenFile: STRING,
  readTokenFile: STRING,
  operatorTokenFile: STRING,
  registrationTtlMs: { type: 'int', min: 1, max: 86_400_000 },
  pollIntervalMs: { type: 'int', min: 10, max: 3_600_000 },
  profile: { type: 'enum', values: ['kubernetes', 'local'] },
  outboxDir: STRING,
  secretsDir: STRING,
  dingtalkWindowMs: { type: 'int', min: 100, max: 3_600_000 },
  centralUrl: STRING,
  bridgeReplicas: { type: 'int', min: 1, max: 100 },
  dataDir: STRING,
  rolloutTickMs: { type: 'int', min: 50, max: 3_600_000 },
};

export const DEFAULT_SERVE_PORT = 8080;

/** The sidecar next to every Prometheus: checked config sync, reload, and (edges) heartbeats. */
export interface SidecarFlags {
  readonly serviceUrl?: string;
  readonly metaCluster?: string;
  readonly endpoint?: string;
  readonly tokenFile?: string;
  /** `<tier>/<name>`: pull the config from the service (staged rollouts) instead of configDir. */
  readonly instance?: string;
  /** The read token for pulling configs (GET /v1/config needs it). */
  readonly readTokenFile?: string;
  /** The mounted config (with --instance, the fallback the manifests still mount). */
  readonly configDir: string;
  readonly liveDir: string;
  readonly prometheusUrl: string;
  readonly prometheusUsername?: string;
  readonly prometheusPasswordFile?: string;
  readonly prometheusCaFile?: string;
  /** Mutual TLS: the client certificate and key the sidecar presents to its Prometheus. */
  readonly prometheusCertFile?: string;
  readonly prometheusKeyFile?: string;
  readonly prometheusInsecureSkipVerify?: boolean;
  readonly passwordHashFile?: string;
  readonly promtoolPath?: string;
  /** ms between config checks and heartbeats. */
  readonly interval?: number;
  readonly metricsPort?: number;
  readonly metricsHost?: string;
  readonly version?: string;
  /** Sync once and exit (the init container). */
  readonly once?: boolean;
}

const SIDECAR: Spec = {
  serviceUrl: STRING,
  metaCluster: STRING,
  endpoint: STRING,
  tokenFile: STRING,
  instance: STRING,
  readTokenFile: STRING,
  configDir: STRING,
  liveDir: STRING,
  prometheusUrl: STRING,
  prometheusUsername: STRING,
  prometheusPasswordFile: STRING,
  prometheusCaFile: STRING,
  prometheusCertFile: STRING,
  prometheusKeyFile: STRING,
  passwordHashFile: STRING,
  promtoolPath: STRING,
  interval: { type: 'duration' },
  metricsPort: { type: 'port' },
  metricsHost: STRING,
  version: STRING,
  prometheusInsecureSkipVerify: BOOL,
  once: BOOL,
};

const kebab = (s: string) => s.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);

/** A spec's flags as written on the command line, computed once (manifests write them per pod). */
const written = new WeakMap<Spec, readonly (readonly [string, string, boolean])[]>();
function toArgs(spec: Spec, values: Readonly<Record<string, unknown>>): string[] {
  let flags = written.get(spec);
  if (flags === undefined) {
    flags = Object.entries(spec).map(
      ([name, kind]) => [name, `--${kebab(name)}`, kind.type === 'bool'] as const,
    );
    written.set(spec, flags);
  }
  const out: string[] = [];
  for (const [name, flag, bool] of flags) {
    const v = values[name];
    if (v === undefined) continue;
    if (bool) {
      if (v === true) out.push(flag);
    } else out.push(`${flag}=${String(v)}`);
  }
  return out;
}

function fromArgs(spec: Spec, argv: readonly string[]): Record<string, unknown> {
  const options = Object.fromEntries(
    Object.entries(spec).map(([name, kind]) => [
      kebab(name),
      {
        type: kind.type === 'bool' ? ('boolean' as const) : ('string' as const),
        ...(kind.short !== undefined ? { short: kind.short } : {}),
      },
    ]),
  );
  const { values } = parseArgs({ args: [...argv], options, strict: true, allowPositionals: false });
  const raw = values as Record<string, string | boolean | undefined>;
  const out: Record<string, unknown> = {};
  for (const [name, kind] of Object.entries(spec)) {
    const flag = `--${kebab(name)}`;
    const v = raw[kebab(name)];
    if (v === undefined) continue;
    if (typeof v === 'boolean') {
      out[name] = v;
      continue;
    }
    out[name] = convert(flag, v, kind);
  }
  return out;
}

const MAX_TIMER_MS = 2 ** 31 - 1;

function convert(flag: string, s: string, kind: Kind): unknown {
  switch (kind.type) {
    case 'string':
    case 'bool':
      return s;
    case 'int': {
      const n = Number(s);
      if (s === '' || !Number.isInteger(n) || n < kind.min || n > kind.max)
        throw new Error(
          `${flag}: invalid value ${JSON.stringify(s)} (want an integer ${kind.min}-${kind.max})`,
        );
      return n;
    }
    case 'port': {
      const n = Number(s);
      if (s === '' || !Number.isInteger(n) || n < 0 || n > 65535)
        throw new Error(`${flag}: invalid port ${JSON.stringify(s)}`);
      return n;
    }
    case 'duration': {
      const m = /^(\d+)(ms|s|m)?$/.exec(s);
      if (!m) throw new Error(`${flag}: invalid duration ${JSON.stringify(s)} (e.g. 30s, 2m, 500ms)`);
      const n = Number(m[1]);
      const ms = m[2] === 's' ? n * 1000 : m[2] === 'm' ? n * 60_000 : n;
      // A timer takes at most 2^31-1 ms; past that (or at 0) Node fires it every millisecond.
      if (ms < 1 || ms > MAX_TIMER_MS)
        throw new Error(`${flag}: duration ${JSON.stringify(s)} out of range (want 1ms to 596h)`);
      return ms;
    }
    case 'enum':
      if (!kind.values.includes(s))
        throw new Error(`${flag}: must be one of ${kind.values.join(', ')}, got ${JSON.stringify(s)}`);
      return s;
  }
}

/** Container args (after the `serve` subcommand). */
export function serveArgs(f: ServeFlags): string[] {
  return toArgs(SERVE, f as unknown as Record<string, unknown>);
}

/** The args after `serve`; throws `--flag: problem` on bad input. */
export function parseServeArgs(argv: readonly string[]): ServeFlags {
  const v = fromArgs(SERVE, argv);
  if ((v.outboxDir === undefined) !== (v.secretsDir === undefined))
    throw new Error('--outbox-dir and --secrets-dir go together (they enable the alert bridge)');
  return { ...v, port: (v.port as number | undefined) ?? DEFAULT_SERVE_PORT } as ServeFlags;
}

/** Container args (after the `sidecar` subcommand). */
export function sidecarArgs(f: SidecarFlags): string[] {
  return toArgs(SIDECAR, f as unknown as Record<string, unknown>);
}

/** The args after `sidecar`; throws `--flag: problem` on bad input. */
export function parseSidecarArgs(argv: readonly string[]): SidecarFlags {
  const v = fromArgs(SIDECAR, argv);
  for (const name of ['configDir', 'liveDir', 'prometheusUrl']) {
    if (v[name] === undefined || v[name] === '') throw new Error(`--${kebab(name)}: is required`);
  }
  if ((v.prometheusUsername === undefined) !== (v.prometheusPasswordFile === undefined))
    throw new Error('--prometheus-username and --prometheus-password-file: give both or neither');
  if ((v.prometheusCertFile === undefined) !== (v.prometheusKeyFile === undefined))
    throw new Error('--prometheus-cert-file and --prometheus-key-file: give both or neither');
  if (v.instance !== undefined) {
    if (!/^(edge|cascade|central)\/[A-Za-z0-9][A-Za-z0-9._-]*$/.test(v.instance as string))
      throw new Error(`--instance: want <tier>/<name> (edge/mc-hz-01, cascade/china, central/central-a), got ${JSON.stringify(v.instance)}`);
    if (v.serviceUrl === undefined || v.tokenFile === undefined || v.readTokenFile === undefined)
      throw new Error('--instance: pulling the config needs --service-url, --token-file and --read-token-file');
  }
  const beat = [v.serviceUrl, v.metaCluster, v.endpoint, v.tokenFile];
  if (v.instance === undefined && beat.some((x) => x !== undefined) && beat.some((x) => x === undefined))
    throw new Error(
      '--service-url, --meta-cluster, --endpoint and --token-file: give all four (heartbeats) or none',
    );
  return v as unknown as SidecarFlags;
}

/** Every flag name of a command, as written on the command line (for help texts and docs). */
export const FLAG_NAMES = {
  serve: Object.keys(SERVE).map((k) => `--${kebab(k)}`),
  sidecar: Object.keys(SIDECAR).map((k) => `--${kebab(k)}`),
} as const;
