/**
 * Secret resolution for the bridge: Kubernetes Secret volumes mounted as `<dir>/<name>/<key>`
 * (kubelet refreshes them in place, so they are read at each use, never cached forever).
 */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { Secret, type SecretRef } from '../../common/secret.ts';

export type SecretResolver = (ref: SecretRef) => Promise<Secret>;

const SAFE = /^[A-Za-z0-9][-._A-Za-z0-9]*$/;

export function fileSecretResolver(dir: string): SecretResolver {
  return async (ref) => {
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
  };
}
