/**
 * The sidecar's command line, both ways: the manifests build container args with
 * `sidecarArgs`, the CLI turns them back with `parseSidecarArgs`, so the two cannot drift.
 * Flags are the option names in kebab-case; durations in ms or with a unit (30s, 2m).
 */
import { parseArgs } from 'node:util';
import type { SidecarOptions } from './sidecar.ts';

type Flags = Omit<SidecarOptions, 'logger' | 'prometheusAuth'> & {
  readonly prometheusUsername?: string;
  readonly prometheusPasswordFile?: string;
  readonly prometheusCaFile?: string;
  readonly prometheusInsecureSkipVerify?: boolean;
};

const STRINGS = [
  'serviceUrl',
  'metaCluster',
  'endpoint',
  'tokenFile',
  'configDir',
  'liveDir',
  'prometheusUrl',
  'prometheusUsername',
  'prometheusPasswordFile',
  'prometheusCaFile',
  'passwordHashFile',
  'promtoolPath',
  'interval',
  'metricsPort',
  'metricsHost',
  'version',
] as const;
const BOOLEANS = ['prometheusInsecureSkipVerify', 'once'] as const;

const kebab = (s: string) => s.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);

/** Container args (after the `sidecar` subcommand) for these options. */
export function sidecarArgs(opts: Omit<SidecarOptions, 'logger'>): string[] {
  const flat: Record<string, unknown> = {
    ...opts,
    prometheusAuth: undefined,
    prometheusUsername: opts.prometheusAuth?.username,
    prometheusPasswordFile: opts.prometheusAuth?.passwordFile,
    prometheusCaFile: opts.prometheusAuth?.caFile,
    prometheusInsecureSkipVerify: opts.prometheusAuth?.insecureSkipVerify,
  };
  const out: string[] = [];
  for (const k of STRINGS) if (flat[k] !== undefined) out.push(`--${kebab(k)}=${String(flat[k])}`);
  for (const k of BOOLEANS) if (flat[k] === true) out.push(`--${kebab(k)}`);
  return out;
}

/** SidecarOptions from the args after `sidecar`; throws `--flag: problem` on bad input. */
export function parseSidecarArgs(argv: readonly string[]): SidecarOptions {
  const options: Record<string, { type: 'string' | 'boolean' }> = Object.fromEntries([
    ...STRINGS.map((k) => [kebab(k), { type: 'string' as const }]),
    ...BOOLEANS.map((k) => [kebab(k), { type: 'boolean' as const }]),
  ]);
  const { values } = parseArgs({ args: [...argv], options, strict: true, allowPositionals: false });
  const values_: Record<string, unknown> = values;
  const v = (k: string) => values_[kebab(k)] as string | undefined;
  const b = (k: string) => values_[kebab(k)] === true;
  const need = (k: string) => {
    const x = v(k);
    if (x === undefined || x === '') throw new Error(`--${kebab(k)}: is required`);
    return x;
  };
  const username = v('prometheusUsername');
  const passwordFile = v('prometheusPasswordFile');
  if ((username === undefined) !== (passwordFile === undefined)) {
    throw new Error('--prometheus-username and --prometheus-password-file: give both or neither');
  }
  const flags: Flags = {
    serviceUrl: v('serviceUrl'),
    metaCluster: v('metaCluster'),
    endpoint: v('endpoint'),
    tokenFile: v('tokenFile'),
    configDir: need('configDir'),
    liveDir: need('liveDir'),
    prometheusUrl: need('prometheusUrl'),
    passwordHashFile: v('passwordHashFile'),
    promtoolPath: v('promtoolPath'),
    interval: v('interval') === undefined ? undefined : parseMs(need('interval')),
    metricsPort: v('metricsPort') === undefined ? undefined : parsePort(need('metricsPort')),
    metricsHost: v('metricsHost'),
    version: v('version'),
    once: b('once'),
  };
  const beat = [flags.serviceUrl, flags.metaCluster, flags.endpoint, flags.tokenFile];
  if (beat.some((x) => x !== undefined) && beat.some((x) => x === undefined)) {
    throw new Error(
      '--service-url, --meta-cluster, --endpoint and --token-file: give all four (heartbeats) or none',
    );
  }
  return {
    ...flags,
    prometheusAuth:
      username !== undefined && passwordFile !== undefined
        ? {
            username,
            passwordFile,
            caFile: v('prometheusCaFile'),
            insecureSkipVerify: b('prometheusInsecureSkipVerify'),
          }
        : undefined,
  };
}

function parseMs(s: string): number {
  const m = /^(\d+)(ms|s|m)?$/.exec(s);
  if (!m) throw new Error(`--interval: invalid duration ${JSON.stringify(s)} (e.g. 30s, 2m, 500ms)`);
  const n = Number(m[1]);
  return m[2] === 's' ? n * 1000 : m[2] === 'm' ? n * 60_000 : n;
}

function parsePort(s: string): number {
  const n = Number(s);
  if (!Number.isInteger(n) || n < 0 || n > 65535)
    throw new Error(`--metrics-port: invalid port ${JSON.stringify(s)}`);
  return n;
}
