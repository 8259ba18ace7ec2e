/**
 * Cross-field checks on a schema-valid topology: uniqueness, label and metric names, durations,
 * PromQL syntax, allow-list selectors and the central ⊆ cascade allow-list rule. Each check
 * returns issues with the path of the offending value; load.ts turns paths into positions.
 */
import {
  JOB,
  RESERVED_LABELS,
  SYNTHETIC_SCRAPE_METRICS,
  SYSTEM_SELECTORS,
  UNDROPPABLE_LABELS,
  type Profile,
} from '../common/conventions.ts';
import { parseDuration } from '../common/duration.ts';
import type { PathSegment, TopologyIssue } from './errors.ts';
import { checkRouting } from './routing.ts';
import { checkRelabel } from './relabel-check.ts';
import { checkFederationSecurity, isSecured } from './security.ts';
import { checkBackend } from './backend.ts';
import type { RecordingRule, Topology } from './model.ts';
import { LABEL_NAME_RE } from './schema.ts';
import {
  exactName,
  labelMatchers,
  parseSelector,
  selectorCanMatchName,
  SelectorError,
  type Matcher,
  type Selector,
} from './selector.ts';

export interface CrossCheckOptions {
  /**
   * Checks what a profile needs on top: the local profile needs every endpoint, the
   * kubernetes profile protected federation (security.federation, or an explicit opt-out).
   */
  readonly profile?: Profile;
}

type Check = (topo: Topology, opts: CrossCheckOptions) => TopologyIssue[];

const CHECKS: readonly Check[] = [
  uniqueNames,
  uniqueEndpoints,
  centralZones,
  tierDurations,
  extraTargets,
  dropLabels,
  rules,
  allowLists,
  profileEndpoints,
  rolloutsRendered,
  (topo, opts) => checkFederationSecurity(topo.security, opts.profile),
  (topo) => checkRouting(topo.routing),
  checkRelabel,
  (topo, opts) =>
    checkBackend(topo.central, {
      profile: opts.profile,
      secured: isSecured(topo.security),
      basicAuth: topo.security?.federation.basicAuth !== undefined,
    }),
];

/**
 * The model's own consistency. What needs rendered outputs (the allow-list closure over the
 * meta-alerts and dashboards) runs on the render plan: render/check.ts.
 */
export function crossCheck(topo: Topology, opts: CrossCheckOptions = {}): TopologyIssue[] {
  return CHECKS.flatMap((check) => check(topo, opts));
}

/** Reports every value seen before at another path, pointing at the later one. */
function duplicates(
  entries: readonly { path: PathSegment[]; value: string }[],
  what: string,
): TopologyIssue[] {
  const first = new Map<string, PathSegment[]>();
  const issues: TopologyIssue[] = [];
  for (const { path, value } of entries) {
    const seen = first.get(value);
    if (seen)
      issues.push({ path, message: `duplicate ${what} ${JSON.stringify(value)} (first at ${fmt(seen)})` });
    else first.set(value, path);
  }
  return issues;
}

function fmt(path: readonly PathSegment[]): string {
  return path.map((s, i) => (typeof s === 'number' ? `[${s}]` : i === 0 ? s : `.${s}`)).join('');
}

function uniqueNames(topo: Topology): TopologyIssue[] {
  const bigRegions = topo.bigRegions.map((b, i) => ({ path: ['bigRegions', i, 'name'], value: b.name }));
  const regions = topo.bigRegions.flatMap((b, i) =>
    b.regions.map((r, j) => ({ path: ['bigRegions', i, 'regions', j, 'name'], value: r.name })),
  );
  const metas = topo.bigRegions.flatMap((b, i) =>
    b.regions.flatMap((r, j) =>
      r.metaClusters.map((m, k) => ({
        path: ['bigRegions', i, 'regions', j, 'metaClusters', k, 'name'],
        value: m.name,
      })),
    ),
  );
  return [
    ...duplicates(bigRegions, 'big region'),
    ...duplicates(regions, 'region'),
    ...duplicates(metas, 'meta-cluster'),
    ...duplicates(
      topo.central.replicas.map((r, i) => ({ path: ['central', 'replicas', i, 'name'], value: r.name })),
      'central replica',
    ),
    ...duplicates(
      topo.alertmanager.replicas.map((r, i) => ({
        path: ['alertmanager', 'replicas', i, 'name'],
        value: r.name,
      })),
      'Alertmanager replica',
    ),
  ];
}

