/**
 * The bridge's HTTP face: `POST /dingtalk/:receiver` and `POST /sms/:receiver` (the service
 * mounts the router at /v1/alerts). Alertmanager retries only 5xx, so:
 *   2xx  the notification is on disk (fsync'd) or was already (duplicate / skipped resolved SMS);
 *   4xx  the payload is malformed (retrying the same bytes cannot help), with the reason;
 *   401  wrong or missing bearer token;
 *   5xx  anything that stops the bridge from accepting (unknown receiver, disk, shutting down).
 */
import { timingSafeEqual } from 'node:crypto';
import express, { type NextFunction, type Request, type Response, type Router } from 'express';
import type { Registry } from 'prom-client';
import type { Topology } from '../../topology/model.ts';
import type { Routing } from '../../topology/routing.ts';
import {
  bridgeOptions,
  DeliveryEngine,
  UnknownReceiverError,
  type BridgeLogger,
  type BridgeOptionsInput,
  type SmsProviderFactory,
} from './engine.ts';
import type { HttpClient } from './http.ts';
import { createBridgeMetrics } from './metrics.ts';
import { Outbox, type Channel } from './outbox.ts';
import type { SecretResolver } from './secrets.ts';
import { aliyunSmsProvider } from './sms.ts';
import { parseWebhook } from './webhook.ts';

export interface BridgeDeps {
  /** The validated topology; only its `routing` section is used. */
  readonly topology: Pick<Topology, 'routing'>;
  /** Outbox directory (a persistent volume in Kubernetes). */
  readonly outboxDir: string;
  readonly now: () => number;
  readonly http: HttpClient;
  readonly secrets: SecretResolver;
  readonly logger: BridgeLogger;
  readonly registry: Registry;
  /** Default: Aliyun SendSms through the official SDK, with the receiver's endpoint override. */
  readonly smsProvider?: SmsProviderFactory;
  /** Limits, windows, retry budget (defaults: DingTalk 20/60 s, Aliyun per-number limits). */
  readonly options?: BridgeOptionsInput;
  /** Bearer token check (default true; the token is routing.webhookToken). */
  readonly requireAuth?: boolean;
  /** JSON body limit (default 4 MB: Alertmanager groups can be large). */
  readonly bodyLimit?: string;
}

export interface BridgeHandle {
  readonly router: Router;
  /** Resolves once the outbox is loaded and resumed; requests wait for it. */
  readonly ready: Promise<void>;
  readonly engine: DeliveryEngine;
  /** Stops scheduling and waits for in-flight sends; pending notifications stay on disk. */
  close(): Promise<void>;
}

export const defaultSmsProvider: SmsProviderFactory = async (receiver, secrets) => {
  const sms = receiver.sms!;
  const [accessKeyId, accessKeySecret] = await Promise.all([
    secrets(sms.accessKeyId),
    secrets(sms.accessKeySecret),
  ]);
  return aliyunSmsProvider({ accessKeyId, accessKeySecret, endpoint: sms.endpoint, protocol: sms.protocol });
};

export function createBridgeRouter(deps: BridgeDeps): BridgeHandle {
  const routing = deps.topology.routing as Routing | undefined;
  const outbox = new Outbox(deps.outboxDir);
  // The engine counts queue depth for the gauge; created first, bound lazily.
  const ref: { engine?: DeliveryEngine } = {};
  const metrics = createBridgeMetrics(deps.registry, (c) => ref.engine?.queueDepth(c) ?? 0);
  const engine = new DeliveryEngine({
    routing,
    outbox,
    now: deps.now,
    http: deps.http,
    secrets: deps.secrets,
    logger: deps.logger,
    metrics,
    smsProvider: deps.smsProvider ?? defaultSmsProvider,
    options: bridgeOptions(deps.options),
  });
  ref.engine = engine;
  const ready = engine.start();
  ready.catch((e: unknown) =>
    deps.logger.error({ err: (e as Error).message }, 'alert bridge: cannot open the outbox'),
  );

  const router = express.Router();
  router.use(express.json({ limit: deps.bodyLimit ?? '4mb', type: () => true }));

  const handler = (channel: Channel) => async (req: Request, res: Response) => {
    const receiver = String(req.params.receiver);
    const reject = (status: number, outcome: string, reason: string) => {
      metrics.received.inc({ channel, outcome });
      res.status(status).json({ status: 'error', reason });
    };
    try {
      await ready;
    } catch {
      return reject(503, 'unavailable', 'outbox unavailable');
    }
    if (deps.requireAuth !== false) {
      let expected: string;
      try {
        expected = (
          await deps.secrets(routing?.webhookToken ?? { name: 'fedstack-alert-bridge', key: 'token' })
        ).reveal();
      } catch {
        return reject(503, 'unavailable', 'webhook token not available');
      }
      const got = /^Bearer (.+)$/.exec(req.get('authorization') ?? '')?.[1] ?? '';
      const a = Buffer.from(got);
      const b = Buffer.from(expected);
      if (a.length !== b.length || !timingSafeEqual(a, b))
        return reject(401, 'unauthorized', 'missing or wrong bearer token');
    }
    const empty =
      Number(req.get('content-length') ?? '0') === 0 && req.get('transfer-encoding') === undefined;
    const parsed = empty
      ? ({ ok: false, reason: '(body): empty, expected a JSON object (Alertmanager webhook v4)' } as const)
      : parseWebhook(req.body);
    if (!parsed.ok) {
      deps.logger.warn({ channel, receiver, reason: parsed.reason }, 'alert bridge: malformed payload');
      return reject(400, 'invalid', parsed.reason);
    }
    try {
      const outcome = await engine.accept(channel, receiver, parsed.payload);
      metrics.received.inc({ channel, outcome });
      res.status(outcome === 'accepted' ? 202 : 200).json({ status: outcome });
    } catch (e) {
      const reason = e instanceof UnknownReceiverError ? e.message : `cannot accept: ${(e as Error).message}`;
      deps.logger.error({ channel, receiver, reason }, 'alert bridge: not accepted');
      reject(503, 'unavailable', reason);
    }
  };
  router.post('/dingtalk/:receiver', handler('dingtalk'));
  router.post('/sms/:receiver', handler('sms'));

  // Body-parser errors (bad JSON, too large) are the client's: 4xx with the reason.
  router.use(
    (err: Error & { status?: number; type?: string }, req: Request, res: Response, next: NextFunction) => {
      if (err.status !== undefined && err.status >= 400 && err.status < 500) {
        const channel: Channel = req.path.startsWith('/sms') ? 'sms' : 'dingtalk';
        metrics.received.inc({ channel, outcome: 'invalid' });
        res
          .status(err.status)
          .json({
            status: 'error',
            reason:
              err.type === 'entity.parse.failed'
                ? `(body): invalid JSON: ${err.message}`
                : `(body): ${err.message}`,
          });
        return;
      }
      next(err);
    },
  );

  return { router, ready, engine, close: () => engine.close() };
}
