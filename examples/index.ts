/** The embedded default topology, used when no -t FILE is given. */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

export const DEFAULT_TOPOLOGY_PATH = fileURLToPath(new URL('./default-topology.yaml', import.meta.url));

export function defaultTopologyText(): string {
  return readFileSync(DEFAULT_TOPOLOGY_PATH, 'utf8');
}
