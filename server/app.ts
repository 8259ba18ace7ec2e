/**
 * The fedstack service: Prometheus http_sd for cascades and central, the rendered bundle, edge
 * heartbeats, and its own health and metrics. Everything it depends on comes in through
 * `deps` (topology, renderer, clock, token, logger, registry) so tests drive it directly.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import express, {
  type ErrorRequestHandler,
  type NextFunction,
  type Request,
  type Response,
  type Router,
} from 'express';
import NodeCache from 'node-cache';
import type { Logger } from 'pino';
import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import { z } from 'zod';
import { LABEL, type Profile } from '../common/conventions.ts';
import type { Secret } from '../common/secret.ts';
import type { Bundle } from '../deploy/bundle.ts';
import { findBigRegion, findMetaCluster, metaClustersOf, type Topology } from '../topology/model.ts';
import { hostPortSchema } from '../topology/schema.ts';
import type { RegistrationStore } from './registrations.ts';
import type { TopologySource } from './topology-watch.ts';

export interface AppDeps {
  readonly topologySource: TopologySource;
  readonly renderBundle: (topo: Topology, profile: Profile) => Bundle;
  readonly registrations: RegistrationStore;
  /** Bearer token sidecars present; undefined disables heartbeats (503) rather than opening them. */
  readonly heartbeatToken: Secret | undefined;
  readonly logger: Logger;
  readonly registry: Registry;
  /** ms since the epoch. */
  readonly now: () => number;
  /** Profile of the bundle served under /v1/config (default kubernetes). */
  readonly profile?: Profile;
  /** Max request body size (express/body-parser syntax), default 16kb. */
  readonly bodyLimit?: string;
  /** Mounted before the fallbacks, e.g. the alerting bridge at /v1/alerts. */
  readonly extraRouters?: readonly { readonly path: string; readonly router: Router }[];
}

/** One Prometheus http_sd target group. */
export interface SdGroup {
  readonly targets: readonly string[];
  readonly labels: Readonly<Record<string, string>>;
}

const heartbeatSchema = z.strictObject({
  endpoint: hostPortSchema,
  version: z.string().min(1).max(128),
  configHash: z
    .string()
    .regex(/^[A-Za-z0-9:_-]{1,128}$/, { error: 'must be 1-128 letters, digits, ":", "_" or "-"' }),
});
export type HeartbeatBody = z.infer<typeof heartbeatSchema>;

/** File names the config route accepts: no path separators, no leading dot. */
const SEGMENT_RE = /^[A-Za-z0-9_][A-Za-z0-9_.-]*$/;
const CONTENT_TYPES: Readonly<Record<string, string>> = {
  yml: 'application/yaml; charset=utf-8',
  yaml: 'application/yaml; charset=utf-8',
  json: 'application/json; charset=utf-8',
};

/** The http_sd answer for one cascade: one group per meta-cluster, registration over topology. */
export function cascadeTargets(
  topo: Topology,
  bigRegion: string,
  live: ReadonlyMap<string, { endpoint: string }>,
): SdGroup[] | undefined {
  const br = findBigRegion(topo, bigRegion);
  if (!br) return undefined;
  return metaClustersOf(br).map(({ region, metaCluster }) => ({
    targets: [live.get(metaCluster.name)?.endpoint ?? metaCluster.endpoint],
    labels: {
      [LABEL.bigRegion]: br.name,
      [LABEL.region]: region.name,
      [LABEL.metaCluster]: metaCluster.name,
    },
  }));
}

/** The http_sd answer for central: one group per cascade. */
export function centralTargets(topo: Topology): SdGroup[] {
  return topo.bigRegions.map((br) => ({
    targets: [br.cascade.endpoint],
    labels: { [LABEL.bigRegion]: br.name },
  }));
}

class HttpError extends Error {
  constructor(
    readonly status: number,
    readonly error: string,
    readonly reason: string,
  ) {
    super(reason);
  }
}

