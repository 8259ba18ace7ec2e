/**
 * The fedstack service: Prometheus http_sd for cascades and central, the rendered files, edge
 * heartbeats, and its own health and metrics. Everything it depends on comes in through
 * `deps` (topology, clock, token, logger, registry) so tests drive it directly.
 *
 * Rendered files come from the render plan of the topology revision being served, lazily: the
 * first GET of one edge's prometheus.yml renders that edge, not the fleet. Each answer is kept
 * (bounded) with its gzip form, which Prometheus' HTTP client asks for.
 *
 * The sidecars' calls (their instance's config, their heartbeat) are answered before express
 * (server/direct.ts): at 10,000 edges they are the service's load.
 */
import { createHash } from 'node:crypto';
import { gzipSync } from 'node:zlib';
import type { IncomingMessage, ServerResponse } from 'node:http';
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
import { HttpError, policyOf, requireToken, type TokenKind, type TokenSource } from './auth.ts';
import { directRoutes, segmentsAfter, type DirectRoute, type Reply } from './direct.ts';
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
  /** Max heartbeat body, bytes (default 16 KiB). */
  readonly bodyLimitBytes?: number;
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

/** A body ready to send, in plain and (for answers many clients share) gzip form, with its strong ETag. */
interface Answer {
  readonly type: string;
  readonly body: Buffer;
  readonly gzip?: Buffer;
  readonly etag: string;
}
const NOT_RENDERED: Answer = { type: '', body: Buffer.alloc(0), etag: '' };

const etagOf = (body: Buffer) => `"${createHash('sha256').update(body).digest('base64url').slice(0, 27)}"`;

/** An answer many clients fetch (http_sd, shared files): gzip is made once and sent often. */
function answer(text: string, type: string): Answer {
  const body = Buffer.from(text);
  return { type, body, gzip: gzipSync(body), etag: etagOf(body) };
}

/** `app.handle`: the function express's app calls for each request (not in express's types). */
interface ExpressHandle {
  handle(req: IncomingMessage, res: ServerResponse, next?: (err?: unknown) => void): void;
}

const EMPTY = Buffer.alloc(0);

