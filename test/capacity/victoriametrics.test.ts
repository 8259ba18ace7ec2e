/**
 * Sizing the VictoriaMetrics backend: hand-counted cases of planVictoriaMetrics (which limit
 * decides the vmstorage count, 40% headroom everywhere, nodes in multiples of the zones), and
 * the planner telling a Prometheus central that has outgrown one pod to switch backend.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { DEFAULT_FACTORS } from '../../capacity/factors.ts';
import { planCapacity } from '../../capacity/plan.ts';
import { planVictoriaMetrics } from '../../capacity/victoriametrics.ts';
import { parseTopology } from '../../topology/load.ts';

const GiB = 2 ** 30;

describe('planVictoriaMetrics', () => {
  it('a small central needs only as many vmstorage nodes as copies and zones', () => {
    const e = planVictoriaMetrics(
      { series: 1_000_000, samplesPerSecond: 50_000, retention: '30d', replicationFactor: 2, zones: 2 },
      DEFAULT_FACTORS,
    );
    // 1M series × 1 KiB × 2 copies; 50k samples/s × 30 d × 1 B × 2 copies.
    assert.equal(e.memoryBytes, 1_000_000 * 1024 * 2);
    assert.equal(e.diskBytes, 50_000 * 30 * 86_400 * 2);
    assert.equal(e.limitedBy, 'replication and zones');
    assert.equal(e.vmstorage, 2);
    // Half the disk per node, at 60% use, in whole GiB.
    assert.equal(e.storagePerNodeBytes, Math.ceil(e.diskBytes / 2 / 0.6 / GiB) * GiB);
    assert.equal(e.vminsert, 2);
    assert.equal(e.vmselect, 2);
  });

  it('a large central is limited by disk for its retention, rounded up to a multiple of the zones', () => {
    const e = planVictoriaMetrics(
      {
        series: 100_000_000,
        samplesPerSecond: 10_000_000 / 3,
        retention: '30d',
        replicationFactor: 2,
        zones: 3,
      },
      DEFAULT_FACTORS,
    );
    // disk 1.728e13 B over 60% of 2 TiB per node: 14 nodes; memory needs 5, ingestion 10.
    assert.equal(e.limitedBy, 'disk');
    assert.equal(e.vmstorage, 15);
    assert.ok(e.diskBytes / e.vmstorage <= 0.6 * DEFAULT_FACTORS.vmMaxDiskBytesPerNode);
    assert.ok(e.memoryBytes / e.vmstorage <= 0.6 * DEFAULT_FACTORS.maxPodMemoryBytes);
    // 6.67M samples/s written (2 copies) at 150k per vCPU, 2 vCPUs per vminsert at 60%.
    assert.equal(e.vminsert, Math.ceil(((10_000_000 / 3) * 2) / 150_000 / 1.2));
  });

  it('memory decides when series are many and samples few', () => {
    const e = planVictoriaMetrics(
      { series: 200_000_000, samplesPerSecond: 100_000, retention: '7d', replicationFactor: 3, zones: 3 },
      DEFAULT_FACTORS,
    );
    assert.equal(e.limitedBy, 'memory');
    assert.equal(
      e.vmstorage,
      Math.ceil(Math.ceil((200_000_000 * 1024 * 3) / (0.6 * DEFAULT_FACTORS.maxPodMemoryBytes)) / 3) * 3,
    );
  });
});

describe('planCapacity and the VictoriaMetrics option', () => {
  const topology = (backend: string) => {
    const r = parseTopology(
      `
apiVersion: fedstack/v1
kind: Topology
metadata: { name: tiny }
central:
  backend: ${backend}
  replicas: [{ name: central-a, zone: a }, { name: central-b, zone: b }]
  ${backend === 'victoriametrics' ? 'victoriaMetrics: { endpoint: vm.example.com:8427, vmstorage: 2, replicationFactor: 2, storageSize: 1Gi }' : ''}
alertmanager: { replicas: [{ name: am-0, zone: a }] }
bigRegions:
  - name: br
    cascade: { endpoint: cascade.example.com:9090 }
    regions:
      - name: r1
        metaClusters:
          - { name: mc-1, endpoint: 10.0.0.1:9090, guestClusters: 2, nodes: 1 }
`,
      'tiny.yaml',
    );
    if (!r.ok) throw new Error(JSON.stringify(r.errors));
    return r.topology;
  };

  it('tells a Prometheus central over the largest pod to switch to VictoriaMetrics', () => {
    const report = planCapacity(topology('prometheus'), {
      bytesPerSeries: 1e6,
      baseMemoryBytes: 0,
      maxPodMemoryBytes: 1e8,
    });
    const central = report.warnings.filter((w) => w.at === 'central');
    assert.equal(central.length, 1, JSON.stringify(report.warnings));
    assert.match(
      central[0]!.message,
      /one central is not enough, switch to central\.backend: victoriametrics/,
    );
  });

  it('sizes VictoriaMetrics from the samples the cascades ship at their own scrape rate', () => {
    const report = planCapacity(topology('victoriametrics'));
    const c = report.cascades[0]!;
    const vm = report.victoriaMetrics;
    // Cascade scrape 30 s, central 60 s (defaults): what the cascade keeps for central goes at 1/30 s.
    assert.equal(
      vm.samplesPerSecond,
      c.federatedSeries / 30 + (report.central.series - report.central.federatedSeries) / 60,
    );
    assert.equal(vm.series, report.central.series);
    assert.equal(vm.replicationFactor, 2);
  });

  it('warns when the configured volumes cannot hold the retention', () => {
    const report = planCapacity(topology('victoriametrics'), { vmBytesPerSample: 1000 });
    assert.ok(
      report.warnings.some(
        (w) => w.at === 'central.victoriaMetrics' && /storageSize: 1Gi per node holds less/.test(w.message),
      ),
      JSON.stringify(report.warnings),
    );
  });
});
