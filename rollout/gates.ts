/**
 * Health gates: what says a wave did no harm. Each is PromQL evaluated at central (an edge's
 * and a cascade's health as central sees it, one sample per instance by its label), or at the
 * central replica itself for central waves, plus the sidecar's own report (applied revision,
 * promtool, /-/reload). The plan file may switch a gate off, change its expression or its
 * threshold, or add its own.
 *
 * Every gate is judged against the same instance before the wave (its baseline), so an edge
 * that was already down does not fail a wave, and ratios are corrected by the drift of the
 * instances not yet rolled (if series fall fleet-wide, the wave did not do it). Pure: readings
 * come in, verdicts go out; rollout/central.ts does the querying.
 */
import { HEARTBEAT_METRIC, JOB, LABEL } from '../common/conventions.ts';
import { parseDuration } from '../common/duration.ts';
import { federationTimeout } from '../common/scrape.ts';
import { centralReaders } from '../render/check.ts';
import type { RenderPlan } from '../render/plan.ts';
import { metricNames } from '../topology/promql.ts';
import { INSTANCE_LABEL, type Tier } from './instances.ts';

export type GateCheck =
  /** value ≥ value */
  | { readonly kind: 'atLeast'; readonly value: number }
  /** value < value */
  | { readonly kind: 'below'; readonly value: number }
  /** value / baseline (corrected by the unrolled instances' drift) within [min, max] (no max: unbounded) */
  | { readonly kind: 'ratio'; readonly min: number; readonly max?: number }
  /** value ≤ baseline + tolerance */
  | { readonly kind: 'noIncrease'; readonly tolerance: number }
  /** every name present (fresh) at baseline is still present: the closure check in effect */
  | { readonly kind: 'stillPresent' }
  /** no label value (alert name) that neither the baseline nor an unrolled instance has */
  | { readonly kind: 'noNew' }
  /** the sidecar applied the assigned revision, promtool and the reload succeeded */
  | { readonly kind: 'sidecar' };

export interface Gate {
  readonly name: string;
  readonly tier: Tier;
  /**
   * PromQL. Edges and cascades: evaluated at central, one sample per instance labelled with
   * INSTANCE_LABEL[tier] (noNew: one per instance and `alertname`). Central: evaluated at each
   * replica. stillPresent: a template, `$metric` stands for each name in `metrics`.
   */
  readonly expr: string;
  readonly check: GateCheck;
  /** stillPresent: the metric names central's rules and dashboards read. */
  readonly metrics?: readonly string[];
  /** Why the gate exists, for status. */
  readonly about: string;
}

export const gateKey = (g: Pick<Gate, 'tier' | 'name'>): string => `${g.tier}:${g.name}`;

/** The names of the default gates (every tier has each, unless it has no data for it). */
export const GATE_NAMES = [
  'sidecar',
  'reload',
  'federation-up',
  'edges-up',
  'rule-failures',
  'series',
  'federated-series',
  'scrape-duration',
  'sample-limit',
  'closure',
  'firing-alerts',
] as const;

/** Alerts that say nothing about a wave: the pipeline's proof of life and the rollout's own. */
const IGNORED_ALERTS = 'Watchdog|FedstackRollout.*';

/** The default ratio band for series counts: the issue's "not −20% / +50%". */
export const SERIES_BAND = { min: 0.8, max: 1.5 } as const;

/**
 * The default gates of a revision's plan. Windows and thresholds come from the topology:
 * rates over four of the slowest interval, freshness within the federation lag budget,
 * scrape duration under 80% of the scraping tier's timeout, samples under its sample_limit.
 */
