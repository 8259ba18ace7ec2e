/**
 * Label rewrites, as the rest of fedstack reads them: which rules apply at a federation hop and
 * to which series (scopes), in which order, and what each rule does to label names (its static
 * effect). The compiler (relabel-compile.ts), the checks (relabel-check.ts), the closure check,
 * `explain` and the capacity planner all read rules through here.
 *
 * Scopes: the top-level `relabel` applies to every series of a hop; a big region's, region's or
 * meta-cluster's applies, after the wider ones, to that place's series only. A narrower rule
 * that writes the same label as a wider one runs later, so it overrides it for its series.
 * Which series are a place's is told by the hierarchy labels every federated series carries
 * (big_region, region, meta_cluster): a rule of region R applies to series with region="R".
 */
import { LABEL, SYSTEM_SELECTORS } from '../common/conventions.ts';
import type { PathSegment } from './errors.ts';
import type { BigRegion, Topology } from './model.ts';
import type { OnConflict, RawRelabelConfigShape, RelabelRuleShape } from './relabel-schema.ts';

/** The two federation hops rules act at. */
export type RelabelTier = 'cascade' | 'central';
export const RELABEL_TIERS: readonly RelabelTier[] = ['cascade', 'central'];

export type Rule =
  | { readonly kind: 'rename'; readonly from: string; readonly to: string; readonly onConflict: OnConflict }
  | { readonly kind: 'set'; readonly label: string; readonly value: string; readonly onConflict: OnConflict }
  | {
      readonly kind: 'map';
      readonly label: string;
      readonly to: string;
      readonly values: readonly (readonly [string, string])[];
      readonly default: string | undefined;
      readonly keepUnmapped: boolean;
      readonly onConflict: OnConflict;
    }
  | {
      readonly kind: 'derive';
      readonly from: string;
      readonly regex: string;
      readonly to: string;
      readonly replacement: string;
      readonly onConflict: OnConflict;
    }
  | { readonly kind: 'dropLabels'; readonly labels: readonly string[] }
  | { readonly kind: 'dropSeries'; readonly selector: string }
  | { readonly kind: 'keepSeries'; readonly selector: string }
  | { readonly kind: 'raw'; readonly configs: readonly RawRelabelConfigShape[] };

/** The keys a rule may have; exactly one of them (relabel-check.ts says so otherwise). */
export const RULE_KEYS = ['rename', 'set', 'map', 'derive', 'drop', 'keep', 'relabelConfigs'] as const;

type ReadonlyRuleShape = { readonly [K in keyof RelabelRuleShape]?: unknown };

/** The one rule a rule mapping holds, or undefined when it holds none or several. */
export function normalizeRule(shape: ReadonlyRuleShape): Rule | undefined {
  const s = shape as RelabelRuleShape;
  const present = RULE_KEYS.filter((k) => s[k] !== undefined);
  if (present.length !== 1) return undefined;
  if (s.rename) return { kind: 'rename', ...s.rename, onConflict: s.rename.onConflict ?? 'overwrite' };
  if (s.set) return { kind: 'set', ...s.set, onConflict: s.set.onConflict ?? 'overwrite' };
  if (s.map)
    return {
      kind: 'map',
      label: s.map.label,
      to: s.map.to ?? s.map.label,
      values: Object.entries(s.map.values),
      default: s.map.default,
      keepUnmapped: s.map.keepUnmapped ?? false,
      onConflict: s.map.onConflict ?? 'overwrite',
    };
  if (s.derive) return { kind: 'derive', ...s.derive, onConflict: s.derive.onConflict ?? 'overwrite' };
  if (s.drop) {
    if (s.drop.labels !== undefined && s.drop.series === undefined)
      return { kind: 'dropLabels', labels: s.drop.labels };
    if (s.drop.series !== undefined && s.drop.labels === undefined)
      return { kind: 'dropSeries', selector: s.drop.series };
    return undefined;
  }
  if (s.keep) return { kind: 'keepSeries', selector: s.keep.series };
  return { kind: 'raw', configs: s.relabelConfigs! };
}

/** Where a list of rules is declared, and which series it is for. */
export type RelabelScope =
  | { readonly kind: 'fleet' }
  | { readonly kind: 'bigRegion'; readonly name: string }
  | { readonly kind: 'region'; readonly name: string }
  | { readonly kind: 'metaCluster'; readonly name: string };

