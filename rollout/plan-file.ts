/**
 * The rollout plan: which instances go in which wave, how fast, how long each wave soaks, how
 * many of its instances may fail, and which health gates judge it. Written as YAML
 * (`fedstack rollout start --plan plan.yaml`), read with every error at FILE:LINE:COL, then
 * resolved against the new revision and what it changes into concrete waves.
 *
 *   apiVersion: fedstack/v1
 *   kind: RolloutPlan
 *   owner: sre-china                 # the team FedstackRolloutRolledBack pages
 *   defaults: { maxConcurrency: 50, soak: 5m, failureBudget: 1%, progressDeadline: 10m }
 *   waves:
 *     - { name: canary, edges: { perBigRegion: 1 }, failureBudget: 0 }
 *     - { name: 10%, edges: { percent: 10 } }
 *     - { name: all edges, edges: all }
 *     - { name: cascade, cascades: each }     # one wave per cascade
 *     - { name: central-a, central: [central-a] }
 *   gates:
 *     series: { ratio: [0.7, 1.5] }           # override a default gate (every tier)
 *     firing-alerts: { enabled: false }
 *   customGates:
 *     - { name: apiserver-errors, tier: edge, below: 0.05,
 *         expr: 'max by (meta_cluster) (meta_cluster:apiserver_request_errors:ratio_rate5m)' }
 *
 * Without a plan file, the default plan (DEFAULT_WAVES) is resolved the same way.
 */
import { z } from 'zod';
import { formatDuration, parseDuration } from '../common/duration.ts';
import type { RenderPlan } from '../render/plan.ts';
import type { PathSegment, TopologyError, TopologyIssue } from '../topology/errors.ts';
import { durationSchema, intSchema } from '../topology/fields.ts';
import { promqlSyntaxMessage } from '../topology/promql-syntax.ts';
import { defaultReceiverName, receiversOf, type Routing } from '../topology/routing.ts';
import { closest } from '../topology/suggest.ts';
import { parseYamlDocument } from '../topology/yaml-doc.ts';
import type { ChangeSet, InstanceChange } from './changes.ts';
import { defaultGates, GATE_NAMES, gateKey, type Gate, type GateCheck } from './gates.ts';
import { instanceId, type Tier } from './instances.ts';

const NAME_RE = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const nameSchema = z.string().refine((s) => NAME_RE.test(s), {
  error: (iss) => `invalid name ${JSON.stringify(iss.input)} (lower-case letters, digits and '-')`,
});

const budgetSchema = z.union([
  intSchema({ min: 0, max: 1_000_000 }),
  z.string().refine((s) => /^(100|\d{1,2}(\.\d+)?)%$/.test(s), {
    error: (iss) =>
      `invalid failure budget ${JSON.stringify(iss.input)} (a number of instances, or a percentage such as 5%)`,
  }),
]);

const timing = {
  maxConcurrency: intSchema({ min: 1, max: 1_000_000 }).optional(),
  soak: durationSchema.optional(),
  failureBudget: budgetSchema.optional(),
  progressDeadline: durationSchema.optional(),
};

const edgesSchema = z.union([
  z.literal('all'),
  z.array(nameSchema).min(1),
  z.strictObject({ perBigRegion: intSchema({ min: 1, max: 1_000_000 }) }),
  z.strictObject({
    percent: z.number().refine((n) => n > 0 && n <= 100, { error: 'must be a percentage above 0, at most 100' }),
  }),
]);

const waveSchema = z
  .strictObject({
    name: z.string().min(1).max(63),
    edges: edgesSchema.optional(),
    /** each: one wave per cascade, in topology order; all: every cascade in one wave. */
    cascades: z.union([z.literal('all'), z.literal('each'), z.array(nameSchema).min(1)]).optional(),
    central: z.array(nameSchema).min(1).optional(),
    ...timing,
  })
  .superRefine((w, ctx) => {
    const picks = (['edges', 'cascades', 'central'] as const).filter((k) => w[k] !== undefined);
    if (picks.length !== 1)
      ctx.addIssue({
        code: 'custom',
        message:
          picks.length === 0
            ? 'a wave selects its instances with one of edges, cascades or central'
            : `a wave selects one tier, got ${picks.join(' and ')}`,
      });
  });

