/**
 * The allow-list closure check: every series a central rule or a dashboard panel reads must
 * reach central. A series reaches central when
 *   - central federates it (a central allow-list entry or SYSTEM_SELECTORS.central keeps it)
 *     AND the cascade has it (kept from the edges by the cascade allow-list or
 *     SYSTEM_SELECTORS.cascade, recorded by a cascade rule, or made by the cascade's own
 *     federation scrapes: up/scrape_* of the edge-federation job), or
 *   - a central recording rule records it, or
 *   - central makes it itself (up/scrape_* of its cascade-federation job, ALERTS).
 * Cascade recording rules are checked the same way one tier down: their inputs must be kept
 * from the edges. A panel that reads a series no tier delivers is empty forever; the renderer
 * refuses such a topology instead of shipping it.
 *
 * Label rewrites (relabel sections) are followed too: a reader that matches on, groups by
 * (`by`) or joins on (`on`) a label a rule renames or drops on the way, or reads series a rule
 * drops, is refused (rewriteProblems).
 *
 * Matching is by selector, not only by name: `up{job="apiserver"}` is not kept by the system
 * selector `{__name__=~"up|...", job="fedstack-federate-edge"}` (see selectorsOverlap).
 */
import {
  HEARTBEAT_METRIC,
  JOB,
  LABEL,
  SYNTHETIC_SCRAPE_METRICS,
  SYSTEM_SELECTORS,
  VM_CENTRAL_SERIES,
} from '../common/conventions.ts';
import { DEFAULT_ALERT_RULES, DEFAULT_CASCADE_RULES, DEFAULT_CENTRAL_RULES } from './defaults.ts';
import { formatPath, type PathSegment, type TopologyIssue } from './errors.ts';
import { re2 } from './re2.ts';
import { relabelChain, ruleEffect, SYSTEM_SERIES, type RelabelTier } from './relabel.ts';
import type { RecordingRule, Topology } from './model.ts';
import {
  literalSelector,
  matcherAccepts,
  parsePromQL,
  parseSeriesSelector,
  selectorAcceptsName,
  selectorsOverlap,
  seriesSelector,
  type VectorSelector,
} from './promql.ts';

export type SourceKind = 'allowList' | 'system' | 'rule' | 'synthetic';

/** One way a series can exist at a tier. */
export interface SeriesSource {
  readonly tier: 'edge' | 'cascade' | 'central';
  readonly kind: SourceKind;
  /** What series it provides. */
  readonly selector: Pick<VectorSelector, 'matchers'>;
  /** Human name: `allowLists.cascade[0] {__name__=~"cluster:.+"}`, `recording rule "x"`, ... */
  readonly describe: string;
  /** Where it sits in the topology file (allow-list entry, rule), when it does. */
  readonly path: readonly PathSegment[] | undefined;
  readonly rule: RecordingRule | undefined;
}

const CENTRAL_SYNTHETIC = ['ALERTS', 'ALERTS_FOR_STATE'];

function allowListSources(
  tier: 'cascade' | 'central',
  entries: readonly string[],
  system: readonly string[],
): SeriesSource[] {
  const out: SeriesSource[] = [];
  entries.forEach((text, i) => {
    const r = parseSeriesSelector(text);
    // An unparsable entry is validate's to report; it keeps nothing here.
    if (r.ok)
      out.push({
        tier,
        kind: 'allowList',
        selector: r.selector,
        describe: `allowLists.${tier}[${i}] ${text}`,
        path: ['allowLists', tier, i],
        rule: undefined,
      });
  });
  for (const text of system) {
    const r = parseSeriesSelector(text);
    if (r.ok)
      out.push({
        tier,
        kind: 'system',
        selector: r.selector,
        describe: `fedstack system selector ${text}`,
        path: undefined,
        rule: undefined,
      });
  }
  return out;
}

function ruleSources(tier: 'edge' | 'cascade' | 'central', rules: readonly RecordingRule[]): SeriesSource[] {
  return rules.map((rule, i) => ({
    tier,
    kind: 'rule',
    selector: literalSelector(rule.record, rule.labels),
    describe: `${tier} recording rule "${rule.record}"`,
    path: ['recordingRules', tier, i],
    rule,
  }));
}

function syntheticSources(
  tier: 'cascade' | 'central',
  names: readonly string[],
  job: string | undefined,
): SeriesSource[] {
  return names.map((name) => ({
    tier,
    kind: 'synthetic',
    selector: literalSelector(name, job !== undefined ? { job } : {}),
    describe: job !== undefined ? `made by the ${tier} itself (job "${job}")` : `made by the ${tier} itself`,
    path: undefined,
    rule: undefined,
  }));
}

