/**
 * Cross-checks of the `relabel` sections (the shape, regex syntax and label-name syntax are the
 * schema's): one rule per mapping; no rule rewrites a label fedstack owns; no two rules of a
 * list write the same label, and no rule reads a label an earlier rule (or a wider scope's)
 * removed; a map either covers the values a label can have or says what happens to the others;
 * onConflict: keep only where the rule can act on the target; raw relabel_configs as
 * Prometheus 2.42 validates them, and only where no scope condition is needed.
 */
import { JOB, LABEL, RESERVED_LABELS, UNDROPPABLE_LABELS } from '../common/conventions.ts';
import type { PathSegment, TopologyIssue } from './errors.ts';
import { metaClusters, type Topology } from './model.ts';
import { LABEL_NAME_RE } from './names.ts';
import { re2 } from './re2.ts';
import {
  describeRule,
  relabelChain,
  ruleEffect,
  RELABEL_TIERS,
  RULE_KEYS,
  TARGET_LABELS,
  type PlacedRule,
  type RelabelTier,
  type Rule,
} from './relabel.ts';
import { RELABEL_ACTIONS, type RawRelabelConfigShape } from './relabel-schema.ts';
import { parseSelector, SelectorError } from './selector.ts';
import { didYouMean } from './suggest.ts';

const q = JSON.stringify;
const fmt = (path: readonly PathSegment[]) =>
  path.map((s, i) => (typeof s === 'number' ? `[${s}]` : i === 0 ? s : `.${s}`)).join('');

export function checkRelabel(topo: Topology): TopologyIssue[] {
  const issues: TopologyIssue[] = [...ruleShapes(topo)];
  for (const tier of RELABEL_TIERS) {
    const chain = relabelChain(topo, tier);
    for (const placed of chain) issues.push(...checkRule(topo, placed));
    issues.push(...collisions(topo, tier, chain));
  }
  return issues;
}

type RuleShapeLike = Readonly<Record<string, unknown>>;

/** Exactly one key per rule mapping, and `drop` with exactly one of labels/series. */
function ruleShapes(topo: Topology): TopologyIssue[] {
  const issues: TopologyIssue[] = [];
  const visit = (section: unknown, base: PathSegment[]) => {
    for (const tier of RELABEL_TIERS) {
      const rules = (section as Partial<Record<RelabelTier, readonly RuleShapeLike[]>> | undefined)?.[tier];
      rules?.forEach((r, i) => {
        const path = [...base, 'relabel', tier, i];
        const keys = RULE_KEYS.filter((k) => r[k] !== undefined);
        if (keys.length === 0) issues.push({ path, message: `a rule needs one of ${RULE_KEYS.join(', ')}` });
        else if (keys.length > 1)
          issues.push({
            path: [...path, keys[1]!],
            atKey: true,
            message: `a rule has exactly one of ${RULE_KEYS.join(', ')}; ${keys.map((k) => q(k)).join(' and ')} are two rules (make them two list items)`,
          });
        const drop = r['drop'] as { labels?: unknown; series?: unknown } | undefined;
        if (drop !== undefined && (drop.labels === undefined) === (drop.series === undefined))
          issues.push({
            path: [...path, 'drop'],
            message: 'drop needs exactly one of labels (drop labels) or series (drop series by a selector)',
          });
      });
    }
  };
  visit((topo as { relabel?: unknown }).relabel, []);
  topo.bigRegions.forEach((b, i) => {
    visit(b.relabel, ['bigRegions', i]);
    b.regions.forEach((r, j) => {
      visit(r.relabel, ['bigRegions', i, 'regions', j]);
      r.metaClusters.forEach((m, k) => visit(m.relabel, ['bigRegions', i, 'regions', j, 'metaClusters', k]));
    });
  });
  return issues;
}

