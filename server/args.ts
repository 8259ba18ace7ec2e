/**
 * `fedstack serve` flags, both ways: the manifests build the container args with `serveArgs`,
 * the CLI turns them back with `parseServeArgs` (then calls startServer), so they cannot drift.
 */
import { parseArgs } from 'node:util';
import { PROFILES, type Profile } from '../common/conventions.ts';
import type { ServerOptions } from './main.ts';

export interface ServeFlags {
  readonly topologyFile?: string;
  readonly port: number;
  readonly host?: string;
  readonly heartbeatTokenFile?: string;
  readonly registrationTtlMs?: number;
  readonly pollIntervalMs?: number;
  readonly profile?: Profile;
}

export function serveArgs(f: ServeFlags): string[] {
  const out: string[] = [];
  if (f.topologyFile !== undefined) out.push(`--topology-file=${f.topologyFile}`);
  out.push(`--port=${f.port}`);
  if (f.host !== undefined) out.push(`--host=${f.host}`);
  if (f.heartbeatTokenFile !== undefined) out.push(`--heartbeat-token-file=${f.heartbeatTokenFile}`);
  if (f.registrationTtlMs !== undefined) out.push(`--registration-ttl-ms=${f.registrationTtlMs}`);
  if (f.pollIntervalMs !== undefined) out.push(`--poll-interval-ms=${f.pollIntervalMs}`);
  if (f.profile !== undefined) out.push(`--profile=${f.profile}`);
  return out;
}

/** ServerOptions from the args after `serve`; throws `--flag: problem` on bad input. */
export function parseServeArgs(argv: readonly string[]): ServerOptions {
  const { values } = parseArgs({
    args: [...argv],
    strict: true,
    allowPositionals: false,
    options: {
      'topology-file': { type: 'string', short: 't' },
      port: { type: 'string', short: 'p' },
      host: { type: 'string' },
      'heartbeat-token-file': { type: 'string' },
      'registration-ttl-ms': { type: 'string' },
      'poll-interval-ms': { type: 'string' },
      profile: { type: 'string' },
    },
  });
  const int = (flag: string, s: string | undefined, min: number, max: number): number | undefined => {
    if (s === undefined) return undefined;
    const n = Number(s);
    if (!Number.isInteger(n) || n < min || n > max)
      throw new Error(`--${flag}: invalid value ${JSON.stringify(s)} (want an integer ${min}-${max})`);
    return n;
  };
  const profile = values.profile;
  if (profile !== undefined && !(PROFILES as readonly string[]).includes(profile)) {
    throw new Error(`--profile: must be one of ${PROFILES.join(', ')}, got ${JSON.stringify(profile)}`);
  }
  return {
    topologyFile: values['topology-file'],
    port: int('port', values.port, 0, 65535) ?? 8080,
    host: values.host,
    heartbeatTokenFile: values['heartbeat-token-file'],
    registrationTtlMs: int('registration-ttl-ms', values['registration-ttl-ms'], 1, 86_400_000),
    pollIntervalMs: int('poll-interval-ms', values['poll-interval-ms'], 10, 3_600_000),
    profile: profile as Profile | undefined,
  };
}