/** What a cascade keeps from its edges (the federation match[] list). */
export function cascadeKeeps(topo: Topology): SeriesSource[] {
  return allowListSources('cascade', topo.allowLists.cascade, SYSTEM_SELECTORS.cascade);
}

/** What a cascade makes itself: its recording rules and its edge-federation job's scrape series. */
export function cascadeMakes(topo: Topology): SeriesSource[] {
  return [
    ...ruleSources('cascade', topo.recordingRules.cascade),
    ...syntheticSources('cascade', SYNTHETIC_SCRAPE_METRICS, JOB.federateEdge),
  ];
}

/** What central keeps from each cascade (allow-list + system selectors). */
export function centralKeeps(topo: Topology): SeriesSource[] {
  return allowListSources('central', topo.allowLists.central, SYSTEM_SELECTORS.central);
}

/**
 * What central makes itself: its recording rules, its cascade-federation scrape series, ALERTS;
 * with the victoriametrics backend, no federation scrape but the cascades' own health and the
 * backend's self-monitoring scrape (VM_CENTRAL_SERIES).
 */
export function centralMakes(topo: Topology): SeriesSource[] {
  const vm = topo.central.backend === 'victoriametrics';
  return [
    ...ruleSources('central', topo.recordingRules.central),
    ...(vm ? vmSources() : syntheticSources('central', SYNTHETIC_SCRAPE_METRICS, JOB.federateCascade)),
    ...syntheticSources('central', CENTRAL_SYNTHETIC, undefined),
  ];
}

function vmSources(): SeriesSource[] {
  return VM_CENTRAL_SERIES.flatMap((text) => {
    const r = parseSeriesSelector(text);
    return r.ok
      ? [
          {
            tier: 'central' as const,
            kind: 'synthetic' as const,
            selector: r.selector,
            describe: `made by the VictoriaMetrics backend ${text}`,
            path: undefined,
            rule: undefined,
          },
        ]
      : [];
  });
}

/** What each edge records (its rules and the heartbeat fedstack adds to every edge). */
export function edgeMakes(topo: Topology): SeriesSource[] {
  return [
    ...ruleSources('edge', topo.recordingRules.edge),
    {
      tier: 'edge',
      kind: 'rule',
      selector: literalSelector(HEARTBEAT_METRIC),
      describe: `edge heartbeat rule "${HEARTBEAT_METRIC}" (added by fedstack)`,
      path: undefined,
      rule: undefined,
    },
  ];
}

export type Reach =
  | { readonly ok: true; readonly via: readonly SeriesSource[] }
  | {
      readonly ok: false;
      /** The tier whose allow-list (or dropLabels) loses the series. */
      readonly droppedAt: 'cascade' | 'central';
      /** `allowLists.central`, `allowLists.cascade` or `dropLabels`. */
      readonly by: 'allowLists.central' | 'allowLists.cascade' | 'dropLabels';
      readonly path: readonly PathSegment[];
      /** True when an entry keeps the metric name but not the labels the query asks for. */
      readonly labelsExcluded: boolean;
      /** The dropped label the query matches on, when `by` is dropLabels. */
      readonly label?: string;
    };

const first = (sources: readonly SeriesSource[], sel: Pick<VectorSelector, 'matchers'>) =>
  sources.find((s) => selectorsOverlap(s.selector, sel));
const nameOnly = (sources: readonly SeriesSource[], metric: string | undefined) =>
  metric !== undefined && sources.some((s) => selectorAcceptsName(s.selector, metric));

/** A label the query needs a value for (its matcher rejects the empty string) that the cascade drops. */
function droppedLabel(topo: Topology, sel: Pick<VectorSelector, 'matchers'>): string | undefined {
  return sel.matchers.find((m) => topo.dropLabels.includes(m.name) && !matcherAccepts(m, ''))?.name;
}

/** Whether series matching `sel` exist at a cascade (for its rules, and for central to federate). */
export function reachCascade(topo: Topology, sel: VectorSelector): Reach {
  const made = first(cascadeMakes(topo), sel);
  if (made) return { ok: true, via: [made] };
  const kept = first(cascadeKeeps(topo), sel);
  if (!kept) {
    return {
      ok: false,
      droppedAt: 'cascade',
      by: 'allowLists.cascade',
      path: ['allowLists', 'cascade'],
      labelsExcluded: nameOnly(cascadeKeeps(topo), sel.metricName),
    };
  }
  const label = droppedLabel(topo, sel);
  if (label !== undefined)
    return {
      ok: false,
      droppedAt: 'cascade',
      by: 'dropLabels',
      path: ['dropLabels'],
      labelsExcluded: false,
      label,
    };
  return { ok: true, via: [kept] };
}

