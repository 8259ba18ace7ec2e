/**
 * Bench: render scale. A generated ACK-scale fleet (20 big regions, 200 regions, 10,000
 * meta-clusters) rendered whole with the kubernetes profile (configs, rules, manifests,
 * kustomizations, dashboards), each mode in a child process whose peak RSS is the render's own:
 * to disk as `fedstack render -o DIR` does it, and in memory (the CPU part alone). Then one
 * region re-rendered after a change (a new plan; its edges, its cascade, the central pair).
 */
import { execFile } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import { tmpdir } from 'node:os';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import type { RenderScaleResult } from './render-scale-child.ts';
import { ACK_SCALE, type FleetSize } from './topology-gen.ts';
import { notRun, type Bench, type Row } from './types.ts';

function tmpfsWritable(): boolean {
  try {
    accessSync(TMPFS, constants.W_OK);
    return true;
  } catch {
    return false;
  }
}

const CHILD = fileURLToPath(new URL('./render-scale-child.ts', import.meta.url));
const SMOKE: FleetSize = { bigRegions: 2, regionsPerBigRegion: 2, metaClustersPerRegion: 3 };
const MiB = 2 ** 20;

/** Measured before the render plan (issue 10), same machine and fleet: 2026-11-23. */
const BEFORE = { fullRenderS: 78.3, peakRssMiB: 1761, regionMs: 156 } as const;

/** A tmpfs where there is one: files without the block device. */
const TMPFS = '/dev/shm';

export async function measureRenderScale(
  size: FleetSize,
  mode: 'disk' | 'memory',
  opts: { parseYaml?: boolean; under?: string; floor?: boolean } = {},
): Promise<RenderScaleResult> {
  const { stdout } = await promisify(execFile)(
    process.execPath,
    ['--import', 'tsx', CHILD, JSON.stringify({ ...size, mode, ...opts })],
    { maxBuffer: 1 << 20, timeout: 300_000 },
  );
  return JSON.parse(stdout.trim().split('\n').pop()!) as RenderScaleResult;
}

export const renderScaleBench: Bench = {
  name: 'render-scale',
  description: 'full render of a generated fleet to disk and in memory, and one region re-rendered',
  async run({ smoke, log }) {
    const size = smoke ? SMOKE : ACK_SCALE;
    log(`render-scale: ${JSON.stringify(size)}`);
    const disk = await measureRenderScale(size, 'disk', { floor: true });
    const tmpfs = tmpfsWritable() ? await measureRenderScale(size, 'disk', { under: TMPFS }) : undefined;
    const mem = await measureRenderScale(size, 'memory', { parseYaml: true });
    const b = 'render-scale';
    const was = (s: string) => (smoke ? undefined : `before the render plan: ${s}`);
    const rows: Row[] = [
      { bench: b, metric: 'meta-clusters rendered', value: disk.metaClusters, unit: '' },
      {
        bench: b,
        metric: 'files / MiB rendered',
        value: disk.files,
        unit: 'files',
        note: `${(disk.bytes / MiB).toFixed(1)} MiB`,
      },
      { bench: b, metric: 'parse + validate topology YAML', value: mem.parseYamlMs / 1000, unit: 's' },
      tmpfs === undefined
        ? notRun(b, `full render to files on a tmpfs (${TMPFS}), wall`, `no writable ${TMPFS}`, {
            op: '<',
            bound: 5,
          })
        : {
            bench: b,
            metric: `full render to files on a tmpfs (${TMPFS}: no block device), wall`,
            value: tmpfs.fullRenderMs / 1000,
            unit: 's',
            target: { op: '<', bound: 5 },
            note: was(`${BEFORE.fullRenderS} s, in memory`),
          },
      {
        bench: b,
        metric: `full render to disk (${tmpdir()}), wall`,
        value: disk.fullRenderMs / 1000,
        unit: 's',
        note: 'plan, emit, atomic write, syncfs; mostly the file system: see the next row',
      },
      {
        bench: b,
        metric: 'the file system alone: the same files created empty, no fedstack code',
        value: disk.bareCreateMs / 1000,
        unit: 's',
        note: "same run and directory, just before the render; it varies run to run with the kernel's state",
      },
      {
        bench: b,
        metric: 'full render to disk, peak RSS (whole process)',
        value: disk.peakRssBytes / MiB,
        unit: 'MiB',
        target: { op: '<', bound: 512 },
        note: [
          `RSS before render ${(disk.rssBeforeRenderBytes / MiB).toFixed(0)} MiB`,
          was(`${BEFORE.peakRssMiB} MiB`),
        ]
          .filter(Boolean)
          .join('; '),
      },
      {
        bench: b,
        metric: 'full render in memory (no writes), wall',
        value: mem.fullRenderMs / 1000,
        unit: 's',
        note: `peak RSS ${(mem.peakRssBytes / MiB).toFixed(0)} MiB`,
      },
      {
        bench: b,
        metric: `one region re-rendered (${mem.regionFiles} files), median`,
        value: mem.regionRenderMsMedian,
        unit: 'ms',
        target: { op: '<', bound: 50 },
        note: [`max ${mem.regionRenderMsMax.toFixed(1)} ms`, was(`${BEFORE.regionMs} ms`)]
          .filter(Boolean)
          .join('; '),
      },
    ];
    return rows;
  },
};
