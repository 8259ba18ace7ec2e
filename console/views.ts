/**
 * The console's views other than the tree: rollouts (revisions and which instance runs which
 * config), pages (the alert bridge and who is on call), explain, the graph and the metric
 * names the explain box suggests. Each is built from what the service already holds, in one
 * call per request.
 */
import { nextHandover, resolveOnCall } from '../alerting/oncall.ts';
import type { BridgeStatus } from '../alerting/bridge/status.ts';
import { renderGraphMermaid, renderGraphSvg } from '../cli/graph.ts';
import { explain, parseLabelArgs } from '../render/explain.ts';
import type { RenderPlan } from '../render/plan.ts';
import type { InstanceReport, Registration } from '../server/registrations.ts';
import type { TopologySnapshot } from '../server/topology-watch.ts';
import { metaClusters, type Topology } from '../topology/model.ts';
import { metricNames } from '../topology/promql.ts';
import { receiversOf, type Routing } from '../topology/routing.ts';
import { METRIC_NAME_RE } from '../topology/schema.ts';
import { parseSelector, type Matcher } from '../topology/selector.ts';
import { appliedOf } from './fleet.ts';
import type {
  ExplainView,
  GraphView,
  InstanceConfig,
  MetricsView,
  OnCallView,
  PagesView,
  ReceiverActivity,
  RolloutSource,
  RolloutsView,
} from './types.ts';

export function rolloutsView(input: {
  readonly snapshot: TopologySnapshot;
  readonly lastError: string | undefined;
  readonly reloadFailures: number;
  readonly registrations: ReadonlyMap<string, Registration>;
  /** What cascades' and central replicas' sidecars last reported, by `<tier>/<name>`. */
  readonly reports: ReadonlyMap<string, InstanceReport>;
  readonly rollouts: RolloutSource | undefined;
  readonly now: number;
}): RolloutsView {
  const { snapshot, now } = input;
  const topo = snapshot.topology;
  const reported = (tier: 'cascade' | 'central', name: string, where: { bigRegion?: string }): InstanceConfig => {
    const applied = appliedOf(input.reports.get(`${tier}/${name}`), now);
    return { tier, name, ...where, ...(applied === undefined ? {} : { applied }) };
  };
  const instances: InstanceConfig[] = [
    ...topo.central.replicas.map((r): InstanceConfig => reported('central', r.name, {})),
    ...topo.bigRegions.map((b): InstanceConfig => reported('cascade', b.name, { bigRegion: b.name })),
    ...metaClusters(topo).map((p): InstanceConfig => {
      const applied = appliedOf(input.registrations.get(p.metaCluster.name), now);
      return {
        tier: 'edge',
        name: p.metaCluster.name,
        bigRegion: p.bigRegion.name,
        region: p.region.name,
        ...(applied === undefined ? {} : { applied }),
      };
    }),
  ];
  const counts = new Map<string | null, number>();
  for (const i of instances) {
    const h = i.applied?.configHash ?? null;
    counts.set(h, (counts.get(h) ?? 0) + 1);
  }
  const current = input.rollouts?.current();
  return {
    generatedAt: now,
    topology: {
      name: topo.metadata.name,
      revision: snapshot.revision,
      hash: snapshot.hash,
      ...(input.lastError === undefined ? {} : { lastError: input.lastError }),
    },
    reloadFailures: input.reloadFailures,
    rolloutsAvailable: input.rollouts !== undefined,
    ...(current === undefined ? {} : { current }),
    history: input.rollouts?.history() ?? [],
    hashes: [...counts]
      .map(([hash, n]) => ({ hash, instances: n }))
      .sort((a, b) => b.instances - a.instances || String(a.hash).localeCompare(String(b.hash))),
    instances,
  };
}

const RECENT_SENDS = 50;
const DEAD_LETTERS_SHOWN = 50;

