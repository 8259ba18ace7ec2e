/**
 * Staged rollouts on the local stack with real Prometheus (3 edges in 2 big regions, 2
 * cascades, the central pair), the service in its own process and a pulling sidecar per
 * Prometheus. One stack for the whole file: each case starts from the stable revision the one
 * before left, as an operator's rollouts follow each other.
 */
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { gzipSync } from 'node:zlib';
import { after, before, describe, it } from 'node:test';
import { waitFor } from '../../deploy/local/process.ts';
import { promQuery } from '../../deploy/local/promapi.ts';
import { CANARIES, EDGES, PLAN, starveCentralRule, startRolloutStack, type RolloutStack } from './stack.ts';


describe('staged rollout on the local stack', { timeout: 600_000 }, () => {
  let s: RolloutStack;
  before(async () => {
    s = await startRolloutStack();
    await s.waitReady();
  });
  after(async () => {
    await s?.stop();
  });

  it('the rollout API answers 401 without the token, and a malformed plan gets FILE:LINE:COL', async () => {
    const res = await s.api('GET', '/current', undefined, false);
    assert.equal(res.status, 401);
    assert.equal(res.body.reason, 'missing bearer token');
    const plan = s.writeFile(
      'bad-plan.yaml',
      'apiVersion: fedstack/v1\nkind: RolloutPlan\nwaves:\n  - { name: canary, edges: { perBigRegoin: 1 } }\n',
    );
    const topo = s.topologyWith('same.yaml', () => {});
    // The plan is read before anything is sent: no service needed to refuse it.
    const out = await s.cli(['start', '-t', topo, '--plan', plan]);
    assert.equal(out.code, 2, out.err);
    assert.match(out.err, new RegExp(`${plan.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}:4:\\d+: waves\\[0\\]\\.edges`));
    assert.equal((await s.api('GET', '/current')).status, 404, 'nothing was started');
  });

  it('a good change rolls through every wave; a second start meanwhile gets 409; central ends with the new metric from every edge', async () => {
    // A new metric made at the edge, summed at the cascade and at central: every tier changes.
    const topo = s.topologyWith('good.yaml', (rules) => {
      rules.edge.push({ record: 'meta_cluster:rollout_probe:count', expr: 'count(up)' });
      rules.cascade.push({
        record: 'region:rollout_probe:sum',
        expr: 'sum by (big_region, region) (meta_cluster:rollout_probe:count)',
      });
      rules.central.push({ record: 'global:rollout_probe:sum', expr: 'sum(region:rollout_probe:sum)' });
    });
    const plan = s.writeFile(
      'good-plan.yaml',
      PLAN(
        '10s',
        `waves:
  - { name: canary, edges: { perBigRegion: 1 }, failureBudget: 0 }
  - { name: edges, edges: all }
  - { name: cascades, cascades: all }
  - { name: central-a, central: [central-a] }
  - { name: central-b, central: [central-b] }
`,
      ),
    );
    const dry = await s.cli(['plan', '-t', topo, '--plan', plan]);
    assert.equal(dry.code, 0, dry.err);
    assert.match(dry.out, /7 instance\(s\) change, 0 do not/);
    assert.match(dry.out, /rules\.yml +7 instance\(s\)/);
    // The capacity model's prediction: one more series per edge, every one kept by central.
    assert.match(dry.out, /canary .* series \+2 there, \+2 at central/);
    assert.match(dry.out, /series at central \(one replica, capacity model\): [\d,]+ → [\d,]+/);
    // The same topology packed as the Kubernetes bundle packs a large one: the same dry run.
    const packed = `${topo}.gz`;
    writeFileSync(packed, gzipSync(readFileSync(topo)));
    const dryPacked = await s.cli(['plan', '-t', packed, '--plan', plan]);
    assert.equal(dryPacked.code, 0, dryPacked.err);
    assert.equal(dryPacked.out.replaceAll(packed, topo), dry.out);

    const started = await s.cli(['start', '-t', topo, '--plan', plan, '--note', 'add a probe rule']);
    assert.equal(started.code, 0, started.err);
    const second = await s.api('POST', '', { topology: 'x', topologyFile: 'x.yaml' });
    assert.equal(second.status, 409);

    const end = await s.waitForEnd(150_000);
    assert.equal(end.state, 'done', JSON.stringify(end.failure));
    assert.deepEqual(
      end.waves.map((w) => [w.name, w.state, w.applied]),
      [
        ['canary', 'done', 2],
        ['edges', 'done', 1],
        ['cascades', 'done', 2],
        ['central-a', 'done', 1],
        ['central-b', 'done', 1],
      ],
    );
    const central = Object.values(s.stack.urls.centrals);
    await waitFor(
      async () => {
        for (const url of central) {
          const got = await promQuery(url, 'count by (meta_cluster) (meta_cluster:rollout_probe:count)');
          if (got.length !== 3) return false;
        }
        return true;
      },
      { timeoutMs: 20_000, what: 'the probe metric of every edge at both central replicas' },
    );
    assert.equal((await promQuery(central[0]!, 'global:rollout_probe:sum'))[0]?.value !== undefined, true);
    const state = s.state();
    assert.equal(state.stable, 2);
    const diff = await fetch(`${s.serviceUrl}/v1/rollouts/revisions/2/diff?instance=edge/mc-hz-01`, {
      headers: { Authorization: `Bearer ${s.token()}` },
    });
    assert.match(await diff.text(), /^\+ +- record: meta_cluster:rollout_probe:count$/m);
    for (const id of EDGES) assert.equal(s.sidecars().sidecars.get(id)!.liveRevision(), state.revisions.at(-1)!.hash, id);
  });

  /** Every sidecar outside `ids`, watched while a rollout runs: which ever ran `hash`. */
  const watchOthers = (ids: readonly string[], hash: () => string | undefined) => {
    const seen = new Set<string>();
    const timer = setInterval(() => {
      for (const [id, c] of s.sidecars().sidecars)
        if (!ids.includes(id) && hash() !== undefined && c.liveRevision() === hash()) seen.add(id);
    }, 50);
    return () => {
      clearInterval(timer);
      return [...seen];
    };
  };
  const stableHash = () => {
    const st = s.state();
    return st.revisions.find((r) => r.seq === st.stable)!.hash;
  };
  const newestHash = () => s.state().revisions.at(-1)!.hash;

  it('a promtool-valid change that starves a central rule is caught at the canary and rolled back; no other instance ever runs it', async () => {
    const old = stableHash();
    const topo = s.topologyWith('bad.yaml', starveCentralRule);
    const bad: { hash?: string } = {};
    const leaked = watchOthers(CANARIES, () => bad.hash);
    const started = await s.cli(['start', '-t', topo, '--plan', s.writeFile('bad-plan.yaml', PLAN('20s'))]);
    assert.equal(started.code, 0, started.err);
    bad.hash = newestHash();
    const end = await s.waitForEnd(120_000);
    const others = leaked();
    assert.equal(end.state, 'rolled-back');
    assert.equal(end.failure!.wave, 'canary');
    // The canaries hand their cascade fewer series at once, and central's rules lose an input
    // a few seconds later: whichever gate sees it first fails the wave.
    assert.ok(['edge:federated-series', 'edge:closure'].includes(end.failure!.gate), end.failure!.summary);
    // Budget 0: the first canary to fail rolls the wave back, whether or not the other failed yet.
    const failed = end.failure!.instances.map((i) => i.id);
    assert.ok(failed.length > 0 && failed.every((id) => CANARIES.includes(id)), failed.join(', '));
    assert.deepEqual(end.rollback, { outcome: 'rolled-back', instances: 2, confirmed: 2, verified: true });
    assert.ok(end.waves.length > 1 && end.waves.slice(1).every((w) => w.assigned === 0), 'no wave after the canary');
    assert.deepEqual(others, [], 'instances outside the canary that ran the bad revision');
    for (const id of CANARIES) assert.equal(s.sidecars().sidecars.get(id)!.liveRevision(), old, id);
    assert.equal(stableHash(), old);
    // Central answers again for the canaries.
    await waitFor(
      async () =>
        (await promQuery(
          Object.values(s.stack.urls.centrals)[0]!,
          'count(count by (meta_cluster) (timestamp(meta_cluster:apiserver_request:rate5m{meta_cluster=~"mc-hz-01|mc-fra-01"}) > time() - 6))',
        ))[0]?.value === 2 || undefined,
      { timeoutMs: 30_000, what: 'fresh meta_cluster:apiserver_request:rate5m from both canaries at central' },
    );
    assert.match(s.serviceLog(), /rollback-verified/);
    const metrics = await (await fetch(`${s.serviceUrl}/metrics`)).text();
    assert.match(metrics, /^fedstack_rollout_rolled_back\{team=""\} 1$/m);
  });

  it('a change promtool refuses fails the canary through the sidecar report and never reaches a second wave', async () => {
    const old = stableHash();
    const topo = s.topologyWith('invalid.yaml', (rules) => {
      rules.edge.push({ record: 'meta_cluster:rollout_invalid:rate', expr: 'rate(up)' });
    });
    const bad: { hash?: string } = {};
    const leaked = watchOthers([], () => bad.hash);
    const started = await s.cli(['start', '-t', topo, '--plan', s.writeFile('invalid-plan.yaml', PLAN('20s'))]);
    assert.equal(started.code, 0, started.err);
    bad.hash = newestHash();
    const end = await s.waitForEnd(60_000);
    assert.equal(end.state, 'rolled-back');
    assert.equal(end.failure!.kind, 'sidecar');
    assert.equal(end.failure!.gate, 'edge:sidecar');
    assert.match(end.failure!.instances[0]!.detail, /promtool refused revision \d+: promtool check config/);
    assert.ok(end.waves.length > 1 && end.waves.slice(1).every((w) => w.assigned === 0), 'no second wave');
    assert.equal(end.rollback!.verified, true);
    assert.deepEqual(leaked(), [], 'no instance runs a revision promtool refused');
    for (const id of EDGES) assert.equal(s.sidecars().sidecars.get(id)!.liveRevision(), old, id);
  });

  it('kill -9 of the service mid-wave: the restarted service resumes from its state file, without a second canary', async () => {
    const topo = s.topologyWith('good2.yaml', (rules) => {
      rules.edge.push({ record: 'meta_cluster:rollout_probe2:count', expr: 'count(up)' });
    });
    const started = await s.cli(['start', '-t', topo, '--plan', s.writeFile('good2-plan.yaml', PLAN('10s'))]);
    assert.equal(started.code, 0, started.err);
    // The canary is done and the next wave under way.
    await waitFor(
      async () => {
        const st = (await s.api('GET', '/current')).body;
        return st.waves[0].state === 'done' && ['running', 'soaking'].includes(st.waves[1].state);
      },
      { timeoutMs: 60_000, intervalMs: 100, what: 'the second wave under way' },
    );
    s.killService();
    await s.startService();
    const end = await s.waitForEnd(90_000);
    assert.equal(end.state, 'done', JSON.stringify(end.failure));
    const events = s.state().rollout!.events;
    const canary = events.filter((e) => e.wave === 'canary');
    assert.equal(canary.filter((e) => e.step === 'wave-started').length, 1);
    assert.equal(canary.filter((e) => e.step === 'assigned').length, 1);
    assert.equal(events.filter((e) => e.step === 'done').length, 1);
    assert.match(s.serviceLog(), /rollout resumed from the state file/);
    for (const id of EDGES) assert.equal(s.sidecars().sidecars.get(id)!.liveRevision(), newestHash(), id);
  });
});
