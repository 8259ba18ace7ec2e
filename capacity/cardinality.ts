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
  const by = new RegExp(`\\b(?:${AGGREGATORS})\\s+by\\s*\\(([^)]*)\\)`).exec(expr);
  if (by === null) {
    // `without` keeps unknown labels: count it as the ungrouped input's worth, i.e. unknown → 1
    // per aggregation; a bare aggregation or a scalar/vector() is one series.
    return 1;
  }
  let labels = by[1]!
    .split(',')
    .map((l) => l.trim())
    .filter((l) => l !== '');
  if (/\bhistogram_quantile\s*\(/.test(expr)) labels = labels.filter((l) => l !== 'le');
  const finest = HIERARCHY.find((h) => labels.includes(h));
  let n = finest === undefined ? 1 : cardinality(finest);
  for (const l of labels) if (!(HIERARCHY as readonly string[]).includes(l)) n *= cardinality(l);
  return n;
}
