/**
 * The relabel compiler: typed rules → Prometheus relabel configs. Each rule kind on example
 * series (as sentences), then a property: for any rule, scope and label set, running the
 * compiled configs (through the interpreter, a port of Prometheus' relabel.Process) gives what
 * the rule means, computed here independently. The live test (relabel-live.test.ts) checks the
 * same configs in a real Prometheus.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { SYSTEM_SELECTORS } from '../../common/conventions.ts';
import { parseTopology } from '../../topology/load.ts';
import type { Topology } from '../../topology/model.ts';
import { re2 } from '../../topology/re2.ts';
import { normalizeRule, type Guard, type Rule } from '../../topology/relabel.ts';
import { compilePlacedRule, compileRelabel } from '../../topology/relabel-compile.ts';
import { applyRelabel, type Labels } from '../../topology/relabel-eval.ts';
import { parseSelector, selectorMatches } from '../../topology/selector.ts';
import { TOPOLOGY_HEAD } from './topology-head.ts';

const BASE = `
${TOPOLOGY_HEAD}bigRegions:
  - name: china
    cascade: { endpoint: c:9090 }
    regions:
      - name: cn-hangzhou
        metaClusters:
          - { name: mc-prod-1, endpoint: e1:9090 }
          - { name: mc-dev-2, endpoint: e2:9090 }
      - name: cn-beijing
        metaClusters: [{ name: mc-prod-3, endpoint: e3:9090 }]
`;

function topology(extra: string): Topology {
  const parsed = parseTopology(BASE + extra);
  if (!parsed.ok)
    throw new Error(parsed.errors.map((e) => `${e.line}:${e.col} ${e.path}: ${e.message}`).join('\n'));
  return parsed.topology;
}

/** A series as the cascade's federation job sees it, after its rewrites (undefined: dropped). */
function atCascade(topo: Topology, series: Labels): Record<string, string> | undefined {
  const c = compileRelabel(topo, 'cascade', topo.bigRegions[0]!);
  const target = applyRelabel(
    { big_region: 'china', region: series.region ?? '', meta_cluster: series.meta_cluster ?? '' },
    c.target,
  )!;
  // honor_labels: the series' own labels beat the target's.
  return applyRelabel({ ...target, ...series }, c.metric);
}

const HZ = { big_region: 'china', region: 'cn-hangzhou', meta_cluster: 'mc-prod-1' };

