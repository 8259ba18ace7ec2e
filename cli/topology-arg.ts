/** Loads the topology a command was given with -t, or the embedded default, and plans it. */
import type { Profile } from '../common/conventions.ts';
import { DEFAULT_TOPOLOGY_NAME, defaultTopologyText } from '../examples/index.ts';
import type { RenderPlan } from '../render/plan.ts';
import { validateTopology } from '../render/validate.ts';
import { readTopologyText } from '../topology/text.ts';
import { formatError } from '../topology/errors.ts';
import type { Topology } from '../topology/model.ts';
import { LOCAL_PROFILE_NEEDS } from '../topology/validate.ts';
import { EXIT, type CliIo } from './io.ts';

export type Loaded =
  { ok: true; topology: Topology; plan: RenderPlan; file: string } | { ok: false; code: number };

/**
 * Reads and validates the topology (every error at FILE:LINE:COL, then the plan's checks);
 * `profile` adds what that profile needs and is the plan's profile (default kubernetes).
 */
export function loadTopologyArg(file: string | undefined, io: CliIo, profile?: Profile): Loaded {
  let text: string;
  const name = file ?? DEFAULT_TOPOLOGY_NAME;
  try {
    text = file === undefined ? defaultTopologyText() : readTopologyText(file);
  } catch (e) {
    io.err(`${name}: cannot read: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}\n`);
    return { ok: false, code: EXIT.invalid };
  }
  const result = validateTopology(text, name, profile === undefined ? {} : { profile });
  if (!result.ok) {
    for (const e of result.errors) io.err(`${formatError(e)}\n`);
    io.err(`${result.errors.length} error(s) in ${name}\n`);
    if (result.errors.some((e) => e.message === LOCAL_PROFILE_NEEDS)) io.err(localProfileHint(file));
    return { ok: false, code: EXIT.invalid };
  }
  // Valid, yet worth a word at every run (an explicit opt-out of federation security).
  for (const w of result.warnings) io.err(`warning: ${formatError(w)}\n`);
  return { ok: true, topology: result.topology, plan: result.plan, file: name };
}

/** What to do when the local profile lacks addresses: the embedded example has none. */
function localProfileHint(file: string | undefined): string {
  const edit =
    file === undefined
      ? `copy ${DEFAULT_TOPOLOGY_NAME}, give each central replica an endpoint and each Alertmanager replica an endpoint and a clusterEndpoint (host:port, e.g. 127.0.0.1:9090), and pass the copy with -t`
      : `give each replica named above the address it runs on (host:port, e.g. 127.0.0.1:9090)`;
  return `to run it on this machine, \`fedstack up\` picks free loopback ports and renders the local bundle itself (--keep keeps it); to render the local profile yourself, ${edit}\n`;
}
