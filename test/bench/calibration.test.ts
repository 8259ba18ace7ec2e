/**
 * Benches calibrate the capacity planner's factors into one file, each its own: a run of one
 * bench must not erase what another measured, and `fedstack capacity` must accept the result.
 */
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CALIBRATION_FILE, recordCalibration } from '../../bench/support/calibration.ts';
import { DEFAULT_FACTORS, factorsFrom } from '../../capacity/factors.ts';

const dir = mkdtempSync(join(tmpdir(), 'fedstack-calibration-'));
after(() => rmSync(dir, { recursive: true, force: true }));

test('each bench merges its factors into the calibration file, keeping the others', () => {
  recordCalibration(dir, { bytesPerSeries: 5336 }, 'federation-cost');
  recordCalibration(dir, { vmBytesPerSeries: 1729.4, vmBytesPerSample: 3.3791 }, 'central-backend');
  recordCalibration(dir, { bytesPerSeries: 5123 }, 'federation-cost'); // a later run replaces its own
  const json = JSON.parse(readFileSync(join(dir, CALIBRATION_FILE), 'utf8'));
  assert.deepEqual(json, {
    bytesPerSeries: 5123,
    vmBytesPerSeries: 1729.4,
    vmBytesPerSample: 3.38,
    calibration: ['central-backend', 'federation-cost'],
  });
  const f = factorsFrom(json, CALIBRATION_FILE);
  assert.equal(f.bytesPerSeries, 5123);
  assert.equal(f.vmBytesPerSeries, 1729.4);
  assert.equal(f.vmBytesPerSample, 3.38);
  assert.equal(f.vmSamplesPerCoreSecond, DEFAULT_FACTORS.vmSamplesPerCoreSecond, 'not measured: the default');
});
