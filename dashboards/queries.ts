/**
 * The queries fedstack's dashboards run, as data: which dashboard and panel, the PromQL with
 * its Grafana variables, and how to substitute real values so the e2e stack (and the closure
 * check) can run or analyse each one exactly as Grafana would.
 */
import { JOB, LABEL } from '../common/conventions.ts';
import type { Topology } from '../topology/model.ts';

/** One query of a dashboard: a panel target, or a template variable (as equivalent PromQL). */
export interface PanelQuery {
  /** Dashboard uid, e.g. `fedstack-global`. */
  readonly dashboard: string;
  readonly dashboardTitle: string;
  /** Panel title, or `variable $region` for a template variable. */
  readonly panel: string;
  readonly kind: 'panel' | 'variable';
  readonly refId: string;
  /**
   * PromQL as Grafana sends it before interpolation (`$big_region` etc. unresolved). For a
   * variable, the PromQL equivalent of its `label_values(selector, label)`:
   * `group by (label) (selector)`, which returns one series per value.
   */
  readonly expr: string;
  /** The variable's Grafana query text (`label_values(...)`); undefined for panels. */
  readonly grafanaQuery: string | undefined;
  /** Instant (table, stat) or range (time series) query. */
  readonly instant: boolean;
  /**
   * Why this query may legitimately return no series on a healthy stack (e.g. "no alert is
   * firing"); undefined when an empty answer means something is broken.
   */
  readonly mayBeEmpty: string | undefined;
}

/** Values for Grafana variables: one value, several (multi-select), or `$__all`. */
export type VariableValues = Readonly<Record<string, string | readonly string[]>>;

/** Grafana's value for "All" when the variable has allValue set; panel matchers then use `=~".*"`. */
export const ALL = '$__all';
/** allValue of every chained variable: `.*` also accepts series that lack the label (e.g. meta-alerts). */
export const ALL_VALUE = '.*';

/** Built-in Grafana interval variables, with the values the e2e run uses. */
const BUILTINS: Readonly<Record<string, string>> = {
  __rate_interval: '2m',
  __interval: '1m',
  __range: '1h',
  __range_s: '3600',
};

/**
 * Substitutes Grafana variables (`$name`, `${name}`, `${name:regex}`, `[[name]]`) the way the
 * Prometheus datasource does for regex matchers: each value regex-escaped, several joined as
 * `(a|b)`, `$__all` replaced by allValue. Unknown variables are left as they are.
 */
export function interpolate(expr: string, values: VariableValues): string {
  return expr.replace(/\$\{(\w+)(?::\w+)?\}|\$(\w+)|\[\[(\w+)\]\]/g, (whole, a?: string, b?: string, c?: string) => {
    const name = (a ?? b ?? c)!;
    const builtin = BUILTINS[name];
    if (builtin !== undefined) return builtin;
    const v = values[name];
    if (v === undefined) return whole;
    if (v === ALL || (Array.isArray(v) && v.includes(ALL))) return ALL_VALUE;
    if (typeof v === 'string') return regexEscape(v);
    const list = v as readonly string[];
    return list.length === 1 ? regexEscape(list[0]!) : `(${list.map(regexEscape).join('|')})`;
  });
}

/**
 * Grafana's Prometheus regex escaping: a backslash before each regex metacharacter, written
 * doubled because the value lands inside a PromQL double-quoted string.
 */
function regexEscape(v: string): string {
  return v.replace(/\\/g, '\\\\\\\\').replace(/[$^*{}[\]'+?.()|]/g, '\\\\$&');
}

/**
 * Real variable values from the topology: the first big region, its first region and that
 * region's first meta-cluster, so every drill-down query selects something that exists.
 */
export function exampleVariableValues(topo: Topology): Record<string, string> {
  const br = topo.bigRegions[0]!;
  const region = br.regions[0]!;
  return {
    [LABEL.bigRegion]: br.name,
    [LABEL.region]: region.name,
    [LABEL.metaCluster]: region.metaClusters[0]!.name,
  };
}

/** Every chained variable set to All. */
export const ALL_VALUES: VariableValues = {
  [LABEL.bigRegion]: ALL,
  [LABEL.region]: ALL,
  [LABEL.metaCluster]: ALL,
};

// Label filters panel queries put inside {...}; multi/All variables need `=~`.
export const F_BIG_REGION = `${LABEL.bigRegion}=~"$${LABEL.bigRegion}"`;
export const F_REGION = `${F_BIG_REGION}, ${LABEL.region}=~"$${LABEL.region}"`;
export const F_META_CLUSTER = `${F_REGION}, ${LABEL.metaCluster}=~"$${LABEL.metaCluster}"`;

/**
 * The series the chained variables read their values from. The federation job's `up` is always
 * at central (SYSTEM_SELECTORS), carries big_region/region/meta_cluster as target labels, and
 * keeps a dead edge in the drop-down (up = 0) where its own series would have gone stale.
 */
export const VARIABLE_SOURCE = `up{job="${JOB.federateEdge}"}`;

export function withFilter(selectorWithoutBraces: string, filter: string): string {
  return selectorWithoutBraces.endsWith('}')
    ? `${selectorWithoutBraces.slice(0, -1)}, ${filter}}`
    : `${selectorWithoutBraces}{${filter}}`;
}
