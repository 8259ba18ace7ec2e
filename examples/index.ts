/** The embedded default topology, used when no -t FILE is given. */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

/**
 * How messages name it, whatever the working directory: the same short name in every error
 * line and summary (it is read from next to this module, which is dist/examples/ when built).
 */
export const DEFAULT_TOPOLOGY_NAME = 'examples/default-topology.yaml';
export const DEFAULT_TOPOLOGY_PATH = fileURLToPath(new URL('./default-topology.yaml', import.meta.url));

export function defaultTopologyText(): string {
  return readFileSync(DEFAULT_TOPOLOGY_PATH, 'utf8');
}
