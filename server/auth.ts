/**
 * Who may call what: every HTTP route of the service declares its authentication here, and
 * nowhere else. The app enforces the bearer policies with `requireToken`; a test walks the
 * routes express really registered and fails on any route this table does not name, so a new
 * route cannot ship without a decision (README "Security" lists the same table).
 *
 * Tokens come from mounted Secret files, checked for a change at most once a second, so a
 * rotated Secret takes effect within a second of kubelet swapping the file: no restart.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import { readFileSync, statSync } from 'node:fs';
import type { RequestHandler } from 'express';
import { Secret } from '../common/secret.ts';

/** The bearer tokens the service checks. */
export type TokenKind = 'read' | 'sidecar' | 'bridge' | 'operator';

export type AuthPolicy =
  | { readonly auth: 'none'; readonly why: string }
  | { readonly auth: 'bearer'; readonly token: TokenKind; readonly why: string };

const READ =
  'the fleet layout (every edge address, rules, receivers, team members in topology.yaml) is what an attacker maps first: cascades present the read token to http_sd, operators to fetch files';

const CONSOLE =
  "the on-call's read-only view (issue 15: readable without the token): names and states, no address list, credential or config file";

/** Every route of the service (the alert bridge's included), as `METHOD path-pattern`. */
export const ROUTE_AUTH: Readonly<Record<string, AuthPolicy>> = {
  'GET /healthz': { auth: 'none', why: 'liveness probe; answers {"status":"ok"} and nothing else' },
  'GET /readyz': {
    auth: 'none',
    why: 'readiness probe (kubelet cannot present a token); the topology revision and why it was refused',
  },
  'GET /metrics': {
    auth: 'none',
    why: "the service's own counters for in-cluster monitoring; no secret, no configuration",
  },
  'GET /v1/sd/cascade/:bigRegion': { auth: 'bearer', token: 'read', why: READ },
  'GET /v1/sd/central': { auth: 'bearer', token: 'read', why: READ },
  'GET /v1/config/*path': { auth: 'bearer', token: 'read', why: READ },
  'POST /v1/edges/:metaCluster/heartbeat': {
    auth: 'bearer',
    token: 'sidecar',
    why: 'a heartbeat redirects a cascade to an address: only edge sidecars may move an edge',
  },
  'POST /v1/instances/:tier/:name/heartbeat': {
    auth: 'bearer',
    token: 'sidecar',
    why: "a cascade's or central replica's sidecar reports which revision it applied: only sidecars may vouch for a rollout",
  },
  // Staged rollouts (server/rollout-api.ts): starting, stopping or rolling back changes what the
  // whole fleet runs; reading its status shows the fleet's instances and the topology's diff.
  ...Object.fromEntries(
    [
      'POST /v1/rollouts/',
      'POST /v1/rollouts/plan',
      'GET /v1/rollouts/current',
      'POST /v1/rollouts/current/:action',
      'GET /v1/rollouts/revisions',
      'GET /v1/rollouts/revisions/:seq/diff',
    ].map((route) => [
      route,
      {
        auth: 'bearer',
        token: 'operator',
        why: 'a rollout changes what every Prometheus of the fleet runs: an operator decision',
      } as const,
    ]),
  ),
  // The operator console (console/router.ts): the on-call reads it without a token (names,
  // states, lag, revisions, the bridge's queue; no address list, credential or rule file, which
  // stay behind the read token); its buttons act, so they take the operator token.
  'GET /': { auth: 'none', why: CONSOLE },
  '* /console/assets/*': { auth: 'none', why: "the console page's own scripts, styles and icon" },
  'GET /console/api/tree': { auth: 'none', why: CONSOLE },
  'GET /console/api/rollouts': { auth: 'none', why: CONSOLE },
  'POST /console/api/rollouts/:action': {
    auth: 'bearer',
    token: 'operator',
    why: "pause, resume or abort a rollout: an operator decision, not a sidecar's or a reader's",
  },
  'GET /console/api/pages': { auth: 'none', why: CONSOLE },
  'GET /console/api/explain': { auth: 'none', why: CONSOLE },
  'GET /console/api/metrics': { auth: 'none', why: CONSOLE },
  'GET /console/api/graph': { auth: 'none', why: CONSOLE },
  'GET /console/api/graph.svg': { auth: 'none', why: CONSOLE },
  'GET /console/api/graph.mmd': { auth: 'none', why: CONSOLE },
  // The bridge (alerting/bridge/router.ts) answers POST /v1/alerts/{dingtalk,sms}/<receiver>
  // from one middleware of its router, and checks the token itself.
  '* /v1/alerts/*': {
    auth: 'bearer',
    token: 'bridge',
    why: 'only Alertmanager may make the bridge page people (routing.webhookToken)',
  },
};

/** A token the service checks: fixed (tests), or read from a mounted file at each request. */
export type TokenSource = Secret | (() => Secret | undefined);

/**
 * The token in `file`; undefined while it is missing or empty (the route then answers 503).
 * The file is stat'ed at most once per `recheckMs` (default 1 s) and read again when its stat
 * changed (a swapped Secret is a new inode; an edit changes mtime, ctime or size). A rotated
 * Secret takes effect within a second of kubelet swapping the file, and a busy service does not
 * pay a stat per request (~30 µs each on a shared 2-core VM: over half a second of CPU per
 * 10,000-edge rollout wave, bench/README.md).
 */
