/**
 * The operator console, served by the fedstack service at `/`: a static page (plain ES
 * modules, no build step, nothing from a CDN) and one JSON answer per view, assembled here
 * from what the service already holds. Read-only without the service's bearer token; the
 * rollout actions use the app's own token check.
 *
 *   GET  /                                 the page
 *   GET  /console/assets/<file>            its scripts, styles and icon
 *   GET  /console/api/tree                 the federation tree with live state from central
 *   GET  /console/api/rollouts             revisions, config hashes per instance, the rollout
 *   POST /console/api/rollouts/<action>    pause | resume | abort (bearer token)
 *   GET  /console/api/pages                the alert bridge and who is on call
 *   GET  /console/api/explain?q=METRIC ... `fedstack explain` as JSON
 *   GET  /console/api/metrics              metric names for the explain box
 *   GET  /console/api/graph                big regions, for the graph view
 *   GET  /console/api/graph.svg|.mmd       `fedstack graph` (optionally ?bigRegion=NAME)
 */
import { fileURLToPath } from 'node:url';
import express, { type Request, type RequestHandler, type Response, type Router } from 'express';
import type { BridgeStatus } from '../alerting/bridge/status.ts';
import type { Profile } from '../common/conventions.ts';
import type { AppContext, ExtraRouter } from '../server/app.ts';
import { buildTree, centralEndpoints, readCentral, refreshMsOf } from './fleet.ts';
import type { ApiError, RolloutAction, RolloutSource, TreeView } from './types.ts';
import {
  explainView,
  graphMermaid,
  graphSvg,
  graphView,
  metricsView,
  pagesView,
  rolloutsView,
} from './views.ts';

export interface ConsoleOptions {
  /** The service's profile: where central replicas are reached by default. */
  readonly profile: Profile;
  /** Base URLs of the central replicas (`--central-url`); default from the topology and profile. */
  readonly centralUrls?: readonly string[];
  /** The alert bridge, when the service runs it. */
  readonly bridge?: { status(): Promise<BridgeStatus> };
  /** Staged rollout (issue 13), when the service runs it. */
  readonly rollouts?: RolloutSource;
}

export const ASSETS_DIR = fileURLToPath(new URL('./assets/', import.meta.url));

/**
 * No inline script or style, no eval, nothing from another origin. The page sets positions
 * through the CSSOM (element.style), which style-src does not govern.
 */
export const CONSOLE_CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self'",
  "connect-src 'self'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join('; ');

/**
 * The graph is `fedstack graph --format svg`, whose styles sit in its own <style>. Shown
 * through <img>, an SVG runs no script; this policy lets it style itself and nothing more.
 */
const SVG_CSP = "default-src 'none'; style-src 'unsafe-inline'";

const ACTIONS: readonly RolloutAction[] = ['pause', 'resume', 'abort'];

function secure(res: Response, csp = CONSOLE_CSP): void {
  res.setHeader('Content-Security-Policy', csp);
  res.setHeader('X-Content-Type-Options', 'nosniff');
  res.setHeader('Referrer-Policy', 'no-referrer');
  res.setHeader('X-Frame-Options', 'DENY');
}

/** The service's error shape (server/app.ts answers every other error the same way). */
function fail(res: Response, status: number, error: string, reason: string): void {
  const body: ApiError = { error, reason };
  res.status(status).json(body);
}

const badRequest = (res: Response, reason: string) => fail(res, 400, 'bad request', reason);

const queryString = (req: Request, name: string): string | undefined => {
  const v = req.query[name];
  return typeof v === 'string' ? v : undefined;
};

/** The console as the service mounts it (server/app.ts `extraRouters`). */
export function consoleRouter(opts: ConsoleOptions): ExtraRouter {
  return { path: '/', build: (ctx) => createConsoleRouter(ctx, opts) };
}

