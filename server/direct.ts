/**
 * Routes answered on node's request directly, before express sees it: the calls every
 * Prometheus sidecar of the fleet makes (its config pull and its heartbeat). A rollout wave of
 * 10,000 edges is 10,000 pulls and 10,000 reports, and express alone costs about 100 µs of CPU
 * a request on this project's 2-core machines before a handler runs (bench/README.md,
 * rollout-control), more than a whole wave's budget.
 *
 * The contract is the app's: the auth policy of the route's ROUTE_AUTH entry, `{error, reason}`
 * errors (401 with WWW-Authenticate), the request metrics labelled by route pattern, and the
 * `request` log line with the path only. A request these routes do not match, by method or by
 * path, goes to express unchanged.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Logger } from 'pino';
import type { Counter, Histogram } from 'prom-client';
import { checkBearer, HttpError, policyOf, type TokenKind, type TokenSource } from './auth.ts';

/** What a direct route answers: JSON, or a prepared body with its headers. */
export type Reply =
  | { readonly status?: number; readonly json: unknown; readonly headers?: Readonly<Record<string, string>> }
  | { readonly status?: number; readonly body: Buffer; readonly headers: Readonly<Record<string, string>> };

export interface DirectRoute {
  /** GET routes answer HEAD too (node sends no body to a HEAD), as express's do. */
  readonly method: 'GET' | 'POST';
  /** The route's pattern as ROUTE_AUTH and the metrics name it, e.g. `/v1/edges/:metaCluster/heartbeat`. */
  readonly route: string;
  /**
   * The URL path's parameters (percent-decoded), or undefined when the path is not this
   * route's: the request then goes to express.
   */
  readonly match: (path: string) => readonly string[] | undefined;
  /** POST routes: the body is JSON (415 otherwise), parsed within the body limit (413). */
  readonly handle: (params: readonly string[], req: IncomingMessage, body: unknown) => Reply;
}

export interface DirectOptions {
  readonly logger: Logger;
  readonly requests: Counter<'method' | 'route' | 'code'>;
  readonly latency: Histogram<'method' | 'route' | 'code'>;
  readonly token: (kind: TokenKind) => TokenSource | undefined;
  /** Max request body, bytes. */
  readonly bodyLimit: number;
}

/**
 * Splits `path` on `/` after `prefix`, percent-decoded; undefined unless it has `count`
 * segments then exactly `suffix` (a trailing slash is tolerated, as express's routes do).
 */
export function segmentsAfter(path: string, prefix: string, count: number, suffix = ''): string[] | undefined {
  if (!path.startsWith(prefix)) return undefined;
  let rest = path.slice(prefix.length);
  if (rest.endsWith('/')) rest = rest.slice(0, -1);
  if (suffix !== '') {
    if (!rest.endsWith(suffix)) return undefined;
    rest = rest.slice(0, -suffix.length);
  }
  const parts = rest.split('/');
  if (parts.length !== count || parts.some((p) => p === '')) return undefined;
  try {
    return parts.map(decodeURIComponent);
  } catch {
    return undefined; // malformed escapes: express answers them
  }
}

/** The listener's front: answers a direct route and returns true, or returns false for express. */
export function directRoutes(
  routes: readonly DirectRoute[],
  opts: DirectOptions,
): (req: IncomingMessage, res: ServerResponse) => boolean {
  const checks = new Map(
    routes.map((r) => {
      const policy = policyOf(r.method, r.route);
      if (policy.auth !== 'bearer' || policy.token === 'bridge')
        throw new Error(`${r.method} ${r.route}: a direct route takes a read, sidecar or operator token`);
      return [r, policy.token] as const;
    }),
  );
  return (req, res) => {
    const url = req.url ?? '/';
    const q = url.indexOf('?');
    const path = q === -1 ? url : url.slice(0, q);
    const method = req.method === 'HEAD' ? 'GET' : req.method;
    for (const r of routes) {
      if (method !== r.method) continue;
      const params = r.match(path);
      if (params === undefined) continue;
      serve(r, checks.get(r)!, params, path, req, res, opts);
      return true;
    }
    return false;
  };
}

