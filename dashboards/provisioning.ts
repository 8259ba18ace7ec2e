/**
 * Grafana provisioning files for the rendered dashboards: one file provider pointing at the
 * folder the `<uid>.json` files are mounted in, and one Prometheus datasource per central
 * replica (plus VictoriaMetrics when the topology names one). Shapes follow Grafana's
 * provisioning docs (apiVersion 1).
 */
import { PORT, SERVICE } from '../common/conventions.ts';
import { parseDuration } from '../common/duration.ts';
import { victoriaMetricsUrls } from '../topology/facts.ts';
import type { Topology } from '../topology/model.ts';

/** Where the Grafana pod mounts the dashboards/ folder of the bundle (the provider's path). */
export const GRAFANA_DASHBOARDS_PATH = '/var/lib/grafana/dashboards/fedstack';
/** Grafana folder the dashboards appear in. */
export const GRAFANA_FOLDER = 'fedstack';
/** Datasource names start with this; the `$datasource` picker offers only these. */
export const DATASOURCE_PREFIX = 'fedstack ';

export interface GrafanaDatasource {
  readonly name: string;
  readonly uid: string;
  readonly type: 'prometheus';
  readonly access: 'proxy';
  readonly url: string;
  readonly isDefault: boolean;
  readonly editable: boolean;
  readonly jsonData: { readonly httpMethod: 'POST'; readonly timeInterval: string };
}

export interface DatasourcesFile {
  readonly apiVersion: 1;
  readonly datasources: readonly GrafanaDatasource[];
}

export interface DashboardProvider {
  readonly name: string;
  readonly orgId: 1;
  readonly folder: string;
  readonly type: 'file';
  readonly disableDeletion: boolean;
  readonly allowUiUpdates: boolean;
  readonly updateIntervalSeconds: number;
  readonly options: { readonly path: string; readonly foldersFromFilesStructure: boolean };
}

export interface DashboardsFile {
  readonly apiVersion: 1;
  readonly providers: readonly DashboardProvider[];
}

export const VICTORIA_METRICS_UID = 'fedstack-victoriametrics';

/**
 * Datasources in a fixed order: VictoriaMetrics first when configured (it dedups the two
 * replicas' identical series, so it is the default), then each central replica in topology order.
 */
export function datasources(topo: Topology): GrafanaDatasource[] {
  const vm = topo.dashboards?.victoriaMetricsUrl;
  // Central's scrape interval: Grafana's $__rate_interval needs it to pick a safe window.
  const timeInterval = `${parseDuration(topo.global.central.scrapeInterval) / 1000}s`;
  const ds = (name: string, uid: string, url: string, isDefault: boolean): GrafanaDatasource => ({
    name: `${DATASOURCE_PREFIX}${name}`,
    uid,
    type: 'prometheus',
    access: 'proxy',
    url,
    isDefault,
    editable: false,
    jsonData: { httpMethod: 'POST', timeInterval },
  });
  const out: GrafanaDatasource[] = [];
  // Backend victoriametrics: VictoriaMetrics is central; no central Prometheus to read.
  const backend = victoriaMetricsUrls(
    topo,
    topo.central.replicas[0]?.endpoint !== undefined ? 'local' : 'kubernetes',
  );
  if (backend !== undefined)
    return [ds('victoriametrics', VICTORIA_METRICS_UID, vm?.replace(/\/+$/, '') ?? backend.query, true)];
  if (vm !== undefined) out.push(ds('victoriametrics', VICTORIA_METRICS_UID, vm.replace(/\/+$/, ''), true));
  topo.central.replicas.forEach((r, i) => {
    const url =
      r.endpoint !== undefined
        ? `http://${r.endpoint}`
        : `http://${SERVICE.centralPrometheus(r.name, topo.global.namespace)}:${PORT.prometheus}`;
    out.push(ds(r.name, `fedstack-${r.name}`, url, vm === undefined && i === 0));
  });
  return out;
}

export function datasourcesFile(topo: Topology): DatasourcesFile {
  return { apiVersion: 1, datasources: datasources(topo) };
}

export function dashboardsFile(): DashboardsFile {
  return {
    apiVersion: 1,
    providers: [
      {
        name: 'fedstack',
        orgId: 1,
        folder: GRAFANA_FOLDER,
        type: 'file',
        // Generated dashboards: edits belong in the topology/code, not in the UI.
        disableDeletion: true,
        allowUiUpdates: false,
        updateIntervalSeconds: 30,
        options: { path: GRAFANA_DASHBOARDS_PATH, foldersFromFilesStructure: false },
      },
    ],
  };
}
