/**
 * The fedstack service: Prometheus http_sd for cascades and central, the rendered files, edge
 * heartbeats, and its own health and metrics. Everything it depends on comes in through
 * `deps` (topology, clock, token, logger, registry) so tests drive it directly.
 *
 * Rendered files come from the render plan of the topology revision being served, lazily: the
 * first GET of one edge's prometheus.yml renders that edge, not the fleet. Each answer is kept
 * (bounded) with its gzip form, which Prometheus' HTTP client and the sidecars ask for.
 */
import { createHash } from 'node:crypto';
import { gzipSync } from 'node:zlib';
import express, {
  type ErrorRequestHandler,
  type NextFunction,
  type Request,
  type Response,
  type RequestHandler,
  type Router,
} from 'express';
import type { Logger } from 'pino';
import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import { z } from 'zod';
import { LABEL, type Profile } from '../common/conventions.ts';
import { createEmitter, type Emitter } from '../render/emit.ts';
import { createPlan, type PrometheusTier, type RenderPlan } from '../render/plan.ts';
import type { RolloutService } from '../rollout/service.ts';
import type { Topology } from '../topology/model.ts';
import { hostPortSchema } from '../topology/schema.ts';
import { HttpError, policyOf, requireToken, type TokenSource } from './auth.ts';
import type { RegistrationStore } from './registrations.ts';
import { rolloutRouter } from './rollout-api.ts';
import type { TopologySnapshot, TopologySource } from './topology-watch.ts';
import { Recent } from '../common/recent.ts';

export interface AppDeps {
  readonly topologySource: TopologySource;
  readonly registrations: RegistrationStore;
  /** Bearer token sidecars present; undefined disables heartbeats (503) rather than opening them. */
  readonly heartbeatToken: TokenSource | undefined;
  /**
   * Bearer token for the read routes (http_sd, configs: they reveal the fleet's layout);
   * undefined disables them (503) rather than opening them. See server/auth.ts.
   */
  readonly readToken?: TokenSource;
  /** Bearer token for operator actions (rollouts, the console's buttons); undefined: 503. */
  readonly operatorToken?: TokenSource;
  readonly logger: Logger;
  readonly registry: Registry;
  /** ms since the epoch. */
  readonly now: () => number;
  /** Profile of the files served under /v1/config (default kubernetes). */
  readonly profile?: Profile;
  /**
   * Staged rollouts (rollout/service.ts): each Prometheus instance is served the revision the
   * rollout assigns it, sidecars' reports go to it, and /v1/rollouts is its API (operator
   * token). Without it, every instance gets the topology source's current revision.
   */
  readonly rollouts?: RolloutService;
  /** Max request body size (express/body-parser syntax), default 16kb. */
  readonly bodyLimit?: string;
  /**
   * Mounted before the fallbacks, e.g. the alerting bridge at /v1/alerts; `build` gets the
   * app's own state (the operator console at /).
   */
  readonly extraRouters?: readonly ExtraRouter[];
}

export type ExtraRouter =
  | { readonly path: string; readonly router: Router }
  | { readonly path: string; readonly build: (ctx: AppContext) => Router };

/** What a router built by `extraRouters[].build` shares with the app: one topology, one auth table. */
export interface AppContext {
  readonly topologySource: TopologySource;
  readonly registrations: RegistrationStore;
  /** The render plan of the topology revision being served (the one /v1/config answers from). */
  plan(): RenderPlan;
  readonly now: () => number;
  /** The check of a route's declared policy (server/auth.ts ROUTE_AUTH), as the app's own routes use it. */
  readonly guard: (method: 'GET' | 'POST', path: string) => RequestHandler;
}

const hashSchema = z
  .string()
  .regex(/^[A-Za-z0-9:_-]{1,128}$/, { error: 'must be 1-128 letters, digits, ":", "_" or "-"' });
/** What a sidecar says about itself; `revision` and `sync` only when it pulls its config (rollouts). */
const reportFields = {
  version: z.string().min(1).max(128),
  configHash: hashSchema,
  /** The topology revision (hash) whose files are live. */
  revision: hashSchema.optional(),
  /** Its last sync of a new revision: promtool's verdict and the reload's. */
  sync: z
    .strictObject({
      revision: hashSchema,
      promtool: z.enum(['ok', 'failed']),
      reload: z.enum(['ok', 'failed', 'not-needed']),
      problem: z.string().max(4000).optional(),
    })
    .optional(),
};
const heartbeatSchema = z.strictObject({ endpoint: hostPortSchema, ...reportFields });
const instanceHeartbeatSchema = z.strictObject(reportFields);
const PROMETHEUS_TIERS: readonly string[] = ['edge', 'cascade', 'central'];
const issuesText = (issues: readonly z.core.$ZodIssue[]) =>
  issues.map((i) => `${i.path.length ? i.path.join('.') : '(body)'}: ${i.message}`).join('; ');

