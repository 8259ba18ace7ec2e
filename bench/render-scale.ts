/**
 * Bench: render scale. A generated ACK-scale fleet (20 big regions, 200 regions, 10,000
 * meta-clusters) rendered whole, in a child process whose peak RSS is the render's own, and
 * one region re-rendered (its edges, its cascade, the central pair).
 */
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import type { RenderScaleResult } from './render-scale-child.ts';
import { ACK_SCALE, type FleetSize } from './topology-gen.ts';
import type { Bench, Row } from './types.ts';

const CHILD = fileURLToPath(new URL('./render-scale-child.ts', import.meta.url));
const SMOKE: FleetSize = { bigRegions: 2, regionsPerBigRegion: 2, metaClustersPerRegion: 3 };
const GiB = 2 ** 30;

export async function measureRenderScale(size: FleetSize, parseYaml: boolean): Promise<RenderScaleResult> {
  const { stdout } = await promisify(execFile)(
    process.execPath,
    ['--import', 'tsx', CHILD, JSON.stringify({ ...size, parseYaml })],
    { maxBuffer: 1 << 20, timeout: 300_000 },
  );
  return JSON.parse(stdout.trim().split('\n').pop()!) as RenderScaleResult;
}

export const renderScaleBench: Bench = {
  name: 'render-scale',
  description: 'full renderBundle of a generated fleet, and one region re-rendered',
  async run({ smoke, log }) {
    const size = smoke ? SMOKE : ACK_SCALE;
    log(`render-scale: ${JSON.stringify(size)}`);
    const r = await measureRenderScale(size, true);
    const b = 'render-scale';
    const rows: Row[] = [
      { bench: b, metric: 'meta-clusters rendered', value: r.metaClusters, unit: '' },
      {
        bench: b,
        metric: 'files / MiB rendered',
        value: r.files,
        unit: 'files',
        note: `${(r.bytes / 2 ** 20).toFixed(1)} MiB`,
      },
      { bench: b, metric: 'parse + validate topology YAML', value: r.parseYamlMs / 1000, unit: 's' },
      {
        bench: b,
        metric: 'full render time',
        value: r.fullRenderMs / 1000,
        unit: 's',
        target: { op: '<', bound: 5 },
      },
      {
        bench: b,
        metric: 'full render peak RSS (whole process)',
        value: r.peakRssBytes / GiB,
        unit: 'GiB',
        target: { op: '<', bound: 1 },
        note: `RSS before render ${(r.rssBeforeRenderBytes / 2 ** 20).toFixed(0)} MiB`,
      },
      {
        bench: b,
        metric: `one region re-render (${r.regionFiles} files), median`,
        value: r.regionRenderMsMedian,
        unit: 'ms',
        target: { op: '<', bound: 50 },
        note: `max ${r.regionRenderMsMax.toFixed(1)} ms`,
      },
    ];
    return rows;
  },
};
