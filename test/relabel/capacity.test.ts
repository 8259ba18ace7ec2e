/**
 * The capacity planner counts what relabel rules drop: series (keep/drop by name and job), and
 * labels a recording rule's series vary by (dropping `code` merges the per-code series), at the
 * scope the rule has. What it cannot know (a selector on label values) leaves the estimate an
 * upper bound.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { planCapacity, type CapacityReport } from '../../capacity/plan.ts';
import { parseTopology } from '../../topology/load.ts';
import { TOPOLOGY_HEAD } from './topology-head.ts';

const FACTORS = {
  statusCodes: 4,
  seriesPerNode: 100,
  seriesPerGuestCluster: 1000,
  baseSeriesPerMetaCluster: 500,
};

function plan(relabel: string, regionRelabel = ''): CapacityReport {
  const text = `
${TOPOLOGY_HEAD}bigRegions:
  - name: br
    cascade: { endpoint: c:9090 }
    regions:
      - name: r1
${regionRelabel}
        metaClusters: [{ name: mc-1, endpoint: e1:9090, guestClusters: 2, nodes: 1 }]
      - name: r2
        metaClusters: [{ name: mc-2, endpoint: e2:9090, guestClusters: 2, nodes: 1 }]
${relabel}
`;
  const r = parseTopology(text, 't.yaml');
  if (!r.ok) throw new Error(r.errors.map((e) => `${e.line}:${e.col} ${e.path}: ${e.message}`).join('\n'));
  return planCapacity(r.topology, FACTORS);
}

const edge = (r: CapacityReport, name: string) => r.edges.find((e) => e.name === name)!;
const base = plan('');
// cluster:apiserver_request:rate5m is `sum by (cluster_id, code)`: (2 guest clusters + the meta-cluster) × 4 codes.
const PER_CODE = 3 * 4;

describe('capacity with relabel rules', () => {
  it('a drop of a series by name takes its count off what each edge federates', () => {
    const r = plan(`relabel: { cascade: [{ drop: { series: 'cluster:apiserver_request:rate5m' } }] }`);
    assert.equal(edge(r, 'mc-1').federatedSeries, edge(base, 'mc-1').federatedSeries - PER_CODE);
    assert.equal(r.cascades[0]!.series, base.cascades[0]!.series - 2 * PER_CODE);
  });

  it("dropping a label a rule's series vary by merges them", () => {
    const r = plan(`relabel: { cascade: [{ drop: { labels: [code] } }] }`);
    assert.equal(edge(r, 'mc-1').federatedSeries, edge(base, 'mc-1').federatedSeries - PER_CODE + 3);
  });

  it("a region's rule counts for that region's edges only", () => {
    const r = plan(
      '',
      `        relabel: { cascade: [{ drop: { series: 'cluster:apiserver_request:rate5m' } }] }`,
    );
    assert.equal(edge(r, 'mc-1').federatedSeries, edge(base, 'mc-1').federatedSeries - PER_CODE);
    assert.equal(edge(r, 'mc-2').federatedSeries, edge(base, 'mc-2').federatedSeries);
  });

  it("a keep at central leaves only what it selects, and fedstack's own series", () => {
    const r = plan(`relabel: { central: [{ keep: { series: '{__name__=~"region:.+"}' } }] }`);
    assert.ok(r.cascades[0]!.federatedSeries < base.cascades[0]!.federatedSeries);
    // region:* (3 rules × 2 regions), the heartbeat of 2 edges, and up/scrape_* of 2 edge targets (5 × 2).
    assert.equal(r.cascades[0]!.federatedSeries, 3 * 2 + 2 + 5 * 2);
  });

  it('a drop by a label value it cannot know changes nothing (an upper bound)', () => {
    const r = plan(
      `relabel: { cascade: [{ drop: { series: 'cluster:apiserver_request:rate5m{code="500"}' } }] }`,
    );
    assert.equal(edge(r, 'mc-1').federatedSeries, edge(base, 'mc-1').federatedSeries);
  });
});
