/**
 * Label rewrites on the real local stack (Prometheus 2.42 at every tier, the fleet simulator and
 * a node_exporter as sources): one case per rule kind. Rewritten labels arrive at central
 * exactly as declared, and series a rule drops never arrive. One stack for the file (start-up
 * is the expensive part); the last case stops components on purpose.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { HEARTBEAT_METRIC, JOB, LABEL } from '../../common/conventions.ts';
import { startLocalStack, type LocalStack } from '../../deploy/local/stack.ts';
import { explain } from '../../render/explain.ts';
import { createPlan } from '../../render/plan.ts';
import { parseTopology } from '../../topology/load.ts';
import { promAlerts, promQuery, startNodeExporter, waitFor, type PromSample } from '../support/index.ts';

const FIXTURE = new URL('./fixtures/live.good.yaml', import.meta.url);
const NODE_EXPORTER_PLACEHOLDER = '127.0.0.1:9100';

describe('label rewrites on the live stack', () => {
  let stack: LocalStack;
  let nodeExporter: Awaited<ReturnType<typeof startNodeExporter>>;
  let central: string[];

  before(async () => {
    nodeExporter = await startNodeExporter();
    const text = readFileSync(FIXTURE, 'utf8').replaceAll(NODE_EXPORTER_PLACEHOLDER, nodeExporter.target);
    const parsed = parseTopology(text, FIXTURE.pathname);
    if (!parsed.ok) throw new Error(parsed.errors.map((e) => `${e.path}: ${e.message}`).join('\n'));
    stack = await startLocalStack({
      topology: parsed.topology,
      simulate: { maxGuestClusters: 2 },
      waitForData: true,
    });
    central = Object.values(stack.urls.centrals);
  });

  after(async () => {
    await stack?.stop();
    await nodeExporter?.stop();
  });

  /** `expr` at every central replica, once each answers at least `min` series. */
  const atCentral = (expr: string, min = 1): Promise<PromSample[][]> =>
    waitFor(
      async () => {
        const all = await Promise.all(central.map((url) => promQuery(url, expr)));
        return all.every((v) => v.length >= min) ? all : undefined;
      },
      { timeoutMs: 30_000, what: `${expr} at every central replica` },
    );
  const phaseAt = (mc: string) => `kube_pod_status_phase{${LABEL.metaCluster}="${mc}"}`;
  /** Edges and cascades serve behind TLS and basic auth: asked the way the tier above asks. */
  const creds = () => stack.secrets.credentials();

  it('rename: pod arrives as pod_name, and no series keeps pod', async () => {
    for (const samples of await atCentral(phaseAt('mc-bj-01'))) {
      assert.ok(samples.every((s) => s.metric.pod_name !== undefined && s.metric.pod === undefined));
    }
    assert.deepEqual(await promQuery(central[0]!, 'count({pod!=""})'), []);
  });

  it('derive with onConflict: keep labels each edge target with the site from its meta-cluster name', async () => {
    for (const [mc, site] of [
      ['mc-hz-01', 'hz'],
      ['mc-bj-01', 'bj'],
    ] as const) {
      for (const samples of await atCentral(phaseAt(mc)))
        assert.deepEqual([...new Set(samples.map((s) => s.metric.site))], [site]);
    }
    // A target label: the cascade's own up of each edge carries it too.
    const up = await promQuery(stack.urls.cascades['china']!, `up{job="${JOB.federateEdge}"}`, creds());
    assert.deepEqual(up.map((s) => `${s.metric[LABEL.metaCluster]} ${s.metric.site}`).sort(), [
      'mc-bj-01 bj',
      'mc-hz-01 hz',
    ]);
  });

  it('drop labels: node is gone from the series that had it at the edge', async () => {
    const atEdge = await promQuery(
      stack.urls.edges['mc-bj-01']!,
      'container_memory_working_set_bytes',
      creds(),
    );
    assert.ok(atEdge.length > 0 && atEdge.every((s) => s.metric.node !== undefined));
    for (const samples of await atCentral('container_memory_working_set_bytes'))
      assert.ok(samples.every((s) => s.metric.node === undefined));
  });

  it('raw relabelConfigs: lowercase copies phase to phase_lower', async () => {
    for (const samples of await atCentral(phaseAt('mc-bj-01')))
      assert.ok(samples.every((s) => s.metric.phase_lower === s.metric.phase!.toLowerCase()));
  });

  it("set with onConflict: export overwrites team and keeps the series' own as exported_team", async () => {
    for (const samples of await atCentral('node_load1')) {
      assert.equal(samples.length, 1);
      assert.equal(samples[0]!.metric.team, 'platform');
      assert.equal(samples[0]!.metric.exported_team, 'sre');
    }
    // Series without a team of their own get none to export.
    const without = await promQuery(central[0]!, 'count(region:edge_up:ratio{exported_team!=""})');
    assert.deepEqual(without, []);
  });

  it('map of a known label: every region gets its zone', async () => {
    for (const samples of await atCentral('region:edge_up:ratio', 3))
      assert.deepEqual(samples.map((s) => `${s.metric[LABEL.region]} ${s.metric.zone}`).sort(), [
        'cn-beijing north',
        'cn-hangzhou east',
        'eu-central-1 west',
      ]);
  });

  it("map with a default, in one region: cn-beijing's phases become states, cn-hangzhou's get none", async () => {
    const want: Record<string, string> = { Running: 'up', Pending: 'waiting' };
    for (const samples of await atCentral(phaseAt('mc-bj-01')))
      assert.ok(samples.every((s) => s.metric.state === (want[s.metric.phase!] ?? 'other')));
    for (const samples of await atCentral(phaseAt('mc-hz-01')))
      assert.ok(samples.every((s) => s.metric.state === undefined));
  });

  it('drop series: the Failed phase of mc-hz-01 never arrives, while mc-bj-01 sends its own', async () => {
    await atCentral(`${phaseAt('mc-bj-01').slice(0, -1)},phase="Failed"}`);
    await atCentral(phaseAt('mc-hz-01'));
    // The edge has them: the rule, not the source, is why central does not.
    assert.ok(
      (
        await promQuery(
          stack.urls.edges['mc-hz-01']!,
          'count(kube_pod_status_phase{phase="Failed"})',
          creds(),
        )
      ).length > 0,
    );
    for (const url of central) {
      assert.deepEqual(
        await promQuery(url, `count(${phaseAt('mc-hz-01').slice(0, -1)},phase="Failed"})`),
        [],
      );
      const phases = await promQuery(url, `count by (phase) (${phaseAt('mc-hz-01')})`);
      assert.deepEqual(phases.map((s) => s.metric.phase).sort(), [
        'Pending',
        'Running',
        'Succeeded',
        'Unknown',
      ]);
    }
  });

  it("keep series: mc-fra-01 sends only its aggregates, and fedstack's heartbeat all the same", async () => {
    await atCentral(`cluster:etcd_server_has_leader:min{${LABEL.metaCluster}="mc-fra-01"}`);
    await atCentral(`${HEARTBEAT_METRIC}{${LABEL.metaCluster}="mc-fra-01"}`);
    assert.ok(
      (await promQuery(stack.urls.edges['mc-fra-01']!, 'count(kube_pod_status_phase)', creds())).length > 0,
    );
    for (const url of [...central, stack.urls.cascades['europe']!]) {
      assert.deepEqual(await promQuery(url, `count(${phaseAt('mc-fra-01')})`, creds()), []);
      assert.deepEqual(
        await promQuery(
          url,
          `count(container_memory_working_set_bytes{${LABEL.metaCluster}="mc-fra-01"})`,
          creds(),
        ),
        [],
      );
    }
  });

  it("explain's answer is the label set central stores, hop by hop", async () => {
    const [sample] = (await atCentral('node_load1'))[0]!;
    const plan = createPlan(stack.topology, 'local');
    const r = explain(plan, 'node_load1', {
      job: 'node',
      instance: nodeExporter.target,
      team: 'sre',
      [LABEL.metaCluster]: 'mc-hz-01',
    });
    assert.ok(r.reachesCentral);
    assert.deepEqual(r.labelsAtCentral, sample!.metric);
    // A simulator series through rename, derive, raw, a region's map and both central rules.
    const [pod] = (await atCentral(`${phaseAt('mc-bj-01').slice(0, -1)},phase="Pending"}`))[0]!;
    const source = {
      job: pod!.metric.job!,
      instance: pod!.metric.instance!,
      namespace: pod!.metric.namespace!,
      pod: pod!.metric.pod_name!,
      phase: 'Pending',
      [LABEL.metaCluster]: 'mc-bj-01',
    };
    const r2 = explain(plan, 'kube_pod_status_phase', source);
    assert.deepEqual(r2.labelsAtCentral, pod!.metric);
    assert.deepEqual(
      r2.steps.flatMap((step) => (step.rewrites ?? []).map((h) => `${step.tier} ${h.rule}`)),
      [
        'cascade relabel.cascade[1]',
        'cascade relabel.cascade[0]',
        'cascade relabel.cascade[3]',
        'cascade bigRegions[0].regions[1].relabel.cascade[0]',
        'central relabel.central[0]',
        'central relabel.central[1]',
      ],
    );
  });

  it("EdgeDown and CascadeDown still fire: the rules never touch the federation jobs' up", async () => {
    await stack.stopEdge('mc-bj-01');
    await stack.stopCascade('europe');
    const firing = (name: string, labels: Record<string, string>) =>
      waitFor(
        async () =>
          (await promAlerts(central[0]!)).some(
            (a) =>
              a.state === 'firing' &&
              a.labels.alertname === name &&
              Object.entries(labels).every(([k, v]) => a.labels[k] === v),
          ),
        { timeoutMs: 30_000, what: `${name} firing` },
      );
    await firing('EdgeDown', { job: JOB.federateEdge, [LABEL.metaCluster]: 'mc-bj-01', zone: 'north' });
    await firing('CascadeDown', { job: JOB.federateCascade, [LABEL.bigRegion]: 'europe' });
  });
});
