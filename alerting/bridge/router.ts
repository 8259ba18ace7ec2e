/**
 * The bridge's HTTP face: `POST /dingtalk/:receiver` and `POST /sms/:receiver` (the service
 * mounts the router at /v1/alerts). Alertmanager retries only 5xx and always sends
 * `application/json` in UTF-8, so anything else is a misconfiguration, refused loudly:
 *   2xx  the notification is on disk (fsync'd) or was already (duplicate / skipped resolved SMS);
 *   400  the body is not UTF-8, not JSON or not a v4 payload (with the reason); 413 too large;
 *   401  wrong or missing bearer token;
 *   404  a receiver name that can never be one (not a DNS label, e.g. `..%2F..%2Ftmp`): final;
 *   415  a Content-Type other than application/json (or a charset other than utf-8);
 *   503  anything that stops the bridge from accepting now: a well-formed receiver name the
 *        loaded routing does not have (yet: a topology edit may add it), outbox, shutdown.
 * Each answer is counted in fedstack_alert_bridge_received_total{outcome}.
 */
import { timingSafeEqual } from 'node:crypto';
import express, { type Request, type Response, type Router } from 'express';
import type { Registry } from 'prom-client';
import { NAME_RE } from '../../topology/schema.ts';
import {
  bridgeOptions,
  DeliveryEngine,
  UnknownReceiverError,
  type BridgeLogger,
  type BridgeOptionsInput,
  type RoutingSource,
  type SmsProviderFactory,
} from './engine.ts';
import type { HttpClient } from './http.ts';
import { createBridgeMetrics, type ReceivedOutcome } from './metrics.ts';
import { Outbox, type Channel } from './outbox.ts';
import type { SecretResolver } from './secrets.ts';
import { aliyunSmsProvider } from './sms.ts';
import { parseWebhook } from './webhook.ts';

export interface BridgeDeps {
  /** The service's topology source (only `routing` is used), followed revision by revision. */
  readonly topology: RoutingSource;
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

const ROUTE = /^\/(dingtalk|sms)\/(.*)$/s;
const MAX_NAME = 63;

/**
 * The receiver name of a request path segment (percent-decoded), or undefined when it can never
 * be a receiver: receiver names are DNS labels (topology/routing.ts), so `..%2F..`, `%2e%2e%2f`,
 * `..%5C..`, an empty or an over-long name, or a malformed escape are refused outright.
 */
export function receiverNameOf(segment: string): string | undefined {
  let name: string;
  try {
    name = decodeURIComponent(segment);
  } catch {
    return undefined;
  }
  return name.length <= MAX_NAME && NAME_RE.test(name) ? name : undefined;
}

/** Why a Content-Type is not Alertmanager's `application/json` (charset utf-8 if any), or undefined. */
export function mediaTypeProblem(header: string | undefined): string | undefined {
  if (header === undefined || header.trim() === '') return 'no Content-Type (want application/json)';
  const [type, ...params] = header.split(';');
  if (type!.trim().toLowerCase() !== 'application/json')
    return `Content-Type ${quote(header)} is not application/json`;
  for (const p of params) {
    const eq = p.indexOf('=');
    if (eq < 0 || p.slice(0, eq).trim().toLowerCase() !== 'charset') continue;
    const charset = p
      .slice(eq + 1)
      .trim()
      .replace(/^"(.*)"$/, '$1')
      .toLowerCase();
    if (charset !== 'utf-8') return `charset ${quote(charset)} is not utf-8`;
  }
  return undefined;
}

/** A client-supplied string, shortened, fit for an answer and a log line. */
function quote(s: string): string {
  return JSON.stringify(s.length > 80 ? `${s.slice(0, 79)}…` : s);
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

export function createBridgeRouter(deps: BridgeDeps): BridgeHandle {
  const outbox = new Outbox(deps.outboxDir);
  // The engine counts queue depth for the gauge; created first, bound lazily.
  const ref: { engine?: DeliveryEngine } = {};
  const metrics = createBridgeMetrics(
    deps.registry,
    (c) => ref.engine?.queueDepth(c) ?? 0,
    (c) => ref.engine?.oldestPendingSeconds(c) ?? 0,
  );
  const engine = new DeliveryEngine({
    routing: deps.topology,
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
  // The raw bytes: JSON parsing would turn invalid UTF-8 into U+FFFD without a word.
  const readBody = express.raw({ limit: deps.bodyLimit ?? '4mb', type: () => true });

  const handle = async (channel: Channel, segment: string, req: Request, res: Response) => {
    const reject = (status: number, outcome: ReceivedOutcome, reason: string) => {
      metrics.received.inc({ channel, outcome });
      if (status !== 401 && status !== 503)
        deps.logger.warn({ channel, receiver: quote(segment), status, reason }, 'alert bridge: refused');
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
        const routing = deps.topology.current().topology.routing;
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
    const receiver = receiverNameOf(segment);
    if (receiver === undefined)
      return reject(
        404,
        'invalid_receiver',
        `${quote(segment)} can never be a receiver (receiver names are DNS labels: a-z, 0-9 and '-', at most ${MAX_NAME} characters)`,
      );
    const typeProblem = mediaTypeProblem(req.get('content-type'));
    if (typeProblem !== undefined) return reject(415, 'unsupported_media_type', typeProblem);
    try {
      await new Promise<void>((resolve, fail) =>
        readBody(req, res, (e?: unknown) => (e ? fail(e) : resolve())),
      );
    } catch (e) {
      const err = e as Error & { status?: number; type?: string };
      const status = err.status !== undefined && err.status >= 400 && err.status < 500 ? err.status : 400;
      return reject(status, status === 415 ? 'unsupported_media_type' : 'invalid', `(body): ${err.message}`);
    }
    const raw: Buffer = Buffer.isBuffer(req.body) ? req.body : Buffer.alloc(0);
    if (raw.length === 0)
      return reject(400, 'invalid', '(body): empty, expected a JSON object (Alertmanager webhook v4)');
    let text: string;
    try {
      text = utf8.decode(raw);
    } catch {
      return reject(400, 'invalid', '(body): not valid UTF-8 (Alertmanager sends UTF-8 JSON)');
    }
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch (e) {
      return reject(400, 'invalid', `(body): invalid JSON: ${(e as Error).message}`);
    }
    const parsed = parseWebhook(json);
    if (!parsed.ok) return reject(400, 'invalid', parsed.reason);
    try {
      const outcome = await engine.accept(channel, receiver, parsed.payload);
      metrics.received.inc({ channel, outcome });
      res.status(outcome === 'accepted' ? 202 : 200).json({ status: outcome });
    } catch (e) {
      const unknown = e instanceof UnknownReceiverError;
      const reason = unknown ? e.message : `cannot accept: ${(e as Error).message}`;
      deps.logger.error({ channel, receiver, reason }, 'alert bridge: not accepted');
      reject(503, unknown ? 'unknown_receiver' : 'unavailable', reason);
    }
  };

  const router = express.Router();
  // The path is matched raw (still percent-encoded) so that every name after the channel, with
  // or without slashes, gets the bridge's answer rather than the service's fallback.
  router.use((req, res, next) => {
    const m = req.method === 'POST' ? ROUTE.exec(req.path) : null;
    if (!m) return next();
    handle(m[1] as Channel, m[2]!, req, res).catch(next);
  });

  return { router, ready, engine, close: () => engine.close() };
}