/** File names the config route accepts: no path separators, no leading dot. */
const SEGMENT_RE = /^[A-Za-z0-9_][A-Za-z0-9_.-]*$/;
const CONTENT_TYPES: Readonly<Record<string, string>> = {
  yml: 'application/yaml; charset=utf-8',
  yaml: 'application/yaml; charset=utf-8',
  json: 'application/json; charset=utf-8',
};

/** A body ready to send, in plain and gzip form, with its strong ETag. */
interface Answer {
  readonly type: string;
  readonly body: Buffer;
  readonly gzip: Buffer;
  readonly etag: string;
}
const NOT_RENDERED: Answer = { type: '', body: Buffer.alloc(0), gzip: Buffer.alloc(0), etag: '' };

/**
 * `level` 1 for answers made once per instance and sent about once (a sidecar's pull of its
 * revision): about a quarter of default gzip's CPU for ~30% more bytes, which at 10,000 edges is
 * seconds of the service's CPU per rollout wave.
 */
function answer(text: string, type: string, level?: number): Answer {
  const body = Buffer.from(text);
  return {
    type,
    body,
    gzip: gzipSync(body, level === undefined ? {} : { level }),
    etag: `"${createHash('sha256').update(body).digest('base64url').slice(0, 27)}"`,
  };
}

/** Answers kept per revision: the files asked for recently, never the whole fleet's. */
const ANSWERS_KEPT = 4096;

/** 304 for a matching If-None-Match; gzip when the client accepts it (Prometheus does). */
function send(req: Request, res: Response, a: Answer): void {
  res.setHeader('ETag', a.etag);
  res.setHeader('Vary', 'Accept-Encoding');
  res.type(a.type);
  if (req.get('if-none-match') === a.etag) {
    res.status(304).end();
    return;
  }
  if (req.acceptsEncodings('gzip', 'identity') === 'gzip') {
    res.setHeader('Content-Encoding', 'gzip');
    res.send(a.gzip);
    return;
  }
  res.send(a.body);
}