export function tokenFromFile(
  file: string,
  opts: { readonly recheckMs?: number; readonly now?: () => number } = {},
): () => Secret | undefined {
  const recheckMs = opts.recheckMs ?? 1000;
  const now = opts.now ?? Date.now;
  let seen = '';
  let checkedAt = -Infinity;
  let token: Secret | undefined;
  return () => {
    const at = now();
    if (at - checkedAt < recheckMs && at >= checkedAt) return token;
    checkedAt = at;
    const st = statSync(file, { throwIfNoEntry: false, bigint: true });
    if (st === undefined) {
      seen = '';
      return (token = undefined);
    }
    const key = `${st.ino}:${st.size}:${st.mtimeNs}:${st.ctimeNs}`;
    if (key === seen) return token;
    try {
      const value = readFileSync(file, 'utf8').trim();
      token = value === '' ? undefined : new Secret(value);
      seen = key;
    } catch {
      token = undefined;
      seen = '';
    }
    return token;
  };
}

/** An HTTP error the app's error handler turns into `{error, reason}`. */
export class HttpError extends Error {
  constructor(
    readonly status: number,
    readonly error: string,
    readonly reason: string,
  ) {
    super(reason);
  }
}

const WHAT: Record<TokenKind, string> = {
  read: 'reads (http_sd, configs)',
  sidecar: 'heartbeats',
  bridge: 'alert notifications',
  operator: 'operator actions',
};

/**
 * Checks a request's Authorization header against a bearer token, in constant time (hashing
 * first makes the lengths equal); throws the HttpError to answer. No token configured: 503,
 * never open.
 */
export function checkBearer(kind: TokenKind, source: TokenSource | undefined, header: string | undefined): void {
  const token = typeof source === 'function' ? source() : source;
  if (token === undefined)
    throw new HttpError(503, 'unavailable', `${WHAT[kind]} are disabled: no ${kind} token configured`);
  if (header === undefined) throw new HttpError(401, 'unauthorized', 'missing bearer token');
  const m = /^Bearer\s+(\S+)\s*$/i.exec(header);
  if (!m) throw new HttpError(401, 'unauthorized', 'the Authorization header must be "Bearer <token>"');
  let expected = DIGESTS.get(token);
  if (expected === undefined) DIGESTS.set(token, (expected = digest(token.reveal())));
  if (!timingSafeEqual(digest(m[1]!), expected)) throw new HttpError(401, 'unauthorized', 'invalid token');
}

const digest = (s: string) => createHash('sha256').update(s).digest();
/** The configured tokens' digests, made once per token (a token file's Secret lives until it changes). */
const DIGESTS = new WeakMap<Secret, Buffer>();

/** Express middleware: `checkBearer` on the request. */
export function requireToken(kind: TokenKind, source: TokenSource | undefined): RequestHandler {
  return (req, _res, next) => {
    checkBearer(kind, source, req.get('authorization'));
    next();
  };
}

/** The policy of a route, or a startup error naming the route that has none. */
export function policyOf(method: string, path: string): AuthPolicy {
  const p = ROUTE_AUTH[`${method} ${path}`];
  if (p === undefined) throw new Error(`${method} ${path}: no auth policy in server/auth.ts ROUTE_AUTH`);
  return p;
}

interface Layer {
  readonly name: string;
  readonly rawPath?: string;
  readonly route?: { readonly path: string; readonly methods: Readonly<Record<string, boolean>> };
  readonly handle: { readonly stack?: readonly Layer[] };
}

/**
 * What an express app really answers, as `METHOD path-pattern`, mounted routers included
 * (express 5 keeps a router's mount path in `rawPath`). A middleware inside a mounted router
 * may answer anything below the mount, so it counts as `* <mount>/*`; the app's own
 * middleware (logging, the 404 fallback) answers no route of its own. The routes answered
 * before express (server/direct.ts) are listed in `app.locals.directRoutes`.
 */
export function registeredRoutes(app: {
  router: { stack: readonly Layer[] };
  locals?: { directRoutes?: readonly string[] };
}): string[] {
  const walk = (stack: readonly Layer[], prefix: string, mounted: boolean): string[] =>
    stack.flatMap((layer) => {
      if (layer.route !== undefined)
        return Object.keys(layer.route.methods)
          .filter((m) => m !== '_all')
          .map((m) => `${m.toUpperCase()} ${prefix}${layer.route!.path}`);
      // `use(fn)` and `use('/', fn)` mount at '/', which adds nothing to the prefix.
      const mount = layer.rawPath === undefined || layer.rawPath === '/' ? '' : layer.rawPath;
      if (layer.name === 'router' && layer.handle.stack !== undefined)
        return walk(layer.handle.stack, `${prefix}${mount}`, true);
      return mounted ? [`* ${prefix}${mount}/*`] : [];
    });
  return [...(app.locals?.directRoutes ?? []), ...walk(app.router.stack, '', false)];
}