export function pagesView(input: {
  readonly topology: Topology;
  readonly bridge: BridgeStatus | undefined;
  readonly now: number;
}): PagesView {
  const { topology, bridge, now } = input;
  const routing = topology.routing as Routing | undefined;
  const teamOf = new Map(
    (routing ? receiversOf(routing) : []).map(({ team, receiver }) => [receiver.name, team.name]),
  );
  const onCall = (routing?.teams ?? []).map((team): OnCallView => {
    const at = nextHandover(team, now);
    return {
      team: team.name,
      now: resolveOnCall(team, now).map((m) => m.name),
      ...(at === undefined ? {} : { nextHandoverAt: at }),
      next: at === undefined ? [] : resolveOnCall(team, at).map((m) => m.name),
      ...(team.rotation === undefined ? {} : { timeZone: team.rotation.timeZone }),
    };
  });
  if (bridge === undefined) return { generatedAt: now, onCall };

  const activity = new Map<
    string,
    ReceiverActivity & { errs: Map<string, { count: number; lastReason: string }> }
  >();
  for (const s of bridge.sends) {
    const key = `${s.channel}\u0000${s.receiver}`;
    let a = activity.get(key);
    if (a === undefined) {
      const team = teamOf.get(s.receiver);
      a = {
        receiver: s.receiver,
        channel: s.channel,
        ...(team === undefined ? {} : { team }),
        delivered: 0,
        notifications: 0,
        failed: 0,
        errcodes: [],
        errs: new Map(),
      };
      activity.set(key, a);
    }
    if (s.ok) {
      activity.set(key, {
        ...a,
        delivered: a.delivered + 1,
        notifications: a.notifications + s.notifications,
        lastDeliveredAt: s.at,
      });
    } else {
      const code = s.code ?? 'error';
      a.errs.set(code, { count: (a.errs.get(code)?.count ?? 0) + 1, lastReason: s.reason ?? '' });
      activity.set(key, { ...a, failed: a.failed + 1 });
    }
  }
  const receivers = [...activity.values()]
    .map(({ errs, ...a }) => ({
      ...a,
      errcodes: [...errs].map(([code, e]) => ({ code, ...e })).sort((x, y) => y.count - x.count),
    }))
    .sort((a, b) => a.receiver.localeCompare(b.receiver) || a.channel.localeCompare(b.channel));
  const oldest = bridge.queue.reduce<number | undefined>(
    (m, q) => (m === undefined ? q.oldestAcceptedAt : Math.min(m, q.oldestAcceptedAt)),
    undefined,
  );
  const dead = [...bridge.deadLetters].sort((a, b) => b.deadAt - a.deadAt);
  return {
    generatedAt: now,
    bridge: {
      depth: bridge.queue.reduce((n, q) => n + q.depth, 0),
      ...(oldest === undefined ? {} : { oldestAcceptedAt: oldest }),
      queue: bridge.queue,
      receivers,
      recent: bridge.sends
        .slice(-RECENT_SENDS)
        .reverse()
        .map((s) => ({
          at: s.at,
          channel: s.channel,
          receiver: s.receiver,
          ok: s.ok,
          ...(s.code === undefined ? {} : { code: s.code }),
          ...(s.reason === undefined ? {} : { reason: s.reason }),
          alerts: s.alerts,
          status: s.status,
        })),
      deadLetters: dead.slice(0, DEAD_LETTERS_SHOWN),
      deadLetterCount: dead.length,
    },
    onCall,
  };
}

/**
 * `explain` of a query typed as the CLI takes it, `METRIC [label=value ...]`, or as a series
 * selector with exact values, `METRIC{label="value", ...}`. Throws a message for the 400.
 */
export function explainView(plan: RenderPlan, query: string): ExplainView {
  const q = query.trim();
  if (q === '') throw new Error('type a metric name, e.g. node_cpu_seconds_total');
  if (!q.includes('{')) {
    const [metric, ...args] = q.split(/\s+/) as [string, ...string[]];
    return explain(plan, metric, parseLabelArgs(args));
  }
  let matchers: readonly Matcher[];
  try {
    matchers = parseSelector(q).matchers;
  } catch (e) {
    throw new Error(`${q}: ${(e as Error).message}`);
  }
  const metric = matchers.find((m) => m.name === '__name__' && m.op === '=')?.value;
  if (metric === undefined) throw new Error(`${q}: name the metric before the braces`);
  const labels: Record<string, string> = {};
  for (const m of matchers.filter((x) => x.name !== '__name__')) {
    if (m.op !== '=') throw new Error(`${q}: explain follows one series: give exact values (label="value")`);
    labels[m.name] = m.value;
  }
  return explain(plan, metric, labels);
}

/** Above this many meta-clusters the page draws one big region at a time (the SVG grows linearly). */
export const GRAPH_MAX_META_CLUSTERS = 400;

export function graphView(topology: Topology): GraphView {
  return {
    topology: topology.metadata.name,
    bigRegions: topology.bigRegions.map((b) => ({
      name: b.name,
      metaClusters: b.regions.reduce((n, r) => n + r.metaClusters.length, 0),
    })),
    maxMetaClusters: GRAPH_MAX_META_CLUSTERS,
  };
}

/** The topology restricted to one big region (the same drawing as `fedstack graph` of it). */
function graphTopology(topology: Topology, bigRegion: string | undefined): Topology {
  if (bigRegion === undefined || bigRegion === '') {
    const total = metaClusters(topology).length;
    if (total > GRAPH_MAX_META_CLUSTERS)
      throw new Error(
        `the fleet has ${total} meta-clusters, more than ${GRAPH_MAX_META_CLUSTERS} can be drawn at once: pick a big region`,
      );
    return topology;
  }
  const br = topology.bigRegions.find((b) => b.name === bigRegion);
  if (br === undefined) throw new Error(`unknown big region ${JSON.stringify(bigRegion)}`);
  return { ...topology, bigRegions: [br] };
}

export function graphSvg(topology: Topology, bigRegion: string | undefined): string {
  return renderGraphSvg(graphTopology(topology, bigRegion));
}

export function graphMermaid(topology: Topology, bigRegion: string | undefined): string {
  return renderGraphMermaid(graphTopology(topology, bigRegion));
}

/** Metric names the topology mentions: recorded, read by rules, or named in an allow-list. */
export function metricsView(topology: Topology): MetricsView {
  const names = new Set<string>();
  const rules = [
    ...topology.recordingRules.edge,
    ...topology.recordingRules.cascade,
    ...topology.recordingRules.central,
  ];
  for (const r of rules) {
    names.add(r.record);
    for (const n of metricNames(r.expr)) names.add(n);
  }
  for (const a of topology.alertRules) for (const n of metricNames(a.expr)) names.add(n);
  for (const entry of [...topology.allowLists.cascade, ...topology.allowLists.central])
    if (METRIC_NAME_RE.test(entry)) names.add(entry);
  return { metrics: [...names].sort() };
}
