/**
 * The tree's states from central's reading (pure: buildTree), and where the console reaches
 * each central replica.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseCentralUrls } from '../../cli/runtime.ts';
import { buildTree, centralEndpoints, refreshMsOf, type FleetReading } from '../../console/fleet.ts';
import type { MetaClusterNode, TreeView } from '../../console/types.ts';
import type { Registration } from '../../server/registrations.ts';
import { federationLag } from '../../topology/facts.ts';
import type { TopologySnapshot } from '../../server/topology-watch.ts';
import { defaultTopology } from '../server/helpers.ts';

const topo = defaultTopology();
const snapshot: TopologySnapshot = { topology: topo, revision: 3, hash: 'abcdef123456' };
// The default topology: 30 s edge evaluation, 30 s cascade scrape, 60 s central scrape.
const BUDGET = 2 * (30 + 30 + 60);
const NOW = 1_800_000_000_000;

/** A reading where every edge and cascade is federated with a fresh heartbeat, then `change` applied. */
function reading(change: (r: { [K in keyof FleetReading]: Map<string, number> }) => void): FleetReading {
  const r = {
    edgeUp: new Map<string, number>(),
    edgeLag: new Map<string, number>(),
    edgeSamples: new Map<string, number>(),
    cascadeUp: new Map<string, number>(),
    cascadeSamples: new Map<string, number>(),
  };
  for (const br of topo.bigRegions) {
    r.cascadeUp.set(br.name, 1);
    r.cascadeSamples.set(br.name, 1000);
    for (const region of br.regions)
      for (const mc of region.metaClusters) {
        r.edgeUp.set(mc.name, 1);
        r.edgeLag.set(mc.name, 42);
        r.edgeSamples.set(mc.name, 500);
      }
  }
  change(r);
  return r;
}

function tree(r: FleetReading | undefined, registrations = new Map<string, Registration>()): TreeView {
  return buildTree({
    snapshot,
    lastError: undefined,
    lagBudgetSeconds: federationLag(topo).staleAfterMs / 1000,
    reading: r,
    source: r === undefined ? undefined : 'central-a',
    central: [],
    registrations,
    now: NOW,
    refreshMs: 15_000,
  });
}

function mc(view: TreeView, name: string): MetaClusterNode {
  for (const br of view.bigRegions)
    for (const region of br.regions) for (const m of region.metaClusters) if (m.name === name) return m;
  throw new Error(`no ${name}`);
}

describe('the state of a meta-cluster in the tree', () => {
  const cases: [string, FleetReading | undefined, string, RegExp][] = [
    [
      'a federated edge with a fresh heartbeat is up',
      reading(() => {}),
      'up',
      /^federated, heartbeat within the 240 s budget$/,
    ],
    [
      'an edge whose federation scrape fails is down',
      reading((r) => r.edgeUp.set('mc-hz-01', 0)),
      'down',
      /the cascade cannot scrape its \/federate/,
    ],
    [
      'an edge behind a cascade that central cannot scrape is unknown, whatever its lingering up says',
      reading((r) => r.cascadeUp.set('china', 0)),
      'unknown',
      /its cascade cannot be federated/,
    ],
    [
      'an edge whose heartbeat is older than the lag budget is stale',
      reading((r) => r.edgeLag.set('mc-hz-01', BUDGET + 1)),
      'stale',
      /heartbeat 241 s old at central, over the 240 s budget/,
    ],
    [
      'an edge whose heartbeat never reached central is stale',
      reading((r) => r.edgeLag.delete('mc-hz-01')),
      'stale',
      /no heartbeat of it reached central/,
    ],
    [
      'an edge central has no federation target for is unknown',
      reading((r) => r.edgeUp.delete('mc-hz-01')),
      'unknown',
      /no federation target/,
    ],
    [
      'every edge is unknown when no central replica answered',
      undefined,
      'unknown',
      /no central replica answered/,
    ],
  ];
  for (const [name, r, state, why] of cases) {
    it(name, () => {
      const node = mc(tree(r), 'mc-hz-01');
      assert.equal(node.state, state);
      assert.match(node.why, why);
    });
  }
  it('leaves the other edges alone', () => {
    const view = tree(reading((r) => r.edgeUp.set('mc-hz-01', 0)));
    assert.equal(mc(view, 'mc-hz-02').state, 'up');
  });
});

