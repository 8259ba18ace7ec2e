/**
 * explain: follows one series edge → cascade → central and says, tier by tier, whether it is scraped or recorded, kept or dropped (by which
 * allow-list entry), and which labels the cascade adds or drops. It answers "why is my panel
 * empty?" with the same selector logic the closure check uses (topology/closure.ts).
 *
 * Labels you do not give are unknown: an entry that constrains one of them keeps the series
 * only under that condition, and the answer says so instead of guessing.
 */
import { JOB, LABEL } from '../common/conventions.ts';
import { dropFederationJobLabel, dropLabelsConfig } from '../common/scrape.ts';
import { formatPath } from '../topology/errors.ts';
import { describeRule, relabelChain, type PlacedRule, type RelabelTier } from '../topology/relabel.ts';
import { compilePlacedRule } from '../topology/relabel-compile.ts';
import { applyRelabel } from '../topology/relabel-eval.ts';
import { METRIC_NAME_RE } from '../topology/schema.ts';
import type { BigRegion, PlacedMetaCluster } from '../topology/model.ts';
import type { RenderPlan } from './plan.ts';
import {
  cascadeKeeps,
  cascadeMakes,
  centralKeeps,
  centralMakes,
  edgeMakes,
  type SeriesSource,
} from '../topology/closure.ts';
import {
  formatSelector,
  literalSelector,
  matcherAccepts,
  selectorsOverlap,
  type LabelMatcher,
} from '../topology/promql.ts';

export type Tier = 'edge' | 'cascade' | 'central';
export type StepStatus =
  'scraped' | 'recorded' | 'kept' | 'dropped' | 'made' | 'not-involved' | 'not-reached';

export interface ExplainStep {
  readonly tier: Tier;
  readonly status: StepStatus;
  /** The allow-list entry, system selector or rule that decided, in words. */
  readonly by?: string;
  /** Allow-list entry that kept it: which list and index (system selectors have no index). */
  readonly entry?: { readonly list: string; readonly index?: number; readonly selector: string };
  /** Recording rule that produces it at this tier. */
  readonly rule?: { readonly record: string; readonly expr: string };
  /** Edge jobs that may expose it (edge, scraped). */
  readonly jobs?: readonly string[];
  /** Meta-clusters whose edge the series comes from (edge). */
  readonly metaClusters?: readonly string[];
  /** Matchers on labels you did not give that the deciding entry requires. */
  readonly conditions?: readonly string[];
  /** Labels the cascade's federation job adds (value, or `<per edge>` when several edges match). */
  readonly labelsAdded?: Readonly<Record<string, string>>;
  /** Labels the cascade drops (topology dropLabels present in the given labels). */
  readonly labelsDropped?: readonly string[];
  /** What each label rewrite of this hop did to the series, in order (rules that changed nothing are left out). */
  readonly rewrites?: readonly RewriteHop[];
  readonly note: string;
}

/** One relabel rule's effect on the series at one hop. */
export interface RewriteHop {
  /** Where the rule is: `relabel.cascade[0]`, `bigRegions[0].regions[1].relabel.cascade[2]`. */
  readonly rule: string;
  /** The rule in words: `rename cluster → cluster_id`. */
  readonly what: string;
  /** `removed cluster="a"`, `added cluster_id="a"`, `changed zone "a" → "b"`, or `dropped the series`. */
  readonly changes: readonly string[];
}

export interface ExplainResult {
  readonly metric: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly steps: readonly ExplainStep[];
  readonly reachesCentral: boolean;
  /** The series as central stores it, when it gets there. */
  readonly atCentral?: string;
  /** The same, as labels (`__name__` included). */
  readonly labelsAtCentral?: Readonly<Record<string, string>>;
}

const PER_EDGE = '<per edge>';

interface Match {
  readonly source: SeriesSource;
  /** Matchers of the source on labels the caller did not give. */
  readonly conditions: readonly LabelMatcher[];
}

