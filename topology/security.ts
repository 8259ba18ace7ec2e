/**
 * The topology's `security` section: how federation links are protected (TLS + basic auth),
 * with every secret as a reference to a Kubernetes Secret, never a literal.
 */
import { z } from 'zod';
import type { Profile } from '../common/conventions.ts';

export const securitySchema = z.strictObject({});
export type Security = z.output<typeof securitySchema>;

/** What a federating scrape job adds to reach a protected source (scheme, TLS, basic auth). */
export interface FederationClientConfig {
  readonly scheme: 'http' | 'https';
  readonly tls_config?: { readonly ca_file?: string; readonly insecure_skip_verify?: boolean };
  readonly basic_auth?: { readonly username: string; readonly password_file: string };
}

/**
 * The client settings cascades and central use to scrape the tier below. Plain HTTP when the
 * topology has no `security` section.
 */
export function federationClientConfig(_security: Security | undefined, _profile: Profile): FederationClientConfig {
  return { scheme: 'http' };
}
