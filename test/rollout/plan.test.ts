/**
 * The rollout plan file (rollout/plan-file.ts) and the wave state machine (rollout/engine.ts),
 * without processes: plans resolved against a real change set of the local-stack fixture, and
 * the engine driven with a fake clock, made-up sidecar reports and gate readings.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import YAML from 'yaml';
import { createEmitter } from '../../render/emit.ts';
import { validateTopology } from '../../render/validate.ts';
import { formatError } from '../../topology/errors.ts';
import { diffRevisionsAsync } from '../../rollout/changes.ts';
import {
  advance,
  createRollout,
  pause,
  resume,
  type InstanceReport,
  type Rollout,
} from '../../rollout/engine.ts';
import { rolloutStatus } from '../../rollout/status.ts';
import { consoleRollout } from '../../console/rollouts.ts';
import { defaultPlanSpec, parseRolloutPlan, resolvePlan } from '../../rollout/plan-file.ts';
import { gateKey } from '../../rollout/gates.ts';
import { predictSeries } from '../../rollout/predict.ts';

const FIXTURE = fileURLToPath(new URL('../fixtures/local-stack.good.yaml', import.meta.url));
const text = readFileSync(FIXTURE, 'utf8');

function load(t: string) {
  const v = validateTopology(t, 'new.yaml', { profile: 'local' });
  if (!v.ok) throw new Error(v.errors.map(formatError).join('\n'));
  return v;
}
const from = load(text);
/** Every edge changes: one more edge recording rule. */
const doc = YAML.parse(text);
doc.recordingRules = {
  edge: [...from.topology.recordingRules.edge, { record: 'meta_cluster:probe:count', expr: 'count(up)' }],
};
const to = load(YAML.stringify(doc));
const changes = await diffRevisionsAsync(createEmitter(from.plan), createEmitter(to.plan));

describe('rollout plan', () => {
  it('the default plan puts one canary per big region first, then 10% of each region, never both central replicas at once', () => {
    const r = resolvePlan(defaultPlanSpec(['central-a', 'central-b']), to.plan, changes);
    assert.ok(r.ok);
    assert.deepEqual(
      r.plan.waves.map((w) => [w.name, w.instances]),
      [
        ['canary', ['edge/mc-hz-01', 'edge/mc-fra-01']],
        ['10%', ['edge/mc-bj-01']],
        ['50%', []],
        ['all edges', []],
        ['cascade', []],
        ['central-a', []],
        ['central-b', []],
      ],
    );
    assert.equal(r.plan.waves[0]!.failureBudget, 0);
  });

  it('a malformed plan is refused with every error at FILE:LINE:COL', () => {
    const bad = [
      'apiVersion: fedstack/v1',
      'kind: RolloutPlan',
      'waves:',
      '  - { name: canary, edges: { perBigRegoin: 1 } }',
      '  - { name: both, central: [central-a, central-b], soak: 1s }',
      '  - { name: nothing }',
      'gates:',
      '  serise: { ratio: [0.5] }',
    ].join('\n');
    const parsed = parseRolloutPlan(bad, 'plan.yaml');
    assert.ok(!parsed.ok);
    const lines = parsed.errors.map(formatError);
    assert.ok(
      lines.every((l) => /^plan\.yaml:\d+:\d+: /.test(l)),
      lines.join('\n'),
    );
    assert.ok(
      lines.some((l) => l.startsWith('plan.yaml:4:') && l.includes('waves[0].edges')),
      lines.join('\n'),
    );
    assert.ok(
      lines.some(
        (l) =>
          l.startsWith('plan.yaml:6:') &&
          l.includes('a wave selects its instances with one of edges, cascades or central'),
      ),
      lines.join('\n'),
    );
    assert.ok(
      lines.some((l) => l.startsWith('plan.yaml:8:') && l.includes('serise')),
      lines.join('\n'),
    );
  });

  it('resolving refuses both central replicas in one wave and a soak shorter than the federation lag, at their lines', () => {
    const plan = [
      'apiVersion: fedstack/v1',
      'kind: RolloutPlan',
      'waves:',
      '  - { name: edges, edges: all, soak: 1s }',
      '  - { name: both, central: [central-a, central-b] }',
    ].join('\n');
    const parsed = parseRolloutPlan(plan, 'plan.yaml');
    assert.ok(parsed.ok);
    const r = resolvePlan(parsed.spec, to.plan, changes);
    assert.ok(!r.ok);
    assert.deepEqual(parsed.locate(r.issues).map(formatError), [
      'plan.yaml:4:38: waves[0].soak: 1s is too short: a change takes up to 6s to reach central and a gate must fail 2 evaluation(s) 1s apart to count (want at least 8s)',
      'plan.yaml:5:28: waves[1].central: one central replica per wave (never both at once), got 2',
    ]);
  });
});

