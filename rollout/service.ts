/**
 * The rollout controller inside the service: keeps the revisions and the rollout in the state
 * file (rollout/store.ts), answers which revision each instance is served, takes the sidecars'
 * reports, and every tick reads the gates at central when the engine wants a reading, advances
 * the engine, saves, and logs and counts each step. The engine (rollout/engine.ts) decides; this
 * module only does the I/O around it.
 */
import { randomBytes } from 'node:crypto';
import type { Logger } from 'pino';
import { Counter, Gauge, type Registry } from 'prom-client';
import { ROLLOUT_ROLLED_BACK, type Profile } from '../common/conventions.ts';
import { createEmitter, type Emitter } from '../render/emit.ts';
import { validateTopology } from '../render/validate.ts';
import { formatError } from '../topology/errors.ts';
import type { Topology } from '../topology/model.ts';
import { textHash } from '../server/topology-watch.ts';
import { diffRevisionsAsync, unifiedDiff, type ChangeSet } from './changes.ts';
import { readGates, type CentralUrls } from './central.ts';
import {
  advance,
  createRollout,
  isActive,
  pause,
  resume,
  runsNew,
  stop,
  tiersToRead,
  wantsReading,
  type InstanceReport,
  type Rollout,
  type RolloutEvent,
} from './engine.ts';
import { instanceId, parseInstanceId, type Tier } from './instances.ts';
import { defaultPlanSpec, parseRolloutPlan, resolvePlan, type ResolvedPlan } from './plan-file.ts';
import { StateFile, type FileSummary, type RevisionRecord, type StoredState } from './store.ts';

/** What the service serves one instance: a revision's topology. */
export interface Served {
  readonly topology: Topology;
  readonly seq: number;
  readonly hash: string;
  /** Its files (the app serves from it: the templates made to compare it are made once). */
  readonly emitter: Emitter;
}

export interface RolloutServiceOptions {
  readonly dataDir: string;
  readonly profile: Profile;
  /** The topology the service was started with: revision 1 when the state file is new. */
  readonly initial: { readonly text: string; readonly file: string; readonly hash: string };
  readonly logger: Logger;
  readonly registry: Registry;
  readonly now: () => number;
  /** How often the controller looks (default 1 s); the gates are read every gateInterval. */
  readonly tickMs?: number;
  /** Where central's replicas answer PromQL (default: http://<endpoint> from the topology). */
  readonly centralUrls?: (topology: Topology) => CentralUrls;
}

export interface StartRequest {
  readonly topology: string;
  readonly topologyFile: string;
  readonly plan?: string;
  readonly planFile?: string;
  readonly note?: string;
}

export type Outcome<T> = { ok: true; value: T } | { ok: false; status: number; errors: string[] };

/** How long "applied" steps may wait to be saved (see step). */
const APPLIED_SAVE_MS = 1000;

export type Action = 'pause' | 'resume' | 'abort' | 'rollback';

export class RolloutService {
  private readonly file: StateFile;
  private readonly state: StoredState;
  private readonly reports = new Map<string, InstanceReport>();
  /** Instances that reported since the last advance (the engine looks at those, not the wave). */
  private reported = new Set<string>();
  private readonly loaded = new Map<number, Served>();
  private readonly metrics: ReturnType<typeof rolloutMetrics>;
  private timer: NodeJS.Timeout | undefined;
  private ticking: Promise<void> | undefined;
  private starting = false;
  /** When the state was last saved, and whether steps taken since are not yet in the file. */
  private savedAt = 0;
  private unsaved = false;

  constructor(private readonly opts: RolloutServiceOptions) {
    this.file = new StateFile(opts.dataDir);
    const saved = this.file.load();
    if (saved !== undefined) {
      this.state = saved;
    } else {
      this.file.writeText(1, opts.initial.text);
      this.state = {
        version: 1,
        revisions: [{ seq: 1, hash: opts.initial.hash, at: opts.now(), file: opts.initial.file, note: 'initial' }],
        stable: 1,
      };
      this.file.save(this.state);
    }
    this.metrics = rolloutMetrics(opts.registry, () => this.state);
    const r = this.state.rollout;
    if (r !== undefined && isActive(r))
      opts.logger.info({ rollout: r.id, state: r.state, wave: r.waves[r.current]?.name }, 'rollout resumed from the state file');
    this.timer = setInterval(() => void this.tick(), opts.tickMs ?? 1000);
    this.timer.unref();
  }

