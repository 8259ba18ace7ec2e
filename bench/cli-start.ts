/**
 * Bench: how long `fedstack` takes from process start to exit, as a user runs it
 * (`node bin/fedstack.js ...`, which runs the compiled dist/): --help, validate of the embedded
 * example, and validate of the generated 10,000-meta-cluster fleet, as the generator writes it
 * (1.2 MB) and with two extra scrape targets per meta-cluster (5.4 MB, the size of the file
 * in the issue that took 7-9 s and 460 MB). Each is the median of several runs after one
 * warm-up (page cache); peak RSS comes from a separate run that reports its own getrusage.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { distState } from '../bin/dist-state.js';
import { ACK_SCALE, generateFleetYaml, type FleetSize } from './topology-gen.ts';
import type { Bench, Row } from './types.ts';

const ROOT = fileURLToPath(new URL('../', import.meta.url));
const BIN = join(ROOT, 'bin', 'fedstack.js');
const SMOKE_FLEET: FleetSize = { bigRegions: 2, regionsPerBigRegion: 2, metaClustersPerRegion: 3 };
const MiB = 2 ** 20;

interface Exit {
  readonly ms: number;
  readonly code: number | null;
  readonly stderr: string;
}

function runOnce(args: readonly string[], nodeArgs: readonly string[] = []): Promise<Exit> {
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    const child = spawn(process.execPath, [...nodeArgs, BIN, ...args], { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    child.once('error', reject);
    child.once('exit', (code) => resolve({ ms: performance.now() - t0, code, stderr }));
  });
}

/** Median wall time of `runs` runs after a warm-up; every run must exit 0. */
async function median(args: readonly string[], runs: number): Promise<number> {
  const times: number[] = [];
  for (let i = 0; i <= runs; i++) {
    const r = await runOnce(args);
    if (r.code !== 0) throw new Error(`fedstack ${args.join(' ')}: exit ${r.code}: ${r.stderr.slice(0, 500)}`);
    if (i > 0) times.push(r.ms);
  }
  times.sort((a, b) => a - b);
  return times[Math.floor(times.length / 2)]!;
}

/** Peak RSS of one run: a preload writes the process' own getrusage maxRSS at exit. */
async function peakRss(args: readonly string[], dir: string): Promise<number> {
  const out = join(dir, 'rss.json');
  const preload = join(dir, 'rss-preload.mjs');
  writeFileSync(
    preload,
    `import { writeFileSync } from 'node:fs';\nprocess.on('exit', () => writeFileSync(${JSON.stringify(out)}, JSON.stringify(process.resourceUsage().maxRSS * 1024)));\n`,
  );
  const r = await runOnce(args, ['--import', preload]);
  if (r.code !== 0) throw new Error(`fedstack ${args.join(' ')}: exit ${r.code}: ${r.stderr.slice(0, 500)}`);
  return JSON.parse(readFileSync(out, 'utf8')) as number;
}

/** dist/ as `npm ci` leaves it: built from the sources as they are now. */
async function ensureBuilt(log: (line: string) => void): Promise<void> {
  const state = distState(ROOT);
  if (state.state === 'fresh') return;
  log(`cli-start: dist/ is ${state.state === 'missing' ? 'not built' : `stale (${state.because})`}: npm run build`);
  const code = await new Promise<number | null>((resolve) =>
    spawn(process.execPath, ['--import', 'tsx', join(ROOT, 'scripts', 'build.ts')], {
      cwd: ROOT,
      stdio: 'ignore',
    }).once('exit', resolve),
  );
  if (code !== 0 || distState(ROOT).state !== 'fresh') throw new Error('npm run build failed');
}

export const cliStartBench: Bench = {
  name: 'cli-start',
  description: 'fedstack process start to exit: --help, validate (embedded example, 10,000 meta-clusters)',
  async run({ smoke, log }) {
    // Smoke runs inside `npm test`, where a build would cost more than the whole smoke run:
    // with a stale dist/ it measures the sources through tsx, and says so.
    const stale = smoke && distState(ROOT).state !== 'fresh';
    if (!smoke) await ensureBuilt(log);
    const dir = mkdtempSync(join(tmpdir(), 'fedstack-bench-cli-'));
    try {
      const runs = smoke ? 3 : 9;
      const fleet = smoke ? SMOKE_FLEET : ACK_SCALE;
      const plain = join(dir, 'fleet.yaml');
      const withTargets = join(dir, 'fleet-extra-targets.yaml');
      writeFileSync(plain, generateFleetYaml(fleet));
      writeFileSync(withTargets, generateFleetYaml({ ...fleet, extraScrapeTargets: 2 }));
      const mb = (file: string) => `${(readFileSync(file).length / 1e6).toFixed(1)} MB`;
      const metaClusters = fleet.bigRegions * fleet.regionsPerBigRegion * fleet.metaClustersPerRegion;
      const b = 'cli-start';
      // Wall times on shared cores: the load says how much of them the machine gave.
      const load = loadavg()[0]!.toFixed(1);
      log('cli-start: node alone, --help, validate');
      const nodeAlone = await new Promise<number>((resolve) => {
        const t0 = performance.now();
        spawn(process.execPath, ['-e', '0']).once('exit', () => resolve(performance.now() - t0));
      });
      const help = await median(['--help'], runs);
      const example = await median(['validate'], runs);
      log(`cli-start: validate ${metaClusters} meta-clusters`);
      const big = await median(['validate', '-t', plain], smoke ? 1 : 3);
      const bigTargets = await median(['validate', '-t', withTargets], smoke ? 1 : 3);
      const rss = await peakRss(['validate', '-t', withTargets], dir);
      const rows: Row[] = [
        {
          bench: b,
          metric: '`node -e 0` (the floor: Node itself)',
          value: nodeAlone,
          unit: 'ms',
          note: `load average ${load} at start${stale ? '; dist/ stale: fedstack ran its sources through tsx' : ''}`,
        },
        {
          bench: b,
          metric: `\`fedstack --help\`, median of ${runs}`,
          value: help,
          unit: 'ms',
          target: { op: '<', bound: 300 },
        },
        {
          bench: b,
          metric: `\`fedstack validate\` (embedded example), median of ${runs}`,
          value: example,
          unit: 'ms',
          target: { op: '<', bound: 500 },
        },
        {
          bench: b,
          metric: `\`fedstack validate\` ${metaClusters} meta-clusters (${mb(plain)})`,
          value: big / 1000,
          unit: 's',
          target: { op: '<', bound: 3 },
        },
        {
          bench: b,
          metric: `same, 2 extra scrape targets per meta-cluster (${mb(withTargets)})`,
          value: bigTargets / 1000,
          unit: 's',
          target: { op: '<', bound: 3 },
        },
        {
          bench: b,
          metric: `peak RSS of that validate`,
          value: rss / MiB,
          unit: 'MiB',
        },
      ];
      return rows;
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  },
};
