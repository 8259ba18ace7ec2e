/** Every benchmark, in the order they run and appear in the table. */
import { federationCostBench } from './federation-cost.ts';
import { renderScaleBench } from './render-scale.ts';
import type { Bench } from './types.ts';

export const BENCHES: readonly Bench[] = [renderScaleBench, federationCostBench];