/** Two components on one address would federate each other's data, or fail to start locally. */
function uniqueEndpoints(topo: Topology): TopologyIssue[] {
  const entries: { path: PathSegment[]; value: string }[] = [];
  topo.bigRegions.forEach((b, i) => {
    entries.push({ path: ['bigRegions', i, 'cascade', 'endpoint'], value: b.cascade.endpoint });
    b.regions.forEach((r, j) =>
      r.metaClusters.forEach((m, k) =>
        entries.push({
          path: ['bigRegions', i, 'regions', j, 'metaClusters', k, 'endpoint'],
          value: m.endpoint,
        }),
      ),
    );
  });
  topo.central.replicas.forEach(
    (r, i) => r.endpoint && entries.push({ path: ['central', 'replicas', i, 'endpoint'], value: r.endpoint }),
  );
  const vm = topo.central.victoriaMetrics;
  if (vm !== undefined) {
    entries.push({ path: ['central', 'victoriaMetrics', 'endpoint'], value: vm.endpoint });
    // queryEndpoint may name the same process as endpoint (nothing in front of it): checkBackend says when not.
    if (vm.queryEndpoint !== undefined && vm.queryEndpoint !== vm.endpoint)
      entries.push({ path: ['central', 'victoriaMetrics', 'queryEndpoint'], value: vm.queryEndpoint });
  }
  topo.alertmanager.replicas.forEach((r, i) => {
    if (r.endpoint) entries.push({ path: ['alertmanager', 'replicas', i, 'endpoint'], value: r.endpoint });
    if (r.clusterEndpoint)
      entries.push({ path: ['alertmanager', 'replicas', i, 'clusterEndpoint'], value: r.clusterEndpoint });
  });
  return duplicates(entries, 'endpoint');
}

/** Active-active only helps if one zone's outage cannot take both replicas. */
function centralZones(topo: Topology): TopologyIssue[] {
  const replicas = topo.central.replicas;
  if (replicas.length < 2 || new Set(replicas.map((r) => r.zone)).size >= 2) return [];
  return [
    {
      path: ['central', 'replicas', 1, 'zone'],
      message: `all central replicas are in zone ${JSON.stringify(replicas[0]!.zone)}; put them in at least two zones`,
    },
  ];
}

function tierDurations(topo: Topology): TopologyIssue[] {
  const issues: TopologyIssue[] = [];
  for (const tier of ['edge', 'cascade', 'central'] as const) {
    const t = topo.global[tier];
    if (t.scrapeTimeout !== undefined && parseDuration(t.scrapeTimeout) > parseDuration(t.scrapeInterval)) {
      issues.push({
        path: ['global', tier, 'scrapeTimeout'],
        message: `scrape timeout ${t.scrapeTimeout} is longer than scrapeInterval ${t.scrapeInterval}`,
      });
    }
  }
  return issues;
}

const BUILTIN_JOBS = new Set<string>(Object.values(JOB));

/** Label names are checked by the schema; here: the ones fedstack owns. */
function reservedLabels(
  labels: Readonly<Record<string, string>>,
  path: PathSegment[],
  what: string,
): TopologyIssue[] {
  return Object.keys(labels)
    .filter((name) => RESERVED_LABELS.includes(name))
    .map((name) => ({
      path: [...path, name],
      atKey: true,
      message: `label ${JSON.stringify(name)} is set by fedstack and cannot be set on ${what}`,
    }));
}

