/**
 * The topology's `routing` section: teams, on-call rotations, receivers, routes, inhibition,
 * time intervals. Owned by alerting/ (issue: alert routing for on-call).
 */
import { z } from 'zod';

export const routingSchema = z.strictObject({});
export type Routing = z.output<typeof routingSchema>;
