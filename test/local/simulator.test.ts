import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { toYaml } from '../../common/serialize.ts';
import { LABEL } from '../../common/conventions.ts';
import { DEFAULT_EDGE_RULES } from '../../topology/defaults.ts';
import { parseTopology } from '../../topology/load.ts';
import { Fleet, estimateSeries, guestClustersFor } from '../../simulator/fleet.ts';
import { checkFault, startExporter } from '../../simulator/exporter.ts';
import { runSimulate } from '../../simulator/cli.ts';
import { promQuery, startPrometheus, waitFor } from '../support/index.ts';

const T0 = 1_700_000_000_000;

/** Parses exposition text into name{labels} → value (comments skipped). */
function samples(text: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const i = line.lastIndexOf(' ');
    out.set(line.slice(0, i), Number(line.slice(i + 1)));
  }
  return out;
}

const sum = (m: Map<string, number>, pred: (key: string) => boolean) =>
  [...m].filter(([k]) => pred(k)).reduce((acc, [, v]) => acc + v, 0);

describe('the fleet simulator', () => {
  it('gives the same exposition for the same seed and clock, and another for another seed', () => {
    const a = new Fleet({ metaCluster: 'mc-a', guestClusters: 2, nodes: 2, seed: 's1' }, T0).render(
      T0 + 5000,
    );
    const b = new Fleet({ metaCluster: 'mc-a', guestClusters: 2, nodes: 2, seed: 's1' }, T0).render(
      T0 + 5000,
    );
    const c = new Fleet({ metaCluster: 'mc-a', guestClusters: 2, nodes: 2, seed: 's2' }, T0).render(
      T0 + 5000,
    );
    assert.equal(a, b);
    assert.notEqual(a, c);
  });

  it("passes promtool check metrics (apart from node_exporter's own camelCase names)", () => {
    const text = new Fleet({ metaCluster: 'mc-a', guestClusters: 1, nodes: 2 }, T0).render(T0 + 1000);
    const r = spawnSync('promtool', ['check', 'metrics'], { input: text, encoding: 'utf8' });
    const problems = `${r.stdout}${r.stderr}`
      .split('\n')
      .filter((l) => l.trim() !== '' && !/node_memory_Mem(Available|Total)_bytes .*camelCase/.test(l));
    assert.deepEqual(problems, []);
  });

  it('never lets a counter go down, across faults that change every rate', () => {
    const fleet = new Fleet({ metaCluster: 'mc-a', guestClusters: 2, nodes: 2 }, T0);
    const steps: [number, Parameters<Fleet['setFault']>[0]][] = [
      [5_000, { apiserverErrorRatio: 0.9 }],
      [9_000, { apiserverLatencySeconds: 4, etcdLeaderLoss: true }],
      [15_000, {}],
      [21_000, { apiserverErrorRatio: 0, clusterIds: ['mc-a'] }],
    ];
    let prev = samples(fleet.render(T0));
    let t = T0;
    for (const [dt, fault] of steps) {
      t += dt / 2;
      fleet.setFault(fault, t);
      for (const at of [t, t + dt / 2]) {
        const cur = samples(fleet.render(at));
        for (const [key, v] of cur) {
          const name = key.slice(0, key.indexOf('{'));
          const isCounter = /_total$|_bucket$|_count$|_sum$/.test(name);
          if (isCounter) assert.ok(v >= prev.get(key)!, `${key} went from ${prev.get(key)} to ${v}`);
        }
        prev = cur;
      }
      t += dt / 2;
    }
  });

  it('labels every control-plane series with cluster_id: the meta-cluster itself and each guest cluster', () => {
    const fleet = new Fleet({ metaCluster: 'mc-a', guestClusters: 3, nodes: 2 }, T0);
    const m = samples(fleet.render(T0));
    assert.equal(fleet.clusterIds.length, 4);
    assert.equal(fleet.clusterIds[0], 'mc-a');
    for (const name of [
      'apiserver_request_total',
      'apiserver_request_duration_seconds_bucket',
      'etcd_server_has_leader',
      'etcd_server_leader_changes_seen_total',
      'etcd_mvcc_db_total_size_in_bytes',
      'scheduler_pending_pods',
      'scheduler_e2e_scheduling_duration_seconds_count',
      'workqueue_depth',
      'workqueue_adds_total',
    ]) {
      const ids = new Set(
        [...m.keys()].filter((k) => k.startsWith(`${name}{`)).map((k) => /cluster_id="([^"]+)"/.exec(k)?.[1]),
      );
      assert.deepEqual([...ids].sort(), [...fleet.clusterIds].sort(), name);
    }
    // Node-level series describe the meta-cluster's machines, not a guest cluster.
    assert.ok(
      [...m.keys()].some((k) => k.startsWith('node_cpu_seconds_total{') && !k.includes(LABEL.clusterId)),
    );
  });

  it('carries the noise labels the cascade is expected to drop', () => {
    const text = new Fleet({ metaCluster: 'mc-a', guestClusters: 1, nodes: 1 }, T0).render(T0);
    for (const label of ['pod_template_hash', 'controller_revision_hash', 'uid']) {
      assert.match(text, new RegExp(`[{,]${label}="`), label);
    }
  });

  it('shifts the 5xx share of apiserver requests to the injected error ratio', () => {
    const fleet = new Fleet({ metaCluster: 'mc-a', guestClusters: 1, nodes: 1 }, T0);
    fleet.setFault({ apiserverErrorRatio: 0.4 }, T0);
    const before = samples(fleet.render(T0));
    const later = samples(fleet.render(T0 + 600_000));
    const inc = (pred: (k: string) => boolean) => sum(later, pred) - sum(before, pred);
    const all = inc((k) => k.startsWith('apiserver_request_total{'));
    const errors = inc((k) => k.startsWith('apiserver_request_total{') && /code="5\d\d"/.test(k));
    assert.ok(Math.abs(errors / all - 0.4) < 0.01, `5xx share ${errors / all}`);
  });

  it('applies a fault only to the named clusters when clusterIds is given', () => {
    const fleet = new Fleet({ metaCluster: 'mc-a', guestClusters: 2, nodes: 1 }, T0);
    const victim = fleet.clusterIds[1]!;
    fleet.setFault({ etcdLeaderLoss: true, clusterIds: [victim] }, T0);
    const m = samples(fleet.render(T0 + 1000));
    const leaders = [...m].filter(([k]) => k.startsWith('etcd_server_has_leader{'));
    assert.ok(leaders.length === 9);
    for (const [k, v] of leaders) assert.equal(v, k.includes(`cluster_id="${victim}"`) ? 0 : 1, k);
  });

  it('grows to about 100k series per edge with a hundred-odd guest clusters', () => {
    const n = estimateSeries({ metaCluster: 'mc-big', guestClusters: 115, nodes: 10 });
    assert.ok(n > 90_000 && n < 110_000, `${n} series`);
    const sized = guestClustersFor({ metaCluster: 'mc-big', nodes: 10, series: 100_000 });
    const got = estimateSeries({ metaCluster: 'mc-big', nodes: 10, guestClusters: sized });
    assert.ok(Math.abs(got - 100_000) < 1000, `${sized} guest clusters give ${got} series`);
    const doubled = estimateSeries({
      metaCluster: 'mc-big',
      guestClusters: 10,
      nodes: 3,
      seriesMultiplier: 2,
    });
    const single = estimateSeries({ metaCluster: 'mc-big', guestClusters: 10, nodes: 3 });
    assert.ok(doubled > 1.6 * single, `${doubled} vs ${single}`);
  });

  it('refuses malformed faults with the field and the value', () => {
    const cases: [unknown, RegExp][] = [
      [{ apiserverErrorRatio: 2 }, /^apiserverErrorRatio: 2 is not a number in \[0, 1\]$/],
      [{ down: 'yes' }, /^down: "yes" is not false, "503" or "close"$/],
      [{ etcdLeaderlos: true }, /^etcdLeaderlos: unknown fault field/],
      [[], /^fault: must be a JSON object$/],
    ];
    for (const [input, re] of cases) assert.throws(() => checkFault(input), { message: re });
  });
});

