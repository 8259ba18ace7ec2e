/** Every benchmark, in the order they run and appear in the table. */
import { federationCostBench } from './federation-cost.ts';
import { centralBackendBench } from './central-backend.ts';
import { alertLatencyBench } from './alert-latency.ts';
import { capacityBench } from './capacity.ts';
import { bridgeCrashBench } from './bridge-crash.ts';
import { cliStartBench } from './cli-start.ts';
import { bridgeThroughputBench } from './bridge-throughput.ts';
import { renderScaleBench } from './render-scale.ts';
import { rolloutControlBench } from './rollout-control.ts';
import { rolloutRollbackBench } from './rollout-rollback.ts';
import { serviceThroughputBench } from './service-throughput.ts';
import { consoleRenderBench } from './console-render.ts';
import type { Bench } from './types.ts';

export const BENCHES: readonly Bench[] = [
  cliStartBench,
  renderScaleBench,
  federationCostBench,
  centralBackendBench,
  capacityBench,
  alertLatencyBench,
  serviceThroughputBench,
  bridgeThroughputBench,
  bridgeCrashBench,
  consoleRenderBench,
  rolloutControlBench,
  rolloutRollbackBench,
];
