/**
 * Runs every dashboard query against a live Prometheus (a central replica) the way Grafana
 * would, with the variables set to real values: the e2e proof that no panel is empty or broken.
 * Not a renderer: it does HTTP, and takes `fetch` as a parameter for that reason.
 */
import type { Topology } from '../topology/model.ts';
import { panelQueries } from './index.ts';
import { exampleVariableValues, interpolate, type PanelQuery, type VariableValues } from './queries.ts';

export interface QueryOutcome {
  readonly query: PanelQuery;
  /** The PromQL actually sent (variables substituted). */
  readonly expr: string;
  /** Series (or scalar/string: 1) in the answer; 0 when empty or failed. */
  readonly series: number;
  /** Prometheus' error, or the transport error, when the query failed. */
  readonly error: string | undefined;
  /** Failed, or empty without a reason to be (see PanelQuery.mayBeEmpty). */
  readonly problem: string | undefined;
}

export interface RunPanelQueriesOptions {
  /** Base URL of the Prometheus HTTP API, e.g. `http://127.0.0.1:9090`. */
  readonly baseUrl: string;
  readonly topology: Topology;
  /** Variable values; default: exampleVariableValues(topology) (first big region/region/meta-cluster). */
  readonly values?: VariableValues;
  /** Evaluation time, Unix seconds; default: Prometheus' now. */
  readonly time?: number;
  readonly fetch?: typeof fetch;
}

interface PromAnswer {
  readonly status: 'success' | 'error';
  readonly data?: { readonly resultType: string; readonly result: unknown };
  readonly error?: string;
}

/** One instant query per panel target and variable; a time series panel with data now has data. */
export async function runPanelQueries(opts: RunPanelQueriesOptions): Promise<QueryOutcome[]> {
  const doFetch = opts.fetch ?? fetch;
  const values = opts.values ?? exampleVariableValues(opts.topology);
  const out: QueryOutcome[] = [];
  for (const query of panelQueries(opts.topology)) {
    const expr = interpolate(query.expr, values);
    const body = new URLSearchParams({ query: expr });
    if (opts.time !== undefined) body.set('time', String(opts.time));
    let series = 0;
    let error: string | undefined;
    try {
      const res = await doFetch(`${opts.baseUrl.replace(/\/+$/, '')}/api/v1/query`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body,
      });
      const answer = (await res.json()) as PromAnswer;
      if (answer.status !== 'success') error = answer.error ?? `HTTP ${res.status}`;
      else series = Array.isArray(answer.data?.result) ? answer.data.result.length : 1;
    } catch (e) {
      error = (e as Error).message;
    }
    const problem = error !== undefined ? `error: ${error}` : series === 0 && query.mayBeEmpty === undefined ? 'no data' : undefined;
    out.push({ query, expr, series, error, problem });
  }
  return out;
}

/** `dashboard / panel [refId]: problem — expr`, one line per query with a problem. */
export function describeProblems(outcomes: readonly QueryOutcome[]): string[] {
  return outcomes
    .filter((o) => o.problem !== undefined)
    .map((o) => `${o.query.dashboard} / ${o.query.panel} [${o.query.refId}]: ${o.problem} — ${o.expr}`);
}