/** Whether series matching `sel` exist at central. */
export function reachCentral(topo: Topology, sel: VectorSelector): Reach {
  const made = first(centralMakes(topo), sel);
  if (made) return { ok: true, via: [made] };
  const kept = first(centralKeeps(topo), sel);
  if (!kept) {
    return {
      ok: false,
      droppedAt: 'central',
      by: 'allowLists.central',
      path: ['allowLists', 'central'],
      labelsExcluded: nameOnly(centralKeeps(topo), sel.metricName),
    };
  }
  const below = reachCascade(topo, sel);
  return below.ok ? { ok: true, via: [kept, ...below.via] } : below;
}

/**
 * A query that reads series at central made outside the topology file: central's meta-alerts
 * and the dashboards' panel queries (variables substituted). The render plan supplies them, so
 * this module needs no generator or dashboard code.
 */
export interface CentralReader {
  /** `dashboard "x" panel "y"`, `central meta-alert "z"`. */
  readonly what: string;
  readonly expr: string;
}

interface Reader extends CentralReader {
  /** Where the error points when the reader itself is in the topology file. */
  readonly path: readonly PathSegment[] | undefined;
  readonly tier: 'cascade' | 'central';
}

/**
 * Every place a rule or a reader reads a series that never reaches its tier: the topology's
 * own cascade and central rules, and `atCentral` (meta-alerts, dashboards).
 */
export function checkClosure(topo: Topology, atCentral: readonly CentralReader[]): TopologyIssue[] {
  const readers: Reader[] = [];
  // fedstack's default rules are not in the file: point at the allow-list that breaks them.
  const inFile = (rules: readonly unknown[], defaults: readonly unknown[], path: PathSegment[]) =>
    rules === defaults ? undefined : path;
  const { cascade, central } = topo.recordingRules;
  cascade.forEach((r, i) =>
    readers.push({
      what: `cascade recording rule "${r.record}"`,
      expr: r.expr,
      path: inFile(cascade, DEFAULT_CASCADE_RULES, ['recordingRules', 'cascade', i, 'expr']),
      tier: 'cascade',
    }),
  );
  central.forEach((r, i) =>
    readers.push({
      what: `central recording rule "${r.record}"`,
      expr: r.expr,
      path: inFile(central, DEFAULT_CENTRAL_RULES, ['recordingRules', 'central', i, 'expr']),
      tier: 'central',
    }),
  );
  topo.alertRules.forEach((r, i) =>
    readers.push({
      what: `central alert rule "${r.alert}"`,
      expr: r.expr,
      path: inFile(topo.alertRules, DEFAULT_ALERT_RULES, ['alertRules', i, 'expr']),
      tier: 'central',
    }),
  );
  for (const r of atCentral) readers.push({ ...r, path: undefined, tier: 'central' });

  const issues: TopologyIssue[] = [];
  const seen = new Set<string>();
  for (const reader of readers) {
    const parsed = parsePromQL(reader.expr);
    // Syntax errors are validate's PromQL check's to report, once.
    if (!parsed.ok) continue;
    for (const sel of parsed.selectors) {
      // A regex-only metric name cannot be resolved to names; such selectors are not checked.
      if (sel.metricName === undefined) continue;
      const reach = reader.tier === 'central' ? reachCentral(topo, sel) : reachCascade(topo, sel);
      if (reach.ok) {
        for (const p of rewriteProblems(topo, sel, reach.via)) {
          const message = `${reader.what} uses "${sel.metricName}", ${p.why}`;
          if (seen.has(message)) continue;
          seen.add(message);
          issues.push({ path: reader.path ?? p.path, message });
        }
        continue;
      }
      const why =
        reach.by === 'dropLabels'
          ? `matches on label "${reach.label}", dropped at cascade by dropLabels`
          : `dropped at ${reach.droppedAt} by ${reach.by}${reach.labelsExcluded ? ` (only other series of it are kept, not ${sel.text})` : ''}`;
      const message = `${reader.what} uses "${sel.metricName}", ${why}`;
      if (seen.has(message)) continue;
      seen.add(message);
      issues.push({ path: reader.path ?? reach.path, message });
    }
  }
  return issues;
}

/**
 * What the label rewrites of the hops a series crosses do to a selector that reads it: a
 * matcher on a label a rule renames or drops (the reader must use the new name), on a value a
 * map rewrites, on the `job` a federation job drops; or a rule that drops the series. `via`
 * says which hops apply: a series made at a tier (a recording rule, a scrape's own up) has
 * not crossed that tier's federation job.
 */