export function createConsoleRouter(ctx: AppContext, opts: ConsoleOptions): Router {
  const router = express.Router();
  const { topologySource, registrations, now } = ctx;

  const open = (path: string) => ctx.guard('GET', path);
  router.get('/', open('/'), (_req, res) => {
    secure(res);
    res.setHeader('Cache-Control', 'no-cache');
    res.sendFile('index.html', { root: ASSETS_DIR });
  });

  router.use(
    '/console/assets',
    express.static(ASSETS_DIR, {
      index: false,
      dotfiles: 'ignore',
      fallthrough: true,
      setHeaders: (res) => {
        secure(res);
        res.setHeader('Cache-Control', 'no-cache');
      },
    }),
  );

  const api = express.Router();
  // Each route lists its handlers (policy, headers, answer), so the auth walk sees routes only.
  const noStore: RequestHandler = (_req, res, next) => {
    secure(res);
    res.setHeader('Cache-Control', 'no-store');
    next();
  };
  const view = (path: string) => [open(`/console/api${path}`), noStore];

  // One reading of central serves every browser asking within half a refresh period.
  let tree: { key: string; at: number; body: string } | undefined;
  let reading: Promise<{ key: string; at: number; body: string }> | undefined;
  const treeBody = async (): Promise<string> => {
    const snapshot = topologySource.current();
    const plan = ctx.plan();
    const refreshMs = refreshMsOf(snapshot.topology);
    const key = `${snapshot.revision}:${snapshot.hash}`;
    if (tree !== undefined && tree.key === key && now() - tree.at < refreshMs / 2) return tree.body;
    reading ??= (async () => {
      try {
        const endpoints = centralEndpoints(snapshot.topology, opts.profile, opts.centralUrls);
        const central = await readCentral(endpoints, snapshot.topology.central.backend);
        const at = now();
        const view: TreeView = buildTree({
          snapshot,
          lastError: topologySource.lastError(),
          lagBudgetSeconds: plan.facts.lag.staleAfterMs / 1000,
          ...central,
          registrations: registrations.live(at),
          now: at,
          refreshMs,
        });
        tree = { key, at, body: JSON.stringify(view) };
        return tree;
      } finally {
        reading = undefined;
      }
    })();
    return (await reading).body;
  };

  api.get('/tree', ...view('/tree'), async (_req, res) => {
    res.type('application/json').send(await treeBody());
  });

  api.get('/rollouts', ...view('/rollouts'), (_req, res) => {
    res.json(
      rolloutsView({
        snapshot: topologySource.current(),
        lastError: topologySource.lastError(),
        reloadFailures: topologySource.reloadFailures(),
        registrations: registrations.live(now()),
        reports: registrations.reports(now()),
        rollouts: opts.rollouts,
        now: now(),
      }),
    );
  });

  api.post(
    '/rollouts/:action',
    ctx.guard('POST', '/console/api/rollouts/:action'),
    noStore,
    async (req, res) => {
      const action = req.params.action as RolloutAction;
      if (!ACTIONS.includes(action)) {
        res
          .status(404)
          .json({ error: 'not found', reason: `unknown action ${JSON.stringify(req.params.action)}` });
        return;
      }
      if (opts.rollouts === undefined) {
        fail(res, 409, 'conflict', `nothing to ${action}: this service runs no staged rollout (issue 13)`);
        return;
      }
      await opts.rollouts[action]();
      res.json({ status: 'ok', action });
    },
  );

  api.get('/pages', ...view('/pages'), async (_req, res) => {
    const bridge = await opts.bridge?.status();
    res.json(pagesView({ topology: topologySource.current().topology, bridge, now: now() }));
  });

  api.get('/explain', ...view('/explain'), (req, res) => {
    try {
      res.json(explainView(ctx.plan(), queryString(req, 'q') ?? ''));
    } catch (e) {
      badRequest(res, (e as Error).message);
    }
  });

  api.get('/metrics', ...view('/metrics'), (_req, res) => {
    res.json(metricsView(topologySource.current().topology));
  });

  api.get('/graph', ...view('/graph'), (_req, res) => {
    res.json(graphView(topologySource.current().topology));
  });

  for (const [ext, render, type] of [
    ['svg', graphSvg, 'image/svg+xml'],
    ['mmd', graphMermaid, 'text/plain; charset=utf-8'],
  ] as const) {
    api.get(`/graph.${ext}`, ...view(`/graph.${ext}`), (req, res) => {
      let text: string;
      try {
        text = render(topologySource.current().topology, queryString(req, 'bigRegion'));
      } catch (e) {
        badRequest(res, (e as Error).message);
        return;
      }
      if (ext === 'svg') secure(res, SVG_CSP);
      res.type(type).send(text);
    });
  }

  router.use('/console/api', api);
  return router;
}