const promqlSchema = z
  .string()
  .min(1)
  .superRefine((s, ctx) => {
    const problem = promqlSyntaxMessage(s.replaceAll('$metric', 'up'));
    if (problem !== undefined) ctx.addIssue({ code: 'custom', message: problem });
  });

const checkFields = {
  atLeast: z.number().optional(),
  below: z.number().optional(),
  /** [min] or [min, max]: value / baseline must stay within. */
  ratio: z.array(z.number().nonnegative()).min(1).max(2).optional(),
  /** The value may exceed its baseline by this much (0: not at all). */
  noIncrease: z.number().nonnegative().optional(),
};
const CHECK_KEYS = Object.keys(checkFields) as (keyof typeof checkFields)[];

function oneCheckAtMost(o: Record<string, unknown>, ctx: z.RefinementCtx, required: boolean): void {
  const given = CHECK_KEYS.filter((k) => o[k] !== undefined);
  if (given.length > 1) ctx.addIssue({ code: 'custom', message: `one check per gate, got ${given.join(' and ')}` });
  if (required && given.length === 0)
    ctx.addIssue({ code: 'custom', message: `a gate needs a check: one of ${CHECK_KEYS.join(', ')}` });
  const ratio = o.ratio as number[] | undefined;
  if (ratio !== undefined && ratio.length === 2 && ratio[0]! > ratio[1]!)
    ctx.addIssue({ code: 'custom', path: ['ratio'], message: 'the band [min, max] must have min ≤ max' });
}

const gateOverrideSchema = z
  .strictObject({ enabled: z.boolean().optional(), expr: promqlSchema.optional(), ...checkFields })
  .superRefine((o, ctx) => oneCheckAtMost(o, ctx, false));

const customGateSchema = z
  .strictObject({
    name: nameSchema,
    tier: z.enum(['edge', 'cascade', 'central']),
    expr: promqlSchema,
    ...checkFields,
  })
  .superRefine((o, ctx) => oneCheckAtMost(o, ctx, true));

export const rolloutPlanSchema = z.strictObject({
  apiVersion: z.literal('fedstack/v1'),
  kind: z.literal('RolloutPlan'),
  /** The routing team paged when the rollout rolls back (default: the default receiver's team). */
  owner: nameSchema.optional(),
  defaults: z
    .strictObject({
      ...timing,
      /** How often the gates are evaluated (default: central's scrape interval). */
      gateInterval: durationSchema.optional(),
      /** Consecutive failing evaluations before an instance counts as failed (default 2). */
      failAfter: intSchema({ min: 1, max: 100 }).optional(),
    })
    .optional(),
  waves: z.array(waveSchema).min(1).optional(),
  gates: z
    .strictObject(Object.fromEntries(GATE_NAMES.map((n) => [n, gateOverrideSchema.optional()])))
    .optional(),
  customGates: z.array(customGateSchema).optional(),
});
export type RolloutPlanSpec = z.output<typeof rolloutPlanSchema>;
type WaveSpecInput = z.output<typeof waveSchema>;

/** The default plan: a canary per big region, 10%, 50%, every edge, each cascade, each central replica. */
export function defaultPlanSpec(topologyReplicas: readonly string[]): RolloutPlanSpec {
  return {
    apiVersion: 'fedstack/v1',
    kind: 'RolloutPlan',
    waves: [
      { name: 'canary', edges: { perBigRegion: 1 }, failureBudget: 0, maxConcurrency: 1_000 },
      { name: '10%', edges: { percent: 10 } },
      { name: '50%', edges: { percent: 50 } },
      { name: 'all edges', edges: 'all' },
      { name: 'cascade', cascades: 'each' },
      // Never both central replicas at once: one wave each, each soaking before the next.
      ...topologyReplicas.map((r) => ({ name: r, central: [r] })),
    ],
  };
}

