/**
 * Errors that explain, by class: each test covers every field or form of a kind of mistake,
 * not one example (the bad fixtures hold one full file per class).
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import YAML from 'yaml';
import { formatError } from '../topology/errors.ts';
import { MAX_DURATION_MS } from '../topology/fields.ts';
import { MAX_ALIAS_NODES, MAX_NESTING, parseTopology } from '../topology/load.ts';
import { INT_RANGES } from '../topology/schema.ts';
import { parseDuration } from '../common/duration.ts';

/** A valid topology with one mutable copy per test. */
function base(): Record<string, unknown> {
  return {
    apiVersion: 'fedstack/v1',
    kind: 'Topology',
    metadata: { name: 'errors' },
    central: {
      replicas: [
        { name: 'central-a', zone: 'z1' },
        { name: 'central-b', zone: 'z2' },
      ],
    },
    alertmanager: { replicas: [{ name: 'am-0', zone: 'z1' }] },
    bigRegions: [
      {
        name: 'china',
        cascade: { endpoint: 'cascade-china:9090' },
        regions: [{ name: 'cn-hangzhou', metaClusters: [{ name: 'mc-1', endpoint: '10.0.0.1:9090' }] }],
      },
    ],
  };
}

/** Errors as `LINE:COL: path: problem`, for YAML text. */
function errorsOf(text: string): string[] {
  const r = parseTopology(text, 'f.yaml');
  return r.ok ? [] : r.errors.map((e) => formatError(e).slice('f.yaml:'.length));
}