function extraTargets(topo: Topology): TopologyIssue[] {
  const issues: TopologyIssue[] = [];
  topo.bigRegions.forEach((b, i) =>
    b.regions.forEach((r, j) =>
      r.metaClusters.forEach((m, k) => {
        const base: PathSegment[] = ['bigRegions', i, 'regions', j, 'metaClusters', k, 'extraScrapeTargets'];
        m.extraScrapeTargets.forEach((t, n) => {
          if (BUILTIN_JOBS.has(t.job))
            issues.push({
              path: [...base, n, 'job'],
              message: `job ${JSON.stringify(t.job)} is one of fedstack's own jobs; pick another name`,
            });
          issues.push(...reservedLabels(t.labels, [...base, n, 'labels'], 'scrape targets'));
        });
        issues.push(
          ...duplicates(
            m.extraScrapeTargets.map((t, n) => ({ path: [...base, n, 'job'], value: t.job })),
            'job',
          ),
        );
      }),
    ),
  );
  return issues;
}

/** Dropping a label fedstack routes and alerts on would merge series from different places. */
const UNDROPPABLE = new Set(UNDROPPABLE_LABELS);

function dropLabels(topo: Topology): TopologyIssue[] {
  const issues = topo.dropLabels.flatMap((l, i): TopologyIssue[] => {
    if (!LABEL_NAME_RE.test(l))
      return [{ path: ['dropLabels', i], message: `invalid label name ${JSON.stringify(l)}` }];
    if (UNDROPPABLE.has(l))
      return [
        {
          path: ['dropLabels', i],
          message: `label ${JSON.stringify(l)} cannot be dropped: fedstack needs it to tell series apart`,
        },
      ];
    return [];
  });
  return [
    ...issues,
    ...duplicates(
      topo.dropLabels.map((l, i) => ({ path: ['dropLabels', i], value: l })),
      'label',
    ),
  ];
}

function rules(topo: Topology): TopologyIssue[] {
  const issues: TopologyIssue[] = [];
  for (const tier of ['edge', 'cascade', 'central'] as const) {
    const list: readonly RecordingRule[] = topo.recordingRules[tier];
    list.forEach((r, i) =>
      issues.push(...reservedLabels(r.labels, ['recordingRules', tier, i, 'labels'], 'recording rules')),
    );
    issues.push(
      ...duplicates(
        list.map((r, i) => ({ path: ['recordingRules', tier, i, 'record'], value: r.record })),
        'recording rule',
      ),
    );
  }
  topo.alertRules.forEach((a, i) =>
    issues.push(...reservedLabels(a.labels, ['alertRules', i, 'labels'], 'alert rules')),
  );
  return issues;
}

type Parsed = { selector: Selector; path: PathSegment[] };

function parseList(list: readonly string[], tier: 'cascade' | 'central', issues: TopologyIssue[]): Parsed[] {
  const out: Parsed[] = [];
  list.forEach((text, i) => {
    const path: PathSegment[] = ['allowLists', tier, i];
    try {
      out.push({ selector: parseSelector(text), path });
    } catch (e) {
      if (!(e instanceof SelectorError)) throw e;
      issues.push({
        path,
        message: `invalid selector ${JSON.stringify(text)}: ${e.message} (at character ${e.offset + 1})`,
      });
    }
  });
  issues.push(
    ...duplicates(
      list.map((text, i) => ({ path: ['allowLists', tier, i], value: text })),
      'selector',
    ),
  );
  return out;
}

const sameMatcher = (a: Matcher, b: Matcher) => a.name === b.name && a.op === b.op && a.value === b.value;

/**
 * central ⊆ cascade: everything central asks a cascade for must exist there — federated from
 * the edges by the cascade allow-list, recorded by a cascade rule, or made by the cascade's own
 * scrapes. A regex selector must match at least one name the cascade has; an exact name must be
 * kept, and if the cascade keeps it only under label matchers, central must ask with them too.
 */
