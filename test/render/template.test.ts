/**
 * Edge files filled in from their shape's template must be the bytes a direct render writes:
 * for every golden topology, and for fleets whose names and endpoints are chosen to trip YAML's
 * typing (numbers, booleans, hex, exponents) and whose capacity fields vary per meta-cluster.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import YAML from 'yaml';
import { DEFAULT_TOPOLOGY_PATH } from '../../examples/index.ts';
import { createEmitter, renderTree } from '../../render/emit.ts';
import { fill, makeTemplate, substitutable } from '../../render/template.ts';
import { validateTopology } from '../../render/validate.ts';
import { formatError } from '../../topology/errors.ts';
import type { Profile } from '../../common/conventions.ts';
import { GOLDEN_CASES } from '../golden-cases.ts';

const planOf = (text: string, profile: Profile) => {
  const v = validateTopology(text, 'fleet.yaml', { profile });
  if (!v.ok) throw new Error(v.errors.map(formatError).join('\n'));
  return v.plan;
};

function assertSameTree(text: string, profile: Profile): { templated: number; rendered: number } {
  const direct = renderTree(planOf(text, profile), { templates: false });
  const e = createEmitter(planOf(text, profile));
  const paths = e.paths();
  assert.deepEqual(paths, [...direct.keys()]);
  for (const p of paths) assert.equal(e.file(p), direct.get(p), `${profile}: ${p}`);
  return { templated: e.stats.templatedFiles, rendered: e.stats.renderedFiles };
}

describe('substitutable values', () => {
  it('takes names and endpoints YAML writes plain, and nothing it would type or quote', () => {
    for (const v of ['mc-hz-01', 'a', '10.10.1.10:9090', 'cascade-eu.example.com:443', 'x1e5'])
      assert.equal(substitutable(v), true, v);
    for (const v of ['123', '1e5', '0x1f', '0o17', '1.5', 'true', 'null', 'False', 'a:', 'Mc-1', '[::1]:9090', ''])
      assert.equal(substitutable(v), false, v);
  });
});

describe('makeTemplate', () => {
  const S = ['sent-name', 'sent-endpoint:1'];
  it('cuts at each sentinel and fills the values back in', () => {
    const t = makeTemplate('a: sent-name\nb: edge/sent-name@sent-endpoint:1\n', S, 'sent-')!;
    assert.equal(fill(t, ['mc-1', '10.0.0.1:9090']), 'a: mc-1\nb: edge/mc-1@10.0.0.1:9090\n');
    assert.deepEqual(t.slots, [0, 0, 1]);
  });
  it('refuses a cut whose token could turn into a number, a boolean or two values at once', () => {
    assert.equal(makeTemplate('a: 1sent-name\n', S, 'sent-'), undefined); // "1" + "5" is a number
    assert.equal(makeTemplate('a: 0x sent-name\n', S, 'sent-')?.slots.length, 1); // its own token
    assert.equal(makeTemplate('a: sent-namesent-endpoint:1\n', S, 'sent-'), undefined);
    assert.equal(makeTemplate('- 1.sent-name: x\n', S, 'sent-'), undefined); // a key: ':' is syntax
  });
  it('refuses text holding a sentinel in a form it cannot cut (transformed, split)', () => {
    assert.equal(makeTemplate('a: SENT-NAME\n', S, 'sent-'), undefined);
    assert.equal(makeTemplate('host: sent-endpoint\n', S, 'sent-'), undefined);
  });
});

describe('templated edges', () => {
  it('every golden topology renders the same bytes with and without templates', () => {
    const seen = new Set<string>();
    let templated = 0;
    for (const c of GOLDEN_CASES) {
      const key = `${c.topologyFile} ${c.profile}`;
      if (seen.has(key)) continue;
      seen.add(key);
      templated += assertSameTree(readFileSync(c.topologyFile, 'utf8'), c.profile).templated;
    }
    assert.ok(templated > 0, 'no golden edge came from a template');
  });

  it('edges of one shape are filled in, not rendered: one direct render per shape', () => {
    // The example's meta-clusters differ in capacity fields only, which no edge file reads.
    const { templated, rendered } = assertSameTree(readFileSync(DEFAULT_TOPOLOGY_PATH, 'utf8'), 'kubernetes');
    const edges = YAML.parse(readFileSync(DEFAULT_TOPOLOGY_PATH, 'utf8')).bigRegions.flatMap(
      (b: { regions: { metaClusters: unknown[] }[] }) => b.regions.flatMap((r) => r.metaClusters),
    ).length;
    assert.equal(rendered, 0);
    assert.equal(templated, edges * 5); // prometheus.yml, rules.yml, web-config.yml, manifests, kustomization
  });

  const tricky = fc.constantFrom('123', '1e5', '0x1f', '0o17', 'true', 'null', 'nan', 'inf', 'e', '1-2', '0');
  const dnsName = fc.stringMatching(/^[a-z0-9]([-a-z0-9]{0,10}[a-z0-9])?$/);
  const capacity = fc.record({
    guestClusters: fc.integer({ min: 0, max: 500 }),
    nodes: fc.integer({ min: 1, max: 50 }),
  });
  /** Runs `check` on fleets shaped like `file` whose meta-clusters take the generated fields. */
  async function onFleets(
    file: string,
    profile: Profile,
    endpoint: fc.Arbitrary<string>,
  ): Promise<void> {
    const base = YAML.parse(readFileSync(file, 'utf8'));
    const slots = base.bigRegions.flatMap((b: { regions: { metaClusters: unknown[] }[] }) =>
      b.regions.flatMap((r) => r.metaClusters),
    ).length;
    const each = <T>(a: fc.Arbitrary<T>) => fc.array(a, { minLength: slots, maxLength: slots });
    const unique = <T>(a: fc.Arbitrary<T>) => fc.uniqueArray(a, { minLength: slots, maxLength: slots });
    await fc.assert(
      fc.asyncProperty(
        unique(fc.oneof(tricky, dnsName)),
        unique(endpoint),
        each(capacity),
        async (names, endpoints, sizes) => {
          const topo = structuredClone(base);
          let i = 0;
          for (const b of topo.bigRegions)
            for (const r of b.regions)
              for (const m of r.metaClusters)
                Object.assign(m, sizes[i], { name: names[i], endpoint: endpoints[i++] });
          assertSameTree(YAML.stringify(topo), profile);
        },
      ),
      { numRuns: 10 },
    );
  }

  it('adversarial names, endpoints and capacity fields: same bytes as a direct render', async () => {
    const host = fc.oneof(
      fc.ipV4(),
      fc.constantFrom('123', '1e5', 'Host-A', 'lb.example.com', '0x1f', 'true'),
      dnsName,
    );
    const endpoint = fc.tuple(host, fc.integer({ min: 1, max: 65535 })).map(([h, p]) => `${h}:${p}`);
    await onFleets(DEFAULT_TOPOLOGY_PATH, 'kubernetes', endpoint);
  });

  it('the same on the local profile, where an edge scrapes itself at its endpoint', async () => {
    const port = fc.integer({ min: 20_000, max: 30_000 }).map((p) => `127.0.0.1:${p}`);
    await onFleets(new URL('../fixtures/local-stack.good.yaml', import.meta.url).pathname, 'local', port);
  });
});
