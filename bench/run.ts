/**
 * `npm run bench`: runs every benchmark in one process, one after the other (they would
 * otherwise share the 2 cores and skew each other), prints one table and writes it as JSON.
 *
 *   npm run bench                      full sizes → bench/results/latest.json
 *   npm run bench -- --smoke           tiny sizes (seconds) → bench/results/smoke.json
 *   npm run bench -- --only NAME       one bench (repeatable)
 *   npm run bench -- --out FILE        write the JSON elsewhere
 *   npm run bench -- --long            also the multi-minute trials (alert latency, default intervals)
 */
import { mkdirSync, renameSync, writeFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { machineFacts } from './machine.ts';
import { BENCHES } from './registry.ts';
import { buildResults, formatTable } from './table.ts';
import type { Row } from './types.ts';

const RESULTS_DIR = fileURLToPath(new URL('./results/', import.meta.url));

export async function main(argv: readonly string[]): Promise<number> {
  const { values } = parseArgs({
    args: [...argv],
    options: {
      only: { type: 'string', multiple: true },
      smoke: { type: 'boolean', default: false },
      long: { type: 'boolean', default: false },
      out: { type: 'string' },
      help: { type: 'boolean', default: false },
    },
    strict: true,
  });
  if (values.help) {
    process.stdout.write(
      `usage: npm run bench -- [--smoke] [--long] [--only NAME]... [--out FILE]\nbenches:\n${BENCHES.map((b) => `  ${b.name.padEnd(18)} ${b.description}`).join('\n')}\n`,
    );
    return 0;
  }
  const only = values.only ?? [];
  const unknown = only.filter((n) => !BENCHES.some((b) => b.name === n));
  if (unknown.length > 0) {
    process.stderr.write(
      `--only: unknown bench ${unknown.map((n) => JSON.stringify(n)).join(', ')} (have: ${BENCHES.map((b) => b.name).join(', ')})\n`,
    );
    return 2;
  }
  const smoke = values.smoke ?? false;
  const log = (line: string) => process.stderr.write(`[bench] ${line}\n`);
  const out = resolve(values.out ?? `${RESULTS_DIR}${smoke ? 'smoke' : 'latest'}.json`);
  const resultsDir = dirname(out);
  mkdirSync(resultsDir, { recursive: true });
  const started = new Date();
  const t0 = performance.now();
  const rows: Row[] = [];
  for (const bench of BENCHES.filter((b) => only.length === 0 || only.includes(b.name))) {
    log(`${bench.name}: start`);
    try {
      rows.push(...(await bench.run({ smoke, long: values.long ?? false, log, resultsDir })));
    } catch (e) {
      // A bench that crashes is a row, not a silent gap in the table.
      log(`${bench.name}: failed: ${(e as Error).stack ?? String(e)}`);
      rows.push({
        bench: bench.name,
        metric: 'run',
        value: null,
        unit: '',
        notRun: `failed: ${(e as Error).message.split('\n')[0]}`,
      });
    }
    log(`${bench.name}: done`);
  }
  const results = buildResults({
    mode: smoke ? 'smoke' : 'full',
    startedAt: started,
    durationSeconds: (performance.now() - t0) / 1000,
    machine: machineFacts(),
    rows,
  });
  writeFileSync(`${out}.tmp`, `${JSON.stringify(results, null, 2)}\n`);
  renameSync(`${out}.tmp`, out);
  process.stdout.write(`${formatTable(results)}\nwrote ${out}\n`);
  return 0;
}

process.exitCode = await main(process.argv.slice(2));
