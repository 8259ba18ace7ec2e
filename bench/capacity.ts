/**
 * Bench: the capacity planner at ACK scale — how long planning 10,000 meta-clusters takes and
 * what it estimates (with the calibrated bytes per series when federation-cost wrote one).
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { DEFAULT_FACTORS, factorsFrom } from '../capacity/factors.ts';
import { planCapacity } from '../capacity/plan.ts';
import { ACK_SCALE, generateFleet } from './topology-gen.ts';
import type { Bench, Row } from './types.ts';

export const capacityBench: Bench = {
  name: 'capacity',
  description: 'capacity planner on the ACK-scale fleet (time, estimates)',
  async run({ smoke, resultsDir }) {
    const size = smoke ? { bigRegions: 2, regionsPerBigRegion: 2, metaClustersPerRegion: 3 } : ACK_SCALE;
    const topo = generateFleet(size);
    const calibration = join(resultsDir, 'capacity-factors.json');
    const factors = existsSync(calibration)
      ? factorsFrom(JSON.parse(readFileSync(calibration, 'utf8')), calibration)
      : DEFAULT_FACTORS;
    const t0 = performance.now();
    const report = planCapacity(topo, factors);
    const ms = performance.now() - t0;
    const bench = 'capacity';
    const sum = (xs: number[]) => xs.reduce((a, b) => a + b, 0);
    const GiB = 2 ** 30;
    const biggest = report.cascades.reduce((a, c) => (c.series > a.series ? c : a), report.cascades[0]!);
    const rows: Row[] = [
      {
        bench,
        metric: `plan ${report.edges.length} meta-clusters`,
        value: ms,
        unit: 'ms',
        note: `factors: ${factors.source === DEFAULT_FACTORS.source ? 'defaults' : 'calibrated'}; ${report.warnings.length} warning(s)`,
      },
      {
        bench,
        metric: 'estimated series, all edges',
        value: sum(report.edges.map((e) => e.series)),
        unit: '',
      },
      {
        bench,
        metric: `estimated series, largest cascade (${biggest.edges} edges)`,
        value: biggest.series,
        unit: '',
        note: `${biggest.shards} shard(s), ${(biggest.memoryBytes / GiB).toFixed(1)} GiB`,
      },
      {
        bench,
        metric: 'estimated series, central replica',
        value: report.central.series,
        unit: '',
        note: `${(report.central.memoryBytes / GiB).toFixed(1)} GiB`,
      },
      {
        bench,
        metric: 'central series / all edge series',
        value: report.central.series / sum(report.edges.map((e) => e.series)),
        unit: '',
        target: { op: '<', bound: 0.05 },
      },
    ];
    return rows;
  },
};
