/** Shared by the dashboards tests: the embedded default topology and fixture loading. */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import YAML from 'yaml';
import { parseTopology } from '../../topology/load.ts';
import { buildModel, type Topology } from '../../topology/model.ts';
import { topologySchema } from '../../topology/schema.ts';
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

/**
 * Schema and defaults only, without the cross-checks: the closure check is one of them, so a
 * topology it refuses must be built this way to be handed to checkClosure/explain directly.
 */
export function shapeOnly(text: string, file = '<test>'): Topology {
  const parsed = topologySchema.safeParse(YAML.parse(text));
  if (!parsed.success) throw new Error(`${file}: ${parsed.error.message}`);
  return buildModel(parsed.data);
}

/** A bad fixture, shape-checked only (see shapeOnly). */
export function fixture(name: string): Topology {
  return shapeOnly(readFileSync(fixturePath(name), 'utf8'), name);
}

/** The default topology text with extra top-level YAML appended, shape-checked only. */
export function defaultWith(extra: string): Topology {
  return shapeOnly(`${defaultTopologyText()}\n${extra}\n`);
}
