/**
 * Fills the bcrypt hash into a rendered web config. Prometheus' web config takes password
 * hashes only inline (no `*_file` form), yet a rendered file must never carry a secret — not
 * even a hash, which is brute-forceable offline — so renderers write a placeholder and this
 * runs in the pod (init container + sidecar) with the hash mounted from a Secret.
 */
import { readFileSync } from 'node:fs';
import { WEB_CONFIG_HASH_PLACEHOLDER } from '../topology/security.ts';

/** bcrypt modular crypt format: $2a$/$2b$/$2y$, cost, 53 characters of salt + hash. */
const BCRYPT_RE = /^\$2[aby]\$\d{2}\$[./A-Za-z0-9]{53}$/;

/**
 * The web config text with the placeholder replaced by the hash in `hashFile`. Throws (with
 * the file name, never the content) when the template needs a hash and none valid is given.
 */
export function fillWebConfig(template: string, hashFile: string | undefined): string {
  if (!template.includes(WEB_CONFIG_HASH_PLACEHOLDER)) return template;
  if (hashFile === undefined)
    throw new Error('web config: needs a password hash file but none is configured');
  const hash = readFileSync(hashFile, 'utf8').trim();
  if (!BCRYPT_RE.test(hash))
    throw new Error(`${hashFile}: not a bcrypt hash ($2a$/$2b$/$2y$, cost, 53 characters)`);
  // The hash's alphabet ([./A-Za-z0-9$]) is safe in a plain or a double-quoted YAML scalar.
  return template.split(WEB_CONFIG_HASH_PLACEHOLDER).join(hash);
}
