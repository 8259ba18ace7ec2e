/** Cross-field checks on a schema-valid topology. */
import type { Topology } from './model.ts';
import type { TopologyIssue } from './errors.ts';

export function crossCheck(_topo: Topology): TopologyIssue[] {
  return [];
}
