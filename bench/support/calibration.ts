/**
 * The capacity planner's calibration file, bench/results/capacity-factors.json: `fedstack
 * capacity` reads it (capacity/factors.ts `factorsFrom`). Several benches measure a factor
 * each; each merges its own into the file and keeps what the others wrote.
 */
import { existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export const CALIBRATION_FILE = 'capacity-factors.json';

export function recordCalibration(
  resultsDir: string,
  factors: Readonly<Record<string, number>>,
  bench: string,
): void {
  const file = join(resultsDir, CALIBRATION_FILE);
  const before = existsSync(file) ? (JSON.parse(readFileSync(file, 'utf8')) as Record<string, unknown>) : {};
  // `calibration` lists the benches that measured the file's factors (factorsFrom skips it).
  const benches = new Set(Array.isArray(before['calibration']) ? (before['calibration'] as string[]) : []);
  benches.add(bench);
  const after = {
    ...Object.fromEntries(Object.entries(before).filter(([k]) => k !== 'source' && k !== 'calibration')),
    ...Object.fromEntries(Object.entries(factors).map(([k, v]) => [k, Math.round(v * 100) / 100])),
    calibration: [...benches].sort(),
  };
  const tmp = `${file}.tmp-${process.pid}`;
  writeFileSync(tmp, `${JSON.stringify(after, null, 2)}\n`);
  renameSync(tmp, file);
}
