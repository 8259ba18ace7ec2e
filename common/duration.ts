/** Prometheus durations (model.ParseDuration) to and from milliseconds. */
const UNITS: readonly [string, number][] = [
  ['y', 365 * 24 * 3600_000],
  ['w', 7 * 24 * 3600_000],
  ['d', 24 * 3600_000],
  ['h', 3600_000],
  ['m', 60_000],
  ['s', 1000],
  ['ms', 1],
];
const PART = /(\d+)(ms|y|w|d|h|m|s)/g;

export function parseDuration(s: string): number {
  let total = 0;
  let consumed = 0;
  for (const m of s.matchAll(PART)) {
    total += Number(m[1]) * UNITS.find(([u]) => u === m[2])![1];
    consumed += m[0].length;
  }
  if (consumed !== s.length || s.length === 0) throw new Error(`invalid duration ${JSON.stringify(s)}`);
  return total;
}

/** Shortest Prometheus duration for a whole number of milliseconds (e.g. 90000 → "1m30s"). */
export function formatDuration(ms: number): string {
  if (!Number.isInteger(ms) || ms < 0) throw new Error(`cannot format duration ${ms}`);
  if (ms === 0) return '0s';
  let rest = ms;
  let out = '';
  for (const [unit, size] of UNITS) {
    if (unit === 'y' || unit === 'w') continue; // keep output in d/h/m/s, as people write it
    const n = Math.floor(rest / size);
    if (n > 0) {
      out += `${n}${unit}`;
      rest -= n * size;
    }
  }
  return out;
}