export function createApp(deps: AppDeps): express.Express {
  const { topologySource, registrations, logger, registry, now } = deps;
  const profile = deps.profile ?? 'kubernetes';
  const metrics = createMetrics(deps);
  const bundles = new NodeCache({ stdTTL: 0, useClones: false, checkperiod: 0 });

  const app = express();
  app.disable('x-powered-by');
  app.set('etag', 'strong');
  app.set('json spaces', 0);

  app.use((req: Request, res: Response, next: NextFunction) => {
    const end = metrics.latency.startTimer();
    res.on('finish', () => {
      // The route pattern, not the URL: bounded label values whatever clients send.
      const route =
        req.route?.path !== undefined
          ? `${req.baseUrl}${String(req.route.path)}`
          : req.baseUrl || 'unmatched';
      const labels = { method: req.method, route, code: String(res.statusCode) };
      const seconds = end(labels);
      metrics.requests.inc(labels);
      // Path only: no query string, no headers (the Authorization header must never be logged).
      logger.info(
        { method: req.method, path: req.path, status: res.statusCode, ms: Math.round(seconds * 1000) },
        'request',
      );
    });
    next();
  });

  app.get('/healthz', (_req, res) => {
    res.json({ status: 'ok' });
  });

  app.get('/readyz', (_req, res) => {
    const { revision, hash } = topologySource.current();
    const error = topologySource.lastError();
    if (error !== undefined) {
      res.status(503).json({
        error: 'not ready',
        reason: `topology file is invalid, serving revision ${revision}: ${error}`,
        revision,
        hash,
      });
      return;
    }
    res.json({ status: 'ready', revision, hash });
  });

  app.get('/metrics', async (_req, res) => {
    res.type(registry.contentType).send(await registry.metrics());
  });

  // http_sd answers are built once per (topology revision, live endpoints): Prometheus servers
  // of a whole big region poll them, and 2,500 targets take milliseconds to serialize.
  const sdCache = new Map<string, { key: string; body: string }>();
  app.get('/v1/sd/cascade/:bigRegion', (req, res) => {
    const { topology, revision } = topologySource.current();
    const key = `${revision}/${registrations.version(now())}`;
    const cached = sdCache.get(req.params.bigRegion);
    if (cached?.key === key) {
      res.type('application/json').send(cached.body);
      return;
    }
    const groups = cascadeTargets(topology, req.params.bigRegion, registrations.live(now()));
    if (groups) {
      const body = JSON.stringify(groups);
      sdCache.set(req.params.bigRegion, { key, body });
      res.type('application/json').send(body);
      return;
    }
    throw new HttpError(
      404,
      'not found',
      `unknown big region ${JSON.stringify(req.params.bigRegion)} (known: ${topology.bigRegions.map((b) => b.name).join(', ')})`,
    );
  });

  app.get('/v1/sd/central', (_req, res) => {
    res.json(centralTargets(topologySource.current().topology));
  });

  const serveConfig = (res: Response, segments: readonly string[]) => {
    for (const s of segments) {
      if (!SEGMENT_RE.test(s))
        throw new HttpError(400, 'bad request', `invalid path segment ${JSON.stringify(s)}`);
    }
    const path = segments.join('/');
    const text = bundleFor(topologySource.current()).get(path);
    if (text === undefined) throw new HttpError(404, 'not found', `no rendered file ${JSON.stringify(path)}`);
    const ext = path.slice(path.lastIndexOf('.') + 1);
    res.setHeader('X-Fedstack-Topology-Revision', String(topologySource.current().revision));
    res.type(CONTENT_TYPES[ext] ?? 'text/plain; charset=utf-8').send(text);
  };
  // `/v1/config/<tier>/<name>/<file>`, and any other depth the bundle has
  // (alerting/alertmanager.yml, dashboards/provisioning/datasources/x.yaml).
  app.get('/v1/config/*path', (req, res) => serveConfig(res, req.params.path as unknown as string[]));

  const bundleFor = (snap: ReturnType<TopologySource['current']>): Bundle => {
    const key = `${snap.revision}:${snap.hash}:${profile}`;
    const cached = bundles.get<Bundle>(key);
    if (cached) return cached;
    const end = metrics.renderSeconds.startTimer();
    let bundle: Bundle;
    try {
      bundle = deps.renderBundle(snap.topology, profile);
    } catch (e) {
      logger.error({ revision: snap.revision, err: (e as Error).message }, 'render failed');
      throw new HttpError(
        500,
        'render failed',
        `rendering topology revision ${snap.revision} failed: ${(e as Error).message}`,
      );
    } finally {
      end();
    }
    // Only the current revision is worth keeping.
    bundles.flushAll();
    bundles.set(key, bundle);
    return bundle;
  };

  app.post(
    '/v1/edges/:metaCluster/heartbeat',
    (req, _res, next) => {
      authorize(req, deps.heartbeatToken);
      if (!req.is('application/json'))
        throw new HttpError(415, 'unsupported media type', 'the body must be application/json');
      next();
    },
    express.json({ limit: deps.bodyLimit ?? '16kb', strict: true }),
    (req, res) => {
      const name = req.params.metaCluster!;
      if (!findMetaCluster(topologySource.current().topology, name)) {
        throw new HttpError(404, 'not found', `unknown meta-cluster ${JSON.stringify(name)}`);
      }
      const parsed = heartbeatSchema.safeParse(req.body);
      if (!parsed.success) {
        const reason = parsed.error.issues
          .map((i) => `${i.path.length ? i.path.join('.') : '(body)'}: ${i.message}`)
          .join('; ');
        throw new HttpError(400, 'bad request', reason);
      }
      const at = now();
      registrations.record(name, { ...parsed.data, receivedAt: at });
      metrics.heartbeats.inc({ [LABEL.metaCluster]: name });
      res.json({
        status: 'registered',
        metaCluster: name,
        expiresAt: new Date(at + registrations.ttlMs).toISOString(),
      });
    },
  );

  for (const { path, router } of deps.extraRouters ?? []) app.use(path, router);

  app.use((req: Request) => {
    throw new HttpError(404, 'not found', `no route for ${req.method} ${req.path}`);
  });

  const onError: ErrorRequestHandler = (err, req, res, next) => {
    if (res.headersSent) return next(err);
    const e = toHttpError(err);
    if (e.status >= 500) logger.error({ path: req.path, err: e.reason }, 'request failed');
    if (e.status === 401) res.setHeader('WWW-Authenticate', 'Bearer realm="fedstack"');
    res.status(e.status).json({ error: e.error, reason: e.reason });
  };
  app.use(onError);
  return app;
}

