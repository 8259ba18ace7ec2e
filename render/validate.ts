/**
 * The whole validation of a topology file, as `validate`, `render`, the service's watcher and
 * the local stack run it: parse → shape → model → cross-checks (topology/load.ts, every error
 * at FILE:LINE:COL), then the plan's checks (render/check.ts), positioned in the same file.
 */
import type { Profile } from '../common/conventions.ts';
import type { TopologyError } from '../topology/errors.ts';
import { parseTopology } from '../topology/load.ts';
import { securityWarnings } from '../topology/security.ts';
import type { Topology } from '../topology/model.ts';
import { checkPlan } from './check.ts';
import { createPlan, type RenderPlan } from './plan.ts';

export type Validated =
  | {
      readonly ok: true;
      readonly topology: Topology;
      readonly plan: RenderPlan;
      /** What is valid but deserves a word at every run (an explicit opt-out of TLS). */
      readonly warnings: readonly TopologyError[];
    }
  | { readonly ok: false; readonly errors: readonly TopologyError[] };

export interface ValidateOptions {
  /**
   * The profile to check for and plan with. Without one the plan is the kubernetes profile's,
   * but no profile-specific check runs (the local stack localizes endpoints and security itself).
   */
  readonly profile?: Profile;
}

export function validateTopology(text: string, file: string, opts: ValidateOptions = {}): Validated {
  const profile = opts.profile ?? 'kubernetes';
  const parsed = parseTopology(text, file, opts.profile === undefined ? {} : { profile });
  if (!parsed.ok) return parsed;
  const plan = createPlan(parsed.topology, profile);
  const issues = checkPlan(plan);
  if (issues.length > 0) return { ok: false, errors: parsed.locate(issues) };
  return {
    ok: true,
    topology: parsed.topology,
    plan,
    warnings: parsed.locate(securityWarnings(parsed.topology.security)),
  };
}
