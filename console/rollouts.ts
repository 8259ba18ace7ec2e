/**
 * The staged rollout (rollout/service.ts) as the console shows it: the rollout in progress, the
 * last one that ended, and the pause / resume / abort buttons. Built on rolloutStatus, the same
 * reading `fedstack rollout status` prints, so the page and the CLI never disagree.
 */
import { isActive } from '../rollout/engine.ts';
import type { RolloutService } from '../rollout/service.ts';
import { rolloutStatus, type RolloutStatus } from '../rollout/status.ts';
import { HttpError } from '../server/auth.ts';
import type { Rollout, RolloutAction, RolloutGate, RolloutSource, RolloutWave } from './types.ts';

const revision = (r: RolloutStatus['from']) => `${r.seq} (${r.hash})`;

function waveState(s: string, rolledBack: boolean): RolloutWave['state'] {
  if (s === 'skipped') return 'done';
  if (s === 'failed' && rolledBack) return 'rolled-back';
  return s as RolloutWave['state'];
}

export function consoleRollout(s: RolloutStatus): Rollout {
  const rolledBack = s.state === 'rolled-back';
  const gates = (tier: string): RolloutGate[] =>
    s.gates
      .filter((g) => g.gate.startsWith(`${tier}:`))
      .map((g) => ({
        name: g.gate,
        expr: g.expr,
        threshold: g.check,
        ok: g.failing.length === 0 && g.error === undefined,
        ...(g.failing.length > 0 ? { value: g.failing.length } : {}),
      }));
  return {
    id: s.id,
    state: s.state,
    fromRevision: revision(s.from),
    toRevision: revision(s.to),
    startedAt: Date.parse(s.startedAt),
    ...(s.endedAt === undefined ? {} : { endedAt: Date.parse(s.endedAt) }),
    ...(s.note === undefined ? {} : { note: s.note }),
    waves: s.waves.map((w) => ({
      name: w.name,
      state: waveState(w.state, rolledBack),
      soakSeconds: w.soakSeconds,
      failureBudget: w.failureBudget,
      instances: {
        'not yet assigned': w.instances - w.assigned,
        assigned: w.assigned - w.applied - w.failed,
        applied: w.applied,
        failed: w.failed,
      },
      gates: gates(w.tier),
    })),
    ...(s.failure === undefined ? {} : { rollbackReason: s.failure.summary, failingGate: s.failure.gate }),
  };
}

/** The console's view of the service's rollout; its actions answer 409 when the state forbids them. */
export function rolloutSource(service: RolloutService): RolloutSource {
  const act = (action: RolloutAction) => async () => {
    const r = service.current();
    if (r === undefined || !isActive(r))
      throw new HttpError(409, 'conflict', `nothing to ${action}: no rollout is running`);
    const out = service.act(action);
    if (!out.ok) throw new HttpError(409, 'conflict', out.errors.join('; '));
  };
  return {
    current: () => {
      const r = service.current();
      return r !== undefined && isActive(r) ? consoleRollout(rolloutStatus(r)) : undefined;
    },
    // The service keeps the last rollout's state; the ones before it live in its log lines.
    history: () => {
      const r = service.current();
      return r !== undefined && !isActive(r) ? [consoleRollout(rolloutStatus(r))] : [];
    },
    pause: act('pause'),
    resume: act('resume'),
    abort: act('abort'),
  };
}