describe('predicted series per wave', () => {
  const plan = async (next: typeof from) => {
    const c = await diffRevisionsAsync(createEmitter(from.plan), createEmitter(next.plan));
    const r = resolvePlan(defaultPlanSpec(['central-a', 'central-b']), next.plan, c);
    assert.ok(r.ok);
    return predictSeries(from.topology, next.topology, r.plan.waves);
  };

  it('a metric added to central\'s allow-list predicts growth at central, carried by the first central wave', async () => {
    const d = YAML.parse(text);
    d.allowLists = { central: [...from.topology.allowLists.central!, 'cluster:apiserver_request:rate5m'] };
    const p = await plan(load(YAML.stringify(d)));
    const byWave = Object.fromEntries(p.waves.map((w) => [w.wave, w]));
    const growth = p.centralAfter - p.centralBefore;
    // The edges' cluster:apiserver_request:rate5m series, which central did not keep before.
    assert.ok(growth > 0, `central ${p.centralBefore} → ${p.centralAfter}`);
    for (const w of ['canary', '10%', '50%', 'all edges', 'cascade'])
      assert.deepEqual([byWave[w]!.instances, byWave[w]!.central], [0, 0], w);
    assert.deepEqual([byWave['central-a']!.instances, byWave['central-a']!.central], [growth, growth]);
    // central-b grows the same on its own replica; central (one replica) already counted it.
    assert.deepEqual([byWave['central-b']!.instances, byWave['central-b']!.central], [growth, 0]);
    assert.equal(p.outsideWaves, 0);
  });

  it('an edge rule federated to central predicts growth at the edges of each wave, and the waves add up to central\'s change', async () => {
    const p = await plan(to);
    const sumCentral = p.waves.reduce((k, w) => k + w.central, 0);
    assert.equal(sumCentral + p.outsideWaves, p.centralAfter - p.centralBefore);
    // count(up) is one series per edge; meta_cluster:.+ is in central's allow-list.
    assert.deepEqual(
      p.waves.map((w) => [w.wave, w.instances, w.central]),
      [
        ['canary', 2, 2],
        ['10%', 1, 1],
        ['50%', 0, 0],
        ['all edges', 0, 0],
        ['cascade', 0, 0],
        ['central-a', 0, 0],
        ['central-b', 0, 0],
      ],
    );
  });

  it('a topology that changes nothing predicts no change anywhere', async () => {
    const p = await plan(load(text));
    assert.ok(p.waves.length > 0);
    for (const w of p.waves) assert.deepEqual([w.instances, w.central], [0, 0], w.wave);
    assert.equal(p.centralAfter, p.centralBefore);
    assert.equal(p.outsideWaves, 0);
  });
});

