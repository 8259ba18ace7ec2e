/**
 * renderBundle: the whole rendered tree for a topology, as relative path → file text.
 * The only place text is made; the CLI, the server and the local stack all call it.
 */
import type { Profile } from '../common/conventions.ts';
import type { Topology } from '../topology/model.ts';

export type Bundle = ReadonlyMap<string, string>;

export function renderBundle(_topo: Topology, _profile: Profile): Bundle {
  throw new Error('not implemented yet');
}