export function defaultGates(plan: RenderPlan): Gate[] {
  const topo = plan.topology;
  const g = topo.global;
  const slowest = Math.max(
    ...[g.edge, g.cascade, g.central].flatMap((t) => [
      parseDuration(t.scrapeInterval),
      parseDuration(t.evaluationInterval),
    ]),
  );
  const window = `${Math.max(4, Math.ceil((4 * slowest) / 1000))}s`;
  const fresh = Math.ceil(plan.facts.lag.staleAfterMs / 1000);
  const timeout = (t: typeof g.cascade) =>
    federationTimeout(
      parseDuration(t.scrapeInterval),
      t.scrapeTimeout === undefined ? undefined : parseDuration(t.scrapeTimeout),
    ) / 1000;
  const metrics = closureMetrics(plan);
  const self = `job="${JOB.self}"`;
  const alerts = `ALERTS{alertstate="firing",alertname!~"${IGNORED_ALERTS}"}`;

  const sidecar = (tier: Tier): Gate => ({
    name: 'sidecar',
    tier,
    expr: 'the sidecar heartbeat: revision applied, promtool check config, POST /-/reload',
    check: { kind: 'sidecar' },
    about: 'the instance runs the assigned revision: promtool accepted it and Prometheus reloaded it',
  });

  const gates: Gate[] = [];
  for (const tier of ['edge', 'cascade'] as const) {
    const by = INSTANCE_LABEL[tier];
    // An edge's own series at central carry its meta_cluster; a cascade's own have none.
    const own = tier === 'edge' ? `${self},${LABEL.metaCluster}!=""` : `${self},${LABEL.metaCluster}=""`;
    const federateJob = tier === 'edge' ? JOB.federateEdge : JOB.federateCascade;
    const scraper = tier === 'edge' ? g.cascade : g.central;
    gates.push(
      sidecar(tier),
      {
        name: 'reload',
        tier,
        expr: `min by (${by}) (prometheus_config_last_reload_successful{${own}})`,
        check: { kind: 'atLeast', value: 1 },
        about: 'Prometheus took the last config it was given (prometheus_config_last_reload_successful)',
      },
      {
        name: 'federation-up',
        tier,
        expr: `min by (${by}) (up{job="${federateJob}"})`,
        check: { kind: 'atLeast', value: 1 },
        about: `the ${tier === 'edge' ? "cascade's" : "central's"} federation scrape of the instance succeeds`,
      },
      ...(tier === 'cascade'
        ? [
            {
              name: 'edges-up',
              tier,
              expr: `avg by (${by}) (up{job="${JOB.federateEdge}"})`,
              check: { kind: 'ratio', min: 0.9 } as const,
              about: 'the cascade still federates its edges (the share of them up)',
            },
          ]
        : []),
      {
        name: 'rule-failures',
        tier,
        expr: `sum by (${by}) (rate(prometheus_rule_evaluation_failures_total{${own}}[${window}]))`,
        check: { kind: 'noIncrease', tolerance: 0 },
        about: 'no more rule evaluation failures than before the wave',
      },
      {
        name: 'series',
        tier,
        expr: `sum by (${by}) (prometheus_tsdb_head_series{${own}})`,
        check: { kind: 'ratio', ...SERIES_BAND },
        about: 'head series at the instance within −20%/+50% of before (the head drops series only at its GC)',
      },
      {
        name: 'federated-series',
        tier,
        expr: `sum by (${by}) (scrape_samples_post_metric_relabeling{job="${federateJob}"})`,
        check: { kind: 'ratio', ...SERIES_BAND },
        about: 'series the instance hands upstream within −20%/+50% of before',
      },
      {
        name: 'scrape-duration',
        tier,
        expr: `max by (${by}) (scrape_duration_seconds{job="${federateJob}"})`,
        check: { kind: 'below', value: round(0.8 * timeout(scraper)) },
        about: `its federation scrape takes under 80% of the ${timeout(scraper)}s timeout`,
      },
      ...(scraper.sampleLimit > 0
        ? [
            {
              name: 'sample-limit',
              tier,
              expr: `max by (${by}) (scrape_samples_scraped{job="${federateJob}"})`,
              check: { kind: 'below', value: scraper.sampleLimit } as const,
              about: `its federation scrape stays under the sample_limit of ${scraper.sampleLimit} (over it, the whole scrape fails)`,
            },
          ]
        : []),
      {
        name: 'closure',
        tier,
        expr: `count by (${by}) (timestamp($metric) > time() - ${fresh})`,
        check: { kind: 'stillPresent' },
        metrics,
        about: `every central rule and dashboard query still answers for the instance: each metric they read that had fresh data (under ${fresh}s old) before the wave still has`,
      },
      {
        name: 'firing-alerts',
        tier,
        expr: `count by (${by}, alertname) (${alerts})`,
        check: { kind: 'noNew' },
        about: 'no alert fires for the instance that did not fire before the wave and fires for no unrolled instance',
      },
    );
  }

  // Central replicas are judged at themselves: their own series carry no big_region.
  const own = `${self},${LABEL.bigRegion}=""`;
  gates.push(
    sidecar('central'),
    {
      name: 'reload',
      tier: 'central',
      expr: `min(prometheus_config_last_reload_successful{${own}})`,
      check: { kind: 'atLeast', value: 1 },
      about: 'the replica took the last config it was given',
    },
    {
      name: 'federation-up',
      tier: 'central',
      expr: `min(up{job="${JOB.federateCascade}"})`,
      check: { kind: 'atLeast', value: 1 },
      about: 'the replica federates every cascade',
    },
    {
      name: 'rule-failures',
      tier: 'central',
      expr: `sum(rate(prometheus_rule_evaluation_failures_total{${own}}[${window}]))`,
      check: { kind: 'noIncrease', tolerance: 0 },
      about: 'no more rule evaluation failures than before the wave',
    },
    {
      name: 'series',
      tier: 'central',
      expr: `sum(prometheus_tsdb_head_series{${own}})`,
      check: { kind: 'ratio', ...SERIES_BAND },
      about: 'head series of the replica within −20%/+50% of before',
    },
    {
      name: 'scrape-duration',
      tier: 'central',
      expr: `max(scrape_duration_seconds{job="${JOB.federateCascade}"})`,
      check: { kind: 'below', value: round(0.8 * timeout(g.central)) },
      about: `its federation scrapes take under 80% of the ${timeout(g.central)}s timeout`,
    },
    {
      name: 'closure',
      tier: 'central',
      expr: `count(timestamp($metric) > time() - ${fresh})`,
      check: { kind: 'stillPresent' },
      metrics,
      about: `every central rule and dashboard query still answers at the replica (fresh data under ${fresh}s old)`,
    },
    {
      name: 'firing-alerts',
      tier: 'central',
      expr: `count by (alertname) (${alerts})`,
      check: { kind: 'noNew' },
      about: 'no alert fires at the replica that did not before the wave and does not at the other replica',
    },
  );
  return gates;
}