function allowLists(topo: Topology): TopologyIssue[] {
  const issues: TopologyIssue[] = [];
  const cascade = parseList(topo.allowLists.cascade, 'cascade', issues);
  const central = parseList(topo.allowLists.central, 'central', issues);
  const cascadeSystem = SYSTEM_SELECTORS.cascade.map((s) => parseSelector(s));
  const keptFromEdges = [...cascade.map((c) => c.selector), ...cascadeSystem];

  // Names the cascade has whatever its allow-list says.
  const producedAtCascade = new Set([
    ...topo.recordingRules.cascade.map((r) => r.record),
    ...SYNTHETIC_SCRAPE_METRICS,
  ]);
  // Names known to exist somewhere below central: candidates for regex selectors.
  const known = new Set([
    ...producedAtCascade,
    ...topo.recordingRules.edge.map((r) => r.record),
    ...keptFromEdges.map(exactName).filter((n): n is string => n !== undefined),
  ]);
  const availableAtCascade = (name: string) =>
    producedAtCascade.has(name) || keptFromEdges.some((s) => selectorCanMatchName(s, name));

  for (const { selector, path } of central) {
    const name = exactName(selector);
    const label = labelMatchers(selector);
    if (name !== undefined) {
      if (producedAtCascade.has(name)) continue;
      const keeping = keptFromEdges.filter((s) => selectorCanMatchName(s, name));
      if (keeping.length === 0) {
        issues.push({
          path,
          message: `${JSON.stringify(selector.text)}: metric ${JSON.stringify(name)} is not kept by the cascade (add it to allowLists.cascade, or record it in recordingRules.cascade)`,
        });
      } else if (!keeping.some((s) => labelMatchers(s).every((m) => label.some((l) => sameMatcher(l, m))))) {
        issues.push({
          path,
          message: `${JSON.stringify(selector.text)} asks for more than the cascade keeps (${keeping.map((s) => JSON.stringify(s.text)).join(', ')}); add the same label matchers`,
        });
      }
    } else if (selector.matchers.some((m) => m.name === '__name__')) {
      if (![...known].some((n) => selectorCanMatchName(selector, n) && availableAtCascade(n))) {
        issues.push({
          path,
          message: `${JSON.stringify(selector.text)} matches no metric the cascade keeps or records`,
        });
      }
    } else if (
      !keptFromEdges.some(
        (s) =>
          !s.matchers.some((m) => m.name === '__name__') &&
          s.matchers.every((m) => label.some((l) => sameMatcher(l, m))),
      )
    ) {
      issues.push({
        path,
        message: `${JSON.stringify(selector.text)} selects any metric, but the cascade keeps only some; name the metrics`,
      });
    }
  }
  return issues;
}

/**
 * Staged rollouts gate every instance on its sidecar's report of what it applied. The
 * Kubernetes bundle of the victoriametrics backend runs vmalert without a pulling sidecar, so a
 * rollout there could never pass a central wave: refused rather than rendered half-working.
 * (The local profile's stack runs rollouts on both backends, whatever the option says.)
 */
function rolloutsRendered(topo: Topology, opts: CrossCheckOptions): TopologyIssue[] {
  if (opts.profile === 'local' || topo.rollouts?.enabled !== true) return [];
  if (topo.central.backend !== 'victoriametrics') return [];
  return [
    {
      path: ['rollouts', 'enabled'],
      message:
        'staged rollouts are not rendered for Kubernetes with central.backend victoriametrics yet: its vmalert replicas have no sidecar to pull their rules and report them; apply the rendered ConfigMaps instead (fedstack up runs rollouts on both backends)',
    },
  ];
}

/** The message of each address the local profile misses (the CLI adds what to do about it). */
export const LOCAL_PROFILE_NEEDS =
  'is required by the local profile (it runs every component on the address the topology gives)';

function profileEndpoints(topo: Topology, opts: CrossCheckOptions): TopologyIssue[] {
  if (opts.profile !== 'local') return [];
  const issues: TopologyIssue[] = [];
  const need = LOCAL_PROFILE_NEEDS;
  topo.central.replicas.forEach(
    (r, i) =>
      r.endpoint === undefined &&
      issues.push({ path: ['central', 'replicas', i, 'endpoint'], message: need }),
  );
  topo.alertmanager.replicas.forEach((r, i) => {
    if (r.endpoint === undefined)
      issues.push({ path: ['alertmanager', 'replicas', i, 'endpoint'], message: need });
    if (r.clusterEndpoint === undefined)
      issues.push({ path: ['alertmanager', 'replicas', i, 'clusterEndpoint'], message: need });
  });
  return issues;
}
