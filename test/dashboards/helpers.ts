/** Shared by the dashboards tests: the embedded default topology and fixture loading. */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parseTopology } from '../../topology/load.ts';
import type { Topology } from '../../topology/model.ts';
import { defaultTopologyText } from '../../examples/index.ts';

export function topologyFromText(text: string, file = '<test>'): Topology {
  const r = parseTopology(text, file);
  if (!r.ok) throw new Error(`${file}: ${r.errors.map((e) => `${e.path}: ${e.message}`).join('; ')}`);
  return r.topology;
}

export function defaultTopology(): Topology {
  return topologyFromText(defaultTopologyText(), 'default-topology.yaml');
}

export function fixturePath(name: string): string {
  return fileURLToPath(new URL(`./fixtures/${name}`, import.meta.url));
}

export function fixture(name: string): Topology {
  return topologyFromText(readFileSync(fixturePath(name), 'utf8'), name);
}

/** The default topology text with extra top-level YAML appended (keys it does not set yet). */
export function defaultWith(extra: string): Topology {
  return topologyFromText(`${defaultTopologyText()}\n${extra}\n`);
}