/** The label=value a scoped rule is conditioned on at a hop (none: it applies to every series there). */
export interface Guard {
  readonly label: string;
  readonly value: string;
}

export interface PlacedRule {
  readonly rule: Rule;
  readonly tier: RelabelTier;
  readonly scope: RelabelScope;
  readonly guard: Guard | undefined;
  /** Path of the rule in the topology file, e.g. ['relabel', 'cascade', 0]. */
  readonly path: readonly PathSegment[];
}

interface Section {
  readonly cascade?: readonly ReadonlyRuleShape[] | undefined;
  readonly central?: readonly ReadonlyRuleShape[] | undefined;
}

function place(
  section: Section | undefined,
  tier: RelabelTier,
  scope: RelabelScope,
  guard: Guard | undefined,
  base: readonly PathSegment[],
): PlacedRule[] {
  const out: PlacedRule[] = [];
  section?.[tier]?.forEach((shape, i) => {
    const rule = normalizeRule(shape);
    if (rule !== undefined) out.push({ rule, tier, scope, guard, path: [...base, 'relabel', tier, i] });
  });
  return out;
}

/**
 * The rules of one hop in the order the hop applies them: fleet-wide, then big region, region
 * and meta-cluster lists (wider before narrower). At a cascade only its own big region's lists
 * count, and the big region's need no guard (the cascade sees nothing else).
 */
export function relabelChain(topo: Topology, tier: RelabelTier, only?: BigRegion): PlacedRule[] {
  const section = (x: unknown) => (x as { relabel?: Section }).relabel;
  const chain = place(section(topo), tier, { kind: 'fleet' }, undefined, []);
  const regions: PlacedRule[] = [];
  const metas: PlacedRule[] = [];
  topo.bigRegions.forEach((b, i) => {
    if (only !== undefined && b !== only) return;
    const guard = tier === 'central' ? { label: LABEL.bigRegion, value: b.name } : undefined;
    chain.push(...place(section(b), tier, { kind: 'bigRegion', name: b.name }, guard, ['bigRegions', i]));
    b.regions.forEach((r, j) => {
      const rBase = ['bigRegions', i, 'regions', j];
      regions.push(
        ...place(
          section(r),
          tier,
          { kind: 'region', name: r.name },
          { label: LABEL.region, value: r.name },
          rBase,
        ),
      );
      r.metaClusters.forEach((m, k) =>
        metas.push(
          ...place(
            section(m),
            tier,
            { kind: 'metaCluster', name: m.name },
            { label: LABEL.metaCluster, value: m.name },
            [...rBase, 'metaClusters', k],
          ),
        ),
      );
    });
  });
  return [...chain, ...regions, ...metas];
}

/**
 * Labels each hop's federation targets carry (target labels): a rule that reads only these can
 * act on the target (relabel_configs) instead of on every sample.
 */
export const TARGET_LABELS: Readonly<Record<RelabelTier, readonly string[]>> = {
  cascade: [LABEL.bigRegion, LABEL.region, LABEL.metaCluster],
  central: [LABEL.bigRegion],
};

/** fedstack's own series at each hop, which keep/drop rules never drop (the meta-alerts need them). */
export const SYSTEM_SERIES: Readonly<Record<RelabelTier, readonly string[]>> = SYSTEM_SELECTORS;

/** The prefix Prometheus gives a label kept aside because another took its name. */
export const exported = (label: string) => `exported_${label}`;

/** What a rule does to label names (and to which series), without looking at values. */
export interface RuleEffect {
  /** Labels whose values it reads. */
  readonly reads: readonly string[];
  /** Labels it may set. */
  readonly writes: readonly string[];
  /** Labels it removes from every series it applies to. */
  readonly removes: readonly string[];
  /** Raw labeldrop/labelkeep: labels matching (or, for labelkeep, not matching) the regex go. */
  readonly removesMatching?: { readonly regex: string; readonly invert: boolean };
  /** An in-place value map: a matcher on `label` sees only these values afterwards. */
  readonly remaps?: {
    readonly label: string;
    readonly from: ReadonlySet<string>;
    readonly to: ReadonlySet<string>;
    readonly others: 'kept' | string | 'unchanged';
  };
  /** Series selection: the selector of a keep/drop rule, or 'raw' when a raw config may drop series. */
  readonly filters?: { readonly kind: 'keep' | 'drop'; readonly selector: string } | 'raw';
  /** Compiled to the federation job's relabel_configs (a target label) rather than per sample. */
  readonly onTarget: boolean;
}

