/**
 * The long-running commands: `serve` (the fedstack service, with the alert bridge mounted),
 * `sidecar`, `up` (the local stack) and `simulate`. Each runs until SIGINT/SIGTERM and then
 * stops what it started before returning its exit code.
 */
import { join } from 'node:path';
import type { Command } from 'commander';
import pino from 'pino';
import type { AlertBridgeConfig } from '../alerting/bridge/wiring.ts';
import { BRIDGE_BASE_PATH } from '../alerting/render.ts';
import { runSimulateUntilSignal, runUp } from '../deploy/local/up.ts';
import { parseServeArgs } from '../common/flags.ts';
import { startServer, type ServerOptions } from '../server/main.ts';
import { parseSidecarCommand } from '../sidecar/args.ts';
import { runSidecar } from '../sidecar/sidecar.ts';
import { EXIT, type CliIo } from './io.ts';
import { loadTopologyArg } from './topology-arg.ts';

type SetCode = (code: number) => void;

/** Resolves on the first SIGINT or SIGTERM. */
function untilSignal(): Promise<NodeJS.Signals> {
  return new Promise((resolve) => {
    const on = (s: NodeJS.Signals) => {
      process.off('SIGINT', on);
      process.off('SIGTERM', on);
      resolve(s);
    };
    process.once('SIGINT', on);
    process.once('SIGTERM', on);
  });
}

export function addRuntimeCommands(root: Command, io: CliIo, setCode: SetCode): void {
  root
    .command('serve')
    .description(
      'run the fedstack service: http_sd, rendered configs, edge heartbeats, /metrics, and the alert bridge',
    )
    .usage(
      '[--topology-file FILE] [--port 8080] [--host 127.0.0.1] [--heartbeat-token-file F] [--registration-ttl-ms N] [--poll-interval-ms N] [--profile kubernetes|local] [--outbox-dir DIR --secrets-dir DIR [--dingtalk-window-ms 60000]]',
    )
    .allowUnknownOption()
    .allowExcessArguments()
    .helpOption(
      '-h, --help',
      "display help; --outbox-dir (durable, on a persistent volume) and --secrets-dir (Secret volumes as <dir>/<name>/<key>) enable the alert bridge; --dingtalk-window-ms shrinks DingTalk's 60 s rate window, for tests against a stand-in",
    )
    .action(async (_opts: unknown, cmd: Command) => {
      let flags;
      try {
        flags = parseServeArgs(cmd.args);
      } catch (e) {
        io.err(`fedstack serve: ${(e as Error).message}\n`);
        return setCode(EXIT.invalid);
      }
      const { outboxDir, secretsDir, dingtalkWindowMs, ...opts } = flags;
      const bridge: AlertBridgeConfig | undefined =
        outboxDir && secretsDir
          ? { outboxDir, secretsDir, options: { dingtalk: { windowMs: dingtalkWindowMs } } }
          : undefined;
      setCode(await serveUntilSignal({ ...opts, bridge }, io));
    });

  root
    .command('sidecar')
    .description(
      'edge sidecar: heartbeat the LoadBalancer address, apply configs only after promtool passes, reload',
    )
    .allowUnknownOption()
    .allowExcessArguments()
    .action(async (_opts: unknown, cmd: Command) => {
      let sidecar;
      try {
        sidecar = await runSidecar(parseSidecarCommand(cmd.args));
      } catch (e) {
        io.err(`fedstack sidecar: ${(e as Error).message}\n`);
        return setCode(EXIT.invalid);
      }
      await untilSignal();
      await sidecar.close();
      setCode(EXIT.ok);
    });

  root
    .command('up')
    .description(
      'run the whole stack on loopback (simulators, edges, cascades, central pair, Alertmanager cluster, service) until Ctrl-C',
    )
    .option('-t, --topology <file>', 'topology file (default: the embedded example topology)')
    .option(
      '--interval <duration>',
      'scrape and evaluation interval for every tier (default 5s; "topology" keeps the file\'s)',
      '5s',
    )
    .option('--max-guest-clusters <n>', 'simulate at most this many guest clusters per meta-cluster', '3')
    .option('--keep', 'keep the data directory after stopping')
    .action(
      async (opts: { topology?: string; interval: string; maxGuestClusters: string; keep?: boolean }) => {
        const loaded = loadTopologyArg(opts.topology, io);
        if (!loaded.ok) return setCode(loaded.code);
        const maxGuestClusters = Number(opts.maxGuestClusters);
        if (!Number.isInteger(maxGuestClusters) || maxGuestClusters < 0) {
          io.err(
            `fedstack up: --max-guest-clusters: want a whole number, got ${JSON.stringify(opts.maxGuestClusters)}\n`,
          );
          return setCode(EXIT.invalid);
        }
        if (opts.interval !== 'topology' && !/^\d+(ms|s|m)$/.test(opts.interval)) {
          io.err(
            `fedstack up: --interval: want a duration such as 5s, got ${JSON.stringify(opts.interval)}\n`,
          );
          return setCode(EXIT.invalid);
        }
        const log = (line: string) => io.out(`${line}\n`);
        setCode(
          await runUp({
            topology: loaded.topology,
            keep: opts.keep,
            intervals:
              opts.interval === 'topology' ? undefined : { scrape: opts.interval, evaluation: opts.interval },
            simulate: { maxGuestClusters },
            log,
            startService: async (ctx) => {
              const server = await startServer({
                topologyFile: ctx.topologyFile,
                port: ctx.port,
                profile: 'local',
                logger: pino({ level: 'warn' }),
                bridge: {
                  outboxDir: join(ctx.bundleDir, '..', 'bridge-outbox'),
                  secretsDir: join(ctx.bundleDir, 'alerting', 'secrets'),
                },
              });
              return { url: server.url, stop: () => server.close() };
            },
          }),
        );
      },
    );

  root
    .command('simulate')
    .description('serve a fleet simulator (one exporter per meta-cluster, with fault knobs) until Ctrl-C')
    .option('-t, --topology <file>', 'topology file (default: the embedded example topology)')
    .option('--max-guest-clusters <n>', 'simulate at most this many guest clusters per meta-cluster')
    .action(async (opts: { topology?: string; maxGuestClusters?: string }) => {
      const loaded = loadTopologyArg(opts.topology, io);
      if (!loaded.ok) return setCode(loaded.code);
      const max = opts.maxGuestClusters === undefined ? undefined : Number(opts.maxGuestClusters);
      if (max !== undefined && (!Number.isInteger(max) || max < 0)) {
        io.err(
          `fedstack simulate: --max-guest-clusters: want a whole number, got ${JSON.stringify(opts.maxGuestClusters)}\n`,
        );
        return setCode(EXIT.invalid);
      }
      setCode(
        await runSimulateUntilSignal({
          topology: loaded.topology,
          maxGuestClusters: max,
          log: (l) => io.out(`${l}\n`),
        }),
      );
    });
}

async function serveUntilSignal(opts: ServerOptions, io: CliIo): Promise<number> {
  const logger = pino({ name: 'fedstack', redact: ['req.headers.authorization', 'token'] });
  let server;
  try {
    server = await startServer({ ...opts, logger });
  } catch (e) {
    io.err(`fedstack serve: ${(e as Error).message}\n`);
    return EXIT.failure;
  }
  io.out(
    `fedstack service at ${server.url}${server.bridge ? ` (alert bridge at ${server.url}${BRIDGE_BASE_PATH})` : ''}\n`,
  );
  await untilSignal();
  await server.close();
  return EXIT.ok;
}