/** Where in a rule each label it names sits (for the error position). */
function labelPaths(rule: Rule): { label: string; key: PathSegment[]; role: 'writes' | 'removes' }[] {
  switch (rule.kind) {
    case 'rename':
      return [
        { label: rule.from, key: ['rename', 'from'], role: 'removes' },
        { label: rule.to, key: ['rename', 'to'], role: 'writes' },
      ];
    case 'set':
      return [{ label: rule.label, key: ['set', 'label'], role: 'writes' }];
    case 'map':
      return [
        { label: rule.to, key: rule.to === rule.label ? ['map', 'label'] : ['map', 'to'], role: 'writes' },
      ];
    case 'derive':
      return [{ label: rule.to, key: ['derive', 'to'], role: 'writes' }];
    case 'dropLabels':
      return rule.labels.map((l, i) => ({ label: l, key: ['drop', 'labels', i], role: 'removes' as const }));
    default:
      return [];
  }
}

function checkRule(topo: Topology, placed: PlacedRule): TopologyIssue[] {
  const { rule, path } = placed;
  const issues: TopologyIssue[] = [];
  const at = (key: PathSegment[], message: string) => issues.push({ path: [...path, ...key], message });

  for (const { label, key, role } of labelPaths(rule)) {
    if (RESERVED_LABELS.includes(label))
      at(
        key,
        `rewrites ${q(label)}, which fedstack sets (${RESERVED_LABELS.join(', ')} cannot be rewritten)`,
      );
    else if (role === 'removes' && rule.kind === 'dropLabels' && UNDROPPABLE_LABELS.includes(label))
      at(key, `label ${q(label)} cannot be dropped: fedstack needs it to tell series apart`);
  }
  switch (rule.kind) {
    case 'rename':
      if (rule.from === rule.to) at(['rename', 'to'], `renames ${q(rule.from)} to itself`);
      break;
    case 'map':
      issues.push(...checkMap(topo, placed, rule));
      break;
    case 'derive':
      issues.push(
        ...checkDerive(rule).map((message) => ({ path: [...path, 'derive', 'replacement'], message })),
      );
      if (re2(rule.regex).matches(''))
        at(
          ['derive', 'regex'],
          `regex ${q(rule.regex)} matches the empty string, so the rule would also apply to series without ${q(rule.from)}`,
        );
      break;
    case 'dropSeries':
    case 'keepSeries':
      try {
        parseSelector(rule.selector);
      } catch (e) {
        if (!(e instanceof SelectorError)) throw e;
        at(
          [rule.kind === 'dropSeries' ? 'drop' : 'keep', 'series'],
          `invalid selector ${q(rule.selector)}: ${e.message} (at character ${e.offset + 1})`,
        );
      }
      break;
    case 'raw':
      if (placed.guard !== undefined)
        at(
          ['relabelConfigs'],
          "raw relabelConfigs act on every series they see, so they belong in the top-level relabel section (or a big region's cascade list); use typed rules in narrower scopes",
        );
      rule.configs.forEach((c, i) =>
        issues.push(
          ...checkRaw(c).map(([key, message]) => ({ path: [...path, 'relabelConfigs', i, ...key], message })),
        ),
      );
      break;
    default:
      break;
  }
  if ('onConflict' in rule && rule.onConflict === 'keep') issues.push(...checkOnTarget(placed, rule));
  return issues;
}

/** `$2` in a replacement needs a second group; `${env}` a group named env. */
function checkDerive(rule: Extract<Rule, { kind: 'derive' }>): string[] {
  const compiled = re2(rule.regex);
  const named = new Set(Object.keys(compiled.names));
  const problems: string[] = [];
  for (const m of rule.replacement.matchAll(/\$(?:\$|\{(\w+)\}|(\w+))/g)) {
    const ref = m[1] ?? m[2];
    if (ref === undefined) continue;
    if (/^\d+$/.test(ref) ? Number(ref) > compiled.groupCount : !named.has(ref))
      problems.push(
        `replacement ${q(rule.replacement)} refers to group ${q(ref)}, which regex ${q(rule.regex)} does not have (${compiled.groupCount} group${compiled.groupCount === 1 ? '' : 's'}${named.size > 0 ? `, named ${[...named].join(', ')}` : ''})`,
      );
  }
  return problems;
}

