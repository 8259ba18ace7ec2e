/**
 * Bench: how fast a failed rollout is undone (issue 13: "time from a gate failing to every
 * canary reporting the old hash ≤ 2 sidecar poll intervals + one reload"). The rollout tests'
 * stack (test/rollout/stack.ts: real Prometheus edges, cascades and central pair at 1 s
 * intervals, the service in its own process, a pulling sidecar per Prometheus) takes the same
 * promtool-valid bad change as the tests: the canaries starve a central rule, a gate fails at
 * the canary wave, and the service rolls back.
 *
 * Measured from the service's state file: from the instant the engine decided the rollback
 * (`rollback.startedAt`, the tick where the failing gate went over the wave's budget) to the
 * tick that saw every canary report the old hash (`rollback.verifiedAt`). The bound is 2 poll
 * intervals of the stack's sidecars plus one reload of a canary's Prometheus, measured
 * (median of 5 `POST /-/reload` of the same config, after the rollback).
 */
import { httpCall } from '../deploy/local/http.ts';
import { CANARIES, PLAN, SIDECAR_INTERVAL_MS, starveCentralRule, startRolloutStack } from '../test/rollout/stack.ts';
import { notRun, type Bench, type Row } from './types.ts';

const BOUND_RATIO = 1;

const median = (xs: readonly number[]) => [...xs].sort((a, b) => a - b)[xs.length >> 1]!;

export const rolloutRollbackBench: Bench = {
  name: 'rollout-rollback',
  description: 'staged rollout: a gate failing at the canary → every canary reports the old hash, vs 2 sidecar polls + one reload',
  async run({ smoke, log }) {
    const b = 'rollout-rollback';
    const metric = 'gate fails → every canary reports the old hash / (2 sidecar polls + one reload)';
    if (smoke)
      return [notRun(b, metric, 'not in smoke (a minute): every `npm test` runs the same rollback in test/rollout/rollout.test.ts', { op: '<=', bound: BOUND_RATIO })];
    const s = await startRolloutStack();
    try {
      await s.waitReady();
      log('rollout-rollback: stack ready, starting the bad rollout');
      const topo = s.topologyWith('bad.yaml', starveCentralRule);
      const started = await s.cli(['start', '-t', topo, '--plan', s.writeFile('bad-plan.yaml', PLAN('20s'))]);
      if (started.code !== 0) throw new Error(`rollout start: ${started.err}`);
      const end = await s.waitForEnd(180_000);
      const rb = s.state().rollout?.rollback;
      if (end.state !== 'rolled-back' || end.failure?.wave !== 'canary' || rb?.verifiedAt === undefined)
        return [notRun(b, metric, `the bad change did not end rolled back and verified at the canary (${end.state}: ${end.failure?.summary ?? 'no failure'})`, { op: '<=', bound: BOUND_RATIO })];

      // One reload of a canary's Prometheus, as its sidecar makes it (same credentials).
      const edge = CANARIES[0]!.slice('edge/'.length);
      const reloads: number[] = [];
      for (let i = 0; i < 5; i++) {
        const t0 = performance.now();
        const res = await httpCall('POST', `${s.stack.urls.edges[edge]}/-/reload`, s.stack.secrets.credentials());
        if (res.status !== 200) throw new Error(`POST /-/reload at ${edge}: HTTP ${res.status} ${res.text}`);
        reloads.push(performance.now() - t0);
      }
      const reloadMs = median(reloads);
      const measuredMs = rb.verifiedAt - rb.startedAt;
      const boundMs = 2 * SIDECAR_INTERVAL_MS + reloadMs;
      const rows: Row[] = [
        {
          bench: b,
          metric: `gate fails → every canary reports the old hash (${rb.instances.length} canaries, failing gate ${end.failure.gate})`,
          value: measuredMs / 1000,
          unit: 's',
          note: "from the service's state file: rollback.startedAt → rollback.verifiedAt, each at a controller tick (250 ms)",
        },
        {
          bench: b,
          metric: `bound: 2 sidecar polls (${SIDECAR_INTERVAL_MS} ms) + one reload (${reloadMs.toFixed(0)} ms, median of 5)`,
          value: boundMs / 1000,
          unit: 's',
        },
        {
          bench: b,
          metric,
          value: measuredMs / boundMs,
          unit: '',
          target: { op: '<=', bound: BOUND_RATIO },
          detail: { measuredSeconds: measuredMs / 1000, boundSeconds: boundMs / 1000, reloadSeconds: reloadMs / 1000 },
        },
      ];
      return rows;
    } finally {
      await s.stop();
    }
  },
};
