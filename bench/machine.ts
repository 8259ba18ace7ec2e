/** Facts about the machine a result was measured on, written next to the numbers. */
import { execFileSync } from 'node:child_process';
import { availableParallelism, cpus, platform, release, totalmem } from 'node:os';

export const PROMETHEUS_BIN = '/usr/bin/prometheus';

export interface MachineFacts {
  readonly cpus: number;
  readonly cpuModel: string;
  readonly memoryBytes: number;
  readonly node: string;
  readonly prometheus: string;
  readonly os: string;
}

export function machineFacts(): MachineFacts {
  return {
    cpus: availableParallelism(),
    cpuModel: cpus()[0]?.model.trim() ?? 'unknown',
    memoryBytes: totalmem(),
    node: process.version,
    prometheus: prometheusVersion(),
    os: `${platform()} ${release()}`,
  };
}

function prometheusVersion(): string {
  try {
    const out = execFileSync(PROMETHEUS_BIN, ['--version'], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    return /version (\S+)/.exec(out)?.[1] ?? 'unknown';
  } catch (e) {
    return `unavailable (${(e as Error).message.split('\n')[0]})`;
  }
}
