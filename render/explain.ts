/**
 * explain: follows one series edge → cascade → central and says, tier by tier, whether it is scraped or recorded, kept or dropped (by which
 * allow-list entry), and which labels the cascade adds or drops. It answers "why is my panel
 * empty?" with the same selector logic the closure check uses (topology/closure.ts).
 *
 * Labels you do not give are unknown: an entry that constrains one of them keeps the series
 * only under that condition, and the answer says so instead of guessing.
 */
import { LABEL } from '../common/conventions.ts';
import { METRIC_NAME_RE } from '../topology/schema.ts';
import type { PlacedMetaCluster } from '../topology/model.ts';
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
  readonly note: string;
}

export interface ExplainResult {
  readonly metric: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly steps: readonly ExplainStep[];
  readonly reachesCentral: boolean;
  /** The series as central stores it, when it gets there. */
  readonly atCentral?: string;
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
      steps.push({
        tier: 'cascade',
        status: 'kept',
        by: kept.source.describe,
        entry: entryOf(kept.source),
        ...(conditions.length > 0 ? { conditions } : {}),
        labelsAdded: added,
        labelsDropped: dropped,
        note:
          `kept by ${kept.source.describe}${conditions.length > 0 ? ` if ${conditions.join(', ')}` : ''}; ` +
          `relabelled: adds ${Object.entries(added)
            .map(([k, v]) => `${k}=${JSON.stringify(v)}`)
            .join(', ')}` +
          (dropped.length > 0 ? `; drops ${dropped.join(', ')} (dropLabels)` : '; drops no given label'),
      });
      labelsAtCascade = {
        ...Object.fromEntries(Object.entries(labels).filter(([k]) => !dropped.includes(k))),
        ...added,
      };
      atCascade = true;
    }
  }

  // Central.
  let reaches = false;
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
    labelsAtCascade = { ...labels };
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
      steps.push({
        tier: 'central',
        status: 'kept',
        by: kept.source.describe,
        entry: entryOf(kept.source),
        ...(conditions.length > 0 ? { conditions } : {}),
        note: `kept by ${kept.source.describe}${conditions.length > 0 ? ` if ${conditions.join(', ')}` : ''}`,
      });
      reaches = true;
    }
  }

  const result: ExplainResult = { metric, labels: { ...labels }, steps, reachesCentral: reaches };
  if (reaches) {
    const sorted = Object.keys(labelsAtCascade)
      .sort()
      .map((k) => ({ name: k, type: '=' as const, value: labelsAtCascade[k]! }));
    return {
      ...result,
      atCentral: formatSelector([{ name: '__name__', type: '=', value: metric }, ...sorted]),
    };
  }
  return result;
}

/** Human-readable answer: one line per tier, then the verdict. */
export function formatExplain(r: ExplainResult): string {
  const lines = [
    formatSelector([
      { name: '__name__', type: '=', value: r.metric },
      ...Object.entries(r.labels).map(([name, value]) => ({ name, type: '=' as const, value })),
    ]),
  ];
  for (const s of r.steps) lines.push(`  ${s.tier.padEnd(8)} ${s.status.padEnd(13)} ${s.note}`);
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