export type ParsedPlan =
  | { ok: true; spec: RolloutPlanSpec; locate: (issues: readonly TopologyIssue[]) => TopologyError[] }
  | { ok: false; errors: TopologyError[] };

export function parseRolloutPlan(text: string, file: string): ParsedPlan {
  const doc = parseYamlDocument(text, file, rolloutPlanSchema, 'rollout plan');
  return doc.ok ? { ok: true, spec: doc.value, locate: doc.locate } : doc;
}

/** A wave ready to run: the instances it moves, in order, and its limits. */
export interface Wave {
  readonly name: string;
  readonly tier: Tier;
  /** Instance ids (`edge/mc-hz-01`); empty when nothing it selects changes (the wave is skipped). */
  readonly instances: readonly string[];
  readonly maxConcurrency: number;
  readonly soakMs: number;
  /** How many of its instances may fail before the rollout rolls back. */
  readonly failureBudget: number;
  /** As written: "0", "1%". */
  readonly failureBudgetText: string;
  readonly progressDeadlineMs: number;
}

export interface ResolvedPlan {
  readonly waves: readonly Wave[];
  readonly gates: readonly Gate[];
  readonly gateIntervalMs: number;
  readonly failAfter: number;
  readonly owner?: string;
}

export type Resolution = { ok: true; plan: ResolvedPlan } | { ok: false; issues: TopologyIssue[] };

/** The defaults a wave takes when neither it nor the plan's `defaults` says otherwise. */
export function planDefaults(to: RenderPlan) {
  return {
    progressDeadlineMs: 600_000,
    gateIntervalMs: Math.max(1000, parseDuration(to.topology.global.central.scrapeInterval)),
    failAfter: 2,
    maxConcurrency: { edge: 50, cascade: 1, central: 1 } as Record<Tier, number>,
    failureBudget: { edge: '1%', cascade: 0, central: 0 } as Record<Tier, number | string>,
  };
}

/**
 * Turns a plan into waves for this change: each wave takes the changed instances it selects that
 * no earlier wave took; a wave with none left is kept, empty, and skipped when it runs.
 * Problems come back with their path in the plan file.
 */