function rewriteProblems(
  topo: Topology,
  sel: VectorSelector,
  via: readonly SeriesSource[],
): { why: string; path: readonly PathSegment[] }[] {
  const hops: { tier: RelabelTier; keptBy: SeriesSource }[] = [];
  for (const v of [...via].reverse())
    if (v.tier !== 'edge' && (v.kind === 'allowList' || v.kind === 'system'))
      hops.push({ tier: v.tier, keptBy: v });
  const needs = sel.matchers.filter((m) => m.name !== '__name__' && !matcherAccepts(m, ''));
  // Labels the reader cannot do without: those it matches on, and those it groups or joins by
  // (a renamed `by (cluster_id)` label collapses every cluster into one series, silently).
  const uses = [
    ...needs.map((m) => ({ label: m.name, verb: 'matches on', fix: 'match on' })),
    ...(sel.groupedBy ?? [])
      .filter((l) => !needs.some((m) => m.name === l))
      .map((l) => ({ label: l, verb: 'groups by', fix: 'group by' })),
  ];
  const pinned = (label: string) => sel.matchers.find((m) => m.name === label && m.type === '=')?.value;
  const out: { why: string; path: readonly PathSegment[] }[] = [];
  for (const { tier, keptBy } of hops) {
    const ownJob = tier === 'cascade' ? JOB.federateEdge : JOB.federateCascade;
    const job = sel.matchers.find((m) => m.name === 'job');
    if (job !== undefined && !matcherAccepts(job, '') && matcherAccepts(job, ownJob) && job.type === '=')
      out.push({
        why: `matches on job="${ownJob}", which the ${tier} federation job drops from series without a job of their own`,
        path: keptBy.path ?? ['allowLists', tier],
      });
    const chain = relabelChain(topo, tier);
    chain.forEach((placed, i) => {
      // At a cascade a big region's rules need no guard (it sees nothing else); for the reader they are that big region's.
      const g =
        placed.guard ??
        (placed.scope.kind === 'bigRegion'
          ? { label: LABEL.bigRegion, value: placed.scope.name }
          : undefined);
      // A reader pinned to another place never sees this scope's series.
      if (g !== undefined && pinned(g.label) !== undefined && pinned(g.label) !== g.value) return;
      const scope =
        g === undefined
          ? ''
          : ` (series of ${placed.scope.kind === 'metaCluster' ? 'meta-cluster' : placed.scope.kind === 'bigRegion' ? 'big region' : 'region'} ${g.value})`;
      const where = `at ${tier} by ${formatPath(placed.path)}${scope}`;
      const effect = ruleEffect(placed.rule);
      // A later rule writing the label back restores it only where it applies to all of this rule's series.
      const later = chain
        .slice(i + 1)
        .filter(
          (x) =>
            x.guard === undefined ||
            (g !== undefined && x.guard.label === g.label && x.guard.value === g.value),
        );
      for (const u of uses) {
        const gone =
          (effect.removes.includes(u.label) && !effect.writes.includes(u.label)) ||
          (effect.removesMatching !== undefined &&
            re2(effect.removesMatching.regex).matches(u.label) !== effect.removesMatching.invert);
        if (gone && !later.some((x) => ruleEffect(x.rule).writes.includes(u.label))) {
          const rule = placed.rule;
          out.push({
            why:
              rule.kind === 'rename'
                ? `${u.verb} label "${u.label}", renamed to "${rule.to}" ${where}: ${u.fix} "${rule.to}"`
                : `${u.verb} label "${u.label}", dropped ${where}`,
            path: placed.path,
          });
        }
      }
      for (const m of needs) {
        const r = effect.remaps;
        if (
          r !== undefined &&
          r.label === m.name &&
          m.type === '=' &&
          !r.to.has(m.value) &&
          (r.others === 'unchanged' ? r.from.has(m.value) : r.others !== m.value)
        )
          out.push({
            why: `matches on ${m.name}="${m.value}", a value ${where} maps to another`,
            path: placed.path,
          });
      }
      const f = effect.filters;
      if (f !== undefined && f !== 'raw') {
        const rule = parseSeriesSelector(f.selector);
        if (!rule.ok) return;
        const selected = (fs: VectorSelector) =>
          fs.matchers.every((fm) => {
            const v = fm.name === '__name__' ? sel.metricName : pinned(fm.name);
            return v !== undefined ? matcherAccepts(fm, v) : false;
          });
        const dropped = f.kind === 'drop' ? selected(rule.selector) : !selectorsOverlap(rule.selector, sel);
        if (dropped && !SYSTEM_SERIES[tier].some((s) => selectorsOverlap(seriesSelector(s), sel)))
          out.push({ why: `${f.kind === 'drop' ? 'dropped' : 'not kept'} ${where}`, path: placed.path });
      }
    });
  }
  return out;
}