describe('each rule kind, at the cascade', () => {
  const cases: [string, string, Labels, Record<string, string> | undefined][] = [
    [
      'rename moves the value to the new name',
      `relabel: { cascade: [{ rename: { from: cluster, to: cluster_id } }] }`,
      { __name__: 'x', cluster: 'c-1', ...HZ },
      { __name__: 'x', cluster_id: 'c-1', ...HZ },
    ],
    [
      'rename leaves a series without the label alone',
      `relabel: { cascade: [{ rename: { from: cluster, to: cluster_id } }] }`,
      { __name__: 'x', cluster_id: 'keep', ...HZ },
      { __name__: 'x', cluster_id: 'keep', ...HZ },
    ],
    [
      'set overwrites a value the series has',
      `relabel: { cascade: [{ set: { label: env, value: prod } }] }`,
      { __name__: 'x', env: 'staging', ...HZ },
      { __name__: 'x', env: 'prod', ...HZ },
    ],
    [
      'set with onConflict: export keeps the series value as exported_<label>',
      `relabel: { cascade: [{ set: { label: team, value: platform, onConflict: export } }] }`,
      { __name__: 'x', team: 'ml', ...HZ },
      { __name__: 'x', team: 'platform', exported_team: 'ml', ...HZ },
    ],
    [
      'set with onConflict: keep labels the target, and the series value wins',
      `relabel: { cascade: [{ set: { label: team, value: platform, onConflict: keep } }] }`,
      { __name__: 'x', team: 'ml', ...HZ },
      { __name__: 'x', team: 'ml', ...HZ },
    ],
    [
      'map writes the mapped value of a listed one',
      `relabel: { cascade: [{ map: { label: az, to: zone, values: { cn-hangzhou-h: hz-a }, default: other } }] }`,
      { __name__: 'x', az: 'cn-hangzhou-h', ...HZ },
      { __name__: 'x', az: 'cn-hangzhou-h', zone: 'hz-a', ...HZ },
    ],
    [
      'map writes the default for any other value',
      `relabel: { cascade: [{ map: { label: az, to: zone, values: { cn-hangzhou-h: hz-a }, default: other } }] }`,
      { __name__: 'x', az: 'cn-hangzhou-k', ...HZ },
      { __name__: 'x', az: 'cn-hangzhou-k', zone: 'other', ...HZ },
    ],
    [
      'an in-place map does not chain one mapping into the next',
      `relabel: { cascade: [{ map: { label: tier, values: { a: b, b: c }, keepUnmapped: true } }] }`,
      { __name__: 'x', tier: 'a', ...HZ },
      { __name__: 'x', tier: 'b', ...HZ },
    ],
    [
      'derive captures a group of another label into a new one',
      `relabel: { cascade: [{ derive: { from: meta_cluster, regex: 'mc-(prod|dev)-.+', to: env } }] }`,
      { __name__: 'x', ...HZ },
      { __name__: 'x', env: 'prod', ...HZ },
    ],
    [
      'drop labels removes them',
      `relabel: { cascade: [{ drop: { labels: [pod_ip, node] } }] }`,
      { __name__: 'x', pod_ip: '10.0.0.1', node: 'n1', ...HZ },
      { __name__: 'x', ...HZ },
    ],
    [
      'drop series drops what the selector selects',
      `relabel: { cascade: [{ drop: { series: '{__name__=~"go_.+", job="kubelet"}' } }] }`,
      { __name__: 'go_goroutines', job: 'kubelet', ...HZ },
      undefined,
    ],
    [
      'drop series keeps what the selector does not select',
      `relabel: { cascade: [{ drop: { series: '{__name__=~"go_.+", job="kubelet"}' } }] }`,
      { __name__: 'go_goroutines', job: 'etcd', ...HZ },
      { __name__: 'go_goroutines', job: 'etcd', ...HZ },
    ],
    [
      'keep series drops what the selector does not select',
      `relabel: { cascade: [{ keep: { series: '{__name__=~"cluster:.+"}' } }] }`,
      { __name__: 'node_load1', ...HZ },
      undefined,
    ],
    [
      "keep series never drops fedstack's own heartbeat",
      `relabel: { cascade: [{ keep: { series: '{__name__=~"cluster:.+"}' } }] }`,
      { __name__: 'fedstack:heartbeat:timestamp_seconds', ...HZ },
      { __name__: 'fedstack:heartbeat:timestamp_seconds', ...HZ },
    ],
    [
      'a region rule applies to series of that region only',
      `    relabel: { cascade: [{ set: { label: env, value: hz } }] }`,
      { __name__: 'x', big_region: 'china', region: 'cn-beijing', meta_cluster: 'mc-prod-3' },
      { __name__: 'x', big_region: 'china', region: 'cn-beijing', meta_cluster: 'mc-prod-3' },
    ],
    [
      'raw relabelConfigs run as written',
      `relabel: { cascade: [{ relabelConfigs: [{ source_labels: [node], regex: '(.+)\\.example', target_label: node }] }] }`,
      { __name__: 'x', node: 'n1.example', ...HZ },
      { __name__: 'x', node: 'n1', ...HZ },
    ],
  ];
  for (const [name, yaml, input, expected] of cases) {
    it(name, () => {
      // The region case attaches the section to cn-hangzhou (indented under it).
      const text = yaml.startsWith('    ')
        ? BASE.replace('      - name: cn-hangzhou\n', `      - name: cn-hangzhou\n    ${yaml}\n`)
        : yaml;
      const topo = yaml.startsWith('    ') ? parseOk(text) : topology(text);
      assert.deepEqual(atCascade(topo, input), expected);
    });
  }
});

function parseOk(text: string): Topology {
  const parsed = parseTopology(text);
  if (!parsed.ok)
    throw new Error(parsed.errors.map((e) => `${e.line}:${e.col} ${e.path}: ${e.message}`).join('\n'));
  return parsed.topology;
}

