/**
 * renderDashboards: the Grafana side of a topology. Four dashboards (global overview, region,
 * meta-cluster, federation health) and their provisioning files, as objects and as text for
 * the bundle's `dashboards/` folder. Pure: same topology, same bytes.
 */
import type { Dashboard } from '@grafana/grafana-foundation-sdk/dashboard';
import { toJson, toYaml } from '../common/serialize.ts';
import type { Topology } from '../topology/model.ts';
import { buildDashboard, specQueries, type BuildContext } from './compose.ts';
import { dashboardsFile, datasources, datasourcesFile, DATASOURCE_PREFIX } from './provisioning.ts';
import type { PanelQuery } from './queries.ts';
import { dashboardSpecs } from './specs.ts';

export type DashboardJSON = Dashboard;

export interface RenderedDashboards {
  /** uid → dashboard JSON model, in a fixed order. */
  readonly dashboards: ReadonlyMap<string, DashboardJSON>;
  /** Path relative to the bundle's `dashboards/` folder → provisioning object. */
  readonly provisioning: ReadonlyMap<string, object>;
}

export const PROVISIONING_DASHBOARDS_FILE = 'provisioning/dashboards/fedstack.yaml';
export const PROVISIONING_DATASOURCES_FILE = 'provisioning/datasources/fedstack.yaml';

function context(topo: Topology): BuildContext {
  const all = datasources(topo);
  const def = all.find((d) => d.isDefault) ?? all[0]!;
  return { defaultDatasource: { name: def.name, uid: def.uid }, datasourceRegex: `/^${DATASOURCE_PREFIX}/` };
}

function built(topo: Topology) {
  const ctx = context(topo);
  return dashboardSpecs(topo).map((spec) => buildDashboard(spec, ctx));
}

export function renderDashboards(topo: Topology): RenderedDashboards {
  const dashboards = new Map<string, DashboardJSON>();
  for (const d of built(topo)) dashboards.set(d.json.uid!, d.json);
  const provisioning = new Map<string, object>([
    [PROVISIONING_DASHBOARDS_FILE, dashboardsFile()],
    [PROVISIONING_DATASOURCES_FILE, datasourcesFile(topo)],
  ]);
  return { dashboards, provisioning };
}

/** Relative path (under the bundle's `dashboards/`) → file text: `<uid>.json` and the provisioning YAML. */
export function renderDashboardFiles(topo: Topology): Map<string, string> {
  const { dashboards, provisioning } = renderDashboards(topo);
  const files = new Map<string, string>();
  for (const [uid, json] of dashboards) files.set(`${uid}.json`, toJson(json));
  for (const [path, obj] of provisioning) files.set(path, toYaml(obj));
  return files;
}

/**
 * Every query of every dashboard (panel targets and template variables), in dashboard order.
 * Substitute variables with `interpolate(q.expr, exampleVariableValues(topo))` (or ALL_VALUES)
 * and run it against a central replica's /api/v1/query.
 */
export function panelQueries(topo: Topology): PanelQuery[] {
  return dashboardSpecs(topo).flatMap(specQueries);
}

export { interpolate, exampleVariableValues, ALL_VALUES, type PanelQuery } from './queries.ts';
export { UID as DASHBOARD_UID } from './specs.ts';
