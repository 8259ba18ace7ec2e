/**
 * Secret resolution for the bridge: Kubernetes Secret volumes mounted as `<dir>/<name>/<key>`.
 * kubelet refreshes them in place (within a minute or two of an edit), so a value is kept for a
 * few seconds at most, never for good: a rotated token takes effect without a restart, and a
 * burst does not read the same files for every request and every send.
 */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { Secret, type SecretRef } from '../../common/secret.ts';

export type SecretResolver = (ref: SecretRef) => Promise<Secret>;

const SAFE = /^[A-Za-z0-9][-._A-Za-z0-9]*$/;

/** How long a value read from the volume is reused. */
const MAX_AGE_MS = 5_000;

export function fileSecretResolver(dir: string, maxAgeMs = MAX_AGE_MS): SecretResolver {
  const cache = new Map<string, { at: number; value: Promise<Secret> }>();
  return (ref) => {
    const k = `${ref.name}\u0000${ref.key}`;
    const hit = cache.get(k);
    if (hit && Date.now() - hit.at < maxAgeMs) return hit.value;
    const entry = { at: Date.now(), value: read(dir, ref) };
    cache.set(k, entry);
    // A failed read is not remembered: the next use tries again.
    entry.value.catch(() => cache.get(k) === entry && cache.delete(k));
    return entry.value;
  };
}

async function read(dir: string, ref: SecretRef): Promise<Secret> {
  // Names come from the topology, but a path that climbs out of the secrets dir is refused anyway.
  if (!SAFE.test(ref.name) || !SAFE.test(ref.key))
    throw new Error(`secret ${JSON.stringify(ref.name)}/${JSON.stringify(ref.key)}: invalid name`);
  const file = path.join(dir, ref.name, ref.key);
  try {
    return new Secret((await readFile(file, 'utf8')).replace(/\r?\n$/, ''));
  } catch (e) {
    throw new Error(
      `secret ${ref.name}/${ref.key}: cannot read (${(e as NodeJS.ErrnoException).code ?? 'error'})`,
    );
  }
}