/** First source that can hold the series, and on which unknown labels it depends. */
function find(
  sources: readonly SeriesSource[],
  metric: string,
  labels: Readonly<Record<string, string>>,
): Match | undefined {
  const sel = literalSelector(metric, labels);
  for (const source of sources) {
    if (!selectorsOverlap(source.selector, sel)) continue;
    const conditions = source.selector.matchers.filter(
      (m) => m.name !== '__name__' && !(m.name in labels) && !matcherAccepts(m, ''),
    );
    return { source, conditions };
  }
  return undefined;
}

const fmtConditions = (c: readonly LabelMatcher[]) =>
  c.map((m) => `${m.name}${m.type}${JSON.stringify(m.value)}`);

function entryOf(s: SeriesSource): ExplainStep['entry'] {
  const text = s.describe.replace(/^\S+ /, '');
  if (s.kind === 'system')
    return { list: 'system', selector: s.describe.replace(/^fedstack system selector /, '') };
  const index = s.path?.[2];
  return { list: `allowLists.${s.tier}`, ...(typeof index === 'number' ? { index } : {}), selector: text };
}

function placements(plan: RenderPlan, labels: Readonly<Record<string, string>>): PlacedMetaCluster[] {
  return plan.metaClusters.filter(
    (p) =>
      (labels[LABEL.bigRegion] ?? p.bigRegion.name) === p.bigRegion.name &&
      (labels[LABEL.region] ?? p.region.name) === p.region.name &&
      (labels[LABEL.metaCluster] ?? p.metaCluster.name) === p.metaCluster.name,
  );
}

function only<T>(values: readonly T[]): T | undefined {
  return new Set(values).size === 1 ? values[0] : undefined;
}