const HIERARCHY = [LABEL.bigRegion, LABEL.region, LABEL.metaCluster] as const;

/** The values a hierarchy label can have on the series a placed rule sees. */
function knownValues(topo: Topology, placed: PlacedRule, label: string): string[] | undefined {
  if (!(HIERARCHY as readonly string[]).includes(label)) return undefined;
  const scope = placed.scope;
  const seen = metaClusters(topo).filter(
    (p) =>
      scope.kind === 'fleet' ||
      (scope.kind === 'bigRegion' && p.bigRegion.name === scope.name) ||
      (scope.kind === 'region' && p.region.name === scope.name) ||
      (scope.kind === 'metaCluster' && p.metaCluster.name === scope.name),
  );
  const of = (p: (typeof seen)[number]) =>
    label === LABEL.bigRegion
      ? p.bigRegion.name
      : label === LABEL.region
        ? p.region.name
        : p.metaCluster.name;
  return [...new Set(seen.map(of))];
}

function checkMap(topo: Topology, placed: PlacedRule, rule: Extract<Rule, { kind: 'map' }>): TopologyIssue[] {
  const issues: TopologyIssue[] = [];
  const base = [...placed.path, 'map'];
  if (rule.label === '__name__' && rule.to === rule.label)
    issues.push({
      path: [...base, 'label'],
      message:
        'a map of __name__ needs a `to` label: fedstack does not rename metrics (the allow-lists and rules name them)',
    });
  if (rule.default !== undefined && rule.keepUnmapped)
    issues.push({
      path: [...base, 'keepUnmapped'],
      atKey: true,
      message: 'give default or keepUnmapped, not both',
    });
  const known = knownValues(topo, placed, rule.label);
  const others = rule.default !== undefined || rule.keepUnmapped;
  if (known === undefined) {
    if (!others)
      issues.push({
        path: [...base, 'values'],
        atKey: true,
        message: `the values of ${q(rule.label)} are not known to fedstack, so say what happens to the others: default: <value>, or keepUnmapped: true`,
      });
    return issues;
  }
  for (const [key] of rule.values)
    if (!known.includes(key))
      issues.push({
        path: [...base, 'values', key],
        atKey: true,
        message: `${q(key)} is not a ${rule.label} of the series this rule sees (${known.map((v) => q(v)).join(', ')})${didYouMean(key, known, 2)}`,
      });
  const missing = known.filter((v) => !rule.values.some(([k]) => k === v));
  if (missing.length > 0 && !others)
    issues.push({
      path: [...base, 'values'],
      atKey: true,
      message: `does not cover ${rule.label} ${missing.map((v) => q(v)).join(', ')}: map them, or give default or keepUnmapped: true`,
    });
  return issues;
}

/** onConflict: keep makes the rule a target label: it may read only target labels, and only a target can carry its guard. */
function checkOnTarget(
  placed: PlacedRule,
  rule: Extract<Rule, { kind: 'rename' | 'set' | 'map' | 'derive' }>,
): TopologyIssue[] {
  const issues: TopologyIssue[] = [];
  const key = [...placed.path, rule.kind, 'onConflict'];
  const targetLabels = TARGET_LABELS[placed.tier];
  const why = `onConflict: keep labels the federation target (a series' own label beats a target label); ${placed.tier === 'cascade' ? "a cascade's" : "central's"} targets carry only ${targetLabels.join(', ')}`;
  const reads = ruleEffect(rule).reads;
  if (rule.kind === 'rename')
    issues.push({
      path: key,
      message: 'onConflict: keep is for set, map and derive (a rename acts on each series)',
    });
  else if (reads.some((l) => !targetLabels.includes(l)))
    issues.push({ path: key, message: `${why}, and this rule reads ${reads.map((l) => q(l)).join(', ')}` });
  else if (placed.guard !== undefined && !targetLabels.includes(placed.guard.label))
    issues.push({ path: key, message: `${why}, so a ${placed.scope.kind} rule cannot be one` });
  const label = 'label' in rule && rule.kind === 'set' ? rule.label : 'to' in rule ? rule.to : '';
  if (label === 'job' || label === 'instance')
    issues.push({
      path: key,
      message: `a target label ${q(label)} would rename the federation job's own up series (${JOB.federateEdge}/${JOB.federateCascade}), which the meta-alerts key on`,
    });
  return issues;
}