describe('what the compiled configs look like', () => {
  it('an unscoped rule has no condition, a scoped one puts the guard label first', () => {
    const rule = normalizeRule({ rename: { from: 'cluster', to: 'cluster_id' } })!;
    const placed = {
      rule,
      tier: 'cascade' as const,
      scope: { kind: 'fleet' as const },
      guard: undefined,
      path: [],
    };
    assert.deepEqual(compilePlacedRule(placed).metric, [
      {
        source_labels: ['cluster'],
        regex: '(.+)',
        target_label: 'cluster_id',
        replacement: '$1',
        action: 'replace',
      },
      { regex: 'cluster', action: 'labeldrop' },
    ]);
    const scoped = {
      ...placed,
      scope: { kind: 'region' as const, name: 'cn-hangzhou' },
      guard: { label: 'region', value: 'cn-hangzhou' },
    };
    assert.deepEqual(compilePlacedRule(scoped).metric, [
      {
        source_labels: ['region', 'cluster'],
        regex: 'cn-hangzhou;(.+)',
        target_label: 'cluster_id',
        replacement: '$1',
        action: 'replace',
      },
      {
        source_labels: ['region'],
        regex: 'cn-hangzhou',
        target_label: 'cluster',
        replacement: '',
        action: 'replace',
      },
    ]);
  });

  it('a keep rule on target labels goes to relabel_configs, everything else to metric_relabel_configs', () => {
    const topo = topology(
      `relabel: { cascade: [{ derive: { from: meta_cluster, regex: 'mc-(prod|dev)-.+', to: env, onConflict: keep } }, { drop: { labels: [x] } }] }`,
    );
    const c = compileRelabel(topo, 'cascade', topo.bigRegions[0]!);
    assert.deepEqual(c.target, [
      {
        source_labels: ['meta_cluster'],
        regex: '(?:mc-(prod|dev)-.+)',
        target_label: 'env',
        replacement: '$1',
        action: 'replace',
      },
    ]);
    assert.deepEqual(c.metric, [{ regex: 'x', action: 'labeldrop' }]);
  });
});

// ---- property: compiled configs mean what the rule says ----------------------------------

const NAMES = ['a', 'b', 'region', '__name__'];
const VALUES = ['', 'x', 'y', 'x;y', ';', '1', '2', 'cn-hangzhou', 'up'];
const literalRe = (s: string) => s.replace(/[\\.+*?()|[\]{}^$]/g, '\\$&');

const labelsArb: fc.Arbitrary<Record<string, string>> = fc
  .record({
    a: fc.constantFrom(...VALUES),
    b: fc.constantFrom(...VALUES),
    region: fc.constantFrom('', 'cn-hangzhou', 'other'),
    __name__: fc.constantFrom('m', 'up', 'fedstack:heartbeat:timestamp_seconds'),
  })
  .map((l) => Object.fromEntries(Object.entries(l).filter(([, v]) => v !== '')));

const written = fc.constantFrom('a', 'b', 'c');
const conflict = fc.constantFrom('overwrite' as const, 'export' as const);
const matcherArb = fc
  .tuple(
    fc.constantFrom(...NAMES),
    fc.constantFrom('=', '!=', '=~', '!~'),
    fc.constantFrom(...VALUES.filter((v) => v !== ';')),
  )
  .map(
    ([name, op, value]) =>
      `${name}${op}${JSON.stringify(op.includes('~') ? (value === '' ? '.*' : literalRe(value) + '.*') : value)}`,
  );
const selectorArb = fc
  .array(matcherArb, { minLength: 1, maxLength: 3 })
  .map((ms) => `{${ms.join(', ')}}`)
  .filter((s) => {
    try {
      parseSelector(s);
      return true;
    } catch {
      return false;
    }
  });

const ruleArb: fc.Arbitrary<Rule> = fc.oneof(
  fc
    .record({ from: written, to: written, onConflict: conflict })
    .filter((r) => r.from !== r.to)
    .map((r) => normalizeRule({ rename: r })!),
  fc
    .record({ label: written, value: fc.constantFrom('v', 'x;y', '$1'), onConflict: conflict })
    .map((r) => normalizeRule({ set: r })!),
  fc
    .record({
      label: fc.constantFrom('a', 'b'),
      to: fc.option(written, { nil: undefined }),
      // The schema refuses an empty map (it would do nothing).
      values: fc.dictionary(fc.constantFrom('x', 'y', 'x;y', '1'), fc.constantFrom('x', 'y', 'z', '1'), {
        minKeys: 1,
      }),
      other: fc.constantFrom('default', 'keep', 'none'),
      onConflict: conflict,
    })
    .map((r) =>
      normalizeRule({
        map: {
          label: r.label,
          to: r.to,
          values: r.values,
          default: r.other === 'default' ? 'dflt' : undefined,
          keepUnmapped: r.other === 'keep' ? true : undefined,
          onConflict: r.onConflict,
        },
      })!,
    ),
  fc
    .record({
      from: fc.constantFrom(...NAMES),
      regex: fc.constantFrom('(x)(.*)', '(.+);(.+)', '(?P<v>[a-z]+)', 'u(p)'),
      to: written,
      replacement: fc.constantFrom('$1', '${2}-$1', '${v}', 'lit'),
      onConflict: conflict,
    })
    .filter(
      (r) =>
        !(r.replacement.includes('v}') !== r.regex.includes('?P<v>')) &&
        !(r.replacement.includes('2') && !r.regex.includes(')(')),
    )
    .map((r) => normalizeRule({ derive: r })!),
  fc
    .array(written, { minLength: 1, maxLength: 2 })
    .map((labels) => normalizeRule({ drop: { labels: [...new Set(labels)] } })!),
  selectorArb.map((series) => normalizeRule({ drop: { series } })!),
  selectorArb.map((series) => normalizeRule({ keep: { series } })!),
);

