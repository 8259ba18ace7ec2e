/**
 * What a benchmark returns: rows of (metric, value, target). A row never hides a miss: the
 * harness derives met/MISSED from value and target, and a bench that could not run says why.
 */

/** A target a value must meet: `value op bound`. */
export interface Target {
  readonly op: '<' | '<=' | '>=' | '>';
  readonly bound: number;
}

export interface Row {
  readonly bench: string;
  readonly metric: string;
  /** null only for a row that did not run (then `notRun` says why). */
  readonly value: number | null;
  readonly unit: string;
  readonly target?: Target | undefined;
  readonly note?: string | undefined;
  readonly notRun?: string | undefined;
  /** Machine-readable parts of the value (e.g. the a and b of a ratio). */
  readonly detail?: Readonly<Record<string, number>> | undefined;
}

export type Status = 'met' | 'MISSED' | 'info' | 'NOT RUN';

export interface BenchOptions {
  /** Tiny sizes: seconds, for the smoke test in `npm test`. */
  readonly smoke: boolean;
  /** Also run the trials that take minutes each (alert latency at default intervals). */
  readonly long: boolean;
  /** Progress lines (stderr), never part of the table. */
  readonly log: (line: string) => void;
  /** Where the results JSON goes; a bench may write calibration files next to it. */
  readonly resultsDir: string;
}

export interface Bench {
  readonly name: string;
  readonly description: string;
  run(opts: BenchOptions): Promise<Row[]>;
}

export function statusOf(row: Row): Status {
  if (row.notRun !== undefined || row.value === null) return 'NOT RUN';
  if (row.target === undefined) return 'info';
  const { op, bound } = row.target;
  const v = row.value;
  const ok = op === '<' ? v < bound : op === '<=' ? v <= bound : op === '>=' ? v >= bound : v > bound;
  return ok ? 'met' : 'MISSED';
}

/** value / bound: below 1 is good for `<` targets, above 1 for `>=` targets. */
export function ratioOf(row: Row): number | null {
  if (row.value === null || row.target === undefined || row.target.bound === 0) return null;
  return row.value / row.target.bound;
}

export const notRun = (bench: string, metric: string, reason: string, target?: Target): Row => ({
  bench,
  metric,
  value: null,
  unit: '',
  target,
  notRun: reason,
});
