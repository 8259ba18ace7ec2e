/**
 * The render plan: a validated topology and a profile turned into every output fedstack makes,
 * as typed objects, computed lazily and at most once.
 *
 *   topology ─▶ createPlan(topology, profile) ─▶ RenderPlan ─▶ render/emit.ts ─▶ files
 *
 * - Derived facts (lag budget, SD target groups, meta-alert rules, the edge job list, dashboard
 *   queries) are computed once per plan and handed to whoever needs them.
 * - Per-instance entries (one edge's Prometheus config, one cascade's) are rendered on first
 *   ask. Singletons (alerting, dashboards) are kept; per-instance entries are kept in a small
 *   bounded cache, so streaming 10,000 edges to disk never holds 10,000 configs, and a service
 *   asked for one edge's prometheus.yml renders that edge and nothing else.
 * - Manifests reference the plan's entries by file name (kustomize packs the files next to
 *   them into ConfigMaps); they never render a config again.
 *
 * Generators stay pure and know nothing of the plan; the plan is the one place that calls them.
 */
import type { Profile } from '../common/conventions.ts';
import type { PrometheusBundle } from '../common/prometheus.ts';
import { renderAlertmanager, type RenderedAlertmanager } from '../alerting/render.ts';
import { renderCascade } from '../cascade/render.ts';
import { metaAlertRules } from '../central/alerts.ts';
import { ROLLOUT_ALERT_RULES, SELF_MONITORING_RULES } from '../central/self-monitoring.ts';
import { BRIDGE_ALERT_RULES } from '../alerting/rules.ts';
import { renderCentral } from '../central/render.ts';
import {
  cascadeRemoteWrite,
  renderVictoriaMetrics,
  renderVmalert,
  type VictoriaMetricsBundle,
  type VmalertBundle,
} from '../central/victoriametrics.ts';
import {
  panelQueries,
  renderDashboards,
  type PanelQuery,
  type RenderedDashboards,
} from '../dashboards/index.ts';
import { EDGE_JOBS, renderEdge } from '../edge/render.ts';
import {
  cascadeTargetGroups,
  edgeTargetGroups,
  federationLag,
  type FederationLag,
  type LiveEndpoints,
  type TargetGroup,
} from '../topology/facts.ts';
import {
  metaClusters,
  type AlertRule,
  type BigRegion,
  type CentralReplica,
  type PlacedMetaCluster,
  type Topology,
} from '../topology/model.ts';
import { federationWebConfig, type WebConfig } from '../topology/security.ts';
import type { CentralBackend } from '../topology/backend.ts';
import { Recent } from '../common/recent.ts';

export type PrometheusTier = 'edge' | 'cascade' | 'central';

/** One Prometheus instance's files, as objects. */
export interface PrometheusEntry {
  readonly tier: PrometheusTier;
  readonly name: string;
  readonly bundle: PrometheusBundle;
  /** The --web.config.file of a Prometheus that serves /federate behind TLS / basic auth. */
  readonly webConfig?: WebConfig;
}

/** A vmalert replica (backend victoriametrics): it stands where a central Prometheus would. */
export interface VmalertEntry extends VmalertBundle {
  readonly tier: 'central';
  readonly name: string;
}

/** Facts derived once per plan. */
export interface PlanFacts {
  readonly lag: FederationLag;
  /** Central's meta-alerts (EdgeDown, CascadeDown, FederationStale, ...). */
  readonly metaAlertRules: readonly AlertRule[];
  /**
   * Central's rules on fedstack's own parts (the service, the config sidecars, the alert
   * bridge), read from central's own scrapes rather than federated.
   */
  readonly selfMonitoringRules: readonly AlertRule[];
  /** Jobs every edge runs besides its extraScrapeTargets. */
  readonly edgeJobs: readonly string[];
  /** Every dashboard query (panels and variables), for the closure check and live tests. */
  readonly panelQueries: readonly PanelQuery[];
  /** What the cascade of `bigRegion` federates (undefined: no such big region). */
  edgeTargetGroups(bigRegion: string, live?: LiveEndpoints): TargetGroup[] | undefined;
  /** What central federates. */
  readonly cascadeTargetGroups: readonly TargetGroup[];
}

export interface RenderPlan {
  readonly topology: Topology;
  readonly profile: Profile;
  readonly facts: PlanFacts;
  /** Every meta-cluster in topology order. */
  readonly metaClusters: readonly PlacedMetaCluster[];
  /** Where the global tier stores and evaluates (the topology's central.backend). */
  readonly backend: CentralBackend;
  edge(metaCluster: string): PrometheusEntry | undefined;
  /**
   * An edge rendered for a placement, which the topology need not hold (the emitter's
   * template probes, render/template.ts). Not cached.
   */
  edgeAt(placed: PlacedMetaCluster): PrometheusEntry;
  cascade(bigRegion: string): PrometheusEntry | undefined;
  /** A central Prometheus replica (undefined with the victoriametrics backend: see vmalert). */
  central(replica: string): PrometheusEntry | undefined;
  /** A vmalert replica (backend victoriametrics only). */
  vmalert(replica: string): VmalertEntry | undefined;
  /** VictoriaMetrics itself (backend victoriametrics only). */
  victoriaMetrics(): VictoriaMetricsBundle | undefined;
  /** The entry of any Prometheus instance. */
  prometheus(tier: PrometheusTier, name: string): PrometheusEntry | undefined;
  /**
   * Whether `prometheus(tier, name)` has an entry, without rendering it: the service asks at
   * every pull and report, and an edge's entry costs a render.
   */
  hasPrometheus(tier: PrometheusTier, name: string): boolean;
  /** The web config a tier's Prometheus serves with (every instance of a tier shares it), if any. */
  webConfigFor(tier: PrometheusTier): WebConfig | undefined;
  alerting(): RenderedAlertmanager;
  dashboards(): RenderedDashboards;
  findMetaCluster(name: string): PlacedMetaCluster | undefined;
  findBigRegion(name: string): BigRegion | undefined;
  findCentral(name: string): CentralReplica | undefined;
}