export function resolvePlan(spec: RolloutPlanSpec, to: RenderPlan, changes: ChangeSet): Resolution {
  const issues: TopologyIssue[] = [];
  const at = (path: PathSegment[], message: string) => issues.push({ path, message });
  const topo = to.topology;
  const d = planDefaults(to);
  const defaults = spec.defaults ?? {};
  const gateIntervalMs = defaults.gateInterval ? parseDuration(defaults.gateInterval) : d.gateIntervalMs;
  const failAfter = defaults.failAfter ?? d.failAfter;
  // A change needs the lag budget to show at central, then `failAfter` evaluations to count.
  const minSoakMs = to.facts.lag.staleAfterMs + failAfter * gateIntervalMs;
  const defaultSoakMs = Math.max(300_000, 2 * minSoakMs);

  const rollable = changes.changed.filter((c) => c.kind !== 'removed');
  const byId = new Map(rollable.map((c) => [c.instance.id, c]));
  const taken = new Set<string>();
  const take = (ids: Iterable<string>): string[] => {
    const out: string[] = [];
    for (const id of ids) {
      if (byId.has(id) && !taken.has(id)) {
        taken.add(id);
        out.push(id);
      }
    }
    return out;
  };
  const changedEdges = rollable.filter((c) => c.instance.tier === 'edge').map((c) => c.instance);
  const edgeNames = new Set(to.metaClusters.map((p) => p.metaCluster.name));
  const cascadeNames = topo.bigRegions.map((b) => b.name);
  const replicaNames = topo.central.replicas.map((r) => r.name);

  const unknown = (path: PathSegment[], what: string, name: string, known: Iterable<string>) => {
    const hint = closest(name, known);
    at(path, `no ${what} ${JSON.stringify(name)} in the new topology${hint ? ` (did you mean ${JSON.stringify(hint)}?)` : ''}`);
  };

  const waves: Wave[] = [];
  const waveSpecs = spec.waves ?? defaultPlanSpec(replicaNames).waves!;
  waveSpecs.forEach((w: WaveSpecInput, wi) => {
    const path = (...rest: PathSegment[]) => (spec.waves ? ['waves', wi, ...rest] : ['(default plan)', ...rest]);
    const tier: Tier = w.edges !== undefined ? 'edge' : w.cascades !== undefined ? 'cascade' : 'central';
    const soakText = w.soak ?? defaults.soak;
    const soakMs = soakText ? parseDuration(soakText) : defaultSoakMs;
    if (soakMs < minSoakMs) {
      at(
        soakText === w.soak ? path('soak') : ['defaults', 'soak'],
        `${soakText} is too short: a change takes up to ${formatDuration(to.facts.lag.staleAfterMs)} to reach central and a gate must fail ${failAfter} evaluation(s) ${formatDuration(gateIntervalMs)} apart to count (want at least ${formatDuration(minSoakMs)})`,
      );
    }
    const budgetText = String(w.failureBudget ?? defaults.failureBudget ?? d.failureBudget[tier]);
    const make = (name: string, instances: string[]): Wave => ({
      name,
      tier,
      instances,
      maxConcurrency: w.maxConcurrency ?? defaults.maxConcurrency ?? d.maxConcurrency[tier],
      soakMs,
      failureBudget: budgetOf(budgetText, instances.length),
      failureBudgetText: budgetText,
      progressDeadlineMs:
        w.progressDeadline !== undefined || defaults.progressDeadline !== undefined
          ? parseDuration((w.progressDeadline ?? defaults.progressDeadline)!)
          : d.progressDeadlineMs,
    });

    if (w.edges !== undefined) {
      const e = w.edges;
      let ids: string[];
      if (e === 'all') ids = take(changedEdges.map((i) => i.id));
      else if (Array.isArray(e)) {
        e.forEach((n, ni) => {
          if (!edgeNames.has(n)) unknown(path('edges', ni), 'meta-cluster', n, edgeNames);
        });
        ids = take(e.map((n) => instanceId('edge', n)));
      } else if ('perBigRegion' in e) {
        ids = [];
        for (const b of topo.bigRegions) {
          const left = changedEdges.filter((i) => i.bigRegion === b.name && !taken.has(i.id));
          ids.push(...take(left.slice(0, e.perBigRegion).map((i) => i.id)));
        }
      } else {
        ids = [];
        const regions = [...new Set(changedEdges.map((i) => i.region!))];
        for (const r of regions) {
          const inRegion = changedEdges.filter((i) => i.region === r);
          const want = Math.ceil((e.percent / 100) * inRegion.length);
          const done = inRegion.filter((i) => taken.has(i.id)).length;
          const left = inRegion.filter((i) => !taken.has(i.id));
          ids.push(...take(left.slice(0, Math.max(0, want - done)).map((i) => i.id)));
        }
      }
      waves.push(make(w.name, ids));
    } else if (w.cascades !== undefined) {
      const c = w.cascades;
      if (Array.isArray(c)) {
        c.forEach((n, ni) => {
          if (!cascadeNames.includes(n)) unknown(path('cascades', ni), 'big region', n, cascadeNames);
        });
        waves.push(make(w.name, take(c.map((n) => instanceId('cascade', n)))));
      } else {
        const ids = take(cascadeNames.map((n) => instanceId('cascade', n)));
        if (c === 'all' || ids.length === 0) waves.push(make(w.name, ids));
        else for (const id of ids) waves.push(make(`${w.name} ${id.slice('cascade/'.length)}`, [id]));
      }
    } else {
      const names = w.central!;
      if (names.length > 1)
        at(path('central'), `one central replica per wave (never both at once), got ${names.length}`);
      names.forEach((n, ni) => {
        if (!replicaNames.includes(n)) unknown(path('central', ni), 'central replica', n, replicaNames);
      });
      waves.push(make(w.name, take(names.map((n) => instanceId('central', n)))));
    }
  });

  const left = rollable.filter((c) => !taken.has(c.instance.id));
  if (left.length > 0) {
    at(
      spec.waves ? ['waves'] : ['(default plan)'],
      `no wave selects ${left.length} changed instance(s): ${left
        .slice(0, 5)
        .map(describeChange)
        .join('; ')}${left.length > 5 ? '; …' : ''}`,
    );
  }

  const gates = resolveGates(spec, to, at);
  const owner = resolveOwner(spec, topo.routing as Routing | undefined, at);
  if (issues.length > 0) return { ok: false, issues };
  return {
    ok: true,
    plan: { waves, gates, gateIntervalMs, failAfter, ...(owner === undefined ? {} : { owner }) },
  };
}

