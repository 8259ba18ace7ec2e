/**
 * The emitter: the only code that knows where each output goes and the only caller of the
 * serializer (common/serialize.ts). It reads a render plan and
 *   - lists every path of the rendered tree without rendering anything (`paths`),
 *   - renders one file on demand, and only what that file needs (`file`: the service asks for
 *     one edge's prometheus.yml and gets that edge rendered, not the fleet),
 *   - streams the whole tree to disk, atomically (`writeTree`: temp dir, then one rename).
 *
 * The tree:
 *   edge/<meta-cluster>/{prometheus.yml,rules.yml,web-config.yml,manifests.yaml,kustomization.yaml}
 *   cascade/<big-region>/{prometheus.yml,rules.yml,web-config.yml,manifests.yaml,kustomization.yaml}
 *   central/<replica>/{prometheus.yml,rules.yml,manifests.yaml,kustomization.yaml}
 *   alerting/{alertmanager.yml,templates/<name>.tmpl,manifests.yaml,kustomization.yaml}
 *   dashboards/<uid>.json, dashboards/provisioning/{dashboards,datasources}/fedstack.yaml
 *   service/{manifests.yaml,kustomization.yaml,topology.yaml[,topology.yaml.gz: a big topology, packed]}
 * With central.backend victoriametrics, central/<replica>/ holds a vmalert's files
 * (rules.yml, manifests.yaml, kustomization.yaml) and the storage side has its own directory:
 *   victoriametrics/{scrape.yml,auth.yml (secured federation),manifests.yaml,kustomization.yaml}
 * Manifests, kustomizations and service/ are the kubernetes profile's only.
 */
import { gzipSync } from 'node:zlib';
import { FILE, VM_DIR } from '../common/conventions.ts';
import { TEMPLATES_DIR } from '../alerting/render.ts';
import { toJson, toYaml, toYamlStream } from '../common/serialize.ts';
import {
  alertingManifests,
  cascadeManifests,
  centralManifests,
  edgeManifests,
  serviceManifests,
  type ManifestBundle,
} from '../deploy/manifests/index.ts';
import { victoriaMetricsManifests, vmalertManifests } from '../deploy/manifests/victoriametrics.ts';
import type { PrometheusEntry, PrometheusTier, RenderPlan } from './plan.ts';
import { Recent } from '../common/recent.ts';
import type { PlacedMetaCluster, Region } from '../topology/model.ts';
import { fill, makeTemplate, substitutable, type Template } from './template.ts';

const KUSTOMIZATION = 'kustomization.yaml';
const TOPOLOGY = 'topology.yaml';
const TOPOLOGY_GZ = 'topology.yaml.gz';
/**
 * A ConfigMap holds at most 1 MiB. Over this, the service's ConfigMap carries the topology
 * gzip'd (binaryData, ~10x smaller; the service reads .gz), and topology.yaml stays next to it
 * for review. A 10,000-meta-cluster topology is ~1.5 MB of YAML.
 */
export const TOPOLOGY_INLINE_LIMIT = 768 * 1024;
const PROMETHEUS_TIERS: readonly PrometheusTier[] = ['edge', 'cascade', 'central'];

/**
 * An edge's files are the same text for every meta-cluster of a shape (its region, big region
 * and meta-cluster settings, but not its name and endpoint), so they are rendered once per shape with these
 * sentinels and filled in per edge (render/template.ts).
 */
const SENTINEL_FAMILY = 'fedstack-sentinel';
const EDGE_SENTINELS = [`${SENTINEL_FAMILY}-name`, `${SENTINEL_FAMILY}-endpoint:65531`] as const;
const edgeValues = (p: PlacedMetaCluster) => [p.metaCluster.name, p.metaCluster.endpoint];

/** Paths compare by UTF-16 code unit, as every earlier render sorted them. */
const byPath = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

export interface Emitter {
  readonly plan: RenderPlan;
  /** Every path of the tree, sorted. Cheap: names only, nothing is rendered. */
  paths(): string[];
  /** The paths of one Prometheus instance's directory (what a change to that instance touches). */
  instancePaths(tier: PrometheusTier, name: string): string[];
  /** The config files of a tier's Prometheus directory: what its sidecar syncs (no manifests). */
  configFiles(tier: PrometheusTier): string[];
  /** One file's text, or undefined when the tree has no such path (or it is binary). */
  file(path: string): string | undefined;
  /** A binary file of the tree (service/topology.yaml.gz of a large fleet), or undefined. */
  bytes(path: string): Uint8Array | undefined;
  /** How the edge files asked so far were made: filled in from their shape's template, or rendered. */
  readonly stats: { readonly templatedFiles: number; readonly renderedFiles: number };
}