const round = (x: number) => Math.round(x * 1000) / 1000;

/**
 * What central's rules and dashboards read (the closure check's readers: central recording and
 * alert rules, meta-alerts, panels), and what central's own rules record. ALERTS and the
 * heartbeat are left out: the first is judged by firing-alerts, the second by federation-up.
 */
function closureMetrics(plan: RenderPlan): string[] {
  const topo = plan.topology;
  const exprs = [
    ...centralReaders(plan).map((r) => r.expr),
    ...topo.recordingRules.central.map((r) => r.expr),
    ...topo.alertRules.map((r) => r.expr),
  ];
  const names = new Set([...exprs.flatMap(metricNames), ...topo.recordingRules.central.map((r) => r.record)]);
  for (const n of ['ALERTS', 'ALERTS_FOR_STATE', HEARTBEAT_METRIC]) names.delete(n);
  return [...names].sort();
}

/** A gate's expression for one metric of a stillPresent gate. */
export const closureExpr = (gate: Gate, metric: string): string => gate.expr.replaceAll('$metric', metric);

/** A value a gate read for an instance: a number, or label values (closure names, alert names). */
export type GateValue = number | readonly string[];

export interface Verdict {
  readonly ok: boolean;
  /** What was seen against what was wanted, e.g. "0.41 (baseline 1, band 0.8-1.5)". */
  readonly detail: string;
}

/** How the instances not yet rolled moved since the wave began (ratio gates, noNew). */
export interface Control {
  /** Median before the wave and now (ratio gates). */
  readonly before?: number;
  readonly now?: number;
  /** Label values any unrolled instance has now (noNew). */
  readonly labels?: ReadonlySet<string>;
}

const fmt = (v: number) =>
  Number.isInteger(v) ? String(v) : Math.abs(v) >= 100 ? v.toFixed(0) : String(Number(v.toPrecision(3)));

