/**
 * Dashboard specs (plain data: rows, panels, PromQL) → Grafana JSON through the foundation
 * SDK. Every call creates fresh builders: the SDK's withPanel/withRow mutate the builder and
 * the panels they are given, so sharing one between dashboards would leak panels and grid
 * positions from one into the other.
 */
import type { Dashboard } from '@grafana/grafana-foundation-sdk/dashboard';
import { LABEL } from '../common/conventions.ts';
import { ALL, ALL_VALUE, VARIABLE_SOURCE, withFilter, type PanelQuery } from './queries.ts';
import { grafanaSdk } from './sdk.ts';

export interface TargetSpec {
  readonly expr: string;
  readonly legend?: string;
  /** Why an empty answer is normal for this query (see PanelQuery.mayBeEmpty). */
  readonly mayBeEmpty?: string;
}

export interface PanelSpec {
  readonly title: string;
  readonly description: string;
  readonly viz: 'timeseries' | 'stat' | 'table';
  readonly unit?: string;
  readonly min?: number;
  readonly max?: number;
  /** [from value, colour] steps; the first step's value is null (base colour). */
  readonly thresholds?: ReadonlyArray<readonly [number | null, string]>;
  readonly width?: number;
  readonly height?: number;
  readonly targets: readonly TargetSpec[];
  /** Data links (drill-down), Grafana URL templates. */
  readonly links?: ReadonlyArray<{ readonly title: string; readonly url: string }>;
}

export interface RowSpec {
  readonly title: string;
  readonly panels: readonly PanelSpec[];
}

export interface DashboardSpec {
  readonly uid: string;
  readonly title: string;
  readonly description: string;
  readonly rows: readonly RowSpec[];
}

/** The datasource every panel and variable reads through (`$datasource`). */
export const DATASOURCE_VAR = 'datasource';
const DS = { type: 'prometheus', uid: `\${${DATASOURCE_VAR}}` };
export const DASHBOARD_TAG = 'fedstack';

/** The chained variables: each one's values are filtered by the ones before it. */
export const CHAIN = [LABEL.bigRegion, LABEL.region, LABEL.metaCluster] as const;

export interface BuildContext {
  /** Name of the datasource selected when the dashboard opens. */
  readonly defaultDatasource: { readonly name: string; readonly uid: string };
  /** Regex on datasource names the `$datasource` picker offers (fedstack's own). */
  readonly datasourceRegex: string;
}

export interface BuiltDashboard {
  readonly json: Dashboard;
  readonly queries: readonly PanelQuery[];
}

/** `label_values(up{...,big_region=~"$big_region"}, region)` for the i-th variable of the chain. */
export function variableSelector(i: number): string {
  const filter = CHAIN.slice(0, i)
    .map((l) => `${l}=~"$${l}"`)
    .join(', ');
  return filter === '' ? VARIABLE_SOURCE : withFilter(VARIABLE_SOURCE, filter);
}

/**
 * Every query of a dashboard, in dashboard order: its template variables, then each panel's
 * targets. From the spec alone (no SDK), so the closure check can read them cheaply.
 */
export function specQueries(spec: DashboardSpec): PanelQuery[] {
  const queries: PanelQuery[] = CHAIN.map((label, i) => {
    const selector = variableSelector(i);
    return {
      dashboard: spec.uid,
      dashboardTitle: spec.title,
      panel: `variable $${label}`,
      kind: 'variable',
      refId: label,
      expr: `group by (${label}) (${selector})`,
      grafanaQuery: variableQuery(i),
      instant: true,
      mayBeEmpty: undefined,
    };
  });
  for (const row of spec.rows) {
    for (const p of row.panels) {
      p.targets.forEach((t, i) => {
        queries.push({
          dashboard: spec.uid,
          dashboardTitle: spec.title,
          panel: p.title,
          kind: 'panel',
          refId: refId(i),
          expr: t.expr,
          grafanaQuery: undefined,
          instant: p.viz !== 'timeseries',
          mayBeEmpty: t.mayBeEmpty,
        });
      });
    }
  }
  return queries;
}

/** Grafana's own query of the i-th chained variable. */
function variableQuery(i: number): string {
  return `label_values(${variableSelector(i)}, ${CHAIN[i]})`;
}