describe('the simulator exporter over HTTP', () => {
  it('serves /metrics, switches faults at runtime and goes down on request', async () => {
    const e = await startExporter({ metaCluster: 'mc-a', guestClusters: 1, nodes: 1 });
    after(() => e.close());
    const res = await fetch(`${e.url}/metrics`);
    assert.equal(res.status, 200);
    assert.match(res.headers.get('content-type') ?? '', /^text\/plain; version=0\.0\.4/);
    assert.match(await res.text(), /^etcd_server_has_leader\{cluster_id="mc-a",pod="etcd-0"\} 1$/m);

    const bad = await fetch(`${e.url}/-/fault`, { method: 'POST', body: '{"down":"maybe"}' });
    assert.equal(bad.status, 400);
    assert.deepEqual(await bad.json(), { error: 'down: "maybe" is not false, "503" or "close"' });

    const set = await fetch(`${e.url}/-/fault`, {
      method: 'POST',
      body: JSON.stringify({ etcdLeaderLoss: true }),
    });
    assert.deepEqual(await set.json(), { etcdLeaderLoss: true });
    assert.match(
      await (await fetch(`${e.url}/metrics`)).text(),
      /^etcd_server_has_leader\{cluster_id="mc-a",pod="etcd-0"\} 0$/m,
    );

    await fetch(`${e.url}/-/fault`, { method: 'POST', body: '{"down":"503"}' });
    assert.equal((await fetch(`${e.url}/metrics`)).status, 503);
    await fetch(`${e.url}/-/fault`, { method: 'POST', body: '{"down":"close"}' });
    await assert.rejects(fetch(`${e.url}/metrics`));
    assert.equal((await fetch(`${e.url}/-/healthy`)).status, 200);

    await fetch(`${e.url}/-/fault`, { method: 'POST', body: '{}' });
    assert.equal((await fetch(`${e.url}/metrics`)).status, 200);
    const info = (await (await fetch(e.url)).json()) as {
      metaCluster: string;
      clusterIds: string[];
      series: number;
    };
    assert.equal(info.metaCluster, 'mc-a');
    assert.equal(info.clusterIds.length, 2);
  });

  it('starts one exporter per meta-cluster of a topology with runSimulate, capped guest clusters', async () => {
    const parsed = parseTopology(TWO_MC_TOPOLOGY);
    assert.ok(parsed.ok);
    const lines: string[] = [];
    const sim = await runSimulate({
      topology: parsed.topology,
      maxGuestClusters: 2,
      log: (l) => lines.push(l),
    });
    after(() => sim.stop());
    assert.deepEqual(
      sim.exporters.map((e) => e.metaCluster),
      ['mc-one', 'mc-two'],
    );
    assert.deepEqual(
      sim.exporters.map((e) => e.fleet.clusterIds.length),
      [3, 2],
    );
    assert.ok(lines.some((l) => l.includes(`${sim.exporter('mc-two').url}/metrics`)));
    sim.setFault('mc-one', { down: '503' });
    assert.equal((await fetch(`${sim.exporter('mc-one').url}/metrics`)).status, 503);
    assert.throws(() => sim.exporter('mc-nope'), /no simulator for meta-cluster "mc-nope"/);
    await sim.stop();
    await sim.stopped;
    await assert.rejects(fetch(`${sim.exporter('mc-two').url}/metrics`));
  });
});