  /** The revision every instance outside a rollout runs. */
  stable(): Served {
    return this.load(this.state.stable);
  }

  /** The revision an instance is assigned now. */
  servedTo(tier: Tier, name: string): Served {
    const r = this.state.rollout;
    if (r !== undefined && runsNew(r, instanceId(tier, name))) return this.load(r.to.seq);
    return this.stable();
  }

  /** A sidecar's heartbeat. */
  report(id: string, rep: Omit<InstanceReport, 'receivedAt'>): void {
    this.reports.set(id, { ...rep, receivedAt: this.opts.now() });
    this.reported.add(id);
  }

  current(): Rollout | undefined {
    return this.state.rollout;
  }

  revisions(): (RevisionRecord & { stable: boolean })[] {
    return this.state.revisions.map((r) => ({ ...r, stable: r.seq === this.state.stable }));
  }

  /** The reports the service holds, by instance (status shows them). */
  reportOf(id: string): InstanceReport | undefined {
    return this.reports.get(id);
  }

  /**
   * The unified diff of one instance's files between a revision and the one it was rolled out
   * over ('' when the instance did not change); undefined when either revision is not kept.
   */
  diff(seq: number, instance: string): string | undefined {
    const rec = this.state.revisions.find((r) => r.seq === seq);
    const id = parseInstanceId(instance);
    if (rec?.changes === undefined || id === undefined) return undefined;
    if (!this.state.revisions.some((r) => r.seq === rec.changes!.from)) return undefined;
    const from = this.load(rec.changes.from).emitter;
    const to = this.load(seq).emitter;
    return [...new Set([...from.configFiles(id.tier), ...to.configFiles(id.tier)])]
      .map((f) => unifiedDiff(from, to, `${id.tier}/${id.name}/${f}`, [`r${rec.changes!.from}`, `r${seq}`]))
      .join('');
  }

  /** A dry run: what `start` would roll out, without touching anything. */
  async plan(req: StartRequest): Promise<Outcome<{ changes: ChangeSet; plan: ResolvedPlan; from: Served; to: Served; lagMs: number }>> {
    const to = validateTopology(req.topology, req.topologyFile, { profile: this.opts.profile });
    if (!to.ok) return { ok: false, status: 400, errors: to.errors.map(formatError) };
    const from = this.load(this.state.stable);
    const spec =
      req.plan === undefined ? { ok: true as const, spec: defaultPlanSpec(to.topology.central.replicas.map((r) => r.name)), locate: undefined } : parseRolloutPlan(req.plan, req.planFile ?? 'plan.yaml');
    if (!spec.ok) return { ok: false, status: 400, errors: spec.errors.map(formatError) };
    const toEmitter = createEmitter(to.plan);
    const changes = await diffRevisionsAsync(from.emitter, toEmitter);
    const resolved = resolvePlan(spec.spec, to.plan, changes);
    if (!resolved.ok) {
      const errors = spec.locate
        ? spec.locate(resolved.issues).map(formatError)
        : resolved.issues.map((i) => `${i.path.join('.')}: ${i.message}`);
      return { ok: false, status: 400, errors };
    }
    const seq = Math.max(...this.state.revisions.map((r) => r.seq)) + 1;
    return {
      ok: true,
      value: {
        changes,
        plan: resolved.plan,
        from,
        to: { topology: to.topology, seq, hash: textHash(req.topology), emitter: toEmitter },
        lagMs: to.plan.facts.lag.normalMs,
      },
    };
  }