function budgetOf(text: string, instances: number): number {
  if (!text.endsWith('%')) return Number(text);
  return Math.floor((Number(text.slice(0, -1)) / 100) * instances);
}

export function describeChange(c: InstanceChange): string {
  return `${c.instance.id} (${c.kind === 'added' ? 'new, ' : ''}${c.files.map((f) => `${f.file} +${f.added} −${f.removed}`).join(', ')})`;
}

type CheckFields = { [K in keyof typeof checkFields]?: z.output<(typeof checkFields)[K]> };

function checkOf(o: CheckFields): GateCheck | undefined {
  if (o.atLeast !== undefined) return { kind: 'atLeast', value: o.atLeast };
  if (o.below !== undefined) return { kind: 'below', value: o.below };
  if (o.ratio !== undefined)
    return { kind: 'ratio', min: o.ratio[0]!, ...(o.ratio[1] === undefined ? {} : { max: o.ratio[1] }) };
  if (o.noIncrease !== undefined) return { kind: 'noIncrease', tolerance: o.noIncrease };
  return undefined;
}

/** Kinds a gate's check may become: a number gate stays a number gate. */
const NUMERIC = new Set(['atLeast', 'below', 'ratio', 'noIncrease']);

function resolveGates(
  spec: RolloutPlanSpec,
  to: RenderPlan,
  at: (path: PathSegment[], message: string) => void,
): Gate[] {
  const overrides = spec.gates ?? {};
  const gates: Gate[] = [];
  for (const g of defaultGates(to)) {
    const o = overrides[g.name];
    if (o === undefined) {
      gates.push(g);
      continue;
    }
    if (o.enabled === false) continue;
    const check = checkOf(o);
    if ((check !== undefined || o.expr !== undefined) && !NUMERIC.has(g.check.kind)) {
      at(['gates', g.name], `gate ${JSON.stringify(g.name)} can only be switched off (enabled: false)`);
      continue;
    }
    gates.push({ ...g, ...(o.expr === undefined ? {} : { expr: o.expr }), check: check ?? g.check });
  }
  const keys = new Set(gates.map(gateKey));
  (spec.customGates ?? []).forEach((c, ci) => {
    const gate: Gate = { name: c.name, tier: c.tier, expr: c.expr, check: checkOf(c)!, about: 'custom gate' };
    if (keys.has(gateKey(gate)))
      at(['customGates', ci, 'name'], `${c.tier} already has a gate named ${JSON.stringify(c.name)}`);
    keys.add(gateKey(gate));
    gates.push(gate);
  });
  return gates;
}

function resolveOwner(
  spec: RolloutPlanSpec,
  routing: Routing | undefined,
  at: (path: PathSegment[], message: string) => void,
): string | undefined {
  const teams = routing?.teams.map((t) => t.name) ?? [];
  if (spec.owner !== undefined) {
    if (!teams.includes(spec.owner)) {
      const hint = closest(spec.owner, teams);
      at(
        ['owner'],
        teams.length === 0
          ? 'the topology has no routing teams to page'
          : `no routing team ${JSON.stringify(spec.owner)} (teams: ${teams.join(', ')})${hint ? `; did you mean ${JSON.stringify(hint)}?` : ''}`,
      );
    }
    return spec.owner;
  }
  if (routing === undefined) return undefined;
  const receiver = defaultReceiverName(routing);
  return receiversOf(routing).find((r) => r.receiver.name === receiver)?.team.name ?? routing.teams[0]?.name;
}