/** Follows `metric{labels}` through the tiers of the plan. Throws on an invalid metric or label name. */
export function explain(
  plan: RenderPlan,
  metric: string,
  labels: Readonly<Record<string, string>> = {},
): ExplainResult {
  const topo = plan.topology;
  if (!METRIC_NAME_RE.test(metric)) throw new Error(`invalid metric name ${JSON.stringify(metric)}`);
  for (const k of Object.keys(labels))
    if (!/^[a-zA-Z_][a-zA-Z0-9_]*$/.test(k)) throw new Error(`invalid label name ${JSON.stringify(k)}`);
  const steps: ExplainStep[] = [];
  const places = placements(plan, labels);

  const cascadeMade = find(cascadeMakes(topo), metric, labels);
  const centralMade = find(centralMakes(topo), metric, labels);
  const definite = (m: Match | undefined) => m !== undefined && m.conditions.length === 0;
  const edgeRule = find(edgeMakes(topo), metric, labels);

  // Edge.
  let fromBelow = true;
  if (places.length === 0) {
    steps.push({
      tier: 'edge',
      status: 'not-reached',
      note: `no meta-cluster of the topology matches the given ${LABEL.bigRegion}/${LABEL.region}/${LABEL.metaCluster}`,
    });
    fromBelow = false;
  } else if (edgeRule === undefined && (definite(cascadeMade) || definite(centralMade))) {
    steps.push({
      tier: 'edge',
      status: 'not-involved',
      note: 'the series is made further up, not at the edge',
    });
    fromBelow = false;
  } else if (edgeRule !== undefined) {
    const r = edgeRule.source.rule;
    steps.push({
      tier: 'edge',
      status: 'recorded',
      by: edgeRule.source.describe,
      ...(r !== undefined ? { rule: { record: r.record, expr: r.expr } } : {}),
      metaClusters: places.map((p) => p.metaCluster.name),
      note: `recorded at the edge by ${edgeRule.source.describe}${r !== undefined ? `: ${r.expr}` : ''}`,
    });
  } else {
    const extra = places.flatMap((p) => p.metaCluster.extraScrapeTargets.map((t) => t.job));
    const known = [...new Set([...plan.facts.edgeJobs, ...extra])].sort();
    const job = labels['job'];
    const jobs = job !== undefined ? [job] : known;
    const note =
      job === undefined
        ? `scraped at the edge if one of its jobs exposes it (${known.join(', ')})`
        : known.includes(job)
          ? `scraped at the edge by job "${job}"`
          : `job "${job}" is not an edge job of these meta-clusters (edge jobs: ${known.join(', ')})`;
    steps.push({
      tier: 'edge',
      status: 'scraped',
      jobs,
      metaClusters: places.map((p) => p.metaCluster.name),
      note,
    });
    if (job !== undefined && !known.includes(job)) fromBelow = false;
  }

  // Cascade.
  let atCascade = false;
  let labelsAtCascade: Record<string, string> = { ...labels };
  if (cascadeMade !== undefined && (definite(cascadeMade) || !fromBelow)) {
    const r = cascadeMade.source.rule;
    steps.push({
      tier: 'cascade',
      status: 'made',
      by: cascadeMade.source.describe,
      ...(r !== undefined ? { rule: { record: r.record, expr: r.expr } } : {}),
      ...(cascadeMade.conditions.length > 0 ? { conditions: fmtConditions(cascadeMade.conditions) } : {}),
      note:
        r !== undefined
          ? `recorded at the cascade by ${cascadeMade.source.describe}: ${r.expr}`
          : `${cascadeMade.source.describe}`,
    });
    atCascade = true;
  } else if (!fromBelow) {
    steps.push({ tier: 'cascade', status: 'not-reached', note: 'nothing below sends this series' });
  } else {
    const kept = find(cascadeKeeps(topo), metric, labels);
    if (kept === undefined) {
      steps.push({
        tier: 'cascade',
        status: 'dropped',
        by: 'allowLists.cascade',
        note: 'dropped at the cascade: no entry of allowLists.cascade (or fedstack system selector) matches',
      });
    } else {
      const added: Record<string, string> = {
        [LABEL.bigRegion]: labels[LABEL.bigRegion] ?? only(places.map((p) => p.bigRegion.name)) ?? PER_EDGE,
        [LABEL.region]: labels[LABEL.region] ?? only(places.map((p) => p.region.name)) ?? PER_EDGE,
        [LABEL.metaCluster]:
          labels[LABEL.metaCluster] ?? only(places.map((p) => p.metaCluster.name)) ?? PER_EDGE,
      };
      const dropped = topo.dropLabels.filter((l) => l in labels);
      const conditions = fmtConditions(kept.conditions);
      const hop = federationHop(
        plan,
        'cascade',
        metric,
        labels,
        { job: JOB.federateEdge, ...added },
        only(places.map((p) => p.bigRegion)),
      );
      const keptBy = `kept by ${kept.source.describe}${conditions.length > 0 ? ` if ${conditions.join(', ')}` : ''}`;
      steps.push({
        tier: 'cascade',
        status: hop.labels === undefined ? 'dropped' : 'kept',
        by: hop.droppedBy?.rule ?? kept.source.describe,
        entry: entryOf(kept.source),
        ...(conditions.length > 0 ? { conditions } : {}),
        labelsAdded: added,
        labelsDropped: dropped,
        rewrites: hop.rewrites,
        note:
          hop.droppedBy !== undefined
            ? `${keptBy}, then dropped at the cascade by ${hop.droppedBy.rule} (${hop.droppedBy.what})`
            : `${keptBy}; ` +
              `relabelled: adds ${Object.entries(added)
                .map(([k, v]) => `${k}=${JSON.stringify(v)}`)
                .join(', ')}` +
              (dropped.length > 0 ? `; drops ${dropped.join(', ')} (dropLabels)` : '; drops no given label') +
              hop.note,
      });
      if (hop.labels !== undefined) {
        labelsAtCascade = hop.labels;
        atCascade = true;
      }
    }
  }

  // Central.
  let reaches = false;
  let labelsAtCentral: Record<string, string> = { ...labels };
  if (centralMade !== undefined && (definite(centralMade) || !atCascade)) {
    const r = centralMade.source.rule;
    steps.push({
      tier: 'central',
      status: 'made',
      by: centralMade.source.describe,
      ...(r !== undefined ? { rule: { record: r.record, expr: r.expr } } : {}),
      ...(centralMade.conditions.length > 0 ? { conditions: fmtConditions(centralMade.conditions) } : {}),
      note:
        r !== undefined
          ? `recorded at central by ${centralMade.source.describe}: ${r.expr}`
          : centralMade.source.describe,
    });
    reaches = true;
  } else if (!atCascade) {
    steps.push({
      tier: 'central',
      status: 'not-reached',
      note: 'the cascade does not have this series, so central cannot federate it',
    });
  } else {
    const kept = find(centralKeeps(topo), metric, labelsAtCascade);
    if (kept === undefined) {
      steps.push({
        tier: 'central',
        status: 'dropped',
        by: 'allowLists.central',
        note: 'dropped at central: no entry of allowLists.central (or fedstack system selector) matches',
      });
    } else {
      const conditions = fmtConditions(kept.conditions);
      const bigRegion =
        labelsAtCascade[LABEL.bigRegion] ?? only(places.map((p) => p.bigRegion.name)) ?? PER_EDGE;
      const hop = federationHop(plan, 'central', metric, labelsAtCascade, {
        job: JOB.federateCascade,
        [LABEL.bigRegion]: bigRegion,
      });
      const vm = topo.central.victoriaMetrics;
      // Backend victoriametrics: no central scrape; the cascade's remote_write is the hop, and
      // its write_relabel_configs run the allow-list, then central's relabel rules.
      const via =
        topo.central.backend === 'victoriametrics' && vm !== undefined
          ? ` (shipped by the cascade's remote_write to VictoriaMetrics at ${vm.endpoint}; its write_relabel_configs apply the allow-list, then central's relabel rules)`
          : '';
      const keptBy = `kept by ${kept.source.describe}${conditions.length > 0 ? ` if ${conditions.join(', ')}` : ''}${via}`;
      steps.push({
        tier: 'central',
        status: hop.labels === undefined ? 'dropped' : 'kept',
        by: hop.droppedBy?.rule ?? kept.source.describe,
        entry: entryOf(kept.source),
        ...(conditions.length > 0 ? { conditions } : {}),
        rewrites: hop.rewrites,
        note:
          hop.droppedBy !== undefined
            ? `${keptBy}, then dropped at central by ${hop.droppedBy.rule} (${hop.droppedBy.what})`
            : `${keptBy}${hop.note}`,
      });
      if (hop.labels !== undefined) {
        labelsAtCentral = hop.labels;
        reaches = true;
      }
    }
  }

  const result: ExplainResult = { metric, labels: { ...labels }, steps, reachesCentral: reaches };
  if (reaches) {
    const sorted = Object.keys(labelsAtCentral)
      .sort()
      .map((k) => ({ name: k, type: '=' as const, value: labelsAtCentral[k]! }));
    return {
      ...result,
      atCentral: formatSelector([{ name: '__name__', type: '=', value: metric }, ...sorted]),
      labelsAtCentral: { __name__: metric, ...labelsAtCentral },
    };
  }
  return result;
}