describe('the numbers on the tree', () => {
  it('reports sample-limit usage against the cascade limit for edges and the central limit for cascades', () => {
    const view = tree(reading(() => {}));
    assert.equal(mc(view, 'mc-fra-01').sampleLimitUsage, 500 / topo.global.cascade.sampleLimit);
    assert.equal(mc(view, 'mc-fra-01').samples, 500);
    const europe = view.bigRegions.find((b) => b.name === 'europe')!;
    assert.equal(europe.cascade.sampleLimitUsage, 1000 / topo.global.central.sampleLimit);
  });

  it('gives each cascade the largest lag of its edges', () => {
    const view = tree(reading((r) => r.edgeLag.set('mc-fra-02', 99.94)));
    assert.equal(view.bigRegions.find((b) => b.name === 'europe')!.cascade.lagSeconds, 99.9);
    assert.equal(view.bigRegions.find((b) => b.name === 'china')!.cascade.lagSeconds, 42);
  });

  it('shows what the sidecar applied, but not the address it registered (the console is open)', () => {
    const regs = new Map<string, Registration>([
      [
        'mc-bj-01',
        { endpoint: '192.0.2.9:443', version: '1.2.3', configHash: 'h-1', receivedAt: NOW - 4_000 },
      ],
    ]);
    const node = mc(
      tree(
        reading(() => {}),
        regs,
      ),
      'mc-bj-01',
    );
    assert.deepEqual(node.applied, {
      configHash: 'h-1',
      version: '1.2.3',
      heartbeatAgeSeconds: 4,
    });
    const text = JSON.stringify(
      tree(
        reading(() => {}),
        regs,
      ),
    );
    assert.doesNotMatch(text, /192\.0\.2\.9/);
    for (const br of topo.bigRegions) {
      assert.ok(!text.includes(br.cascade.endpoint), `${br.cascade.endpoint} in the tree`);
      for (const r of br.regions)
        for (const m of r.metaClusters) assert.ok(!text.includes(m.endpoint), `${m.endpoint} in the tree`);
    }
    assert.equal(
      mc(
        tree(
          reading(() => {}),
          regs,
        ),
        'mc-bj-02',
      ).applied,
      undefined,
    );
  });

  it('carries the revision, the lag budget and the sample limits', () => {
    const view = tree(reading(() => {}));
    assert.deepEqual(view.topology, { name: topo.metadata.name, revision: 3, hash: 'abcdef123456' });
    assert.equal(view.lagBudgetSeconds, BUDGET);
    assert.deepEqual(view.sampleLimits, { cascade: 200_000, central: 500_000 });
  });

  it('refreshes at half the central scrape interval, between 0.5 s and 15 s', () => {
    assert.equal(refreshMsOf(topo), 15_000);
    const fast = {
      ...topo,
      global: { ...topo.global, central: { ...topo.global.central, scrapeInterval: '1s' } },
    };
    assert.equal(refreshMsOf(fast), 500);
    const mid = {
      ...topo,
      global: { ...topo.global, central: { ...topo.global.central, scrapeInterval: '10s' } },
    };
    assert.equal(refreshMsOf(mid), 5_000);
  });
});

describe('where the console reaches central', () => {
  it("uses each replica's in-cluster Service in the kubernetes profile", () => {
    assert.deepEqual(
      centralEndpoints(topo, 'kubernetes').map((e) => e.url),
      [
        'http://prometheus-central-a.fedstack-system.svc:9090',
        'http://prometheus-central-b.fedstack-system.svc:9090',
      ],
    );
  });

  it("uses each replica's endpoint in the local profile", () => {
    const local = {
      ...topo,
      central: {
        ...topo.central,
        replicas: topo.central.replicas.map((r, i) => ({ ...r, endpoint: `127.0.0.1:${9100 + i}` })),
      },
    };
    assert.deepEqual(
      centralEndpoints(local, 'local').map((e) => [e.name, e.url]),
      [
        ['central-a', 'http://127.0.0.1:9100'],
        ['central-b', 'http://127.0.0.1:9101'],
      ],
    );
  });

  it('pairs --central-url with the replicas by position when the counts agree, else names them by host', () => {
    assert.deepEqual(
      centralEndpoints(topo, 'kubernetes', ['http://a.example:9090/', 'http://b.example:9090']).map((e) => [
        e.name,
        e.zone,
        e.url,
      ]),
      [
        ['central-a', 'cn-hangzhou-h', 'http://a.example:9090'],
        ['central-b', 'cn-hangzhou-i', 'http://b.example:9090'],
      ],
    );
    assert.deepEqual(
      centralEndpoints(topo, 'kubernetes', ['http://vm.example:8428']).map((e) => [e.name, e.url]),
      [['vm.example:8428', 'http://vm.example:8428']],
    );
  });

  it('takes --central-url as a comma-separated list of http(s) URLs, and refuses anything else', () => {
    assert.equal(parseCentralUrls(undefined), undefined);
    assert.deepEqual(parseCentralUrls('http://a:9090, https://b:9090'), ['http://a:9090', 'https://b:9090']);
    assert.throws(() => parseCentralUrls('central-a:9090'), /invalid URL "central-a:9090"/);
    assert.throws(
      () => parseCentralUrls('ftp://a'),
      /invalid URL "ftp:\/\/a" \(want http:\/\/ or https:\/\/\)/,
    );
  });
});
