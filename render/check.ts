/**
 * Checks that need rendered outputs, run on the plan: the allow-list closure over central's
 * meta-alerts and the dashboards' queries (topology/closure.ts has the reach logic; the plan
 * supplies what reads at central, so topology/ needs no tier or dashboard code).
 */
import { ALL_VALUES, interpolate, type PanelQuery } from '../dashboards/index.ts';
import { checkClosure, type CentralReader } from '../topology/closure.ts';
import type { TopologyIssue } from '../topology/errors.ts';
import type { AlertRule } from '../topology/model.ts';
import type { RenderPlan } from './plan.ts';

export function metaAlertReaders(rules: readonly AlertRule[]): CentralReader[] {
  return rules.map((r) => ({ what: `central meta-alert "${r.alert}"`, expr: r.expr }));
}

export function dashboardReaders(queries: readonly PanelQuery[]): CentralReader[] {
  return queries.map((q) => ({
    what: `dashboard "${q.dashboard}" ${q.kind === 'variable' ? q.panel : `panel "${q.panel}"`}`,
    // Variables set to All: the metric names, which are what the check is about, do not depend on them.
    expr: interpolate(q.expr, ALL_VALUES),
  }));
}

/** What reads series at central besides the topology's own rules. */
export function centralReaders(plan: RenderPlan): CentralReader[] {
  return [...metaAlertReaders(plan.facts.metaAlertRules), ...dashboardReaders(plan.facts.panelQueries)];
}

export function checkPlan(plan: RenderPlan): TopologyIssue[] {
  return checkClosure(plan.topology, centralReaders(plan));
}