interface HopResult {
  /** The series' labels after the hop (`__name__` left out), or undefined when a rule dropped it. */
  readonly labels: Record<string, string> | undefined;
  readonly rewrites: RewriteHop[];
  readonly droppedBy?: RewriteHop;
  /** `; rewritten by relabel.cascade[0], …` for the step's note ('' when no rule changed anything). */
  readonly note: string;
}

const quoteLabel = (k: string, v: string) => `${k}=${JSON.stringify(v)}`;

function changesBetween(
  before: Readonly<Record<string, string>>,
  after: Readonly<Record<string, string>>,
): string[] {
  const out: string[] = [];
  for (const [k, v] of Object.entries(before))
    if (!(k in after)) out.push(`removed ${quoteLabel(k, v)}`);
    else if (after[k] !== v) out.push(`changed ${k} ${JSON.stringify(v)} → ${JSON.stringify(after[k])}`);
  for (const [k, v] of Object.entries(after)) if (!(k in before)) out.push(`added ${quoteLabel(k, v)}`);
  return out;
}

/**
 * One federation hop, run with the configs fedstack renders for it: the target labels (after
 * the hop's relabel_configs) under the series' own (honor_labels), then fedstack's own metric
 * relabelling and each of the topology's rules in order, noting what each one changed.
 */