  async start(req: StartRequest): Promise<Outcome<Rollout>> {
    if (this.starting || (this.state.rollout !== undefined && isActive(this.state.rollout)))
      return { ok: false, status: 409, errors: [`rollout ${this.state.rollout?.id ?? '(starting)'} is in progress: only one rollout runs at a time`] };
    this.starting = true;
    try {
      const dry = await this.plan(req);
      if (!dry.ok) return dry;
      const { changes, plan, from, to } = dry.value;
      if (to.hash === from.hash)
        return { ok: false, status: 400, errors: [`${req.topologyFile}: the same topology as revision ${from.seq} (${from.hash}): nothing to roll out`] };
      const record: RevisionRecord = {
        seq: to.seq,
        hash: to.hash,
        at: this.opts.now(),
        file: req.topologyFile,
        ...(req.note === undefined ? {} : { note: req.note }),
        changes: { from: from.seq, instances: changes.changed.length, unchanged: changes.unchanged, files: summarize(changes) },
      };
      const { rollout, events } = createRollout({
        id: `r${to.seq}-${randomBytes(3).toString('hex')}`,
        from: { seq: from.seq, hash: from.hash },
        to: { seq: to.seq, hash: to.hash, ...(req.note === undefined ? {} : { note: req.note }) },
        ...(req.note === undefined ? {} : { note: req.note }),
        ...(plan.owner === undefined ? {} : { owner: plan.owner }),
        waves: plan.waves,
        gates: plan.gates,
        gateIntervalMs: plan.gateIntervalMs,
        failAfter: plan.failAfter,
        // Gates judge an instance once its change can have reached central: one federation lag.
        settleMs: dry.value.lagMs,
        now: this.opts.now(),
      });
      this.file.writeText(record.seq, req.topology);
      this.state.revisions.push(record);
      // Served from the emitter it was compared with: its edge templates are made already.
      this.keep(to);
      this.state.rollout = rollout;
      this.save(this.opts.now());
      this.emit(events);
      return { ok: true, value: rollout };
    } finally {
      this.starting = false;
    }
  }

  act(action: Action, by = 'operator'): Outcome<Rollout> {
    const r = this.state.rollout;
    if (r === undefined) return { ok: false, status: 404, errors: ['no rollout has been started'] };
    const now = this.opts.now();
    let events: RolloutEvent[];
    try {
      events =
        action === 'pause' ? pause(r, now) : action === 'resume' ? resume(r, now) : stop(r, now, action, by);
    } catch (e) {
      return { ok: false, status: 409, errors: [(e as Error).message] };
    }
    this.save(now);
    this.emit(events);
    return { ok: true, value: r };
  }

  /** One controller step; ticks never overlap. */
  tick(): Promise<void> {
    this.ticking ??= this.step().finally(() => (this.ticking = undefined));
    return this.ticking;
  }

  private async step(): Promise<void> {
    const r = this.state.rollout;
    if (r === undefined || !isActive(r)) {
      this.reported.clear();
      return;
    }
    try {
      let reading;
      if (wantsReading(r, this.opts.now())) {
        const topo = this.load(r.to.seq).topology;
        const urls = (this.opts.centralUrls ?? defaultCentralUrls)(topo);
        reading = await readGates(r.gates, tiersToRead(r), urls, this.opts.now());
      }
      const now = this.opts.now();
      const reported = this.reported;
      this.reported = new Set();
      const events = advance(r, { now, report: (id) => this.reports.get(id), reported, ...(reading ? { reading } : {}) });
      if (r.state === 'done') this.state.stable = r.to.seq;
      // Every step that decides something is saved before anything acts on it. "applied" only
      // records what sidecars said, and they say it again in every heartbeat: those steps are
      // saved at most once a second (the default tick), not at every tick of a fast
      // controller, since each save writes the whole wave (a megabyte at 10,000 edges). A
      // restart within that second takes them again from the next heartbeats.
      const decides = reading !== undefined || events.some((e) => e.step !== 'applied');
      this.unsaved ||= events.length > 0;
      if (decides || (this.unsaved && now - this.savedAt >= APPLIED_SAVE_MS)) this.save(now);
      this.emit(events);
    } catch (e) {
      this.opts.logger.error({ rollout: r.id, err: (e as Error).message }, 'rollout step failed');
    }
  }

  private save(now: number): void {
    this.file.save(this.state);
    this.savedAt = now;
    this.unsaved = false;
  }

  private emit(events: readonly RolloutEvent[]): void {
    for (const e of events) {
      this.metrics.steps.inc({ step: e.step });
      // One line per step: what a rollout did is readable from the log alone.
      this.opts.logger.info(
        { rollout: e.rollout, step: e.step, ...(e.wave === undefined ? {} : { wave: e.wave }), ...(e.instances ? { instances: e.instances } : {}) },
        `rollout ${e.rollout}: ${e.step}${e.wave ? ` [${e.wave}]` : ''}: ${e.message}`,
      );
    }
  }