const RELABEL_TARGET = /^(?:(?:[a-zA-Z_]|\$(?:\{\w+\}|\w+))+\w*)+$/;

/** Prometheus 2.42's relabel.Config.Validate, plus fedstack's reserved labels. [key path, message] pairs. */
function checkRaw(c: RawRelabelConfigShape): [PathSegment[], string][] {
  const out: [PathSegment[], string][] = [];
  const actionText = c.action ?? 'replace';
  const action = actionText.toLowerCase();
  if (!(RELABEL_ACTIONS as readonly string[]).includes(action)) {
    out.push([
      ['action'],
      `unknown relabel action ${q(actionText)} (one of ${RELABEL_ACTIONS.join(', ')})${didYouMean(action, RELABEL_ACTIONS, 2)}`,
    ]);
    return out;
  }
  const target = c.target_label ?? '';
  const validName = (s: string) => LABEL_NAME_RE.test(s);
  if (action === 'hashmod' && (c.modulus ?? 0) === 0)
    out.push([['modulus'], 'relabel configuration for hashmod requires non-zero modulus']);
  if (
    ['replace', 'hashmod', 'lowercase', 'uppercase', 'keepequal', 'dropequal'].includes(action) &&
    target === ''
  )
    out.push([[], `relabel configuration for ${action} action requires 'target_label' value`]);
  else if (action === 'replace' && (target.includes('$') ? !RELABEL_TARGET.test(target) : !validName(target)))
    out.push([['target_label'], `${q(target)} is invalid 'target_label' for ${action} action`]);
  else if (
    ['lowercase', 'uppercase', 'keepequal', 'dropequal', 'hashmod'].includes(action) &&
    !validName(target)
  )
    out.push([['target_label'], `${q(target)} is invalid 'target_label' for ${action} action`]);
  if (
    ['lowercase', 'uppercase', 'keepequal', 'dropequal'].includes(action) &&
    c.replacement !== undefined &&
    c.replacement !== '$1'
  )
    out.push([['replacement'], `'replacement' can not be set for ${action} action`]);
  if (action === 'labelmap' && !RELABEL_TARGET.test(c.replacement ?? '$1'))
    out.push([['replacement'], `${q(c.replacement ?? '$1')} is invalid 'replacement' for ${action} action`]);
  if (
    (action === 'keepequal' || action === 'dropequal') &&
    (c.regex !== undefined || (c.modulus ?? 0) !== 0 || (c.separator ?? ';') !== ';')
  )
    out.push([
      [],
      `${action} action requires only 'source_labels' and \`target_label\`, and no other fields`,
    ]);
  if (
    (action === 'labeldrop' || action === 'labelkeep') &&
    (c.source_labels !== undefined ||
      target !== '' ||
      (c.modulus ?? 0) !== 0 ||
      (c.separator ?? ';') !== ';' ||
      (c.replacement ?? '$1') !== '$1')
  )
    out.push([[], `${action} action requires only 'regex', and no other fields`]);
  // fedstack's own labels.
  if (RESERVED_LABELS.includes(target))
    out.push([
      ['target_label'],
      `rewrites ${q(target)}, which fedstack sets (${RESERVED_LABELS.join(', ')} cannot be rewritten)`,
    ]);
  if (action === 'labeldrop' || action === 'labelkeep') {
    const hit = RESERVED_LABELS.filter((l) => re2(c.regex ?? '(.*)').matches(l) === (action === 'labeldrop'));
    if (hit.length > 0)
      out.push([['regex'], `${action} would remove ${hit.map((l) => q(l)).join(', ')}, which fedstack sets`]);
  }
  if (action === 'labelmap' && RESERVED_LABELS.includes(c.replacement ?? ''))
    out.push([['replacement'], `rewrites ${q(c.replacement)}, which fedstack sets`]);
  return out;
}

