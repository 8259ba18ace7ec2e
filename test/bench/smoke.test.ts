/**
 * Every benchmark at tiny sizes, through the real `bench/run.ts` entry point: the table and
 * the JSON must be well-formed and every measured number real (> 0). No timing thresholds:
 * performance is judged by `npm run bench`, not by tests on 2 shared cores.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { promisify } from 'node:util';
import type { Results } from '../../bench/table.ts';
import { BENCHES } from '../../bench/registry.ts';

const dir = mkdtempSync(join(tmpdir(), 'fedstack-bench-smoke-'));
after(() => rmSync(dir, { recursive: true, force: true }));

describe('npm run bench -- --smoke', () => {
  const out = join(dir, 'smoke.json');
  let stdout = '';
  let results: Results;

  it('runs every bench and writes the JSON results', async () => {
    const run = await promisify(execFile)(
      process.execPath,
      ['--import', 'tsx', 'bench/run.ts', '--smoke', '--out', out],
      {
        timeout: 300_000,
        maxBuffer: 1 << 22,
      },
    );
    stdout = run.stdout;
    results = JSON.parse(readFileSync(out, 'utf8')) as Results;
    assert.equal(results.schema, 'fedstack-bench/v1');
    assert.equal(results.mode, 'smoke');
  });

  it('records the machine the numbers were measured on', () => {
    assert.ok(results.machine.cpus > 0);
    assert.ok(results.machine.memoryBytes > 0);
    assert.match(results.machine.node, /^v\d+\./);
    assert.match(results.machine.prometheus, /^2\.\d+/);
  });

  it('has rows from every bench, none of them failed', () => {
    for (const bench of BENCHES) {
      const rows = results.rows.filter((r) => r.bench === bench.name);
      assert.ok(rows.length > 0, `no rows from ${bench.name}`);
      for (const r of rows)
        assert.doesNotMatch(r.notRun ?? '', /^failed/, `${r.bench} ${r.metric}: ${r.notRun}`);
    }
  });

  it('gives every row that ran a real measured number above zero', () => {
    for (const r of results.rows) {
      if (r.status === 'NOT RUN') {
        assert.equal(r.value, null);
        assert.ok((r.notRun ?? '').length > 0, `${r.bench} ${r.metric} is NOT RUN without a reason`);
        continue;
      }
      assert.equal(typeof r.value, 'number', `${r.bench} ${r.metric}`);
      assert.ok(Number.isFinite(r.value) && r.value! > 0, `${r.bench} ${r.metric} = ${r.value}`);
    }
  });

  it('derives status and ratio from value and target, so a miss is shown as MISSED', () => {
    for (const r of results.rows) {
      if (r.status === 'NOT RUN') continue;
      if (r.target === undefined) {
        assert.equal(r.status, 'info');
        continue;
      }
      assert.ok(['met', 'MISSED'].includes(r.status));
      assert.equal(r.ratio, r.value! / r.target.bound);
    }
    const { met, missed, notRun, info } = results.summary;
    assert.equal(met + missed + notRun + info, results.rows.length);
  });

  it('prints one table with a line per row and the summary', () => {
    const lines = stdout.split('\n');
    assert.match(lines[0]!, /^fedstack bench \(smoke\) — \d+ CPUs/);
    assert.match(lines[1]!, /^bench\s+metric\s+value\s+target\s+ratio\s+status$/);
    for (const r of results.rows) {
      assert.ok(
        lines.some((l) => l.includes(r.metric) && l.includes(r.status)),
        `no table line for ${r.metric}`,
      );
    }
    assert.ok(lines.some((l) => /^\d+ met, \d+ MISSED, \d+ NOT RUN, \d+ info rows/.test(l)));
  });
});