const guardArb: fc.Arbitrary<Guard | undefined> = fc.constantFrom(undefined, {
  label: 'region',
  value: 'cn-hangzhou',
});

/** What a rule means, written from its documentation, not from the compiler. */
function meaning(rule: Rule, guard: Guard | undefined, input: Labels): Record<string, string> | undefined {
  const l: Record<string, string> = { ...input };
  if (guard !== undefined && l[guard.label] !== guard.value) return l;
  const write = (label: string, value: string, onConflict: string) => {
    if (onConflict === 'export' && l[label] !== undefined) l[`exported_${label}`] = l[label]!;
    if (value === '') delete l[label];
    else l[label] = value;
  };
  const system = SYSTEM_SELECTORS.cascade.map(parseSelector);
  const selected = (s: string) => selectorMatches(parseSelector(s), l['__name__'] ?? '', l);
  const isSystem = () => system.some((s) => selectorMatches(s, l['__name__'] ?? '', l));
  switch (rule.kind) {
    case 'rename':
      if (l[rule.from] !== undefined) {
        write(rule.to, l[rule.from]!, rule.onConflict);
        delete l[rule.from];
      }
      return l;
    case 'set':
      write(rule.label, rule.value, rule.onConflict);
      return l;
    case 'map': {
      const v = l[rule.label];
      if (v === undefined) return l;
      const mapped =
        rule.values.find(([k]) => k === v)?.[1] ?? rule.default ?? (rule.keepUnmapped ? v : undefined);
      if (mapped !== undefined) write(rule.to, mapped, rule.onConflict);
      return l;
    }
    case 'derive': {
      const m = re2(rule.regex).exec(l[rule.from] ?? '');
      if (m === undefined) return l;
      const value = rule.replacement.replace(/\$\{(\w+)\}|\$(\w+)/g, (_, a?: string, b?: string) => {
        const g = (a ?? b)!;
        return m.groups[/^\d+$/.test(g) ? Number(g) : m.named[g]!] ?? '';
      });
      write(rule.to, value, rule.onConflict);
      return l;
    }
    case 'dropLabels':
      for (const x of rule.labels) delete l[x];
      return l;
    case 'dropSeries':
      return selected(rule.selector) && !isSystem() ? undefined : l;
    case 'keepSeries':
      return !selected(rule.selector) && !isSystem() ? undefined : l;
    case 'raw':
      throw new Error('not generated');
  }
}

describe('compiled rules mean what the rules say', () => {
  it('for any rule, scope and series, the compiled configs give the meaning and leave no temporary label', () => {
    fc.assert(
      fc.property(ruleArb, guardArb, labelsArb, (rule, guard, labels) => {
        const placed = {
          rule,
          tier: 'cascade' as const,
          scope: guard ? { kind: 'region' as const, name: guard.value } : { kind: 'fleet' as const },
          guard,
          path: [],
        };
        const c = compilePlacedRule(placed);
        const got = applyRelabel(labels, [...c.target, ...c.metric]);
        assert.deepEqual(got, meaning(rule, guard, labels));
        assert.ok(got === undefined || Object.keys(got).every((k) => !k.startsWith('__tmp')));
      }),
      { numRuns: 3000 },
    );
  });
});

describe('a series filter on several labels', () => {
  it('does not let a regex on the name swallow the separator into the next label', () => {
    const placed = {
      rule: { kind: 'dropSeries', selector: '{__name__=~"up.*", a="y"}' } as Rule,
      tier: 'cascade' as const,
      scope: { kind: 'fleet' as const },
      guard: undefined,
      path: [],
    };
    const c = compilePlacedRule(placed);
    // "up;x;y" =~ "(?:up.*);y": one config over both labels would drop a series with a="x;y".
    assert.deepEqual(applyRelabel({ __name__: 'up', a: 'x;y' }, [...c.target, ...c.metric]), {
      __name__: 'up',
      a: 'x;y',
    });
    assert.equal(applyRelabel({ __name__: 'upper', a: 'y' }, [...c.target, ...c.metric]), undefined);
  });
});
