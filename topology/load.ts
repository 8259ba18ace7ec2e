/**
 * parse → shape (zod, strict) → model (defaults) → cross-checks, collecting every error with
 * its position in the file. The only entry point that turns topology text into a Topology.
 * Reading the YAML and checking its shape are topology/yaml-doc.ts's, which the rollout plan
 * shares: the same limits, the same messages, the same FILE:LINE:COL.
 */
import { buildModel, type Topology } from './model.ts';
import { topologySchema } from './schema.ts';
import { crossCheck, type CrossCheckOptions } from './validate.ts';
import type { TopologyError, TopologyIssue } from './errors.ts';
import { parseYamlDocument } from './yaml-doc.ts';

export { MAX_ALIAS_NODES, MAX_NESTING } from './yaml-doc.ts';

export type LoadResult =
  | {
      ok: true;
      topology: Topology;
      /** Positions later issues (the render plan's checks) in the same file, sorted. */
      locate: (issues: readonly TopologyIssue[]) => TopologyError[];
    }
  | { ok: false; errors: TopologyError[] };

/** Parses and validates topology text. Never throws for bad input: errors come back sorted. */
export function parseTopology(text: string, file = '<topology>', opts: CrossCheckOptions = {}): LoadResult {
  const doc = parseYamlDocument(text, file, topologySchema, 'topology');
  if (!doc.ok) return doc;
  const topology = buildModel(doc.value);
  const issues = crossCheck(topology, opts);
  if (issues.length > 0) return { ok: false, errors: doc.locate(issues) };
  return { ok: true, topology, locate: doc.locate };
}