describe('rollout engine', () => {
  const resolved = resolvePlan(
    { ...defaultPlanSpec(['central-a', 'central-b']), defaults: { soak: '10s' } },
    to.plan,
    changes,
  );
  assert.ok(resolved.ok);
  const start = (now: number) =>
    createRollout({
      id: 'r2',
      from: { seq: 1, hash: 'old' },
      to: { seq: 2, hash: 'new' },
      waves: resolved.plan.waves,
      gates: resolved.plan.gates,
      gateIntervalMs: 1000,
      failAfter: 2,
      settleMs: 3000,
      now,
    }).rollout;
  const reports = new Map<string, InstanceReport>();
  const obs = (now: number, reading?: Record<string, Record<string, number | string[]>>) => ({
    now,
    report: (id: string) => reports.get(id),
    ...(reading === undefined ? {} : { reading: { at: now, values: reading, errors: {} } }),
  });
  const closure = gateKey({ tier: 'edge', name: 'closure' });

  it('a gate failing twice at a canary rolls back every instance that got the new revision, verified by reports after the rollback began', () => {
    reports.clear();
    const r: Rollout = start(0);
    advance(r, obs(0)); // wave started
    advance(r, obs(1000, { [closure]: { 'edge/mc-hz-01': ['up', 'x'], 'edge/mc-fra-01': ['up', 'x'] } })); // baseline
    advance(r, obs(1100));
    assert.deepEqual(Object.keys(r.waves[0]!.progress), ['edge/mc-hz-01', 'edge/mc-fra-01']);
    for (const id of ['edge/mc-hz-01', 'edge/mc-fra-01'])
      reports.set(id, {
        revision: 'new',
        receivedAt: 2000,
        sync: { revision: 'new', promtool: 'ok', reload: 'ok' },
      });
    advance(r, obs(2000));
    assert.equal(r.waves[0]!.state, 'soaking');
    const lost = { [closure]: { 'edge/mc-hz-01': ['up'], 'edge/mc-fra-01': ['up', 'x'] } };
    advance(r, obs(6000, lost));
    assert.equal(r.state, 'running', 'one failing evaluation is not enough');
    advance(r, obs(7000, lost));
    assert.equal(r.state, 'rolling-back');
    assert.equal(r.failure!.gate, closure);
    assert.match(
      r.failure!.summary,
      /1 of 2 instance\(s\) failed \(budget 0\); first: edge\/mc-hz-01 gate closure .*no fresh data for x/,
    );
    assert.deepEqual(r.rollback!.instances, ['edge/mc-hz-01', 'edge/mc-fra-01']);
    // A report from before the rollback began proves nothing.
    for (const id of ['edge/mc-hz-01', 'edge/mc-fra-01'])
      reports.set(id, { revision: 'old', receivedAt: 6500 });
    advance(r, obs(7500));
    assert.equal(r.state, 'rolling-back');
    for (const id of ['edge/mc-hz-01', 'edge/mc-fra-01'])
      reports.set(id, { revision: 'old', receivedAt: 8000 });
    advance(r, obs(8000));
    assert.equal(r.state, 'rolled-back');
    assert.equal(r.rollback!.verifiedAt, 8000);
    assert.equal(r.waves[1]!.state, 'pending', 'the next wave never started');

    // The console shows it as rolled back, with the failing gate and why, from the same status.
    const shown = consoleRollout(rolloutStatus(r));
    assert.equal(shown.state, 'rolled-back');
    assert.equal(shown.failingGate, closure);
    assert.match(shown.rollbackReason!, /no fresh data for x/);
    assert.equal(shown.waves[0]!.state, 'rolled-back');
    const gate = shown.waves[0]!.gates.find((g) => g.name === closure)!;
    assert.equal(gate.ok, false);
    assert.deepEqual([shown.fromRevision, shown.toRevision], ['1 (old)', '2 (new)']);
  });

  it('a paused rollout assigns nothing, and its soak stretches by the pause', () => {
    reports.clear();
    const r: Rollout = start(0);
    advance(r, obs(0));
    advance(r, obs(1000, {}));
    advance(r, obs(1100));
    for (const id of ['edge/mc-hz-01', 'edge/mc-fra-01'])
      reports.set(id, { revision: 'new', receivedAt: 2000 });
    advance(r, obs(2000));
    assert.equal(r.waves[0]!.state, 'soaking');
    pause(r, 3000);
    advance(r, obs(20_000, {}));
    assert.equal(r.waves[0]!.state, 'soaking', 'no wave ends while paused');
    resume(r, 30_000);
    advance(r, obs(35_000, {}));
    assert.equal(r.waves[0]!.state, 'soaking', '10s of soak, 27s of it paused');
    advance(r, obs(40_000, {}));
    assert.equal(r.waves[0]!.state, 'done');
    assert.equal(r.current, 1);
  });
});
