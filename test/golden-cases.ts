/** The topologies and profiles whose rendered output is kept under test/golden/. */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { Profile } from '../common/conventions.ts';
import { renderBundle, type Bundle } from '../deploy/bundle.ts';
import { DEFAULT_TOPOLOGY_PATH } from '../examples/index.ts';
import { formatError } from '../topology/errors.ts';
import { parseTopology } from '../topology/load.ts';

export interface GoldenCase {
  readonly name: string;
  readonly topologyFile: string;
  readonly profile: Profile;
}

const here = (p: string) => fileURLToPath(new URL(p, import.meta.url));

export const GOLDEN_CASES: readonly GoldenCase[] = [
  { name: 'example-kubernetes', topologyFile: DEFAULT_TOPOLOGY_PATH, profile: 'kubernetes' },
  { name: 'local-stack-local', topologyFile: here('./fixtures/local-stack.good.yaml'), profile: 'local' },
];

export const goldenDir = (c: GoldenCase) => here(`./golden/${c.name}`);

export function renderGoldenCase(c: GoldenCase): Bundle {
  const result = parseTopology(readFileSync(c.topologyFile, 'utf8'), c.topologyFile, { profile: c.profile });
  if (!result.ok) throw new Error(result.errors.map(formatError).join('\n'));
  return renderBundle(result.topology, c.profile);
}
