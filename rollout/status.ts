/**
 * A rollout as `fedstack rollout status` shows it and GET /v1/rollouts/current answers: each
 * wave with its counts, the gates with their PromQL and what they last saw, the failure and
 * the rollback, the last steps. Bounded at any fleet size: instance lists are cut to a few ids.
 */
import { describeCheck, gateKey } from './gates.ts';
import type { Rollout } from './engine.ts';

const SHOWN = 10;

export interface RolloutStatus {
  readonly id: string;
  readonly state: Rollout['state'];
  readonly from: Rollout['from'];
  readonly to: Rollout['to'];
  readonly note?: string;
  readonly owner?: string;
  readonly startedAt: string;
  readonly endedAt?: string;
  readonly wave?: string;
  readonly waves: readonly {
    readonly name: string;
    readonly tier: string;
    readonly state: string;
    readonly instances: number;
    readonly assigned: number;
    readonly applied: number;
    readonly failed: number;
    readonly failureBudget: number;
    readonly soakSeconds: number;
    readonly sample: readonly string[];
  }[];
  readonly gates: readonly {
    readonly gate: string;
    readonly expr: string;
    readonly check: string;
    readonly failing: readonly { readonly instance: string; readonly detail: string }[];
    readonly passing: number;
    readonly error?: string;
  }[];
  readonly failure?: Rollout['failure'];
  readonly rollback?: {
    readonly outcome: string;
    readonly instances: number;
    readonly confirmed: number;
    readonly verified: boolean;
    readonly unverified?: readonly string[];
  };
  readonly events: readonly { readonly at: string; readonly step: string; readonly wave?: string; readonly message: string }[];
}

const iso = (ms: number | undefined) => (ms === undefined ? undefined : new Date(ms).toISOString());

export function rolloutStatus(r: Rollout, events = 30): RolloutStatus {
  const endedAt = iso(r.endedAt);
  const rb = r.rollback;
  return {
    id: r.id,
    state: r.state,
    from: r.from,
    to: r.to,
    ...(r.note === undefined ? {} : { note: r.note }),
    ...(r.owner === undefined ? {} : { owner: r.owner }),
    startedAt: iso(r.startedAt)!,
    ...(endedAt === undefined ? {} : { endedAt }),
    ...(r.waves[r.current] === undefined ? {} : { wave: r.waves[r.current]!.name }),
    waves: r.waves.map((w) => {
      const phases = Object.values(w.progress);
      return {
        name: w.name,
        tier: w.tier,
        state: w.state,
        instances: w.instances.length,
        assigned: phases.length,
        applied: phases.filter((p) => p.phase === 'applied').length,
        failed: phases.filter((p) => p.phase === 'failed').length,
        failureBudget: w.failureBudget,
        soakSeconds: Math.round(w.soakMs / 1000),
        sample: w.instances.slice(0, SHOWN),
      };
    }),
    gates: r.gates.map((g) => {
      const verdicts = Object.entries(r.verdicts[gateKey(g)] ?? {});
      const error = r.gateErrors[gateKey(g)];
      return {
        gate: gateKey(g),
        expr: g.expr,
        check: describeCheck(g.check),
        failing: verdicts
          .filter(([, v]) => !v.ok)
          .slice(0, SHOWN)
          .map(([instance, v]) => ({ instance, detail: v.detail })),
        passing: verdicts.filter(([, v]) => v.ok).length,
        ...(error === undefined ? {} : { error }),
      };
    }),
    ...(r.failure === undefined ? {} : { failure: r.failure }),
    ...(rb === undefined
      ? {}
      : {
          rollback: {
            outcome: rb.outcome,
            instances: rb.instances.length,
            confirmed: rb.confirmed.length,
            verified: rb.verifiedAt !== undefined,
            ...(rb.unverified === undefined ? {} : { unverified: rb.unverified.slice(0, SHOWN) }),
          },
        }),
    events: r.events.slice(-events).map((e) => ({
      at: iso(e.at)!,
      step: e.step,
      ...(e.wave === undefined ? {} : { wave: e.wave }),
      message: e.message,
    })),
  };
}
