/**
 * Runs in its own process so that its peak RSS (getrusage maxrss) is the render's and nothing
 * else's. Prints one JSON line: timings and memory.
 */
import { performance } from 'node:perf_hooks';
import { FILE } from '../common/conventions.ts';
import { toYaml } from '../common/serialize.ts';
import { renderBundle } from '../deploy/bundle.ts';
import { renderCascade } from '../cascade/render.ts';
import { renderCentral } from '../central/render.ts';
import { renderEdge } from '../edge/render.ts';
import { parseTopology } from '../topology/load.ts';
import { type BigRegion, type Region, type Topology } from '../topology/model.ts';
import { generateFleet, generateFleetYaml, type FleetSize } from './topology-gen.ts';

export interface RenderScaleResult {
  metaClusters: number;
  files: number;
  bytes: number;
  generateMs: number;
  parseYamlMs: number;
  fullRenderMs: number;
  regionRenderMsMedian: number;
  regionRenderMsMax: number;
  regionFiles: number;
  rssBeforeRenderBytes: number;
  peakRssBytes: number;
  heapUsedAfterBytes: number;
}

/** What changes when one region changes: its edges, its big region's cascade, every central. */
export function renderRegion(topo: Topology, bigRegion: BigRegion, region: Region): Map<string, string> {
  const files = new Map<string, string>();
  const add = (dir: string, b: { config: unknown; rules: unknown }) => {
    files.set(`${dir}/${FILE.prometheus}`, toYaml(b.config));
    files.set(`${dir}/${FILE.rules}`, toYaml(b.rules));
  };
  for (const metaCluster of region.metaClusters) {
    add(`edge/${metaCluster.name}`, renderEdge(topo, { bigRegion, region, metaCluster }, 'kubernetes'));
  }
  add(`cascade/${bigRegion.name}`, renderCascade(topo, bigRegion, 'kubernetes'));
  for (const replica of topo.central.replicas)
    add(`central/${replica.name}`, renderCentral(topo, replica, 'kubernetes'));
  return files;
}

function main(): void {
  const size = JSON.parse(process.argv[2] ?? '{}') as FleetSize & {
    parseYaml?: boolean;
    regionRepeats?: number;
  };
  let t = performance.now();
  const topo = generateFleet(size);
  const generateMs = performance.now() - t;

  let parseYamlMs = -1;
  if (size.parseYaml) {
    const text = generateFleetYaml(size);
    t = performance.now();
    const parsed = parseTopology(text, 'generated.yaml');
    parseYamlMs = performance.now() - t;
    if (!parsed.ok)
      throw new Error(`generated topology invalid: ${JSON.stringify(parsed.errors.slice(0, 3))}`);
  }
  globalThis.gc?.();
  const rssBeforeRenderBytes = process.memoryUsage().rss;

  t = performance.now();
  const bundle = renderBundle(topo, 'kubernetes');
  const fullRenderMs = performance.now() - t;
  let bytes = 0;
  for (const text of bundle.values()) bytes += text.length;

  // One region in the middle of the fleet; repeated so the median is not a JIT warm-up.
  const bigRegion = topo.bigRegions[Math.floor(topo.bigRegions.length / 2)]!;
  const region = bigRegion.regions[Math.floor(bigRegion.regions.length / 2)]!;
  const times: number[] = [];
  let regionFiles = 0;
  for (let i = 0; i < (size.regionRepeats ?? 15); i++) {
    t = performance.now();
    regionFiles = renderRegion(topo, bigRegion, region).size;
    times.push(performance.now() - t);
  }
  times.sort((a, b) => a - b);

  const result: RenderScaleResult = {
    metaClusters: topo.bigRegions.reduce(
      (n, b) => n + b.regions.reduce((m, r) => m + r.metaClusters.length, 0),
      0,
    ),
    files: bundle.size,
    bytes,
    generateMs,
    parseYamlMs,
    fullRenderMs,
    regionRenderMsMedian: times[Math.floor(times.length / 2)]!,
    regionRenderMsMax: times[times.length - 1]!,
    regionFiles,
    rssBeforeRenderBytes,
    peakRssBytes: process.resourceUsage().maxRSS * 1024,
    heapUsedAfterBytes: process.memoryUsage().heapUsed,
  };
  process.stdout.write(`${JSON.stringify(result)}\n`);
}

if (process.argv[1] !== undefined && import.meta.url.endsWith(process.argv[1].replace(/^.*\//, '/'))) main();