export function buildDashboard(spec: DashboardSpec, ctx: BuildContext): BuiltDashboard {
  const {
    DashboardBuilder,
    DashboardLinkBuilder,
    DashboardLinkType,
    DatasourceVariableBuilder,
    QueryVariableBuilder,
    RowBuilder,
    VariableRefresh,
    VariableSort,
  } = grafanaSdk().dashboard;
  const b = new DashboardBuilder(spec.title)
    .uid(spec.uid)
    .description(spec.description)
    .tags([DASHBOARD_TAG])
    .readonly()
    .timezone('utc')
    .time({ from: 'now-6h', to: 'now' })
    .refresh('1m')
    .link(
      // Every fedstack dashboard, carrying the selected variables and time range: the way
      // between levels (global → region → meta-cluster, and federation health).
      new DashboardLinkBuilder('fedstack')
        .type(DashboardLinkType.Dashboards)
        .tags([DASHBOARD_TAG])
        .asDropdown(false)
        .includeVars(true)
        .keepTime(true),
    );

  b.withVariable(
    new DatasourceVariableBuilder(DATASOURCE_VAR)
      .label('Datasource')
      .type('prometheus')
      .regex(ctx.datasourceRegex)
      .current({ selected: true, text: ctx.defaultDatasource.name, value: ctx.defaultDatasource.uid }),
  );
  CHAIN.forEach((label, i) => {
    const grafanaQuery = variableQuery(i);
    b.withVariable(
      new QueryVariableBuilder(label)
        .label(label)
        .datasource(DS)
        .query(grafanaQuery)
        .definition(grafanaQuery)
        .refresh(VariableRefresh.OnTimeRangeChanged)
        .sort(VariableSort.AlphabeticalAsc)
        .multi(true)
        .includeAll(true)
        .allValue(ALL_VALUE)
        .current({ selected: true, text: 'All', value: ALL }),
    );
  });

  let id = 1;
  for (const row of spec.rows) {
    b.withRow(new RowBuilder(row.title).id(id++));
    for (const p of row.panels) b.withPanel(buildPanel(p, id++));
  }
  return { json: b.build(), queries: specQueries(spec) };
}

function refId(i: number): string {
  return String.fromCharCode(65 + i);
}

function buildPanel(p: PanelSpec, id: number) {
  const sdk = grafanaSdk();
  const { DataqueryBuilder, PromQueryFormat } = sdk.prometheus;
  const { ReduceDataOptionsBuilder, VizLegendOptionsBuilder, LegendDisplayMode, LegendPlacement } = sdk.common;
  const { DashboardLinkBuilder, ThresholdsConfigBuilder, ThresholdsMode } = sdk.dashboard;
  const TimeseriesPanel = sdk.timeseries.PanelBuilder;
  const StatPanel = sdk.stat.PanelBuilder;
  const TablePanel = sdk.table.PanelBuilder;
  const instant = p.viz !== 'timeseries';
  const targets = p.targets.map((t, i) => {
    const q = new DataqueryBuilder().refId(refId(i)).datasource(DS).expr(t.expr).legendFormat(t.legend ?? '__auto');
    return instant ? q.instant().format(p.viz === 'table' ? PromQueryFormat.Table : PromQueryFormat.TimeSeries) : q.range();
  });
  const panel =
    p.viz === 'timeseries'
      ? new TimeseriesPanel()
          .legend(
            new VizLegendOptionsBuilder()
              .showLegend(true)
              .displayMode(LegendDisplayMode.Table)
              .placement(LegendPlacement.Right)
              .calcs(['lastNotNull', 'max']),
          )
          .fillOpacity(10)
      : p.viz === 'stat'
        ? new StatPanel().reduceOptions(new ReduceDataOptionsBuilder().calcs(['lastNotNull']).values(false))
        : new TablePanel();
  panel
    .id(id)
    .title(p.title)
    .description(p.description)
    .datasource(DS)
    .targets(targets)
    .gridPos({ x: 0, y: 0, w: p.width ?? (p.viz === 'stat' ? 6 : 12), h: p.height ?? (p.viz === 'stat' ? 4 : 8) });
  if (p.unit !== undefined) panel.unit(p.unit);
  if (p.min !== undefined) panel.min(p.min);
  if (p.max !== undefined) panel.max(p.max);
  if (p.thresholds !== undefined) {
    panel.thresholds(
      new ThresholdsConfigBuilder()
        .mode(ThresholdsMode.Absolute)
        .steps(p.thresholds.map(([value, color]) => ({ value, color }))),
    );
  }
  if (p.links !== undefined && p.links.length > 0) {
    panel.dataLinks(p.links.map((l) => new DashboardLinkBuilder(l.title).url(l.url)));
  }
  return panel;
}

/** A data link to another fedstack dashboard, carrying datasource, time range and clicked labels. */
export function drillDown(title: string, uid: string, labels: readonly string[]): { title: string; url: string } {
  const vars = labels.map((l) => `var-${l}=\${__field.labels.${l}}`);
  return { title, url: `/d/${uid}?\${${DATASOURCE_VAR}:queryparam}&${vars.join('&')}&\${__url_time_range}` };
}
