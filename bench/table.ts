/** The one table `npm run bench` prints, and the JSON it writes. */
import { ratioOf, statusOf, type Row } from './types.ts';
import type { MachineFacts } from './machine.ts';

export interface Results {
  readonly schema: 'fedstack-bench/v1';
  readonly mode: 'full' | 'smoke';
  readonly startedAt: string;
  readonly durationSeconds: number;
  readonly machine: MachineFacts;
  readonly rows: readonly (Row & { status: string; ratio: number | null })[];
  readonly summary: {
    readonly met: number;
    readonly missed: number;
    readonly notRun: number;
    readonly info: number;
  };
}

export function buildResults(args: {
  mode: 'full' | 'smoke';
  startedAt: Date;
  durationSeconds: number;
  machine: MachineFacts;
  rows: readonly Row[];
}): Results {
  const rows = args.rows.map((r) => ({ ...r, status: statusOf(r), ratio: ratioOf(r) }));
  const count = (s: string) => rows.filter((r) => r.status === s).length;
  return {
    schema: 'fedstack-bench/v1',
    mode: args.mode,
    startedAt: args.startedAt.toISOString(),
    durationSeconds: args.durationSeconds,
    machine: args.machine,
    rows,
    summary: { met: count('met'), missed: count('MISSED'), notRun: count('NOT RUN'), info: count('info') },
  };
}

export function formatNumber(v: number): string {
  if (Number.isInteger(v) && Math.abs(v) < 1e15) return v.toLocaleString('en-US');
  const abs = Math.abs(v);
  if (abs >= 100) return v.toFixed(0);
  if (abs >= 1) return v.toFixed(2);
  if (abs >= 0.001) return v.toFixed(4);
  return v.toExponential(2);
}

export function formatTable(results: Results): string {
  const header = ['bench', 'metric', 'value', 'target', 'ratio', 'status'];
  const lines = results.rows.map((r) => [
    r.bench,
    r.metric,
    r.value === null ? '-' : `${formatNumber(r.value)} ${r.unit}`.trim(),
    r.target === undefined ? '' : `${r.target.op} ${formatNumber(r.target.bound)} ${r.unit}`.trim(),
    r.ratio === null ? '' : `${r.ratio.toFixed(2)}x`,
    r.status + (r.notRun ? ` (${r.notRun})` : r.note ? ` — ${r.note}` : ''),
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...lines.map((l) => (i === 5 ? 0 : l[i]!.length))));
  const fmt = (cells: string[]) => cells.map((c, i) => (i === 5 ? c : c.padEnd(widths[i]!))).join('  ');
  const m = results.machine;
  const s = results.summary;
  return [
    `fedstack bench (${results.mode}) — ${m.cpus} CPUs (${m.cpuModel}), ${(m.memoryBytes / 2 ** 30).toFixed(1)} GiB, node ${m.node}, prometheus ${m.prometheus}`,
    fmt(header),
    fmt(widths.map((w, i) => '-'.repeat(i === 5 ? 6 : w))),
    ...lines.map(fmt),
    `${s.met} met, ${s.missed} MISSED, ${s.notRun} NOT RUN, ${s.info} info rows; ${results.durationSeconds.toFixed(1)} s`,
  ].join('\n');
}
