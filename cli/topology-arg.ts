/** Loads the topology a command was given with -t, or the embedded default. */
import { readFileSync } from 'node:fs';
import type { Profile } from '../common/conventions.ts';
import { DEFAULT_TOPOLOGY_PATH, defaultTopologyText } from '../examples/index.ts';
import { formatError } from '../topology/errors.ts';
import { parseTopology } from '../topology/load.ts';
import type { Topology } from '../topology/model.ts';
import { EXIT, type CliIo } from './io.ts';

export type Loaded = { ok: true; topology: Topology; file: string } | { ok: false; code: number };

export function loadTopologyArg(file: string | undefined, io: CliIo, profile?: Profile): Loaded {
  let text: string;
  const name = file ?? DEFAULT_TOPOLOGY_PATH;
  try {
    text = file === undefined ? defaultTopologyText() : readFileSync(file, 'utf8');
  } catch (e) {
    io.err(`${name}: cannot read: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}\n`);
    return { ok: false, code: EXIT.invalid };
  }
  const result = parseTopology(
    text,
    file ?? 'examples/default-topology.yaml',
    profile === undefined ? {} : { profile },
  );
  if (!result.ok) {
    for (const e of result.errors) io.err(`${formatError(e)}\n`);
    io.err(`${result.errors.length} error(s) in ${name}\n`);
    return { ok: false, code: EXIT.invalid };
  }
  return { ok: true, topology: result.topology, file: name };
}
