/**
 * The long-running commands: `serve` (the fedstack service, with the alert bridge mounted),
 * `sidecar`, `up` (the local stack) and `simulate`. cli/main.ts parses their flags and loads
 * this module only when one of them runs; each runs until SIGINT/SIGTERM (cli/signals.ts) and
 * stops what it started before returning its exit code.
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import pino from 'pino';
import { Registry } from 'prom-client';
import { fetchHttpClient } from '../alerting/bridge/http.ts';
import { createBridgeRouter, type BridgeHandle } from '../alerting/bridge/router.ts';
import { fileSecretResolver } from '../alerting/bridge/secrets.ts';
import { BRIDGE_BASE_PATH } from '../alerting/render.ts';
import { startLocalStack, type ServiceContext } from '../deploy/local/stack.ts';
import { parseDuration } from '../common/duration.ts';
import { parseServeArgs } from '../common/flags.ts';
import { startServer, type ServerOptions } from '../server/main.ts';
import { parseSidecarCommand } from '../sidecar/args.ts';
import { runSidecar, type SidecarOptions } from '../sidecar/sidecar.ts';
import { runSimulate } from '../simulator/cli.ts';
import type { Topology } from '../topology/model.ts';
import { EXIT, type CliIo } from './io.ts';
import { runUntilSignal } from './signals.ts';
import { loadTopologyArg } from './topology-arg.ts';

export interface BridgeSetup {
  readonly topology: Topology;
  readonly outboxDir: string;
  readonly secretsDir: string;
  readonly registry: Registry;
  readonly logger: pino.Logger;
}

/** The alert bridge, to mount at BRIDGE_BASE_PATH of the service. */
export function startBridge(b: BridgeSetup): BridgeHandle {
  mkdirSync(b.outboxDir, { recursive: true });
  return createBridgeRouter({
    topology: b.topology,
    outboxDir: b.outboxDir,
    now: Date.now,
    http: fetchHttpClient,
    secrets: fileSecretResolver(b.secretsDir),
    logger: b.logger.child({ component: 'bridge' }),
    registry: b.registry,
  });
}

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

/** `fedstack serve [flags]` (common/flags.ts; --outbox-dir with --secrets-dir mounts the bridge). */
export async function serveCommand(args: readonly string[], io: CliIo): Promise<number> {
  let opts: ServerOptions;
  let outboxDir: string | undefined;
  let secretsDir: string | undefined;
  try {
    ({ outboxDir, secretsDir, ...opts } = parseServeArgs(args));
  } catch (e) {
    io.err(`fedstack serve: ${(e as Error).message}\n`);
    return EXIT.invalid;
  }
  let bridgeTopology: Topology | undefined;
  if (outboxDir !== undefined) {
    const loaded = loadTopologyArg(opts.topologyFile, io);
    if (!loaded.ok) return loaded.code;
    bridgeTopology = loaded.topology;
  }
  const logger = pino({ name: 'fedstack', redact: ['req.headers.authorization', 'token'] });
  return runUntilSignal(
    async () => {
      const registry = new Registry();
      const bridge =
        bridgeTopology && outboxDir && secretsDir
          ? startBridge({ topology: bridgeTopology, outboxDir, secretsDir, registry, logger })
          : undefined;
      try {
        const server = await startServer({
          ...opts,
          logger,
          registry,
          extraRouters: bridge ? [{ path: BRIDGE_BASE_PATH, router: bridge.router }] : [],
        });
        io.out(
          `fedstack service at ${server.url}${bridge ? ` (alert bridge at ${server.url}${BRIDGE_BASE_PATH})` : ''}\n`,
        );
        return {
          stop: async () => {
            await server.close();
            await bridge?.close();
          },
        };
      } catch (e) {
        await bridge?.close();
        throw e;
      }
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
      return opts.once === true ? { stop: sidecar.close, stopped: Promise.resolve() } : { stop: sidecar.close };
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
        startService: startLocalService,
      }),
    {
      failed: (e) => {
        log(`error: ${e.message}`);
        return EXIT.failure;
      },
    },
  );
}

/**
 * The service and bridge of `fedstack up`. Their JSON logs go to a file in the stack's dir, not
 * between the human lines of `up` (whose summary says where the file is).
 */
async function startLocalService(ctx: ServiceContext): Promise<{ url: string; stop(): Promise<void> }> {
  const logFile = join(ctx.bundleDir, '..', 'data', 'service.log');
  const destination = pino.destination({ dest: logFile, mkdir: true, sync: true });
  const logger = pino({ level: 'info' }, destination);
  const registry = new Registry();
  const bridge = startBridge({
    topology: ctx.topology,
    outboxDir: join(ctx.bundleDir, '..', 'bridge-outbox'),
    secretsDir: join(ctx.bundleDir, 'alerting', 'secrets'),
    registry,
    logger,
  });
  const server = await startServer({
    topologyFile: ctx.topologyFile,
    port: ctx.port,
    profile: 'local',
    logger,
    registry,
    extraRouters: [{ path: BRIDGE_BASE_PATH, router: bridge.router }],
  }).catch(async (e: unknown) => {
    await bridge.close();
    throw e;
  });
  ctx.log(`fedstack up: the service and its alert bridge log to ${logFile}`);
  return {
    url: server.url,
    stop: async () => {
      await server.close();
      await bridge.close();
      destination.end();
    },
  };
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