const written = (label: string, onConflict: OnConflict) =>
  onConflict === 'export' ? [label, exported(label)] : [label];

export function ruleEffect(rule: Rule): RuleEffect {
  switch (rule.kind) {
    case 'rename':
      return {
        reads: [rule.from],
        writes: written(rule.to, rule.onConflict),
        removes: [rule.from],
        onTarget: false,
      };
    case 'set':
      return {
        reads: [],
        writes: written(rule.label, rule.onConflict),
        removes: [],
        onTarget: rule.onConflict === 'keep',
      };
    case 'map':
      return {
        reads: [rule.label],
        writes: written(rule.to, rule.onConflict),
        removes: [],
        ...(rule.to === rule.label
          ? {
              remaps: {
                label: rule.label,
                from: new Set(rule.values.map(([k]) => k)),
                to: new Set(rule.values.map(([, v]) => v)),
                others: rule.default ?? 'unchanged',
              },
            }
          : {}),
        onTarget: rule.onConflict === 'keep',
      };
    case 'derive':
      return {
        reads: [rule.from],
        writes: written(rule.to, rule.onConflict),
        removes: [],
        onTarget: rule.onConflict === 'keep',
      };
    case 'dropLabels':
      return { reads: [], writes: [], removes: rule.labels, onTarget: false };
    case 'dropSeries':
      return {
        reads: [],
        writes: [],
        removes: [],
        filters: { kind: 'drop', selector: rule.selector },
        onTarget: false,
      };
    case 'keepSeries':
      return {
        reads: [],
        writes: [],
        removes: [],
        filters: { kind: 'keep', selector: rule.selector },
        onTarget: false,
      };
    case 'raw':
      return rawEffect(rule.configs);
  }
}

function rawEffect(configs: readonly RawRelabelConfigShape[]): RuleEffect {
  const reads = new Set<string>();
  const writes = new Set<string>();
  let removesMatching: RuleEffect['removesMatching'];
  let filters: RuleEffect['filters'];
  for (const c of configs) {
    const action = (c.action ?? 'replace').toLowerCase();
    for (const l of c.source_labels ?? []) reads.add(l);
    if (c.target_label !== undefined && !c.target_label.includes('$')) writes.add(c.target_label);
    if (action === 'labeldrop' || action === 'labelkeep')
      removesMatching = { regex: c.regex ?? '(.*)', invert: action === 'labelkeep' };
    if (['keep', 'drop', 'keepequal', 'dropequal'].includes(action)) filters = 'raw';
  }
  return {
    reads: [...reads],
    writes: [...writes],
    removes: [],
    ...(removesMatching ? { removesMatching } : {}),
    ...(filters ? { filters } : {}),
    onTarget: false,
  };
}

const q = JSON.stringify;

/** One line for humans: `rename cluster → cluster_id`. */
export function describeRule(rule: Rule): string {
  const conflict = (c: OnConflict) => (c === 'overwrite' ? '' : ` (onConflict: ${c})`);
  switch (rule.kind) {
    case 'rename':
      return `rename ${rule.from} → ${rule.to}${conflict(rule.onConflict)}`;
    case 'set':
      return `set ${rule.label}=${q(rule.value)}${conflict(rule.onConflict)}`;
    case 'map': {
      const other =
        rule.default !== undefined
          ? `, others → ${q(rule.default)}`
          : rule.keepUnmapped
            ? ', others unchanged'
            : '';
      const values = rule.values.map(([k, v]) => `${q(k)} → ${q(v)}`).join(', ');
      return `map ${rule.label}${rule.to !== rule.label ? ` → ${rule.to}` : ''} (${values}${other})${conflict(rule.onConflict)}`;
    }
    case 'derive':
      return `derive ${rule.to}=${q(rule.replacement)} from ${rule.from}=~${q(rule.regex)}${conflict(rule.onConflict)}`;
    case 'dropLabels':
      return `drop labels ${rule.labels.join(', ')}`;
    case 'dropSeries':
      return `drop series ${rule.selector}`;
    case 'keepSeries':
      return `keep only series ${rule.selector}`;
    case 'raw':
      return `relabelConfigs (${rule.configs.length} raw relabel_config${rule.configs.length === 1 ? '' : 's'})`;
  }
}