/** If-None-Match against a strong ETag, with the weak comparison RFC 9110 §13.1.2 asks for. */
function etagMatches(header: string | undefined, etag: string): boolean {
  if (header === undefined) return false;
  if (header.trim() === '*') return true;
  return header.split(',').some((t) => t.trim().replace(/^W\//, '') === etag);
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
  if (a.gzip !== undefined && req.acceptsEncodings('gzip', 'identity') === 'gzip') {
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
  /** The tokens the app's routes check (the bridge checks its own). */
  const tokens: Record<Exclude<TokenKind, 'bridge'>, TokenSource | undefined> = {
    read: deps.readToken,
    sidecar: deps.heartbeatToken,
    operator: deps.operatorToken,
  };
  const guard = (method: 'GET' | 'POST', path: string): RequestHandler => {
    const policy = policyOf(method, path);
    if (policy.auth === 'none') return (_req, _res, next) => next();
    if (policy.token === 'bridge')
      throw new Error(`${method} ${path}: the bridge router checks its own token`);
    return requireToken(policy.token, tokens[policy.token]);
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
    /**
     * The ETag of each instance answer made from this revision, kept when the answer itself is
     * dropped: a sidecar's poll that already has it is a 304 without rendering anything.
     */
    instanceTags: Map<string, string>;
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
        instanceTags: new Map(),
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
  // `/v1/config/<tier>/<name>/<file>`, and any other depth the tree has
  // (alerting/alertmanager.yml, dashboards/provisioning/datasources/x.yaml).
  // `/v1/config/<tier>/<name>` alone is a direct route (instanceConfig, below).
  app.get('/v1/config/*path', guard('GET', '/v1/config/*path'), (req, res) => {
    serveConfig(req, res, req.params.path as unknown as string[]);
  });

  /**
   * `GET /v1/config/<tier>/<name>`: every config file of one Prometheus instance at once, with
   * the revision they belong to, as the pulling sidecar takes them (one answer, never files of
   * two revisions mixed). Sent uncompressed: each answer goes to one sidecar once per revision,
   * and gzip would cost more CPU (~130 µs for an edge's 19 kB) than the bytes cost to send.
   * A poll with the answer's ETag is a 304 without rendering: sidecars poll every 30 s.
   */
  const instanceConfig: DirectRoute = {
    method: 'GET',
    route: '/v1/config/*path',
    match: (path) => {
      const p = segmentsAfter(path, '/v1/config/', 2);
      return p !== undefined && PROMETHEUS_TIERS.includes(p[0]!) && SEGMENT_RE.test(p[1]!) ? p : undefined;
    },
    handle: ([t, name], req) => {
      const tier = t as PrometheusTier;
      const { snap, emitter, instanceTags } = currentFor(tier, name!);
      if (!emitter.plan.hasPrometheus(tier, name!))
        throw new HttpError(
          404,
          'not found',
          `no ${tier} instance ${JSON.stringify(name)} in topology revision ${snap.revision}`,
        );
      const key = `instance/${tier}/${name}`;
      const headers = {
        'X-Fedstack-Topology-Revision': String(snap.revision),
        'X-Fedstack-Revision-Hash': snap.hash,
      };
      const inm = req.headers['if-none-match'];
      const notModified = (etag: string): Reply => ({ status: 304, body: EMPTY, headers: { ...headers, ETag: etag } });
      const known = instanceTags.get(key);
      if (known !== undefined && etagMatches(inm, known)) return notModified(known);
      // Made for this one request, not kept: a sidecar takes it once per revision, and its
      // later polls are 304s from the tag alone.
      const files: Record<string, string> = {};
      for (const f of emitter.configFiles(tier)) {
        const text = emitter.file(`${tier}/${name}/${f}`);
        if (text !== undefined) files[f] = text;
      }
      const body = Buffer.from(JSON.stringify({ tier, name, revision: snap.revision, hash: snap.hash, files }));
      const etag = etagOf(body);
      instanceTags.set(key, etag);
      // A sidecar that has it already, from before this service (re)started: nothing to send.
      if (etagMatches(inm, etag)) return notModified(etag);
      return { body, headers: { ...headers, ETag: etag, 'Content-Type': 'application/json; charset=utf-8' } };
    },
  };

  /** What a sidecar says it applied, for the rollout: only the fields it sent. */
  const applied = ({
    revision,
    sync,
  }: Pick<z.output<typeof instanceHeartbeatSchema>, 'revision' | 'sync'>) => ({
    ...(revision ? { revision } : {}),
    ...(sync ? { sync } : {}),
  });

  const edgeHeartbeat: DirectRoute = {
    method: 'POST',
    route: '/v1/edges/:metaCluster/heartbeat',
    match: (path) => segmentsAfter(path, '/v1/edges/', 1, '/heartbeat'),
    handle: ([name], _req, body): Reply => {
      if (current().emitter.plan.findMetaCluster(name!) === undefined) {
        throw new HttpError(404, 'not found', `unknown meta-cluster ${JSON.stringify(name)}`);
      }
      const parsed = heartbeatSchema.safeParse(body);
      if (!parsed.success) throw new HttpError(400, 'bad request', issuesText(parsed.error.issues));
      const at = now();
      const { revision, sync, ...registration } = parsed.data;
      registrations.record(name!, { ...registration, receivedAt: at });
      deps.rollouts?.report(`edge/${name}`, applied({ revision, sync }));
      metrics.heartbeats.inc({ [LABEL.metaCluster]: name! });
      return {
        json: {
          status: 'registered',
          metaCluster: name,
          expiresAt: new Date(at + registrations.ttlMs).toISOString(),
        },
      };
    },
  };

  // Cascades and central replicas report what they applied (edges do in their heartbeat).
  const instanceHeartbeat: DirectRoute = {
    method: 'POST',
    route: '/v1/instances/:tier/:name/heartbeat',
    match: (path) => segmentsAfter(path, '/v1/instances/', 2, '/heartbeat'),
    handle: ([tier, name], _req, body): Reply => {
      if (!PROMETHEUS_TIERS.includes(tier!) || !current().emitter.plan.hasPrometheus(tier as PrometheusTier, name!))
        throw new HttpError(404, 'not found', `unknown instance ${JSON.stringify(`${tier}/${name}`)}`);
      const parsed = instanceHeartbeatSchema.safeParse(body);
      if (!parsed.success) throw new HttpError(400, 'bad request', issuesText(parsed.error.issues));
      const { version, configHash } = parsed.data;
      registrations.report(`${tier}/${name}`, { version, configHash, receivedAt: now() });
      deps.rollouts?.report(`${tier}/${name}`, applied(parsed.data));
      return { json: { status: 'recorded', instance: `${tier}/${name}` } };
    },
  };

  const direct = [instanceConfig, edgeHeartbeat, instanceHeartbeat];
  const front = directRoutes(direct, {
    logger,
    requests: metrics.requests,
    latency: metrics.latency,
    token: (kind) => (kind === 'bridge' ? undefined : tokens[kind]),
    bodyLimit: deps.bodyLimitBytes ?? 16 * 1024,
  });
  // express calls `app.handle` for every request (express.js createApplication): the direct
  // routes answer first, whatever runs the app (app.listen, http.createServer(app), supertest).
  const handle = (app as unknown as ExpressHandle).handle.bind(app);
  (app as unknown as ExpressHandle).handle = (req, res, next) => {
    if (!front(req, res)) handle(req, res, next);
  };
  app.locals.directRoutes = direct.map((r) => `${r.method} ${r.route}`);

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
