/**
 * The rollout API under /v1/rollouts (the operator token: server/auth.ts):
 *   POST /            start {topology, topologyFile, plan?, planFile?, note?} → 201, 409 when one runs
 *   POST /plan        the same body: a dry run (changes, waves, gates), nothing touched
 *   GET  /current     the latest rollout's status (404 before the first)
 *   POST /current/{pause,resume,abort,rollback}
 *   GET  /revisions   the revisions kept (hash, note, time, per-file change summary)
 *   GET  /revisions/<seq>/diff?instance=<tier>/<name>   that instance's unified diff
 */
import express, { Router, type Request, type RequestHandler } from 'express';
import { z } from 'zod';
import { describeCheck, gateKey } from '../rollout/gates.ts';
import { describeChange } from '../rollout/plan-file.ts';
import { predictSeries } from '../rollout/predict.ts';
import type { Action, RolloutService, StartRequest } from '../rollout/service.ts';
import { rolloutStatus } from '../rollout/status.ts';
import { HttpError } from './auth.ts';

const startSchema = z.strictObject({
  topology: z.string().min(1).max(8_000_000),
  topologyFile: z.string().min(1).max(1000).default('topology.yaml'),
  plan: z.string().max(1_000_000).optional(),
  planFile: z.string().min(1).max(1000).optional(),
  note: z.string().max(1000).optional(),
});

const ACTIONS: readonly Action[] = ['pause', 'resume', 'abort', 'rollback'];

const fail = (status: number, reason: string) =>
  new HttpError(status, status === 409 ? 'conflict' : status === 404 ? 'not found' : 'bad request', reason);

/** Mounted at /v1/rollouts; `guard` is the app's check of each route's policy (server/auth.ts). */
export function rolloutRouter(
  rollouts: RolloutService | undefined,
  guard: (method: 'GET' | 'POST', path: string) => RequestHandler,
): Router {
  const router = Router();
  // The routes exist (and check the token) even when the service runs no rollouts.
  const on = (): RolloutService => {
    if (rollouts === undefined)
      throw new HttpError(409, 'conflict', 'this service runs no staged rollouts: start it with --data-dir');
    return rollouts;
  };
  const json = express.json({ limit: '8mb', strict: true });
  const body = (req: Request): StartRequest => {
    const parsed = startSchema.safeParse(req.body);
    if (!parsed.success)
      throw fail(400, parsed.error.issues.map((i) => `${i.path.join('.') || '(body)'}: ${i.message}`).join('; '));
    return parsed.data;
  };
  const refuse = (o: { status: number; errors: string[] }) => fail(o.status, o.errors.join('\n'));

  router.post('/', guard('POST', '/v1/rollouts/'), json, async (req, res) => {
    const out = await on().start(body(req));
    if (!out.ok) throw refuse(out);
    res.status(201).json(rolloutStatus(out.value));
  });

  router.post('/plan', guard('POST', '/v1/rollouts/plan'), json, async (req, res) => {
    const out = await on().plan(body(req));
    if (!out.ok) throw refuse(out);
    const { changes, plan, from, to } = out.value;
    const series = predictSeries(from.topology, to.topology, plan.waves);
    res.json({
      from: { seq: from.seq, hash: from.hash },
      to: { seq: to.seq, hash: to.hash },
      changed: changes.changed.length,
      unchanged: changes.unchanged,
      instances: changes.changed.slice(0, 50).map(describeChange),
      files: Object.values(
        changes.changed.reduce<Record<string, { file: string; instances: number; added: number; removed: number }>>((acc, c) => {
          for (const f of c.files) {
            const s = (acc[f.file] ??= { file: f.file, instances: 0, added: 0, removed: 0 });
            s.instances++;
            s.added += f.added;
            s.removed += f.removed;
          }
          return acc;
        }, {}),
      ),
      waves: plan.waves.map((w, i) => ({
        name: w.name,
        tier: w.tier,
        instances: w.instances.length,
        sample: w.instances.slice(0, 10),
        maxConcurrency: w.maxConcurrency,
        soakSeconds: Math.round(w.soakMs / 1000),
        failureBudget: w.failureBudget,
        progressDeadlineSeconds: Math.round(w.progressDeadlineMs / 1000),
        // The capacity model's predicted series change (rollout/predict.ts).
        predictedSeries: { instances: series.waves[i]!.instances, central: series.waves[i]!.central },
      })),
      series: { centralBefore: series.centralBefore, centralAfter: series.centralAfter, outsideWaves: series.outsideWaves },
      gates: plan.gates.map((g) => ({ gate: gateKey(g), expr: g.expr, check: describeCheck(g.check) })),
    });
  });

  router.get('/current', guard('GET', '/v1/rollouts/current'), (_req, res) => {
    const r = on().current();
    if (r === undefined) throw fail(404, 'no rollout has been started');
    res.json(rolloutStatus(r));
  });

  router.post('/current/:action', guard('POST', '/v1/rollouts/current/:action'), (req, res) => {
    const action = req.params.action as Action;
    if (!ACTIONS.includes(action)) throw fail(404, `unknown action ${JSON.stringify(action)} (${ACTIONS.join(', ')})`);
    const out = on().act(action);
    if (!out.ok) throw refuse(out);
    res.json(rolloutStatus(out.value));
  });

  router.get('/revisions', guard('GET', '/v1/rollouts/revisions'), (_req, res) => {
    res.json(on().revisions());
  });

  // One instance's unified diff against the revision this one was rolled out over.
  router.get('/revisions/:seq/diff', guard('GET', '/v1/rollouts/revisions/:seq/diff'), (req, res) => {
    const instance = typeof req.query.instance === 'string' ? req.query.instance : '';
    const text = on().diff(Number(req.params.seq), instance);
    if (text === undefined)
      throw fail(404, `no diff for revision ${JSON.stringify(req.params.seq)} and instance ${JSON.stringify(instance)} (want ?instance=<tier>/<name>)`);
    res.type('text/plain; charset=utf-8').send(text);
  });
  return router;
}
