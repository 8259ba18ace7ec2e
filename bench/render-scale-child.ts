/**
 * Runs in its own process so that its peak RSS (getrusage maxrss) is the render's and nothing
 * else's. Prints one JSON line: timings and memory. Modes:
 *   disk   — what `fedstack render -o DIR` does: plan, emit, stream to disk atomically (syncfs),
 *            under the OS temp dir or another directory (a tmpfs, to leave the block device out);
 *   memory — the same emit without writing (the CPU part alone), plus one region re-rendered.
 */
import { closeSync, mkdirSync, mkdtempSync, openSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { createEmitter, treeFiles } from '../render/emit.ts';
import { createPlan } from '../render/plan.ts';
import { writeTreeAtomically } from '../render/write.ts';
import { parseTopology } from '../topology/load.ts';
import type { Topology } from '../topology/model.ts';
import { generateFleet, generateFleetYaml, type FleetSize } from './topology-gen.ts';

export interface RenderScaleResult {
  mode: 'disk' | 'memory';
  metaClusters: number;
  files: number;
  bytes: number;
  parseYamlMs: number;
  fullRenderMs: number;
  /**
   * Disk mode with `floor`: the file system's floor, measured in the same run just before the
   * render: the same directories and files created empty, one after another, no fedstack code
   * (-1 without `floor`).
   */
  bareCreateMs: number;
  /** CPU time (user + system, all threads) of the full render. */
  fullRenderCpuMs: number;
  regionRenderMsMedian: number;
  regionRenderMsMax: number;
  regionFiles: number;
  rssBeforeRenderBytes: number;
  peakRssBytes: number;
}

/**
 * What a change to one region costs: a new plan (a new topology revision) and every file of
 * the region's edges, its big region's cascade and each central replica.
 */
export function renderRegion(topo: Topology, bigRegion: string, region: string): number {
  const emitter = createEmitter(createPlan(topo, 'kubernetes'));
  const b = topo.bigRegions.find((x) => x.name === bigRegion)!;
  const paths = [
    ...b.regions
      .find((r) => r.name === region)!
      .metaClusters.flatMap((mc) => emitter.instancePaths('edge', mc.name)),
    ...emitter.instancePaths('cascade', bigRegion),
    ...topo.central.replicas.flatMap((r) => emitter.instancePaths('central', r.name)),
  ];
  for (const p of paths) if (emitter.file(p) === undefined) throw new Error(`${p} renders nothing`);
  return paths.length;
}

/** Creates `paths` under `dir` empty: what any tool writing this tree pays the kernel. */
function bareCreate(paths: readonly string[], dir: string): number {
  const t = performance.now();
  const dirs = new Set<string>();
  for (const p of paths) {
    const file = join(dir, p);
    const d = file.slice(0, file.lastIndexOf('/'));
    if (!dirs.has(d)) {
      mkdirSync(d, { recursive: true });
      dirs.add(d);
    }
    closeSync(openSync(file, 'w'));
  }
  return performance.now() - t;
}

async function main(): Promise<void> {
  const args = JSON.parse(process.argv[2] ?? '{}') as FleetSize & {
    mode?: 'disk' | 'memory';
    /** Disk mode: the directory the tree is written under (default: the OS temp dir). */
    under?: string;
    /** Disk mode: also create the same files empty first (the file system's floor). */
    floor?: boolean;
    parseYaml?: boolean;
    regionRepeats?: number;
  };
  const mode = args.mode ?? 'disk';
  const topo = generateFleet(args);

  let parseYamlMs = -1;
  if (args.parseYaml) {
    const text = generateFleetYaml(args);
    const t = performance.now();
    const parsed = parseTopology(text, 'generated.yaml');
    parseYamlMs = performance.now() - t;
    if (!parsed.ok)
      throw new Error(`generated topology invalid: ${JSON.stringify(parsed.errors.slice(0, 3))}`);
  }
  globalThis.gc?.();
  const rssBeforeRenderBytes = process.memoryUsage().rss;

  let files = 0;
  let bytes = 0;
  let t = performance.now();
  let cpu0 = process.cpuUsage();
  let fullRenderMs: number;
  let bareCreateMs = -1;
  if (mode === 'disk') {
    const dir = mkdtempSync(join(args.under ?? tmpdir(), 'fedstack-render-scale-'));
    try {
      if (args.floor)
        bareCreateMs = bareCreate(createEmitter(createPlan(topo, 'kubernetes')).paths(), join(dir, 'bare'));
      t = performance.now();
      cpu0 = process.cpuUsage();
      const written = await writeTreeAtomically(treeFiles(createPlan(topo, 'kubernetes')), join(dir, 'out'));
      fullRenderMs = performance.now() - t;
      files = written.files;
      bytes = written.bytes;
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  } else {
    for (const [, text] of treeFiles(createPlan(topo, 'kubernetes'))) {
      files++;
      bytes += Buffer.byteLength(text);
    }
    fullRenderMs = performance.now() - t;
  }

  const fullRenderCpu = process.cpuUsage(cpu0);

  // One region in the middle of the fleet; repeated so the median is not a JIT warm-up.
  const times: number[] = [];
  let regionFiles = 0;
  if (mode === 'memory') {
    const bigRegion = topo.bigRegions[Math.floor(topo.bigRegions.length / 2)]!;
    const region = bigRegion.regions[Math.floor(bigRegion.regions.length / 2)]!;
    for (let i = 0; i < (args.regionRepeats ?? 15); i++) {
      t = performance.now();
      regionFiles = renderRegion(topo, bigRegion.name, region.name);
      times.push(performance.now() - t);
    }
    times.sort((a, b) => a - b);
  }

  const result: RenderScaleResult = {
    mode,
    metaClusters: topo.bigRegions.reduce(
      (n, b) => n + b.regions.reduce((m, r) => m + r.metaClusters.length, 0),
      0,
    ),
    files,
    bytes,
    parseYamlMs,
    fullRenderMs,
    bareCreateMs,
    fullRenderCpuMs: (fullRenderCpu.user + fullRenderCpu.system) / 1000,
    regionRenderMsMedian: times.length > 0 ? times[Math.floor(times.length / 2)]! : -1,
    regionRenderMsMax: times.length > 0 ? times[times.length - 1]! : -1,
    regionFiles,
    rssBeforeRenderBytes,
    peakRssBytes: process.resourceUsage().maxRSS * 1024,
  };
  process.stdout.write(`${JSON.stringify(result)}\n`);
}

if (process.argv[1] !== undefined && import.meta.url.endsWith(process.argv[1].replace(/^.*\//, '/')))
  await main();
