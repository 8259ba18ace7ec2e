/**
 * Starts the fedstack service on a port: the entry point behind `fedstack serve` and the local
 * stack. Thin: it wires the file watcher, the token, the logger and the registry into createApp.
 */
import { readFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import pino, { type Logger } from 'pino';
import { collectDefaultMetrics, Registry } from 'prom-client';
import type { BridgeHandle } from '../alerting/bridge/router.ts';
import { startAlertBridge, type AlertBridgeConfig } from '../alerting/bridge/wiring.ts';
import { BRIDGE_BASE_PATH } from '../alerting/render.ts';
import type { Profile } from '../common/conventions.ts';
import type { Secret } from '../common/secret.ts';
import { consoleRouter } from '../console/router.ts';
import { rolloutSource } from '../console/rollouts.ts';
import { DEFAULT_TOPOLOGY_PATH } from '../examples/index.ts';
import { RolloutService } from '../rollout/service.ts';
import { createApp, type ExtraRouter } from './app.ts';
import { tokenFromFile, type TokenSource } from './auth.ts';
import { RegistrationStore } from './registrations.ts';
import { watchTopologyFile } from './topology-watch.ts';
import { readTopologyText } from '../topology/text.ts';

export interface ServerOptions {
  /** Topology file to serve and watch; the embedded default topology when omitted. */
  readonly topologyFile?: string;
  readonly port: number;
  /** Listen address; loopback unless told otherwise. */
  readonly host?: string;
  /** File holding the sidecars' bearer token (a mounted Secret); checked for a change once a second, so rotation needs no restart. */
  readonly heartbeatTokenFile?: string;
  /** The token itself (tests); tokenFile wins when both are given. */
  readonly heartbeatToken?: Secret;
  /** File holding the read token (http_sd, configs); checked for a change once a second. */
  readonly readTokenFile?: string;
  /** The read token itself (tests); readTokenFile wins when both are given. */
  readonly readToken?: Secret;
  /** File holding the operator token (rollout actions, the console's buttons); checked for a change once a second. */
  readonly operatorTokenFile?: string;
  /** The operator token itself (tests); operatorTokenFile wins when both are given. */
  readonly operatorToken?: Secret;
  /** How long a heartbeat keeps an edge registered (default 90 s: three 30 s heartbeats). */
  readonly registrationTtlMs?: number;
  readonly pollIntervalMs?: number;
  readonly profile?: Profile;
  readonly logger?: Logger;
  readonly extraRouters?: readonly ExtraRouter[];
  readonly now?: () => number;
  /** Share a registry with routers mounted beside the app. */
  readonly registry?: Registry;
  /** The DingTalk/SMS alert bridge, mounted at BRIDGE_BASE_PATH, following this server's topology watcher. */
  readonly bridge?: AlertBridgeConfig;
  /** Where the console at `/` reads central (`--central-url`); default from the topology and profile. */
  readonly centralUrls?: readonly string[];
  /** Durable rollout state; with it, the service runs staged rollouts (rollout/service.ts, operator token). */
  readonly dataDir?: string;
  readonly rolloutTickMs?: number;
}

export interface RunningServer {
  /** http://host:port, no trailing slash. */
  readonly url: string;
  readonly registry: Registry;
  readonly bridge?: BridgeHandle;
  close(): Promise<void>;
}

export async function startServer(opts: ServerOptions): Promise<RunningServer> {
  const logger = opts.logger ?? pino({ name: 'fedstack', redact: ['req.headers.authorization', 'token'] });
  const host = opts.host ?? '127.0.0.1';
  const file = opts.topologyFile ?? DEFAULT_TOPOLOGY_PATH;
  const watcher = watchTopologyFile({ file, pollIntervalMs: opts.pollIntervalMs, logger });
  const registry = opts.registry ?? new Registry();
  collectDefaultMetrics({ register: registry, prefix: 'fedstack_' });
  const heartbeatToken = tokenOption(opts.heartbeatTokenFile, opts.heartbeatToken);
  const readToken = tokenOption(opts.readTokenFile, opts.readToken);
  if (heartbeatToken === undefined)
    logger.warn('no heartbeat token configured: sidecar heartbeats are refused');
  if (readToken === undefined) logger.warn('no read token configured: http_sd and /v1/config are refused');
  const operatorToken = tokenOption(opts.operatorTokenFile, opts.operatorToken);
  if (operatorToken === undefined)
    logger.warn('no operator token configured: rollout actions are refused (the console stays read-only)');
  const bridge = opts.bridge
    ? startAlertBridge(opts.bridge, {
        topology: watcher,
        registry,
        logger: logger.child({ component: 'bridge' }),
      })
    : undefined;

  const rollouts =
    opts.dataDir === undefined
      ? undefined
      : new RolloutService({
          dataDir: opts.dataDir,
          profile: opts.profile ?? 'kubernetes',
          initial: { text: readTopologyText(file), file, hash: watcher.current().hash },
          logger: logger.child({ component: 'rollout' }),
          registry,
          now: opts.now ?? Date.now,
          tickMs: opts.rolloutTickMs,
          ...(opts.centralUrls === undefined ? {} : { centralUrls: () => centralsByName(opts.centralUrls!) }),
        });

  const app = createApp({
    rollouts,
    topologySource: watcher,
    registrations: new RegistrationStore({ ttlMs: opts.registrationTtlMs ?? 90_000 }),
    heartbeatToken,
    readToken,
    operatorToken,
    logger,
    registry,
    now: opts.now ?? Date.now,
    profile: opts.profile,
    extraRouters: [
      ...(bridge ? [{ path: BRIDGE_BASE_PATH, router: bridge.router }] : []),
      ...(opts.extraRouters ?? []),
      // Last: it answers `/`, and reads the bridge's status when there is one.
      consoleRouter({
        profile: opts.profile ?? 'kubernetes',
        ...(opts.centralUrls === undefined ? {} : { centralUrls: opts.centralUrls }),
        ...(bridge === undefined ? {} : { bridge: bridge.engine }),
        ...(rollouts === undefined ? {} : { rollouts: rolloutSource(rollouts) }),
      }),
    ],
  });

  const server = app.listen(opts.port, host);
  await new Promise<void>((resolve, reject) => {
    server.once('listening', resolve);
    server.once('error', (e) => {
      watcher.close();
      void bridge?.close();
      void rollouts?.close();
      reject(e);
    });
  });
  const { port } = server.address() as AddressInfo;
  const url = `http://${host.includes(':') ? `[${host}]` : host}:${port}`;
  logger.info(
    { url, topologyFile: file, revision: watcher.current().revision },
    'fedstack service listening',
  );

  return {
    url,
    registry,
    bridge,
    close: async () => {
      await new Promise<void>((resolve, reject) => {
        server.closeAllConnections();
        server.close((e) => (e ? reject(e) : resolve()));
      });
      // In-flight sends finish and are recorded; what is still queued stays in the outbox.
      await bridge?.close();
      await rollouts?.close();
      watcher.close();
    },
  };
}

/**
 * A token from a mounted file, checked for a change once a second (rotation needs no restart), or a fixed
 * one. The file must be readable at start: a typo in a path fails loudly, not at the first call.
 */
function tokenOption(file: string | undefined, fixed: Secret | undefined): TokenSource | undefined {
  if (file === undefined) return fixed;
  readFileSync(file);
  return tokenFromFile(file);
}

/** `--central-url` given as a list: the gates read central there (names by position). */
function centralsByName(urls: readonly string[]): Record<string, string> {
  return Object.fromEntries(urls.map((u, i) => [`central-${i}`, u.replace(/\/$/, '')]));
}