describe('the simulator scraped by a real Prometheus', () => {
  it('feeds every default edge recording rule, per guest cluster where the rule says so', async () => {
    const e = await startExporter({ metaCluster: 'mc-a', guestClusters: 2, nodes: 2 });
    after(() => e.close());
    const rules = toYaml({
      groups: [
        {
          name: 'edge',
          interval: '1s',
          rules: DEFAULT_EDGE_RULES.map((r) => ({ record: r.record, expr: r.expr })),
        },
      ],
    });
    const prom = await startPrometheus({
      configText: toYaml({
        global: { scrape_interval: '1s', evaluation_interval: '1s' },
        rule_files: ['rules.yml'],
        scrape_configs: [{ job_name: 'fleet-simulator', static_configs: [{ targets: [e.target] }] }],
      }),
      rulesFiles: { 'rules.yml': rules },
    });
    after(() => prom.stop());
    e.setFault({ apiserverLatencySeconds: 2, clusterIds: [e.fleet.clusterIds[1]!] });
    for (const r of DEFAULT_EDGE_RULES) {
      const got = await waitFor(
        async () => {
          const v = await promQuery(prom.url, r.record);
          return v.length > 0 && v.every((s) => Number.isFinite(s.value)) ? v : undefined;
        },
        { timeoutMs: 20_000, what: r.record },
      );
      if (r.record.startsWith('cluster:') && !r.record.includes('request:rate5m')) {
        assert.deepEqual(
          got.map((s) => s.metric[LABEL.clusterId]).sort(),
          [...e.fleet.clusterIds].sort(),
          r.record,
        );
      }
    }
    const p99 = await promQuery(
      prom.url,
      `cluster:apiserver_request_duration_seconds:p99_5m{cluster_id="${e.fleet.clusterIds[1]}"}`,
    );
    assert.ok(p99[0]!.value > 1, `p99 under the latency fault is ${p99[0]!.value}`);
    const ready = await promQuery(prom.url, 'meta_cluster:kube_node_ready:count');
    assert.equal(ready[0]!.value, 2);
  });
});

const TWO_MC_TOPOLOGY = `
apiVersion: fedstack/v1
kind: Topology
metadata: { name: sim-test }
central: { replicas: [{ name: central-a, zone: z1 }] }
alertmanager: { replicas: [{ name: am-0, zone: z1 }] }
bigRegions:
  - name: china
    cascade: { endpoint: 127.0.0.1:1 }
    regions:
      - name: cn-hangzhou
        metaClusters:
          - { name: mc-one, endpoint: 127.0.0.1:2, guestClusters: 5, nodes: 2 }
          - { name: mc-two, endpoint: 127.0.0.1:3, guestClusters: 1, nodes: 1 }
`;