/** A value computed on first use. */
function lazy<T>(make: () => T): () => T {
  let done = false;
  let value: T;
  return () => {
    if (!done) {
      value = make();
      done = true;
    }
    return value;
  };
}

export interface PlanOptions {
  /** Per-instance entries kept (default 64). */
  readonly cacheSize?: number;
}

export function createPlan(topology: Topology, profile: Profile, opts: PlanOptions = {}): RenderPlan {
  const placed = lazy(() => metaClusters(topology));
  const byMetaCluster = lazy(() => new Map(placed().map((p) => [p.metaCluster.name, p])));
  const byBigRegion = lazy(() => new Map(topology.bigRegions.map((b) => [b.name, b])));
  const byCentral = lazy(() => new Map(topology.central.replicas.map((r) => [r.name, r])));

  const lag = lazy(() => federationLag(topology));
  const metaAlerts = lazy(() => metaAlertRules(topology, lag()));
  const queries = lazy(() => panelQueries(topology));
  const cascadeGroups = lazy(() => cascadeTargetGroups(topology));
  const facts: PlanFacts = {
    get lag() {
      return lag();
    },
    get metaAlertRules() {
      return metaAlerts();
    },
    selfMonitoringRules: [...SELF_MONITORING_RULES, ...ROLLOUT_ALERT_RULES, ...BRIDGE_ALERT_RULES],
    edgeJobs: EDGE_JOBS,
    get panelQueries() {
      return queries();
    },
    edgeTargetGroups: (name, live) => {
      const b = byBigRegion().get(name);
      return b === undefined ? undefined : edgeTargetGroups(b, live);
    },
    get cascadeTargetGroups() {
      return cascadeGroups();
    },
  };

  // Every edge and every cascade serves its /federate with the same web config, in both
  // profiles: the local stack runs exactly what production runs, with local paths. Without
  // protection (an explicit opt-out) it is empty, which Prometheus reads as "plain HTTP".
  const webConfig = lazy(() => federationWebConfig(topology.security, profile));
  const backend = topology.central.backend;
  const vm = backend === 'victoriametrics';
  const webConfigFor = (tier: PrometheusTier): WebConfig | undefined =>
    tier === 'central' ? undefined : webConfig();
  const entries = new Recent<PrometheusEntry>(opts.cacheSize ?? 64);
  const vmalerts = new Recent<VmalertEntry>(8);

  const plan: RenderPlan = {
    topology,
    profile,
    facts,
    get metaClusters() {
      return placed();
    },
    edge: (name) => {
      const p = byMetaCluster().get(name);
      if (p === undefined) return undefined;
      return entries.get(`edge/${name}`, () => plan.edgeAt(p));
    },
    edgeAt: (p) => ({
      tier: 'edge',
      name: p.metaCluster.name,
      bundle: renderEdge(topology, p, profile),
      webConfig: webConfigFor('edge'),
    }),
    cascade: (name) => {
      const b = byBigRegion().get(name);
      if (b === undefined) return undefined;
      return entries.get(`cascade/${name}`, () => ({
        tier: 'cascade',
        name,
        bundle: renderCascade(
          topology,
          b,
          profile,
          vm ? cascadeRemoteWrite(topology, b, profile) : undefined,
        ),
        webConfig: webConfigFor('cascade'),
      }));
    },
    backend,
    central: (name) => {
      const r = byCentral().get(name);
      if (r === undefined || vm) return undefined;
      return entries.get(`central/${name}`, () => ({
        tier: 'central',
        name,
        bundle: renderCentral(topology, r, profile, {
          meta: metaAlerts(),
          selfMonitoring: facts.selfMonitoringRules,
        }),
      }));
    },
    vmalert: (name) => {
      const r = byCentral().get(name);
      if (r === undefined || !vm) return undefined;
      return vmalerts.get(name, () => ({
        tier: 'central',
        name,
        ...renderVmalert(topology, r, profile, {
          meta: metaAlerts(),
          selfMonitoring: facts.selfMonitoringRules,
        }),
      }));
    },
    victoriaMetrics: lazy(() => (vm ? renderVictoriaMetrics(topology, profile) : undefined)),
    prometheus: (tier, name) => plan[tier](name),
    hasPrometheus: (tier, name) =>
      tier === 'edge'
        ? byMetaCluster().has(name)
        : tier === 'cascade'
          ? byBigRegion().has(name)
          : !vm && byCentral().has(name),
    webConfigFor,
    alerting: lazy(() => renderAlertmanager(topology, profile)),
    dashboards: lazy(() => renderDashboards(topology)),
    findMetaCluster: (name) => byMetaCluster().get(name),
    findBigRegion: (name) => byBigRegion().get(name),
    findCentral: (name) => byCentral().get(name),
  };
  return plan;
}