function serve(
  r: DirectRoute,
  kind: TokenKind,
  params: readonly string[],
  path: string,
  req: IncomingMessage,
  res: ServerResponse,
  opts: DirectOptions,
): void {
  const started = process.hrtime.bigint();
  res.once('finish', () => {
    const labels = { method: req.method ?? r.method, route: r.route, code: String(res.statusCode) };
    const seconds = Number(process.hrtime.bigint() - started) / 1e9;
    opts.latency.observe(labels, seconds);
    opts.requests.inc(labels);
    // Path only: no query string, no headers (the Authorization header must never be logged).
    opts.logger.info({ method: req.method, path, status: res.statusCode, ms: Math.round(seconds * 1000) }, 'request');
  });
  const fail = (e: unknown) => {
    if (res.headersSent) {
      res.destroy();
      return;
    }
    const err =
      e instanceof HttpError ? e : new HttpError(500, 'internal error', 'internal error');
    if (err.status >= 500) opts.logger.error({ path, err: e instanceof Error ? e.message : String(e) }, 'request failed');
    const headers: Record<string, string> = {};
    if (err.status === 401) headers['WWW-Authenticate'] = 'Bearer realm="fedstack"';
    // A body left unread (refused before or while reading it) would be taken for the next
    // request. (A GET has none; node has not yet marked it complete when its handler runs.)
    if (r.method === 'POST' && !req.readableEnded) headers.Connection = 'close';
    send(res, { status: err.status, json: { error: err.error, reason: err.reason }, headers });
  };
  try {
    checkBearer(kind, opts.token(kind), req.headers.authorization);
    if (r.method === 'GET') {
      // HEAD: the same headers; node's response drops the body.
      send(res, r.handle(params, req, undefined));
      return;
    }
    readJson(req, opts.bodyLimit).then(
      (body) => {
        try {
          send(res, r.handle(params, req, body));
        } catch (e) {
          fail(e);
        }
      },
      fail,
    );
  } catch (e) {
    fail(e);
  }
}

function send(res: ServerResponse, reply: Reply): void {
  const status = reply.status ?? 200;
  if ('body' in reply) {
    res.writeHead(status, status === 304 ? reply.headers : { ...reply.headers, 'Content-Length': reply.body.length });
    res.end(status === 304 ? undefined : reply.body);
    return;
  }
  const body = Buffer.from(JSON.stringify(reply.json));
  res.writeHead(status, {
    ...reply.headers,
    'Content-Type': 'application/json; charset=utf-8',
    'Content-Length': body.length,
  });
  res.end(body);
}

/**
 * The request body as JSON, as express.json({strict: true}) takes it: `application/json` (415
 * otherwise), not compressed (415), at most `limit` bytes (413, from Content-Length before
 * reading when it says so), an object or array (400 otherwise, as malformed JSON).
 */
function readJson(req: IncomingMessage, limit: number): Promise<unknown> {
  const type = (req.headers['content-type'] ?? '').split(';', 1)[0]!.trim().toLowerCase();
  if (type !== 'application/json')
    return Promise.reject(new HttpError(415, 'unsupported media type', 'the body must be application/json'));
  const encoding = (req.headers['content-encoding'] ?? 'identity').toLowerCase();
  if (encoding !== 'identity')
    return Promise.reject(
      new HttpError(415, 'unsupported media type', `unsupported content encoding ${JSON.stringify(encoding)}`),
    );
  const tooLarge = () => new HttpError(413, 'payload too large', 'the request body is over the size limit');
  const declared = Number(req.headers['content-length']);
  if (declared > limit) return Promise.reject(tooLarge());
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const onData = (c: Buffer) => {
      size += c.length;
      if (size > limit) {
        req.off('data', onData);
        req.off('end', onEnd);
        reject(tooLarge());
        return;
      }
      chunks.push(c);
    };
    const onEnd = () => {
      const text = Buffer.concat(chunks, size).toString('utf8');
      const first = /\S/.exec(text)?.[0];
      try {
        if (first !== '{' && first !== '[') throw new Error('not an object or array');
        resolve(JSON.parse(text));
      } catch {
        reject(new HttpError(400, 'bad request', 'malformed JSON body'));
      }
    };
    req.on('data', onData);
    req.on('end', onEnd);
    req.once('error', () => reject(new HttpError(400, 'bad request', 'the request body was cut short')));
  });
}
