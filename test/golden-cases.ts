/**
 * The topologies and profiles whose rendered output is kept under test/golden/: two whole
 * trees (the embedded example, the local stack), and small per-feature scenarios that keep only
 * the files their feature shapes, so a regression shows as one small diff (prometheus-operator's
 * per-feature golden tests).
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { Profile } from '../common/conventions.ts';
import { DEFAULT_TOPOLOGY_PATH } from '../examples/index.ts';
import { renderTree } from '../render/emit.ts';
import { validateTopology } from '../render/validate.ts';
import { formatError } from '../topology/errors.ts';

export interface GoldenCase {
  readonly name: string;
  readonly topologyFile: string;
  readonly profile: Profile;
  /** The files this case keeps (default: the whole tree). */
  readonly only?: RegExp;
}

const here = (p: string) => fileURLToPath(new URL(p, import.meta.url));
const scenario = (name: string) => here(`./fixtures/scenarios/${name}.good.yaml`);

export const GOLDEN_CASES: readonly GoldenCase[] = [
  { name: 'example-kubernetes', topologyFile: DEFAULT_TOPOLOGY_PATH, profile: 'kubernetes' },
  { name: 'local-stack-local', topologyFile: here('./fixtures/local-stack.good.yaml'), profile: 'local' },
  {
    name: 'scenarios/federation-tls-basic-auth',
    topologyFile: scenario('federation-tls-basic-auth'),
    profile: 'kubernetes',
    only: /^(edge|cascade|central)\/[^/]+\/(prometheus\.yml|web-config\.yml|manifests\.yaml|kustomization\.yaml)$/,
  },
  {
    name: 'scenarios/federation-mutual-tls',
    topologyFile: scenario('federation-mutual-tls'),
    profile: 'kubernetes',
    only: /^(edge|cascade|central)\/[^/]+\/(prometheus\.yml|web-config\.yml|manifests\.yaml)$/,
  },
  {
    name: 'scenarios/extra-scrape-targets',
    topologyFile: scenario('extra-scrape-targets'),
    profile: 'kubernetes',
    only: /^edge\/[^/]+\/prometheus\.yml$/,
  },
  {
    name: 'scenarios/custom-allow-list',
    topologyFile: scenario('custom-allow-list'),
    profile: 'kubernetes',
    only: /^(cascade|central)\/[^/]+\/prometheus\.yml$/,
  },
  {
    name: 'scenarios/relabel-rewrites',
    topologyFile: scenario('relabel-rewrites'),
    profile: 'kubernetes',
    only: /^(cascade|central)\/[^/]+\/prometheus\.yml$/,
  },
  {
    // rollouts.enabled: one service replica with its state volume, every sidecar pulling.
    name: 'scenarios/staged-rollouts',
    topologyFile: scenario('staged-rollouts'),
    profile: 'kubernetes',
    only: /^(service|edge\/[^/]+|cascade\/[^/]+)\/manifests\.yaml$/,
  },
  {
    name: 'scenarios/routing-mute-intervals',
    topologyFile: scenario('routing-mute-intervals'),
    profile: 'kubernetes',
    only: /^alerting\/alertmanager\.yml$/,
  },
  {
    name: 'scenarios/local-profile',
    topologyFile: scenario('local-profile'),
    profile: 'local',
    only: /^((edge|cascade|central)\/[^/]+\/prometheus\.yml|alerting\/alertmanager\.yml|dashboards\/provisioning\/.+)$/,
  },
  {
    // central.backend victoriametrics: the cascades' remote_write, the vmalert pair, the cluster.
    name: 'scenarios/central-victoriametrics',
    topologyFile: scenario('central-victoriametrics'),
    profile: 'kubernetes',
    only: /^(cascade\/[^/]+\/prometheus\.yml|central\/.+|victoriametrics\/.+|dashboards\/provisioning\/datasources\/.+)$/,
  },
  {
    name: 'scenarios/central-victoriametrics-local',
    topologyFile: here('../examples/victoriametrics.yaml'),
    profile: 'local',
    only: /^(cascade\/[^/]+\/prometheus\.yml|central\/.+|victoriametrics\/.+)$/,
  },
];

export const goldenDir = (c: GoldenCase) => here(`./golden/${c.name}`);

/** The case's whole rendered tree (what promtool checks need: a config's rules sit next to it). */
export function renderGoldenTree(c: GoldenCase): Map<string, string> {
  const result = validateTopology(readFileSync(c.topologyFile, 'utf8'), c.topologyFile, {
    profile: c.profile,
  });
  if (!result.ok) throw new Error(result.errors.map(formatError).join('\n'));
  return renderTree(result.plan);
}

/** The files the case keeps under test/golden/. */
export function renderGoldenCase(c: GoldenCase): Map<string, string> {
  const tree = renderGoldenTree(c);
  return c.only === undefined ? tree : new Map([...tree].filter(([p]) => c.only!.test(p)));
}
