/**
 * How many series a recording rule produces, estimated from its outermost `by (...)` grouping:
 * the product of each grouping label's cardinality, where the topology labels form a
 * hierarchy (cluster_id ⊂ meta_cluster ⊂ region ⊂ big_region) and only the finest one counts.
 * Heuristic, but exact for fedstack's default rules.
 */
import { LABEL } from '../common/conventions.ts';

/** Hierarchy labels, finest first. */
const HIERARCHY = [LABEL.clusterId, LABEL.metaCluster, LABEL.region, LABEL.bigRegion] as const;
const AGGREGATORS = 'sum|avg|min|max|count|group|stddev|stdvar|topk|bottomk|quantile|count_values';

export type LabelCardinality = (label: string) => number;

export function ruleSeries(expr: string, cardinality: LabelCardinality): number {
  const labels = groupingLabels(expr);
  return labels === undefined ? 1 : seriesOf(labels, cardinality);
}

/**
 * The labels of the outermost `by (...)` grouping (histogram_quantile's `le` left out), or
 * undefined when there is none: `without` keeps unknown labels, a bare aggregation or a
 * scalar/vector() is one series.
 */
export function groupingLabels(expr: string): string[] | undefined {
  const by = new RegExp(`\\b(?:${AGGREGATORS})\\s+by\\s*\\(([^)]*)\\)`).exec(expr);
  if (by === null) return undefined;
  const labels = by[1]!
    .split(',')
    .map((l) => l.trim())
    .filter((l) => l !== '');
  return /\bhistogram_quantile\s*\(/.test(expr) ? labels.filter((l) => l !== 'le') : labels;
}

/** Series with these labels: the finest hierarchy label's cardinality times each other label's. */
export function seriesOf(labels: readonly string[], cardinality: LabelCardinality): number {
  const finest = HIERARCHY.find((h) => labels.includes(h));
  let n = finest === undefined ? 1 : cardinality(finest);
  for (const l of labels) if (!(HIERARCHY as readonly string[]).includes(l)) n *= cardinality(l);
  return n;
}
