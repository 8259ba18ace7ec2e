/**
 * The alert bridge as fedstack runs it: the one place that turns a deployment's settings (outbox
 * and secrets directories, limits) and the service's topology source into a router to mount at
 * BRIDGE_BASE_PATH. The service (server/main.ts: `fedstack serve`, the local stack) and the
 * bench all start it here, so none of them can wire it differently, and none parses the
 * topology a second time: the bridge follows the service's watcher.
 */
import { mkdirSync } from 'node:fs';
import type { Registry } from 'prom-client';
import type { BridgeLogger, BridgeOptionsInput, RoutingSource, SmsProviderFactory } from './engine.ts';
import { fetchHttpClient, type HttpClient } from './http.ts';
import { createBridgeRouter, type BridgeHandle } from './router.ts';
import { fileSecretResolver } from './secrets.ts';

export interface AlertBridgeConfig {
  /** The durable outbox (a persistent volume in Kubernetes); created when missing. */
  readonly outboxDir: string;
  /** Kubernetes Secret volumes, mounted as `<dir>/<name>/<key>`. */
  readonly secretsDir: string;
  /** Limits and windows (production defaults: DingTalk 20 per 60 s, Aliyun's per-number limits). */
  readonly options?: BridgeOptionsInput;
  /** Outbound HTTP to DingTalk (default: fetch). */
  readonly http?: HttpClient;
  /** Default: Aliyun SendSms through the official SDK. */
  readonly smsProvider?: SmsProviderFactory;
  readonly now?: () => number;
}

export function startAlertBridge(
  config: AlertBridgeConfig,
  ctx: { readonly topology: RoutingSource; readonly registry: Registry; readonly logger: BridgeLogger },
): BridgeHandle {
  mkdirSync(config.outboxDir, { recursive: true });
  return createBridgeRouter({
    topology: ctx.topology,
    outboxDir: config.outboxDir,
    now: config.now ?? Date.now,
    http: config.http ?? fetchHttpClient,
    secrets: fileSecretResolver(config.secretsDir),
    logger: ctx.logger,
    registry: ctx.registry,
    smsProvider: config.smsProvider,
    options: config.options,
  });
}