export function createApp(deps: AppDeps): express.Express {
  const { topologySource, registrations, logger, registry, now } = deps;
  const profile = deps.profile ?? 'kubernetes';
  const metrics = createMetrics(deps);

  const app = express();
  /**
   * The check a route's declared policy (server/auth.ts ROUTE_AUTH) asks for: registering a
   * route without a policy fails at start, and the policy is what runs, not a comment.
   */
  const guard = (method: 'GET' | 'POST', path: string): RequestHandler => {
    const policy = policyOf(method, path);
    if (policy.auth === 'none') return (_req, _res, next) => next();
    if (policy.token === 'bridge')
      throw new Error(`${method} ${path}: the bridge router checks its own token`);
    const source = { read: deps.readToken, sidecar: deps.heartbeatToken, operator: deps.operatorToken }[
      policy.token
    ];
    return requireToken(policy.token, source);
  };
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

  app.get('/healthz', guard('GET', '/healthz'), (_req, res) => {
    res.json({ status: 'ok' });
  });

  app.get('/readyz', guard('GET', '/readyz'), (_req, res) => {
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

  app.get('/metrics', guard('GET', '/metrics'), async (_req, res) => {
    res.type(registry.contentType).send(await registry.metrics());
  });

  // One render plan per topology revision, made when first asked for (cheap: everything in it
  // is lazy), with the answers given from it. Only the revisions being served are worth keeping:
  // the current one, or during a rollout its old and new one.
  interface Served {
    emitter: Emitter;
    answers: Recent<Answer>;
    sd: Map<string, { key: number; answer: Answer }>;
  }
  const served = new Map<string, Served>();
  const serve = (snap: TopologySnapshot, emitter?: Emitter) => {
    const key = `${snap.revision}:${snap.hash}`;
    let s = served.get(key);
    if (s === undefined) {
      if (served.size >= 3) served.delete(served.keys().next().value!);
      s = {
        // A rollout's revisions come with the emitter the rollout compared them with: its edge
        // templates (one per shape, milliseconds each) are made once, not again here.
        emitter: emitter ?? createEmitter(createPlan(snap.topology, profile)),
        answers: new Recent(ANSWERS_KEPT),
        sd: new Map(),
      };
      served.set(key, s);
    }
    return { snap, ...s };
  };
  const serveRevision = (r: { topology: Topology; seq: number; hash: string; emitter: Emitter }) =>
    serve({ topology: r.topology, revision: r.seq, hash: r.hash }, r.emitter);
  /** The revision everything outside a rollout is served. */
  const current = () => (deps.rollouts ? serveRevision(deps.rollouts.stable()) : serve(topologySource.current()));
  /** The revision one Prometheus instance is served. */
  const currentFor = (tier: string, name: string) =>
    deps.rollouts && PROMETHEUS_TIERS.includes(tier)
      ? serveRevision(deps.rollouts.servedTo(tier as PrometheusTier, name))
      : current();

  // http_sd answers are built once per (topology revision, live endpoints): Prometheus servers
  // of a whole big region poll them, and 2,500 targets take milliseconds to serialize.
  app.get('/v1/sd/cascade/:bigRegion', guard('GET', '/v1/sd/cascade/:bigRegion'), (req, res) => {
    const name = String(req.params.bigRegion);
    // Which edges a cascade federates is part of its config: it follows the cascade's revision.
    const { emitter, sd, snap } = currentFor('cascade', name);
    const key = registrations.version(now());
    let cached = sd.get(name);
    if (cached?.key !== key) {
      const groups = emitter.plan.facts.edgeTargetGroups(name, registrations.live(now()));
      if (groups === undefined) {
        throw new HttpError(
          404,
          'not found',
          `unknown big region ${JSON.stringify(name)} (known: ${snap.topology.bigRegions.map((b) => b.name).join(', ')})`,
        );
      }
      cached = { key, answer: answer(JSON.stringify(groups), 'application/json') };
      sd.set(name, cached);
    }
    send(req, res, cached.answer);
  });

  app.get('/v1/sd/central', guard('GET', '/v1/sd/central'), (req, res) => {
    const { emitter, answers } = current();
    send(
      req,
      res,
      answers.get('sd/central', () =>
        answer(JSON.stringify(emitter.plan.facts.cascadeTargetGroups), 'application/json'),
      ),
    );
  });

  const serveConfig = (req: Request, res: Response, segments: readonly string[]) => {
    for (const s of segments) {
      if (!SEGMENT_RE.test(s))
        throw new HttpError(400, 'bad request', `invalid path segment ${JSON.stringify(s)}`);
    }
    const path = segments.join('/');
    const { snap, emitter, answers } = currentFor(segments[0]!, segments[1] ?? '');
    const cached = answers.get(`config/${path}`, () => {
      const end = metrics.renderSeconds.startTimer();
      let text: string | undefined;
      try {
        text = emitter.file(path);
      } catch (e) {
        logger.error({ revision: snap.revision, path, err: (e as Error).message }, 'render failed');
        throw new HttpError(
          500,
          'render failed',
          `rendering ${path} of topology revision ${snap.revision} failed: ${(e as Error).message}`,
        );
      } finally {
        end();
      }
      const ext = path.slice(path.lastIndexOf('.') + 1);
      return text === undefined
        ? NOT_RENDERED
        : answer(text, CONTENT_TYPES[ext] ?? 'text/plain; charset=utf-8');
    });
    if (cached === NOT_RENDERED)
      throw new HttpError(404, 'not found', `no rendered file ${JSON.stringify(path)}`);
    res.setHeader('X-Fedstack-Topology-Revision', String(snap.revision));
    res.setHeader('X-Fedstack-Revision-Hash', snap.hash);
    send(req, res, cached);
  };
  /**
   * `/v1/config/<tier>/<name>`: every config file of one Prometheus instance at once, with the
   * revision they belong to, as the pulling sidecar takes them (one answer, never files of two
   * revisions mixed).
   */
  const serveInstance = (req: Request, res: Response, tier: PrometheusTier, name: string) => {
    const { snap, emitter, answers } = currentFor(tier, name);
    if (!emitter.plan.hasPrometheus(tier, name))
      throw new HttpError(
        404,
        'not found',
        `no ${tier} instance ${JSON.stringify(name)} in topology revision ${snap.revision}`,
      );
    const cached = answers.get(`instance/${tier}/${name}`, () => {
      const files: Record<string, string> = {};
      for (const f of emitter.configFiles(tier)) {
        const text = emitter.file(`${tier}/${name}/${f}`);
        if (text !== undefined) files[f] = text;
      }
      return answer(
        JSON.stringify({ tier, name, revision: snap.revision, hash: snap.hash, files }),
        'application/json',
        1,
      );
    });
    res.setHeader('X-Fedstack-Topology-Revision', String(snap.revision));
    res.setHeader('X-Fedstack-Revision-Hash', snap.hash);
    send(req, res, cached);
  };
  // `/v1/config/<tier>/<name>/<file>`, and any other depth the tree has
  // (alerting/alertmanager.yml, dashboards/provisioning/datasources/x.yaml).
  // `/v1/config/<tier>/<name>` alone: that instance's files as one answer (serveInstance).
  app.get('/v1/config/*path', guard('GET', '/v1/config/*path'), (req, res) => {
    const segments = req.params.path as unknown as string[];
    if (segments.length === 2 && PROMETHEUS_TIERS.includes(segments[0]!) && SEGMENT_RE.test(segments[1]!))
      serveInstance(req, res, segments[0] as PrometheusTier, segments[1]!);
    else serveConfig(req, res, segments);
  });

  /** The heartbeats' body: JSON or 415, then parsed strictly within the body limit. */
  const jsonBody: RequestHandler[] = [
    (req, _res, next) => {
      if (!req.is('application/json'))
        throw new HttpError(415, 'unsupported media type', 'the body must be application/json');
      next();
    },
    express.json({ limit: deps.bodyLimit ?? '16kb', strict: true }),
  ];
  /** What a sidecar says it applied, for the rollout: only the fields it sent. */
  const applied = ({
    revision,
    sync,
  }: Pick<z.output<typeof instanceHeartbeatSchema>, 'revision' | 'sync'>) => ({
    ...(revision ? { revision } : {}),
    ...(sync ? { sync } : {}),
  });

  app.post(
    '/v1/edges/:metaCluster/heartbeat',
    guard('POST', '/v1/edges/:metaCluster/heartbeat'),
    ...jsonBody,
    (req, res) => {
      const name = String(req.params.metaCluster);
      if (current().emitter.plan.findMetaCluster(name) === undefined) {
        throw new HttpError(404, 'not found', `unknown meta-cluster ${JSON.stringify(name)}`);
      }
      const parsed = heartbeatSchema.safeParse(req.body);
      if (!parsed.success) throw new HttpError(400, 'bad request', issuesText(parsed.error.issues));
      const at = now();
      const { revision, sync, ...registration } = parsed.data;
      registrations.record(name, { ...registration, receivedAt: at });
      deps.rollouts?.report(`edge/${name}`, applied({ revision, sync }));
      metrics.heartbeats.inc({ [LABEL.metaCluster]: name });
      res.json({
        status: 'registered',
        metaCluster: name,
        expiresAt: new Date(at + registrations.ttlMs).toISOString(),
      });
    },
  );

  // Cascades and central replicas report what they applied (edges do in their heartbeat).
  app.post(
    '/v1/instances/:tier/:name/heartbeat',
    guard('POST', '/v1/instances/:tier/:name/heartbeat'),
    ...jsonBody,
    (req, res) => {
      const tier = String(req.params.tier);
      const name = String(req.params.name);
      if (
        !PROMETHEUS_TIERS.includes(tier) ||
        !current().emitter.plan.hasPrometheus(tier as PrometheusTier, name)
      )
        throw new HttpError(404, 'not found', `unknown instance ${JSON.stringify(`${tier}/${name}`)}`);
      const parsed = instanceHeartbeatSchema.safeParse(req.body);
      if (!parsed.success) throw new HttpError(400, 'bad request', issuesText(parsed.error.issues));
      deps.rollouts?.report(`${tier}/${name}`, applied(parsed.data));
      res.json({ status: 'recorded', instance: `${tier}/${name}` });
    },
  );

  app.use('/v1/rollouts', rolloutRouter(deps.rollouts, guard));

  const ctx: AppContext = {
    topologySource,
    registrations,
    plan: () => current().emitter.plan,
    now,
    guard,
  };
  for (const r of deps.extraRouters ?? []) app.use(r.path, 'build' in r ? r.build(ctx) : r.router);

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
    help: 'Time to render one file of a topology revision (on its first request).',
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
    name: 'fedstack_topology_meta_clusters',
    help: 'Meta-clusters of the topology being served: how many edges should heartbeat.',
    registers,
    collect() {
      let n = 0;
      for (const b of topologySource.current().topology.bigRegions)
        for (const r of b.regions) n += r.metaClusters.length;
      this.set(n);
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