/** Bearer token check in constant time (hashing first makes the lengths equal). */
function authorize(req: Request, token: Secret | undefined): void {
  if (token === undefined)
    throw new HttpError(503, 'unavailable', 'heartbeats are disabled: the service has no token configured');
  const header = req.get('authorization');
  if (header === undefined) throw new HttpError(401, 'unauthorized', 'missing bearer token');
  const m = /^Bearer\s+(\S+)\s*$/i.exec(header);
  if (!m) throw new HttpError(401, 'unauthorized', 'the Authorization header must be "Bearer <token>"');
  const digest = (s: string) => createHash('sha256').update(s).digest();
  if (!timingSafeEqual(digest(m[1]!), digest(token.reveal())))
    throw new HttpError(401, 'unauthorized', 'invalid token');
}

/** body-parser errors carry `status` and `type`; anything else is a bug: 500 without details. */
function toHttpError(err: unknown): HttpError {
  if (err instanceof HttpError) return err;
  const e = err as { status?: number; type?: string; message?: string };
  if (e.type === 'entity.too.large')
    return new HttpError(413, 'payload too large', 'the request body is over the size limit');
  if (e.type === 'entity.parse.failed') return new HttpError(400, 'bad request', 'malformed JSON body');
  if (typeof e.status === 'number' && e.status >= 400 && e.status < 500) {
    return new HttpError(e.status, 'bad request', e.type ?? 'bad request');
  }
  return new HttpError(500, 'internal error', 'internal error');
}

function createMetrics(deps: AppDeps) {
  const { registry, topologySource, registrations, now } = deps;
  const registers = [registry];
  const requests = new Counter({
    name: 'fedstack_http_requests_total',
    help: 'HTTP requests answered, by route pattern and status code.',
    labelNames: ['method', 'route', 'code'],
    registers,
  });
  const latency = new Histogram({
    name: 'fedstack_http_request_duration_seconds',
    help: 'HTTP request latency.',
    labelNames: ['method', 'route', 'code'],
    buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
    registers,
  });
  const renderSeconds = new Histogram({
    name: 'fedstack_render_duration_seconds',
    help: 'Time to render the whole bundle for one topology revision.',
    buckets: [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers,
  });
  const heartbeats = new Counter({
    name: 'fedstack_edge_heartbeats_total',
    help: 'Accepted sidecar heartbeats, by meta-cluster.',
    labelNames: [LABEL.metaCluster],
    registers,
  });
  new Gauge({
    name: 'fedstack_edge_registrations',
    help: 'Live (unexpired) edge registrations.',
    registers,
    collect() {
      this.set(registrations.live(now()).size);
    },
  });
  new Gauge({
    name: 'fedstack_topology_revision',
    help: 'Revision of the topology being served (1 at start, +1 per accepted change).',
    registers,
    collect() {
      this.set(topologySource.current().revision);
    },
  });
  new Gauge({
    name: 'fedstack_topology_valid',
    help: '1 when the watched topology file is the one being served, 0 when its last change was refused.',
    registers,
    collect() {
      this.set(topologySource.lastError() === undefined ? 1 : 0);
    },
  });
  let reported = 0;
  new Counter({
    name: 'fedstack_topology_reload_failures_total',
    help: 'Topology changes refused because the file was invalid.',
    registers,
    collect() {
      const n = topologySource.reloadFailures();
      if (n > reported) this.inc(n - reported);
      reported = n;
    },
  });
  return { requests, latency, renderSeconds, heartbeats };
}
