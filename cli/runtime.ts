/**
 * The long-running commands: `serve` (the fedstack service, with the alert bridge mounted),
 * `sidecar`, `up` (the local stack) and `simulate`. cli/main.ts parses their flags and loads
 * this module only when one of them runs; each runs until SIGINT/SIGTERM (cli/signals.ts) and
 * stops what it started before returning its exit code.
 */
import pino from 'pino';
import type { AlertBridgeConfig } from '../alerting/bridge/wiring.ts';
import { BRIDGE_BASE_PATH } from '../alerting/render.ts';
import { startLocalService } from '../deploy/local/service.ts';
import { startLocalStack } from '../deploy/local/stack.ts';
import { parseDuration } from '../common/duration.ts';
import { parseServeArgs } from '../common/flags.ts';
import { startServer, type ServerOptions } from '../server/main.ts';
import { parseSidecarCommand } from '../sidecar/args.ts';
import { runSidecar, type SidecarOptions } from '../sidecar/sidecar.ts';
import { runSimulate } from '../simulator/cli.ts';
import { EXIT, type CliIo } from './io.ts';
import { runUntilSignal } from './signals.ts';
import { loadTopologyArg } from './topology-arg.ts';

export interface UpFlags {
  readonly topology?: string;
  readonly interval: string;
  readonly maxGuestClusters: string;
  readonly keep?: boolean;
}

export interface SimulateFlags {
  readonly topology?: string;
  readonly maxGuestClusters?: string;
}

/** A whole number from a flag, or undefined when the flag is absent; throws `--flag: problem`. */
function wholeNumber(flag: string, value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isSafeInteger(n) || n < 0)
    throw new Error(`--${flag}: want a whole number, got ${JSON.stringify(value)}`);
  return n;
}

/** `--central-url http://a:9090,http://b:9090` → the URLs; throws on one that is not http(s). */
export function parseCentralUrls(value: string | undefined): string[] | undefined {
  if (value === undefined) return undefined;
  const urls = value.split(',').map((u) => u.trim());
  for (const u of urls) {
    let url: URL;
    try {
      url = new URL(u);
    } catch {
      throw new Error(`--central-url: invalid URL ${JSON.stringify(u)}`);
    }
    if (url.protocol !== 'http:' && url.protocol !== 'https:')
      throw new Error(`--central-url: invalid URL ${JSON.stringify(u)} (want http:// or https://)`);
  }
  return urls;
}

/** `fedstack serve [flags]` (common/flags.ts; --outbox-dir with --secrets-dir mounts the bridge). */
export async function serveCommand(args: readonly string[], io: CliIo): Promise<number> {
  let opts: ServerOptions;
  try {
    const { outboxDir, secretsDir, dingtalkWindowMs, bridgeReplicas, centralUrl, ...rest } =
      parseServeArgs(args);
    const bridge: AlertBridgeConfig | undefined =
      outboxDir && secretsDir
        ? {
            outboxDir,
            secretsDir,
            options: { dingtalk: { windowMs: dingtalkWindowMs }, replicas: bridgeReplicas },
          }
        : undefined;
    opts = { ...rest, bridge, centralUrls: parseCentralUrls(centralUrl) };
  } catch (e) {
    io.err(`fedstack serve: ${(e as Error).message}\n`);
    return EXIT.invalid;
  }
  const logger = pino({ name: 'fedstack', redact: ['req.headers.authorization', 'token'] });
  return runUntilSignal(
    async () => {
      // The service loads and watches the topology once; the bridge follows the same watcher.
      const server = await startServer({ ...opts, logger });
      io.out(
        `fedstack service at ${server.url} (console at ${server.url}/${server.bridge ? `, alert bridge at ${server.url}${BRIDGE_BASE_PATH}` : ''})\n`,
      );
      return { stop: () => server.close() };
    },
    {
      failed: (e) => {
        io.err(`fedstack serve: ${e.message}\n`);
        return EXIT.failure;
      },
    },
  );
}

/** `fedstack sidecar [flags]` (common/flags.ts); with --once, one sync and exit (the init container). */
export async function sidecarCommand(args: readonly string[], io: CliIo): Promise<number> {
  let opts: SidecarOptions;
  try {
    opts = parseSidecarCommand(args);
  } catch (e) {
    io.err(`fedstack sidecar: ${(e as Error).message}\n`);
    return EXIT.invalid;
  }
  return runUntilSignal(
    async (signal) => {
      const sidecar = await runSidecar({ ...opts, signal });
      return opts.once === true
        ? { stop: sidecar.close, stopped: Promise.resolve() }
        : { stop: sidecar.close };
    },
    {
      failed: (e) => {
        io.err(`fedstack sidecar: ${e.message}\n`);
        return EXIT.invalid;
      },
    },
  );
}

/** `fedstack up`: the local stack, with the service and its alert bridge in this process. */
export async function upCommand(flags: UpFlags, io: CliIo): Promise<number> {
  let maxGuestClusters: number;
  try {
    maxGuestClusters = wholeNumber('max-guest-clusters', flags.maxGuestClusters)!;
  } catch (e) {
    io.err(`fedstack up: ${(e as Error).message}\n`);
    return EXIT.invalid;
  }
  // Every tier scrapes and evaluates at this interval: below 100ms nothing keeps up, and an
  // hour is already no local stack.
  const interval = /^\d+(ms|s|m)$/.test(flags.interval) ? parseDuration(flags.interval) : undefined;
  if (flags.interval !== 'topology' && (interval === undefined || interval < 100 || interval > 3_600_000)) {
    io.err(
      `fedstack up: --interval: want a duration from 100ms to 60m such as 5s, got ${JSON.stringify(flags.interval)}\n`,
    );
    return EXIT.invalid;
  }
  const loaded = loadTopologyArg(flags.topology, io);
  if (!loaded.ok) return loaded.code;
  const log = (line: string) => io.out(`${line}\n`);
  return runUntilSignal(
    (signal) =>
      startLocalStack({
        topology: loaded.topology,
        keep: flags.keep,
        intervals:
          flags.interval === 'topology' ? undefined : { scrape: flags.interval, evaluation: flags.interval },
        simulate: { maxGuestClusters },
        log,
        signal,
        startService: (ctx) => startLocalService(ctx),
      }),
    {
      failed: (e) => {
        log(`error: ${e.message}`);
        return EXIT.failure;
      },
    },
  );
}

/** `fedstack simulate`: the fleet simulators alone. */
export async function simulateCommand(flags: SimulateFlags, io: CliIo): Promise<number> {
  let maxGuestClusters: number | undefined;
  try {
    maxGuestClusters = wholeNumber('max-guest-clusters', flags.maxGuestClusters);
  } catch (e) {
    io.err(`fedstack simulate: ${(e as Error).message}\n`);
    return EXIT.invalid;
  }
  const loaded = loadTopologyArg(flags.topology, io);
  if (!loaded.ok) return loaded.code;
  const log = (line: string) => io.out(`${line}\n`);
  return runUntilSignal(
    (signal) => runSimulate({ topology: loaded.topology, maxGuestClusters, log, signal }),
    {
      failed: (e) => {
        log(`error: ${e.message}`);
        return EXIT.failure;
      },
    },
  );
}
