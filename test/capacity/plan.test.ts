/**
 * The capacity planner's arithmetic on a topology small enough to count by hand: one big
 * region, one region, one meta-cluster with 2 guest clusters and 1 node, fedstack's default
 * allow-lists and recording rules, and round factors.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { planCapacity, type CapacityReport } from '../../capacity/plan.ts';
import { DEFAULT_FACTORS, factorsFrom, type CapacityFactors } from '../../capacity/factors.ts';
import { ruleSeries } from '../../capacity/cardinality.ts';
import { run } from '../../cli/main.ts';
import { parseTopology } from '../../topology/load.ts';
import type { Topology } from '../../topology/model.ts';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

function topology(limits: { cascade?: number; central?: number } = {}): Topology {
  const text = `
apiVersion: fedstack/v1
kind: Topology
metadata: { name: tiny }
global:
  cascade: { sampleLimit: ${limits.cascade ?? 0} }
  central: { sampleLimit: ${limits.central ?? 0} }
central: { replicas: [{ name: central-a, zone: a }, { name: central-b, zone: b }] }
alertmanager: { replicas: [{ name: am-0, zone: a }] }
bigRegions:
  - name: br
    cascade: { endpoint: cascade.example.com:9090 }
    regions:
      - name: r1
        metaClusters:
          - { name: mc-1, endpoint: 10.0.0.1:9090, guestClusters: 2, nodes: 1 }
`;
  const r = parseTopology(text, 'tiny.yaml');
  if (!r.ok) throw new Error(JSON.stringify(r.errors));
  return r.topology;
}

const FACTORS: Partial<CapacityFactors> = {
  seriesPerNode: 100,
  seriesPerGuestCluster: 1000,
  baseSeriesPerMetaCluster: 500,
  selfSeries: 50,
  statusCodes: 4,
  bytesPerSeries: 1000,
  baseMemoryBytes: 0,
  samplesPerCoreSecond: 1000,
  maxPodMemoryBytes: 1e12,
  headroom: 0.4,
};

describe('planCapacity on a one-edge topology', () => {
  const report: CapacityReport = planCapacity(topology(), FACTORS);
  const edge = report.edges[0]!;
  const cascade = report.cascades[0]!;

  it('counts the edge as raw + self + scrape-synthetic + heartbeat + recording-rule series', () => {
    // raw 500 + 1×100 + 2×1000 = 2600; self 50; 25 targets × 5 synthetic = 125; heartbeat 1;
    // edge rules: by (cluster_id, code) 3×4 = 12, five by (cluster_id) = 15, six ungrouped = 6, by (job) 10 jobs = 10.
    assert.equal(edge.series, 2600 + 50 + 125 + 1 + 43);
  });

  it('federates from the edge only what the cascade allow-list selects: rule outputs, up and the heartbeat', () => {
    assert.equal(edge.federatedSeries, 43 + 25 + 1);
  });

  it('adds the cascade its own self series, federation-job series and regional rules', () => {
    // 69 federated + 50 self + 5 self-scrape + 5 for one edge target + 10 cascade rule series.
    assert.equal(cascade.series, 69 + 50 + 5 + 5 + 10);
    assert.equal(cascade.edges, 1);
    assert.equal(cascade.shards, 1);
  });

  it('sends central only the central allow-list and the system selectors', () => {
    // heartbeat 1 + federate-edge job series 5 + cascade rules 10 + meta_cluster: edge rules 16 + two cluster: rules 3 + 3.
    assert.equal(cascade.federatedSeries, 38);
    assert.equal(report.central.federatedSeries, 38);
    assert.equal(report.central.series, 38 + 50 + 5 + 5 + 2);
    assert.equal(report.central.replicas, 2);
  });

  it('derives samples/s from each tier’s scrape interval and memory from bytes per series', () => {
    assert.equal(edge.samplesPerSecond, edge.series / 30);
    assert.equal(report.central.samplesPerSecond, report.central.series / 60);
    assert.equal(edge.memoryBytes, edge.series * 1000);
  });

  it('recommends resources that keep 40% headroom, in quarter cores and 64 MiB steps', () => {
    assert.equal(edge.recommended.cpuCores, 0.25);
    assert.equal(edge.recommended.memoryBytes, 64 * 2 ** 20);
    const big = planCapacity(topology(), { ...FACTORS, bytesPerSeries: 100_000, samplesPerCoreSecond: 50 })
      .edges[0]!;
    assert.ok(big.memoryBytes / big.recommended.memoryBytes <= 0.6);
    assert.ok(big.recommended.memoryBytes - big.memoryBytes / 0.6 < 64 * 2 ** 20);
    assert.equal(big.recommended.cpuCores, Math.ceil((big.samplesPerSecond / 50 / 0.6) * 4) / 4);
  });

  it('totals the fleet', () => {
    assert.deepEqual(report.totals, { metaClusters: 1, guestClusters: 2, nodes: 1 });
    assert.deepEqual(report.warnings, []);
  });
});

describe('planCapacity warnings', () => {
  const cases: {
    name: string;
    limits?: { cascade?: number; central?: number };
    factors?: Partial<CapacityFactors>;
    want: { level: string; at: string; re: RegExp }[];
  }[] = [
    {
      name: 'an edge over the cascade sampleLimit is critical',
      limits: { cascade: 60 },
      want: [
        {
          level: 'critical',
          at: 'edge/mc-1',
          re: /cascade sampleLimit per edge scrape: 69 is over the limit 60/,
        },
      ],
    },
    {
      name: 'an edge inside the 40% headroom of the cascade sampleLimit is a warning',
      limits: { cascade: 100 },
      want: [{ level: 'warning', at: 'edge/mc-1', re: /69 leaves less than 40% headroom under 100/ }],
    },
    { name: 'an edge well under the cascade sampleLimit is fine', limits: { cascade: 200 }, want: [] },
    {
      name: 'a cascade whose answer to central crosses central sampleLimit gets shards',
      limits: { central: 30 },
      want: [{ level: 'warning', at: 'cascade/br', re: /needs 3 shards/ }],
    },
    {
      name: 'an edge whose memory eats into the headroom of the largest pod is a warning',
      factors: { maxPodMemoryBytes: 4e6 },
      want: [{ level: 'warning', at: 'edge/mc-1', re: /memory: .* over 60% of the largest pod/ }],
    },
    {
      name: 'an edge whose memory is over the largest pod is critical',
      factors: { maxPodMemoryBytes: 2e6 },
      want: [{ level: 'critical', at: 'edge/mc-1', re: /memory/ }],
    },
  ];
  for (const c of cases) {
    it(c.name, () => {
      const report = planCapacity(topology(c.limits), { ...FACTORS, ...c.factors });
      const edgeAndCascade = report.warnings.filter((w) => w.at !== 'central');
      assert.equal(edgeAndCascade.length, c.want.length, JSON.stringify(report.warnings));
      c.want.forEach((w, i) => {
        assert.equal(edgeAndCascade[i]!.level, w.level);
        assert.equal(edgeAndCascade[i]!.at, w.at);
        assert.match(edgeAndCascade[i]!.message, w.re);
      });
    });
  }

  it('a sharded cascade tells central a per-shard answer under its sampleLimit', () => {
    const c = planCapacity(topology({ central: 30 }), FACTORS).cascades[0]!;
    assert.ok(c.federatedSeries / c.shards <= 30 * 0.6);
  });
});

describe('ruleSeries', () => {
  const card = (l: string) =>
    ({ cluster_id: 10, meta_cluster: 3, region: 2, big_region: 1, code: 4, job: 7 })[l] ?? 1;
  const cases: [string, string, number][] = [
    ['an ungrouped aggregation is one series', 'sum(rate(x[5m]))', 1],
    ['by (job) is the number of jobs', 'avg by (job) (up)', 7],
    [
      'only the finest topology label of a grouping counts',
      'sum by (big_region, region, meta_cluster, code) (x)',
      12,
    ],
    ['histogram_quantile drops le', 'histogram_quantile(0.99, sum by (cluster_id, le) (rate(b[5m])))', 10],
    ['a non-aggregated expression is one series', 'vector(time())', 1],
  ];
  for (const [name, expr, want] of cases) it(name, () => assert.equal(ruleSeries(expr, card), want));
});

describe('factorsFrom', () => {
  it('keeps the defaults for what the file does not set', () => {
    const f = factorsFrom({ bytesPerSeries: 5000 }, 'f.json');
    assert.equal(f.bytesPerSeries, 5000);
    assert.equal(f.seriesPerNode, DEFAULT_FACTORS.seriesPerNode);
    assert.equal(f.source, 'f.json');
  });
  it('rejects an unknown factor and a bad value by name', () => {
    assert.throws(
      () => factorsFrom({ bytesPerSerie: 1 }, 'f.json'),
      /f\.json: bytesPerSerie: unknown factor/,
    );
    assert.throws(
      () => factorsFrom({ headroom: 'x' }, 'f.json'),
      /f\.json: headroom: must be a number >= 0, got "x"/,
    );
    assert.throws(() => factorsFrom({ headroom: 1 }, 'f.json'), /headroom: must be below 1/);
  });
});

describe('fedstack capacity', () => {
  const io = () => {
    const o = { out: '', err: '' };
    return { o, io: { out: (t: string) => void (o.out += t), err: (t: string) => void (o.err += t) } };
  };
  it('prints a table per tier for the embedded example', async () => {
    const { o, io: cio } = io();
    const dir = mkdtempSync(join(tmpdir(), 'fedstack-cap-'));
    try {
      writeFileSync(join(dir, 'f.json'), '{}');
      assert.equal(await run(['capacity', '--factors', join(dir, 'f.json')], cio), 0);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
    assert.match(o.out, /^12 meta-clusters, 675 guest clusters, 76 nodes/);
    for (const t of [
      'edge (largest: mc-hz-01)',
      'cascade/china (5 edges)',
      'cascade/asia',
      'central (x2 replicas)',
    ])
      assert.ok(o.out.includes(t), t);
  });
  it('prints JSON with --json', async () => {
    const { o, io: cio } = io();
    assert.equal(await run(['capacity', '--json', '--factors', '/dev/null/none'], cio), 2);
    const { o: o2, io: cio2 } = io();
    assert.equal(await run(['capacity', '--json'], cio2), 0);
    const report = JSON.parse(o2.out) as CapacityReport;
    assert.equal(report.edges.length, 12);
    assert.equal(report.cascades.length, 4);
    assert.match(o.err, /\/dev\/null\/none: cannot read factors/);
  });
  it('exits 2 for an invalid topology', async () => {
    const { o, io: cio } = io();
    assert.equal(await run(['capacity', '-t', '/nonexistent.yaml'], cio), 2);
    assert.match(o.err, /cannot read/);
  });
});