  private load(seq: number): Served {
    const l = this.loaded.get(seq);
    if (l !== undefined) return l;
    const rec = this.state.revisions.find((r) => r.seq === seq);
    if (rec === undefined) throw new Error(`revision ${seq} is not kept`);
    const v = validateTopology(this.file.text(seq), rec.file, { profile: this.opts.profile });
    if (!v.ok) throw new Error(`revision ${seq} no longer validates: ${v.errors.map(formatError).join('; ')}`);
    return this.keep({ topology: v.topology, seq, hash: rec.hash, emitter: createEmitter(v.plan) });
  }

  private keep(served: Served): Served {
    // The stable revision and a rollout's two: never more than a handful worth keeping.
    if (this.loaded.size >= 4) this.loaded.delete(this.loaded.keys().next().value!);
    this.loaded.set(served.seq, served);
    return served;
  }

  /** Waits for a tick in flight; the state file already holds every step. */
  async close(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    await this.ticking;
    if (this.unsaved) this.save(this.opts.now());
  }
}

function summarize(changes: ChangeSet): FileSummary[] {
  const by = new Map<string, { instances: number; added: number; removed: number }>();
  for (const c of changes.changed) {
    for (const f of c.files) {
      const s = by.get(f.file) ?? { instances: 0, added: 0, removed: 0 };
      s.instances++;
      s.added += f.added;
      s.removed += f.removed;
      by.set(f.file, s);
    }
  }
  return [...by].sort(([a], [b]) => a.localeCompare(b)).map(([file, s]) => ({ file, ...s }));
}

function defaultCentralUrls(topo: Topology): CentralUrls {
  return Object.fromEntries(topo.central.replicas.filter((r) => r.endpoint).map((r) => [r.name, `http://${r.endpoint}`]));
}

function rolloutMetrics(registry: Registry, state: () => StoredState) {
  const registers = [registry];
  const STATES = ['running', 'paused', 'rolling-back', 'done', 'rolled-back', 'aborted'] as const;
  new Gauge({
    name: 'fedstack_rollout_state',
    help: 'The latest rollout: 1 for the state it is in (running, paused, rolling-back, done, rolled-back, aborted).',
    labelNames: ['state'],
    registers,
    collect() {
      const r = state().rollout;
      for (const s of STATES) this.set({ state: s }, r?.state === s ? 1 : 0);
    },
  });
  new Gauge({
    name: ROLLOUT_ROLLED_BACK,
    help: '1 while the latest rollout ended rolled back (until the next one starts), by the team it pages.',
    labelNames: ['team'],
    registers,
    collect() {
      this.reset();
      const r = state().rollout;
      this.set({ team: r?.owner ?? '' }, r?.state === 'rolled-back' ? 1 : 0);
    },
  });
  new Gauge({
    name: 'fedstack_rollout_wave',
    help: 'Index (1-based) of the wave the latest rollout is in; 0 when none.',
    registers,
    collect() {
      const r = state().rollout;
      this.set(r !== undefined && isActive(r) ? r.current + 1 : 0);
    },
  });
  new Gauge({
    name: 'fedstack_rollout_instances',
    help: 'Instances of the latest rollout by phase (assigned: waiting for its sidecar; applied; failed).',
    labelNames: ['phase'],
    registers,
    collect() {
      const counts = { assigned: 0, applied: 0, failed: 0 };
      for (const w of state().rollout?.waves ?? []) for (const p of Object.values(w.progress)) counts[p.phase]++;
      for (const [phase, n] of Object.entries(counts)) this.set({ phase }, n);
    },
  });
  new Gauge({
    name: 'fedstack_revision_stable',
    help: 'Sequence number of the stable revision (what instances outside a rollout are served).',
    registers,
    collect() {
      this.set(state().stable);
    },
  });
  return {
    steps: new Counter({
      name: 'fedstack_rollout_steps_total',
      help: 'Rollout steps taken, by step (wave-started, assigned, applied, instance-failed, rollback-started, ...).',
      labelNames: ['step'],
      registers,
    }),
  };
}