/**
 * Within one list: two rules writing the same label, or a rule dropping what an earlier one
 * wrote. Along a chain (wider lists first, and at the cascade the topology's dropLabels): a
 * rule reading a label that is gone by then. onConflict: keep rules run before every series
 * rule (they label the target), so no earlier series rule may touch their label.
 */
function collisions(topo: Topology, tier: RelabelTier, chain: readonly PlacedRule[]): TopologyIssue[] {
  const issues: TopologyIssue[] = [];
  const sameList = (a: PlacedRule, b: PlacedRule) => fmt(a.path.slice(0, -1)) === fmt(b.path.slice(0, -1));
  // Wider scopes apply to a narrower one's series too (fleet ⊃ big region ⊃ region ⊃ meta-cluster).
  const placeOf = new Map(metaClusters(topo).map((p) => [p.metaCluster.name, p]));
  const applies = (wider: PlacedRule, narrower: PlacedRule): boolean => {
    const w = wider.scope;
    const n = narrower.scope;
    if (w.kind === 'fleet' || sameList(wider, narrower)) return true;
    const places = metaClusters(topo).filter((p) =>
      n.kind === 'fleet'
        ? true
        : n.kind === 'bigRegion'
          ? p.bigRegion.name === n.name
          : n.kind === 'region'
            ? p.region.name === n.name
            : p.metaCluster.name === n.name,
    );
    return places.some((p) =>
      w.kind === 'bigRegion'
        ? p.bigRegion.name === w.name
        : w.kind === 'region'
          ? p.region.name === w.name
          : w.kind === 'metaCluster' && placeOf.get(w.name) === p,
    );
  };
  chain.forEach((placed, i) => {
    const effect = ruleEffect(placed.rule);
    const earlier = chain.slice(0, i).filter((e) => applies(e, placed));
    const rulePath = (p: PlacedRule) => fmt(p.path);
    for (const e of earlier) {
      const ee = ruleEffect(e.rule);
      if (sameList(e, placed)) {
        for (const w of effect.writes)
          if (ee.writes.includes(w))
            issues.push({
              path: placed.path,
              message: `writes ${q(w)}, which ${rulePath(e)} also writes: where both apply the later wins; make them one rule (a map, or a derive with a capture)`,
            });
        for (const r of effect.removes)
          if (ee.writes.includes(r) && placed.rule.kind === 'dropLabels')
            issues.push({ path: placed.path, message: `drops ${q(r)}, which ${rulePath(e)} writes` });
      }
      for (const r of effect.reads) {
        const gone = ee.removes.includes(r) && !ee.writes.includes(r);
        if (gone && !earlier.slice(earlier.indexOf(e) + 1).some((x) => ruleEffect(x.rule).writes.includes(r)))
          issues.push({
            path: placed.path,
            message: `reads ${q(r)}, which ${rulePath(e)} (${describeRule(e.rule)}) removes before this rule runs`,
          });
      }
      if (
        effect.onTarget &&
        !ee.onTarget &&
        [...ee.reads, ...ee.writes, ...ee.removes].some((l) => effect.writes.includes(l))
      )
        issues.push({
          path: [...placed.path, placed.rule.kind, 'onConflict'],
          message: `onConflict: keep makes this a target label, set before every series rule, but ${rulePath(e)} touches ${effect.writes.map((l) => q(l)).join(', ')} earlier: the order would not hold (use overwrite or export)`,
        });
    }
    if (tier === 'cascade')
      for (const r of effect.reads)
        if (topo.dropLabels.includes(r))
          issues.push({
            path: placed.path,
            message: `reads ${q(r)}, which dropLabels removes at the cascade before any relabel rule`,
          });
  });
  return issues;
}
