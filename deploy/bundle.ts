/**
 * renderBundle: the whole rendered tree for a topology, as relative path → file text.
 * The only place text is made; the CLI, the server and the local stack all call it.
 */
import { FILE, type Profile } from '../common/conventions.ts';
import type { PrometheusBundle } from '../common/prometheus.ts';
import { toYaml } from '../common/serialize.ts';
import { renderCascade } from '../cascade/render.ts';
import { renderCentral } from '../central/render.ts';
import { renderEdge } from '../edge/render.ts';
import { metaClusters, type Topology } from '../topology/model.ts';
import { renderAlertingFiles } from '../alerting/render.ts';
import { renderDashboardFiles } from '../dashboards/index.ts';
import { renderManifests } from './manifests/index.ts';

export type Bundle = ReadonlyMap<string, string>;

export function renderBundle(topo: Topology, profile: Profile): Bundle {
  const files = new Map<string, string>();
  const addPrometheus = (dir: string, b: PrometheusBundle) => {
    files.set(`${dir}/${FILE.prometheus}`, toYaml(b.config));
    files.set(`${dir}/${FILE.rules}`, toYaml(b.rules));
  };
  for (const placed of metaClusters(topo))
    addPrometheus(`edge/${placed.metaCluster.name}`, renderEdge(topo, placed, profile));
  for (const bigRegion of topo.bigRegions)
    addPrometheus(`cascade/${bigRegion.name}`, renderCascade(topo, bigRegion, profile));
  for (const replica of topo.central.replicas)
    addPrometheus(`central/${replica.name}`, renderCentral(topo, replica, profile));
  const alerting = renderAlertingFiles(topo, profile);
  for (const [rel, text] of alerting) files.set(`alerting/${rel}`, text);
  for (const [rel, text] of renderDashboardFiles(topo)) files.set(`dashboards/${rel}`, text);
  // Manifests (and per-cluster kustomizations) are what the kubernetes profile deploys.
  if (profile === 'kubernetes') {
    for (const [rel, text] of renderManifests(topo, profile, { alertingFiles: [...alerting.keys()] }))
      files.set(rel, text);
  }
  return new Map([...files.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}