function federationHop(
  plan: RenderPlan,
  tier: RelabelTier,
  metric: string,
  series: Readonly<Record<string, string>>,
  target: Readonly<Record<string, string>>,
  bigRegion?: BigRegion,
): HopResult {
  const topo = plan.topology;
  // A cascade's rules are its big region's; not knowing which, only the fleet-wide ones are sure.
  const chain =
    tier === 'central' || bigRegion !== undefined
      ? relabelChain(topo, tier, bigRegion)
      : relabelChain(topo, tier).filter((p) => p.scope.kind === 'fleet');
  const rewrites: RewriteHop[] = [];
  const hopOf = (p: PlacedRule, changes: string[]): RewriteHop => ({
    rule: formatPath(p.path),
    what: describeRule(p.rule),
    changes,
  });
  let targetLabels: Record<string, string> = { ...target };
  const compiled = chain.map((p) => ({ p, c: compilePlacedRule(p) }));
  for (const { p, c } of compiled) {
    if (c.target.length === 0) continue;
    const after = applyRelabel(targetLabels, c.target) ?? targetLabels;
    const changes = changesBetween(targetLabels, after).map((x) => `${x} (target label)`);
    // honor_labels: a label the series has itself beats the target's.
    const beaten = Object.keys(after).filter((k) => after[k] !== targetLabels[k] && series[k] !== undefined);
    if (beaten.length > 0) changes.push(`the series' own ${beaten.join(', ')} kept (honor_labels)`);
    if (changes.length > 0) rewrites.push(hopOf(p, changes));
    targetLabels = after;
  }
  const ownJob = tier === 'cascade' ? JOB.federateEdge : JOB.federateCascade;
  const fedstack = [
    dropFederationJobLabel(ownJob),
    ...(tier === 'cascade' ? dropLabelsConfig(topo.dropLabels) : []),
  ];
  let cur = applyRelabel({ ...targetLabels, ...series, __name__: metric }, fedstack)!;
  for (const { p, c } of compiled) {
    if (c.metric.length === 0) continue;
    const after = applyRelabel(cur, c.metric);
    if (after === undefined) {
      const droppedBy = hopOf(p, ['dropped the series']);
      return { labels: undefined, rewrites: [...rewrites, droppedBy], droppedBy, note: '' };
    }
    const changes = changesBetween(cur, after);
    if (changes.length > 0) rewrites.push(hopOf(p, changes));
    cur = after;
  }
  const { __name__: _, ...labels } = cur;
  const perEdge = chain
    .filter((p) => p.guard !== undefined && target[p.guard.label] === PER_EDGE)
    .map((p) => formatPath(p.path));
  const note =
    (rewrites.length > 0 ? `; rewritten by ${rewrites.map((r) => r.rule).join(', ')}` : '') +
    (perEdge.length > 0
      ? `; rules that depend on the edge (${[...new Set(perEdge)].join(', ')}) are not followed: give ${LABEL.metaCluster}=`
      : '');
  return { labels, rewrites, note };
}

/** Human-readable answer: one line per tier, then the verdict. */
export function formatExplain(r: ExplainResult): string {
  const lines = [
    formatSelector([
      { name: '__name__', type: '=', value: r.metric },
      ...Object.entries(r.labels).map(([name, value]) => ({ name, type: '=' as const, value })),
    ]),
  ];
  for (const s of r.steps) {
    lines.push(`  ${s.tier.padEnd(8)} ${s.status.padEnd(13)} ${s.note}`);
    for (const h of s.rewrites ?? [])
      lines.push(`${' '.repeat(25)}${h.rule} ${h.what}: ${h.changes.join(', ')}`);
  }
  const conditions = [...new Set(r.steps.flatMap((s) => s.conditions ?? []))];
  const onlyIf = conditions.length > 0 ? ` only if ${conditions.join(', ')}` : '';
  lines.push(
    r.reachesCentral ? `  => reaches central${onlyIf} as ${r.atCentral}` : '  => does not reach central',
  );
  return `${lines.join('\n')}\n`;
}

/** `a=b` arguments → labels; throws on a malformed one. */
export function parseLabelArgs(args: readonly string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const a of args) {
    const m = /^([a-zA-Z_][a-zA-Z0-9_]*)=(.*)$/s.exec(a);
    if (m === null) throw new Error(`invalid label ${JSON.stringify(a)} (want name=value)`);
    out[m[1]!] = m[2]!.replace(/^"(.*)"$/s, '$1');
  }
  return out;
}