/**
 * A gate's verdict on one instance: `now` against its `baseline` (undefined when the instance
 * had no data before the wave) and the unrolled instances. A threshold the instance already
 * missed before the wave is not the wave's doing, so only a regression fails.
 */
export function judge(
  check: GateCheck,
  now: GateValue | undefined,
  baseline: GateValue | undefined,
  control: Control = {},
): Verdict {
  switch (check.kind) {
    case 'sidecar':
      throw new Error('the sidecar gate is judged from heartbeats, not from readings');
    case 'atLeast':
    case 'below': {
      const pass = (v: number) => (check.kind === 'atLeast' ? v >= check.value : v < check.value);
      const want = `${check.kind === 'atLeast' ? '≥' : '<'} ${fmt(check.value)}`;
      if (typeof now !== 'number') {
        return typeof baseline === 'number'
          ? { ok: false, detail: `no data (was ${fmt(baseline)}; want ${want})` }
          : { ok: true, detail: 'no data, none before the wave either' };
      }
      if (pass(now)) return { ok: true, detail: `${fmt(now)} (want ${want})` };
      if (typeof baseline === 'number' && !pass(baseline))
        return { ok: true, detail: `${fmt(now)}, already ${fmt(baseline)} before the wave (want ${want})` };
      return { ok: false, detail: `${fmt(now)} (want ${want})` };
    }
    case 'ratio': {
      const band = `${fmt(check.min)}-${check.max === undefined ? '∞' : fmt(check.max)}`;
      if (typeof baseline !== 'number' || baseline === 0)
        return { ok: true, detail: `${typeof now === 'number' ? fmt(now) : 'no data'} (no baseline)` };
      if (typeof now !== 'number') return { ok: false, detail: `no data (baseline ${fmt(baseline)})` };
      const drift =
        control.before !== undefined && control.now !== undefined && control.before > 0 && control.now > 0
          ? control.now / control.before
          : 1;
      const ratio = now / baseline / drift;
      const ok = ratio >= check.min && (check.max === undefined || ratio <= check.max);
      return {
        ok,
        detail: `${fmt(now)} = ${fmt(ratio)}× baseline ${fmt(baseline)}${drift !== 1 ? ` (unrolled drift ${fmt(drift)}×)` : ''} (band ${band})`,
      };
    }
    case 'noIncrease': {
      if (typeof now !== 'number') return { ok: true, detail: 'no data' };
      const base = typeof baseline === 'number' ? baseline : 0;
      const ok = now <= base + check.tolerance + 1e-12;
      return { ok, detail: `${fmt(now)} (baseline ${fmt(base)})` };
    }
    case 'stillPresent': {
      const before = Array.isArray(baseline) ? baseline : [];
      const present = new Set(Array.isArray(now) ? now : []);
      const missing = before.filter((m) => !present.has(m));
      return missing.length === 0
        ? { ok: true, detail: `${before.length} metric(s) answering` }
        : { ok: false, detail: `no fresh data for ${missing.join(', ')}` };
    }
    case 'noNew': {
      const before = new Set(Array.isArray(baseline) ? baseline : []);
      const fresh = (Array.isArray(now) ? now : []).filter(
        (a) => !before.has(a) && !(control.labels?.has(a) ?? false),
      );
      return fresh.length === 0
        ? { ok: true, detail: 'no new alerts' }
        : { ok: false, detail: `new firing alert(s): ${fresh.join(', ')}` };
    }
  }
}

/** A gate's check in words, for status: "≥ 1", "< 8", "0.8×-1.5× baseline", ... */
export function describeCheck(check: GateCheck): string {
  switch (check.kind) {
    case 'atLeast':
      return `≥ ${fmt(check.value)}`;
    case 'below':
      return `< ${fmt(check.value)}`;
    case 'ratio':
      return `${fmt(check.min)}×-${check.max === undefined ? '∞' : `${fmt(check.max)}×`} baseline`;
    case 'noIncrease':
      return check.tolerance === 0 ? 'no increase' : `≤ baseline + ${fmt(check.tolerance)}`;
    case 'stillPresent':
      return 'every metric present before still present';
    case 'noNew':
      return 'no newly firing alert';
    case 'sidecar':
      return 'assigned revision applied, promtool ok, reload ok';
  }
}
