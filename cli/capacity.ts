/**
 * `fedstack capacity -t FILE [--json] [--factors FILE]`: the capacity plan of a topology.
 * Factors: --factors FILE, else the bench's calibration (bench/results/capacity-factors.json)
 * when `npm run bench` has written one, else the documented defaults.
 */
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { DEFAULT_FACTORS, factorsFrom, type CapacityFactors } from '../capacity/factors.ts';
import { formatCapacity } from '../capacity/format.ts';
import { planCapacity } from '../capacity/plan.ts';
import { toJson } from '../common/serialize.ts';
import { EXIT, type CliIo } from './io.ts';
import { loadTopologyArg } from './topology-arg.ts';

/** The bench's calibration, as messages name it (it is read from next to this module, in dist/ too). */
export const CALIBRATED_FACTORS_NAME = 'bench/results/capacity-factors.json';
export const CALIBRATED_FACTORS_PATH = fileURLToPath(
  new URL(`../${CALIBRATED_FACTORS_NAME}`, import.meta.url),
);

export interface CapacityOptions {
  readonly topology?: string | undefined;
  readonly json?: boolean | undefined;
  readonly factors?: string | undefined;
}

function loadFactors(file: string | undefined): CapacityFactors {
  const calibrated = file === undefined && existsSync(CALIBRATED_FACTORS_PATH);
  if (file === undefined && !calibrated) return DEFAULT_FACTORS;
  const path = file ?? CALIBRATED_FACTORS_PATH;
  const name = file ?? CALIBRATED_FACTORS_NAME;
  let json: unknown;
  try {
    json = JSON.parse(readFileSync(path, 'utf8'));
  } catch (e) {
    throw new Error(
      `${name}: cannot read factors: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`,
    );
  }
  return factorsFrom(json, name);
}

/** Runs the command; returns the exit code (2 for a bad topology or factors file). */
export function capacityCommand(opts: CapacityOptions, io: CliIo): number {
  const loaded = loadTopologyArg(opts.topology, io);
  if (!loaded.ok) return loaded.code;
  let factors: CapacityFactors;
  try {
    factors = loadFactors(opts.factors);
  } catch (e) {
    io.err(`${(e as Error).message}\n`);
    return EXIT.invalid;
  }
  const report = planCapacity(loaded.topology, factors);
  io.out(opts.json ? toJson(report) : formatCapacity(report));
  return EXIT.ok;
}
