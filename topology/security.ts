/**
 * The topology's `security` section: how federation links are protected (TLS + basic auth),
 * with every secret as a reference to a Kubernetes Secret, never a literal.
 */
import { z } from 'zod';

export const securitySchema = z.strictObject({});
export type Security = z.output<typeof securitySchema>;