export interface EmitOptions {
  /** Fill edge files in from their shape's template (default); false renders every edge. */
  readonly templates?: boolean;
}

export function createEmitter(plan: RenderPlan, opts: EmitOptions = {}): Emitter {
  const k8s = plan.profile === 'kubernetes';
  const topo = plan.topology;

  // Objects shared by many files (every edge's rules, every edge's web config) are serialized once.
  const texts = new WeakMap<object, string>();
  const yaml = (o: object): string => {
    let t = texts.get(o);
    if (t === undefined) {
      t = toYaml(o);
      texts.set(o, t);
    }
    return t;
  };
  const manifests = new Recent<ManifestBundle | undefined>(16);
  const manifestText = (b: ManifestBundle) => toYamlStream(b.objects);

  const vm = plan.backend === 'victoriametrics';
  /** The config files of a Prometheus directory (they are also its ConfigMap's keys); a vmalert's rules. */
  const configFiles = (tier: PrometheusTier): string[] =>
    tier === 'central' && vm
      ? [FILE.rules]
      : [FILE.prometheus, FILE.rules, ...(plan.webConfigFor(tier) !== undefined ? [FILE.webConfig] : [])];
  /** victoriametrics/: the self-monitoring scrape, vmauth's config when the cascades authenticate. */
  const vmConfigFiles = (): string[] =>
    vm ? [FILE.vmScrape, ...(plan.victoriaMetrics()?.auth !== undefined ? [FILE.vmAuth] : [])] : [];
  const alertingConfigFiles = () => [
    FILE.alertmanager,
    ...[...plan.alerting().templates.keys()].sort(byPath).map((n) => `${TEMPLATES_DIR}/${n}`),
  ];
  const namesOf = (tier: PrometheusTier): readonly string[] =>
    tier === 'edge'
      ? plan.metaClusters.map((p) => p.metaCluster.name)
      : tier === 'cascade'
        ? topo.bigRegions.map((b) => b.name)
        : topo.central.replicas.map((r) => r.name);

  /** The kubernetes profile's topology file, gzip'd into the ConfigMap when it is too big for one. */
  const topologyPacked = () => k8s && Buffer.byteLength(yaml(topo)) > TOPOLOGY_INLINE_LIMIT;

  const manifestBundle = (dir: string, name: string): ManifestBundle | undefined => {
    if (!k8s) return undefined;
    return manifests.get(`${dir}/${name}`, () => {
      switch (dir) {
        case 'cascade': {
          const b = plan.findBigRegion(name);
          return b && cascadeManifests(plan, b, configFiles('cascade'), FILE.manifests);
        }
        case 'central': {
          const r = plan.findCentral(name);
          if (r === undefined) return undefined;
          return vm
            ? vmalertManifests(plan, r, configFiles('central'), FILE.manifests)
            : centralManifests(plan, r, configFiles('central'), FILE.manifests);
        }
        case VM_DIR:
          return vm ? victoriaMetricsManifests(plan, vmConfigFiles(), FILE.manifests) : undefined;
        case 'alerting':
          return alertingManifests(plan, alertingConfigFiles(), FILE.manifests);
        case 'service':
          return serviceManifests(plan, topologyPacked() ? TOPOLOGY_GZ : TOPOLOGY, FILE.manifests);
        default:
          return undefined;
      }
    });
  };
  const manifestFile = (dir: string, name: string, file: string): string | undefined => {
    const b = manifestBundle(dir, name);
    if (b === undefined) return undefined;
    if (file === FILE.manifests) return manifestText(b);
    if (file === KUSTOMIZATION) return yaml(b.kustomization);
    return undefined;
  };

  /** One edge file for a placement, rendered and serialized (no cache: probes pass once). */
  const edgeFileAt = (p: PlacedMetaCluster, entry: PrometheusEntry, file: string): string | undefined => {
    if (file === FILE.manifests || file === KUSTOMIZATION) {
      if (!k8s) return undefined;
      const b = edgeManifests(plan, p, configFiles('edge'), FILE.manifests);
      return file === FILE.manifests ? manifestText(b) : yaml(b.kustomization);
    }
    return configFile(entry, file);
  };

  // Templates by shape and file; null: that file of the shape cannot be templated, its edges
  // render it directly. Made per file, when first asked for: a caller that wants only the
  // config files (the service's pulls, a rollout's comparison) never renders a probe's
  // manifests, which cost most of a probe.
  const stats = { templatedFiles: 0, renderedFiles: 0 };
  const templates = new Map<string, Map<string, Template | null>>();
  const probes = new Map<string, PrometheusEntry>();
  const regionShapes = new WeakMap<Region, string>();
  const shapeOf = (p: PlacedMetaCluster): string => {
    let where = regionShapes.get(p.region);
    if (where === undefined) {
      const { regions: _regions, ...bigRegion } = p.bigRegion;
      const { metaClusters: _metaClusters, ...region } = p.region;
      where = JSON.stringify([bigRegion, region]);
      regionShapes.set(p.region, where);
    }
    // Name and endpoint are the template's values; guest clusters and nodes only size things
    // (capacity, dashboards) and no edge file reads them.
    const { name: _n, endpoint: _e, guestClusters: _g, nodes: _s, ...metaCluster } = p.metaCluster;
    return where + JSON.stringify(metaCluster);
  };
  const makeEdgeTemplate = (p: PlacedMetaCluster, shape: string, file: string): Template | null => {
    const [name, endpoint] = EDGE_SENTINELS;
    const probe = { ...p, metaCluster: { ...p.metaCluster, name, endpoint } };
    let probeEntry = probes.get(shape);
    if (probeEntry === undefined) probes.set(shape, (probeEntry = plan.edgeAt(probe)));
    const text = edgeFileAt(probe, probeEntry, file);
    const t = text === undefined ? undefined : makeTemplate(text, EDGE_SENTINELS, SENTINEL_FAMILY);
    // Checked once against a direct render of a real edge of the shape.
    if (t === undefined || fill(t, edgeValues(p)) !== edgeFileAt(p, plan.edge(p.metaCluster.name)!, file))
      return null;
    return t;
  };
  const edgeFile = (name: string, file: string): string | undefined => {
    const p = plan.findMetaCluster(name);
    if (p === undefined) return undefined;
    if (!instanceFiles('edge').includes(file)) return undefined;
    const values = edgeValues(p);
    if (opts.templates !== false && values.every(substitutable)) {
      const shape = shapeOf(p);
      let byFile = templates.get(shape);
      if (byFile === undefined) templates.set(shape, (byFile = new Map()));
      let t = byFile.get(file);
      if (t === undefined) byFile.set(file, (t = makeEdgeTemplate(p, shape, file)));
      if (t !== null) {
        stats.templatedFiles++;
        return fill(t, values);
      }
    }
    stats.renderedFiles++;
    return edgeFileAt(p, plan.edge(name)!, file);
  };

  const configFile = (entry: PrometheusEntry, file: string): string | undefined => {
    if (file === FILE.prometheus) return yaml(entry.bundle.config);
    if (file === FILE.rules) return yaml(entry.bundle.rules);
    if (file === FILE.webConfig && entry.webConfig !== undefined) return yaml(entry.webConfig);
    return undefined;
  };

  const prometheusFile = (tier: PrometheusTier, name: string, file: string): string | undefined => {
    if (tier === 'edge') return edgeFile(name, file);
    if (file === FILE.manifests || file === KUSTOMIZATION) return manifestFile(tier, name, file);
    if (tier === 'central' && vm) {
      const v = plan.vmalert(name);
      return v !== undefined && file === FILE.rules ? yaml(v.rules) : undefined;
    }
    const entry = plan.prometheus(tier, name);
    return entry === undefined ? undefined : configFile(entry, file);
  };

  const alertingFile = (rest: readonly string[]): string | undefined => {
    if (rest.length === 1) {
      if (rest[0] === FILE.alertmanager) return yaml(plan.alerting().config);
      return manifestFile('alerting', '', rest[0]!);
    }
    if (rest.length === 2 && rest[0] === TEMPLATES_DIR) return plan.alerting().templates.get(rest[1]!);
    return undefined;
  };

  const dashboardsFile = (rest: readonly string[]): string | undefined => {
    const rel = rest.join('/');
    const { dashboards, provisioning } = plan.dashboards();
    if (rest.length === 1 && rel.endsWith('.json')) {
      const d = dashboards.get(rel.slice(0, -'.json'.length));
      return d === undefined ? undefined : toJson(d);
    }
    const p = provisioning.get(rel);
    return p === undefined ? undefined : yaml(p);
  };

  const victoriaMetricsFile = (rest: readonly string[]): string | undefined => {
    const b = plan.victoriaMetrics();
    if (b === undefined || rest.length !== 1) return undefined;
    if (rest[0] === FILE.vmScrape) return yaml(b.scrape);
    if (rest[0] === FILE.vmAuth) return b.auth === undefined ? undefined : yaml(b.auth);
    return manifestFile(VM_DIR, '', rest[0]!);
  };

  const serviceFile = (rest: readonly string[]): string | undefined => {
    if (!k8s || rest.length !== 1) return undefined;
    // The validated model, written back with defaults made explicit. No secret can be in it:
    // the schema takes Secret references only.
    if (rest[0] === TOPOLOGY) return yaml(topo);
    return manifestFile('service', '', rest[0]!);
  };

  const instanceFiles = (tier: PrometheusTier) => [
    ...configFiles(tier),
    ...(k8s ? [FILE.manifests, KUSTOMIZATION] : []),
  ];

  return {
    plan,
    stats,
    configFiles,
    instancePaths: (tier, name) => instanceFiles(tier).map((f) => `${tier}/${name}/${f}`),
    paths() {
      const out: string[] = [];
      for (const tier of PROMETHEUS_TIERS) {
        const files = instanceFiles(tier);
        for (const name of namesOf(tier)) for (const f of files) out.push(`${tier}/${name}/${f}`);
      }
      for (const f of alertingConfigFiles()) out.push(`alerting/${f}`);
      const { dashboards, provisioning } = plan.dashboards();
      for (const uid of dashboards.keys()) out.push(`dashboards/${uid}.json`);
      for (const p of provisioning.keys()) out.push(`dashboards/${p}`);
      for (const f of vmConfigFiles()) out.push(`${VM_DIR}/${f}`);
      if (k8s) {
        if (vm) out.push(`${VM_DIR}/${FILE.manifests}`, `${VM_DIR}/${KUSTOMIZATION}`);
        out.push(`alerting/${FILE.manifests}`, `alerting/${KUSTOMIZATION}`);
        out.push(`service/${FILE.manifests}`, `service/${KUSTOMIZATION}`, `service/${TOPOLOGY}`);
        if (topologyPacked()) out.push(`service/${TOPOLOGY_GZ}`);
      }
      return out.sort(byPath);
    },
    bytes(path) {
      // Deterministic: gzip with no name and mtime 0, so the same topology packs to the same bytes.
      return path === `service/${TOPOLOGY_GZ}` && topologyPacked()
        ? gzipSync(yaml(topo), { level: 9 })
        : undefined;
    },
    file(path) {
      const [head, ...rest] = path.split('/');
      if (rest.length === 0) return undefined;
      switch (head) {
        case 'edge':
        case 'cascade':
        case 'central':
          return rest.length === 2 ? prometheusFile(head, rest[0]!, rest[1]!) : undefined;
        case 'alerting':
          return alertingFile(rest);
        case 'dashboards':
          return dashboardsFile(rest);
        case 'service':
          return serviceFile(rest);
        case VM_DIR:
          return victoriaMetricsFile(rest);
        default:
          return undefined;
      }
    },
  };
}

/** The tree's text files in memory, path → text, sorted (tests, goldens, small topologies). */
export function renderTree(plan: RenderPlan, opts: EmitOptions = {}): Map<string, string> {
  const e = createEmitter(plan, opts);
  const out = new Map<string, string>();
  for (const p of e.paths()) {
    const text = e.file(p);
    if (text !== undefined) out.set(p, text);
  }
  return out;
}

/** Each file of the tree in path order, rendered as it is reached (bounded memory). */
export function* treeFiles(plan: RenderPlan): Generator<readonly [string, string | Uint8Array]> {
  const e = createEmitter(plan);
  for (const p of e.paths()) {
    const data = e.file(p) ?? e.bytes(p);
    if (data === undefined) throw new Error(`render: ${p} is listed but renders nothing`);
    yield [p, data];
  }
}
