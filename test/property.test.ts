/**
 * Property: whatever the input, `fedstack validate` and `render` never crash; they exit 0
 * (valid) or 2 (invalid), and an invalid input leaves the output directory untouched.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import fc from 'fast-check';
import YAML from 'yaml';
import { run } from '../cli/main.ts';
import { defaultTopologyText } from '../examples/index.ts';

const work = mkdtempSync(join(tmpdir(), 'fedstack-prop-'));
after(() => rmSync(work, { recursive: true, force: true }));
const silent = { out: () => {}, err: () => {} };

async function validate(text: string): Promise<number> {
  const file = join(work, 'topology.yaml');
  writeFileSync(file, text);
  return run(['validate', '-t', file], silent);
}

const example = YAML.parse(defaultTopologyText()) as unknown;

/** Every path to a value inside a JSON-like tree. */
function paths(value: unknown, prefix: (string | number)[] = []): (string | number)[][] {
  if (Array.isArray(value)) return [prefix, ...value.flatMap((v, i) => paths(v, [...prefix, i]))];
  if (value !== null && typeof value === 'object')
    return [prefix, ...Object.entries(value).flatMap(([k, v]) => paths(v, [...prefix, k]))];
  return [prefix];
}
const allPaths = paths(example).filter((p) => p.length > 0);

function mutate(root: unknown, path: (string | number)[], replacement: unknown, remove: boolean): unknown {
  const copy = structuredClone(root) as Record<string | number, unknown>;
  let node = copy as Record<string | number, unknown>;
  for (const seg of path.slice(0, -1)) node = node[seg] as Record<string | number, unknown>;
  const last = path[path.length - 1]!;
  if (remove) {
    if (Array.isArray(node)) node.splice(last as number, 1);
    else delete node[last];
  } else node[last] = replacement;
  return copy;
}

const anyValue = fc.oneof(
  fc.string(),
  fc.integer(),
  fc.double(),
  fc.boolean(),
  fc.constant(null),
  fc.array(fc.string(), { maxLength: 3 }),
  fc.dictionary(fc.string({ maxLength: 8 }), fc.string(), { maxKeys: 3 }),
  fc.constantFrom(
    '30s',
    '0',
    '-1',
    '1.2.3.4:99999',
    'a:1',
    '{__name__=~"("}',
    'up{',
    'sum(',
    'central-a',
    'x'.repeat(70),
  ),
);

describe('the CLI on random input', () => {
  it('exits 0 or 2 for random text and random YAML values', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.oneof(
          fc.string(),
          fc.jsonValue().map((v) => YAML.stringify(v)),
        ),
        async (text) => {
          const code = await validate(text);
          assert.ok(code === 0 || code === 2, `exit ${code}`);
        },
      ),
      { numRuns: 150 },
    );
  });

  it('exits 0 or 2 for random mutations of the example topology, and never half-writes', async () => {
    await fc.assert(
      fc.asyncProperty(fc.constantFrom(...allPaths), anyValue, fc.boolean(), async (path, value, remove) => {
        const text = YAML.stringify(mutate(example, path, value, remove));
        const code = await validate(text);
        assert.ok(code === 0 || code === 2, `exit ${code} for ${path.join('.')}`);
        const out = join(work, 'out');
        const file = join(work, 'topology.yaml');
        const renderCode = await run(['render', '-t', file, '-o', out], silent);
        assert.equal(renderCode, code, 'render and validate agree');
        assert.deepEqual(
          readdirSync(work).filter((n) => n.includes('.tmp-')),
          [],
        );
        rmSync(out, { recursive: true, force: true });
      }),
      { numRuns: 200 },
    );
  });
});