/** The topology with one value set at a dotted path, as YAML, the value written verbatim. */
function withValue(path: string, written: string): string {
  const doc = YAML.parseDocument(YAML.stringify(base()));
  const keys = path.split('.').map((k) => (/^\d+$/.test(k) ? Number(k) : k));
  doc.setIn(keys, '__VALUE__');
  return doc.toString({ lineWidth: 0 }).replace(/['"]?__VALUE__['"]?/, written);
}

describe('whole-number fields', () => {
  const fields: [string, keyof typeof INT_RANGES][] = [
    ['global.edge.sampleLimit', 'sampleLimit'],
    ['global.cascade.sampleLimit', 'sampleLimit'],
    ['global.central.sampleLimit', 'sampleLimit'],
    ['bigRegions.0.regions.0.metaClusters.0.guestClusters', 'guestClusters'],
    ['bigRegions.0.regions.0.metaClusters.0.nodes', 'nodes'],
  ];
  for (const [path, rangeName] of fields) {
    const { min, max } = INT_RANGES[rangeName];
    const bad: [string, string][] = [
      ['1e309', 'number Infinity'],
      ['-1e309', 'number -Infinity'],
      ['.inf', 'number Infinity'],
      ['.nan', 'number NaN'],
      ['0.5', 'number 0.5'],
      [String(min - 1), `number ${min - 1}`],
      [String(max + 1), `number ${max + 1}`],
      ['"12"', 'string "12"'],
    ];
    it(`${path} says it wants a finite integer from ${min} to ${max} for infinity, NaN, fractions and values past either end`, () => {
      for (const [written, got] of bad) {
        const errors = errorsOf(withValue(path, written));
        assert.equal(errors.length, 1, `${written}: ${errors.join('\n')}`);
        assert.match(
          errors[0]!,
          new RegExp(`: ${path.replace(/\.(\d+)\./g, '[$1].').replace(/[.[\]]/g, '\\$&')}: must be a finite integer from ${min} to ${max}, got ${got.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}$`),
          written,
        );
      }
    });
    it(`${path} accepts both ends of its range`, () => {
      for (const v of [min, max]) assert.deepEqual(errorsOf(withValue(path, String(v))), [], String(v));
    });
  }
});

describe('durations', () => {
  const routing = {
    email: { smarthost: 'smtp.example.com:587', from: 'alerts@example.com' },
    teams: [{ name: 'sre', members: [{ name: 'Li Lei', email: 'li@example.com' }], receivers: [{ name: 'sre-email', email: { to: 'team' } }] }],
  };
  const fields = [
    'global.edge.retention',
    'global.cascade.retention',
    'global.central.evaluationInterval',
    'alertRules.0.for',
    'routing.groupWait',
    'routing.groupInterval',
    'routing.repeatInterval',
  ];
  const longest = '15250w'; // 292.3 years: just under int64 nanoseconds
  const tooLong = ['15251w', '293y', '99999999999999999999s'];

  it('the longest accepted duration is just under what an int64 of nanoseconds holds', () => {
    assert.ok(parseDuration(longest) <= MAX_DURATION_MS);
    assert.ok(parseDuration('15251w') > MAX_DURATION_MS);
  });

  for (const path of fields) {
    it(`${path} accepts ${longest} and refuses anything longer, saying the limit`, () => {
      const topo = { ...base(), alertRules: [{ alert: 'A', expr: 'up == 0' }], routing };
      const text = (written: string) => {
        const doc = YAML.parseDocument(YAML.stringify(topo));
        doc.setIn(path.split('.').map((k) => (/^\d+$/.test(k) ? Number(k) : k)), written);
        return doc.toString({ lineWidth: 0 });
      };
      // Retention and for are not bounded by other settings; intervals must still fit their timeout.
      if (!path.endsWith('Interval')) assert.deepEqual(errorsOf(text(longest)), [], longest);
      for (const written of tooLong) {
        const errors = errorsOf(text(written)).filter((e) => e.includes('out of range'));
        assert.equal(errors.length, 1, `${written}: ${errorsOf(text(written)).join('\n')}`);
        assert.match(errors[0]!, new RegExp(`duration "${written}" is out of range \\(at most 292y`));
      }
    });
  }
});

describe('nesting', () => {
  const deepFlowLists = (n: number) => `${'['.repeat(n)}${']'.repeat(n)}`;
  const deepFlowMaps = (n: number) => `${'{a: '.repeat(n)}1${'}'.repeat(n)}`;
  const deepBlockMaps = (n: number) =>
    Array.from({ length: n }, (_, i) => `${' '.repeat(i + 2)}k${i}:`).join('\n') + ' x';
  const deepBlockLists = (n: number) => `${'- '.repeat(n)}x`;
  const cases: [string, string][] = [
    ['10,000 flow lists', `x: ${deepFlowLists(10_000)}\n`],
    ['100,000 flow lists', `x: ${deepFlowLists(100_000)}\n`],
    ['10,000 flow mappings', `x: ${deepFlowMaps(10_000)}\n`],
    ['1,000 block mappings', `x:\n${deepBlockMaps(1_000)}\n`],
    ['10,000 compact block lists', `x:\n  ${deepBlockLists(10_000)}\n`],
  ];
  for (const [what, yaml] of cases) {
    it(`refuses ${what} with one error that names the limit, not a stack overflow`, () => {
      const errors = errorsOf(YAML.stringify(base()) + yaml);
      assert.equal(errors.length, 1, errors.join('\n'));
      assert.match(
        errors[0]!,
        new RegExp(`^\\d+:\\d+: \\(yaml\\): nested deeper than ${MAX_NESTING} levels of mappings and lists`),
      );
    });
  }

  it(`lets nesting up to the limit through to validation (${MAX_NESTING - 10} lists here: an unknown key)`, () => {
    const errors = errorsOf(`${YAML.stringify(base())}x: ${deepFlowLists(MAX_NESTING - 10)}\n`);
    assert.deepEqual(errors.map((e) => e.replace(/^\d+:\d+: /, '')), ['x: unknown key "x"']);
  });
});

describe('YAML tags', () => {
  const refused = [
    '!!js/function',
    '!!js/regexp',
    '!!js/undefined',
    '!!python/object',
    '!!binary',
    '!!set',
    '!!timestamp',
    '!!omap',
    '!local',
    '!<tag:example.com,2026:thing>',
  ];
  for (const tag of refused) {
    it(`refuses ${tag} where it is written, as a custom tag`, () => {
      const text = YAML.stringify(base()).replace('name: errors', `name: ${tag} errors`);
      const line = text.split('\n').findIndex((l) => l.includes(tag)) + 1;
      const col = text.split('\n')[line - 1]!.indexOf(tag) + 1;
      assert.deepEqual(errorsOf(text), [
        `${line}:${col}: (yaml): custom tag ${tag} is not allowed (a topology is plain YAML: mappings, lists, strings, numbers, booleans)`,
      ]);
    });
  }

  it('accepts the core schema tags (!!str, !!int, !!bool, !!map, !!seq), which only say what plain YAML already is', () => {
    const text = YAML.stringify(base())
      .replace('name: errors', 'name: !!str errors')
      .replace('endpoint: 10.0.0.1:9090', 'endpoint: 10.0.0.1:9090\n            nodes: !!int "7"');
    assert.deepEqual(errorsOf(text), []);
    const r = parseTopology(text, 'f.yaml');
    assert.ok(r.ok);
    assert.equal(r.topology.bigRegions[0]!.regions[0]!.metaClusters[0]!.nodes, 7);
  });
});

describe('aliases', () => {
  it(`accepts ordinary reuse of an anchor (a label set repeated)`, () => {
    const text = YAML.stringify(base()).replace(
      'endpoint: 10.0.0.1:9090',
      'endpoint: 10.0.0.1:9090\n            extraScrapeTargets:\n              - { job: a, targets: [10.0.0.9:9100], labels: &team { team: ml } }\n              - { job: b, targets: [10.0.0.9:9101], labels: *team }',
    );
    assert.deepEqual(errorsOf(text), []);
  });

  it(`refuses aliases that repeat more than ${MAX_ALIAS_NODES} nodes, pointing at the first alias`, () => {
    const levels = ['l0: &l0 [x, x, x, x, x, x, x, x, x, x]'];
    for (let i = 1; i < 7; i++) levels.push(`l${i}: &l${i} [${Array(10).fill(`*l${i - 1}`).join(', ')}]`);
    const text = `${YAML.stringify(base())}bomb:\n${levels.map((l) => `  ${l}`).join('\n')}\n`;
    const line = text.split('\n').findIndex((l) => l.includes('*l0')) + 1;
    const col = text.split('\n')[line - 1]!.indexOf('*l0') + 1;
    assert.deepEqual(errorsOf(text), [
      `${line}:${col}: (yaml): aliases (*name) repeat more than ${MAX_ALIAS_NODES} nodes; write the repeated parts out, or repeat less`,
    ]);
  });
});

describe('a misspelt key', () => {
  const required = ['apiVersion', 'kind', 'metadata', 'central', 'alertmanager', 'bigRegions'];
  const misspell = (k: string) => (k.length > 5 ? k.slice(0, -1) : `${k}s`);
  for (const key of required) {
    it(`${misspell(key)} for the required ${key} is reported once, as an unknown key with "did you mean", not also as missing`, () => {
      const topo = base();
      topo[misspell(key)] = topo[key];
      delete topo[key];
      const errors = errorsOf(YAML.stringify(topo));
      assert.equal(errors.length, 1, errors.join('\n'));
      assert.match(errors[0]!, new RegExp(`: unknown key "${misspell(key)}" \\(did you mean "${key}"\\?\\)$`));
    });
  }

  it('still reports a required key as missing when nothing close to it was written', () => {
    const topo = base();
    delete topo.bigRegions;
    topo.fleet = [];
    assert.deepEqual(
      errorsOf(YAML.stringify(topo)).map((e) => e.replace(/^\d+:\d+: /, '')),
      ['bigRegions: is required', 'fleet: unknown key "fleet"'],
    );
  });
});
