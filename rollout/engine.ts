/**
 * The rollout state machine. A rollout moves the changed instances from one revision to the
 * next wave by wave:
 *
 *   wave:  pending ─▶ running (baseline, then batches of maxConcurrency) ─▶ soaking ─▶ done
 *            └─ nothing changes in it ─▶ skipped
 *   rollout: running ⇄ paused ─▶ done
 *                │ (failures over a wave's budget, a progress deadline, abort, rollback)
 *                ▼
 *            rolling-back (everyone back on the old revision, until each instance reports it)
 *                ▼
 *            rolled-back | aborted
 *
 * `advance` is deterministic: the caller (rollout/controller.ts) hands it the time, the
 * sidecars' latest reports and, when it made one, a reading of the gates; it updates the
 * rollout in place and returns the steps it took (each logged, counted and kept in the
 * rollout's event list). It reads no clock and does no I/O, so every path is testable with a
 * fake clock and made-up readings.
 */
import { describeCheck, gateKey, judge, type Control, type Gate, type GateValue } from './gates.ts';
import type { Wave } from './plan-file.ts';
import { parseInstanceId, type Tier } from './instances.ts';

export type RolloutState = 'running' | 'paused' | 'rolling-back' | 'done' | 'rolled-back' | 'aborted';
export type WaveState = 'pending' | 'running' | 'soaking' | 'done' | 'skipped' | 'failed';

export const ACTIVE_STATES: readonly RolloutState[] = ['running', 'paused', 'rolling-back'];
export const isActive = (r: Pick<Rollout, 'state'>): boolean => ACTIVE_STATES.includes(r.state);

export interface RevisionRef {
  /** Content hash of the topology text (12 hex digits). */
  readonly hash: string;
  /** 1 for the first revision the service kept, +1 for each after. */
  readonly seq: number;
  readonly note?: string;
}

export interface InstanceProgress {
  phase: 'assigned' | 'applied' | 'failed';
  assignedAt: number;
  appliedAt?: number;
  failedAt?: number;
  /** Why it failed: the gate and what it saw, or the sidecar's complaint. */
  reason?: string;
  /** The gate that failed it (`edge:closure`, `edge:sidecar`, `deadline`). */
  gate?: string;
}

export interface WaveRun extends Wave {
  state: WaveState;
  startedAt?: number;
  soakStartedAt?: number;
  endedAt?: number;
  /** Instances assigned so far, by id, in assignment order. */
  progress: Record<string, InstanceProgress>;
  /** Gate key → instance id → what the gate read before the first instance was assigned. */
  baseline?: Record<string, Record<string, GateValue>>;
  /** Gate key → median over the instances no wave had taken yet, at the baseline (ratio gates). */
  controlBaseline?: Record<string, number>;
  /** Time spent paused while the wave ran, and while it soaked: deadlines and soak stretch by it. */
  pausedMs: number;
  soakPausedMs: number;
}

export interface RolloutFailure {
  readonly kind: 'gate' | 'sidecar' | 'deadline' | 'unjudged' | 'manual';
  readonly wave: string;
  /** The first failing gate (`edge:closure`), or what stood for one. */
  readonly gate: string;
  readonly instances: readonly { readonly id: string; readonly gate: string; readonly detail: string }[];
  /** One line: what failed, how many, against which budget. */
  readonly summary: string;
}

export interface RollbackRun {
  readonly startedAt: number;
  /** How the rollout ends once the old revision is back everywhere it went. */
  readonly outcome: 'rolled-back' | 'aborted';
  /** Every instance that was assigned the new revision. */
  readonly instances: readonly string[];
  /** Those that reported the old revision since the rollback began. */
  confirmed: string[];
  readonly deadlineMs: number;
  verifiedAt?: number;
  /** Instances that never reported the old revision before the deadline. */
  unverified?: string[];
}

export interface RolloutEvent {
  readonly at: number;
  readonly rollout: string;
  readonly step: string;
  readonly wave?: string;
  readonly message: string;
  /** At most a few ids (counts say the rest). */
  readonly instances?: readonly string[];
}

export interface Rollout {
  readonly id: string;
  readonly from: RevisionRef;
  readonly to: RevisionRef;
  readonly note?: string;
  /** The routing team FedstackRolloutRolledBack pages. */
  readonly owner?: string;
  state: RolloutState;
  readonly startedAt: number;
  endedAt?: number;
  pausedAt?: number;
  /** Index of the wave in progress. */
  current: number;
  readonly waves: WaveRun[];
  readonly gates: readonly Gate[];
  readonly gateIntervalMs: number;
  readonly failAfter: number;
  /** How long a change takes to show at central (the lag budget): gates judge an instance only after it. */
  readonly settleMs: number;
  failure?: RolloutFailure;
  rollback?: RollbackRun;
  /** `gateKey|instance` → consecutive failing evaluations. */
  strikes: Record<string, number>;
  /** When the gates were last read, and last read without a query error. */
  lastReadingAt?: number;
  lastCleanReadingAt?: number;
  /** Gate key → instance id → the latest verdict, for status. */
  verdicts: Record<string, Record<string, { ok: boolean; detail: string }>>;
  /** Gate key → why it could not be read last time. */
  gateErrors: Record<string, string>;
  events: RolloutEvent[];
}

/** What the sidecar of an instance last said (its heartbeat). */
export interface InstanceReport {
  /** Revision whose files are live (what Prometheus was last given). */
  readonly revision?: string;
  readonly receivedAt: number;
  /** The last sync attempt: a new revision checked and applied, or refused. */
  readonly sync?: {
    readonly revision: string;
    readonly promtool: 'ok' | 'failed';
    readonly reload: 'ok' | 'failed' | 'not-needed';
    readonly problem?: string;
  };
}

/** One evaluation of the gates: gate key → instance id → value; gate key → query error. */
export interface GateReading {
  readonly at: number;
  readonly values: Readonly<Record<string, Readonly<Record<string, GateValue>>>>;
  readonly errors: Readonly<Record<string, string>>;
}

export interface Observations {
  readonly now: number;
  report(instance: string): InstanceReport | undefined;
  /** A reading made since the last advance, if any. */
  readonly reading?: GateReading;
  /**
   * The instances whose report changed since the last advance, when the caller knows: only
   * they, and those assigned since, can move. Without it every waiting instance is looked at.
   */
  readonly reported?: ReadonlySet<string>;
}

export interface NewRollout {
  readonly id: string;
  readonly from: RevisionRef;
  readonly to: RevisionRef;
  readonly note?: string;
  readonly owner?: string;
  readonly waves: readonly Wave[];
  readonly gates: readonly Gate[];
  readonly gateIntervalMs: number;
  readonly failAfter: number;
  readonly settleMs: number;
  readonly now: number;
}

const MAX_EVENTS = 500;
const SHOWN = 5;

/**
 * What a controller tick asks of a wave, kept beside its progress so a tick costs what changed,
 * not the wave's size (a wave of 10,000 edges is ticked hundreds of times): the instances
 * waiting for their sidecar, in assignment order; how many failed; and how far into
 * `instances` every one has been assigned. Derived, never saved: rebuilt from `progress` the
 * first time a wave is touched (after a restart, the state file's wave is a new object), and
 * kept in step by `assign`, `markApplied` and `fail`, the only writers of a phase.
 */
interface WaveIndex {
  /** Instances with progress (in any phase). */
  size: number;
  readonly pending: Set<string>;
  /** Assigned since the reports were last looked at: their report may predate the assignment. */
  readonly unseen: Set<string>;
  failed: number;
  /** Every instance before this one in `instances` has progress. */
  next: number;
}
const indexes = new WeakMap<WaveRun, WaveIndex>();

function indexOf(w: WaveRun): WaveIndex {
  let ix = indexes.get(w);
  if (ix === undefined) {
    ix = { size: 0, pending: new Set(), unseen: new Set(), failed: 0, next: 0 };
    for (const [id, p] of Object.entries(w.progress)) {
      ix.size++;
      if (p.phase === 'assigned') ix.pending.add(id);
      else if (p.phase === 'failed') ix.failed++;
    }
    skipAssigned(w, ix);
    indexes.set(w, ix);
  }
  return ix;
}

function skipAssigned(w: WaveRun, ix: WaveIndex): void {
  while (ix.next < w.instances.length && w.progress[w.instances[ix.next]!] !== undefined) ix.next++;
}

function assign(w: WaveRun, id: string, now: number): InstanceProgress {
  const p: InstanceProgress = { phase: 'assigned', assignedAt: now };
  const ix = indexOf(w);
  w.progress[id] = p;
  ix.size++;
  ix.pending.add(id);
  ix.unseen.add(id);
  return p;
}

function markApplied(w: WaveRun, id: string, p: InstanceProgress, now: number): void {
  p.phase = 'applied';
  p.appliedAt = now;
  indexOf(w).pending.delete(id);
}

const hasProgress = (w: WaveRun): boolean => indexOf(w).size > 0;

export function createRollout(n: NewRollout): { rollout: Rollout; events: RolloutEvent[] } {
  const rollout: Rollout = {
    id: n.id,
    from: n.from,
    to: n.to,
    ...(n.note === undefined ? {} : { note: n.note }),
    ...(n.owner === undefined ? {} : { owner: n.owner }),
    state: 'running',
    startedAt: n.now,
    current: 0,
    waves: n.waves.map((w) => ({ ...w, state: 'pending', progress: {}, pausedMs: 0, soakPausedMs: 0 })),
    gates: n.gates,
    gateIntervalMs: n.gateIntervalMs,
    failAfter: n.failAfter,
    settleMs: n.settleMs,
    strikes: {},
    verdicts: {},
    gateErrors: {},
    events: [],
  };
  const total = n.waves.reduce((k, w) => k + w.instances.length, 0);
  const events = [
    record(rollout, n.now, 'started', `revision ${n.from.seq} (${n.from.hash}) → ${n.to.seq} (${n.to.hash}): ${total} instance(s) in ${n.waves.length} wave(s)`),
  ];
  return { rollout, events };
}

function record(
  r: Rollout,
  at: number,
  step: string,
  message: string,
  extra: { wave?: string; instances?: readonly string[] } = {},
): RolloutEvent {
  const e: RolloutEvent = {
    at,
    rollout: r.id,
    step,
    message,
    ...(extra.wave === undefined ? {} : { wave: extra.wave }),
    ...(extra.instances === undefined ? {} : { instances: extra.instances.slice(0, SHOWN) }),
  };
  r.events.push(e);
  if (r.events.length > MAX_EVENTS) r.events.splice(0, r.events.length - MAX_EVENTS);
  return e;
}

const listed = (ids: readonly string[]) =>
  `${ids.slice(0, SHOWN).join(', ')}${ids.length > SHOWN ? ` and ${ids.length - SHOWN} more` : ''}`;

/** Ids of every instance assigned the new revision so far. */
export function assignedIds(r: Rollout): string[] {
  return r.waves.flatMap((w) => Object.keys(w.progress));
}

/** True while `instance` should be served the new revision. */
export function runsNew(r: Rollout, instance: string): boolean {
  if (r.state !== 'running' && r.state !== 'paused') return false;
  return r.waves.some((w) => w.progress[instance] !== undefined);
}

/** Whether the caller should read the gates now (a wave waits for its baseline, or instances are being judged). */
export function wantsReading(r: Rollout, now: number): boolean {
  if (r.state !== 'running' && r.state !== 'paused') return false;
  const wave = r.waves[r.current];
  if (wave?.state === 'running' && wave.baseline === undefined) return true;
  if (!r.waves.some(hasProgress)) return false;
  return r.lastReadingAt === undefined || now - r.lastReadingAt >= r.gateIntervalMs;
}

/** The tiers whose gates a reading needs: those of the waves begun so far. */
export function tiersToRead(r: Rollout): Tier[] {
  return [...new Set(r.waves.slice(0, r.current + 1).filter((w) => w.state !== 'skipped').map((w) => w.tier))];
}

/** Moves the rollout on with what was observed; returns the steps taken. */
export function advance(r: Rollout, obs: Observations): RolloutEvent[] {
  const events: RolloutEvent[] = [];
  if (r.state === 'rolling-back') {
    verifyRollback(r, obs, events);
    return events;
  }
  if (r.state !== 'running' && r.state !== 'paused') return events;

  observeReports(r, obs, events);
  if (obs.reading !== undefined) judgeReading(r, obs.reading, events);
  if (overBudget(r, obs.now, events)) return events;
  if (r.state === 'paused') return events;

  // Waves that finish (or are empty) hand over to the next one in the same step.
  for (let guard = 0; guard <= r.waves.length; guard++) {
    const before = `${r.current}:${r.waves[r.current]?.state}`;
    stepWave(r, obs, events);
    if (r.state !== 'running') break;
    if (`${r.current}:${r.waves[r.current]?.state}` === before) break;
  }
  return events;
}

function observeReports(r: Rollout, obs: Observations, events: RolloutEvent[]): void {
  const applied: string[] = [];
  const failed: string[] = [];
  for (const w of r.waves.slice(0, r.current + 1)) {
    // Only the instances waiting for their sidecar can move (indexOf: not the whole wave), and
    // of those only the ones newly assigned or with a new report, when the caller says which.
    const ix = indexOf(w);
    const candidates =
      obs.reported === undefined
        ? [...ix.pending]
        : [...ix.unseen, ...[...obs.reported].filter((id) => ix.pending.has(id) && !ix.unseen.has(id))];
    ix.unseen.clear();
    for (const id of candidates) {
      const p = w.progress[id]!;
      if (p.phase !== 'assigned') continue;
      const rep = obs.report(id);
      if (rep === undefined) continue;
      const sync = rep.sync;
      if (sync?.revision === r.to.hash && (sync.promtool === 'failed' || sync.reload === 'failed')) {
        const what =
          sync.promtool === 'failed'
            ? `promtool refused revision ${r.to.seq}${sync.problem ? `: ${firstLine(sync.problem)}` : ''}`
            : `Prometheus did not reload revision ${r.to.seq}${sync.problem ? `: ${firstLine(sync.problem)}` : ''}`;
        fail(w, id, p, obs.now, `${w.tier}:sidecar`, what);
        failed.push(id);
      } else if (rep.revision === r.to.hash) {
        markApplied(w, id, p, obs.now);
        applied.push(id);
      }
    }
  }
  if (applied.length > 0)
    events.push(record(r, obs.now, 'applied', `${applied.length} instance(s) report revision ${r.to.seq}: ${listed(applied)}`, { instances: applied, wave: r.waves[r.current]?.name }));
  for (const id of failed) {
    const p = progressOf(r, id)!;
    events.push(record(r, obs.now, 'instance-failed', `${id}: ${p.reason}`, { instances: [id], wave: waveOf(r, id)?.name }));
  }
}

const firstLine = (s: string) => s.split('\n').find((l) => l.trim() !== '')?.trim().slice(0, 300) ?? '';

function fail(w: WaveRun, id: string, p: InstanceProgress, now: number, gate: string, reason: string): void {
  const ix = indexOf(w);
  if (p.phase === 'assigned') ix.pending.delete(id);
  if (p.phase !== 'failed') ix.failed++;
  p.phase = 'failed';
  p.failedAt = now;
  p.gate = gate;
  p.reason = reason;
}

function waveOf(r: Rollout, id: string): WaveRun | undefined {
  return r.waves.find((w) => w.progress[id] !== undefined);
}

function progressOf(r: Rollout, id: string): InstanceProgress | undefined {
  return waveOf(r, id)?.progress[id];
}

const median = (xs: readonly number[]): number | undefined => {
  if (xs.length === 0) return undefined;
  const s = [...xs].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 === 1 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
};

/** Instances of `tier` no wave has taken: the control group. */
function unrolled(r: Rollout, tier: Tier, values: Readonly<Record<string, GateValue>>): string[] {
  const taken = new Set(assignedIds(r));
  const inWave = new Set(r.waves[r.current]?.instances ?? []);
  return Object.keys(values).filter(
    (id) => !taken.has(id) && !inWave.has(id) && parseInstanceId(id)?.tier === tier,
  );
}

function controlOf(r: Rollout, gate: Gate, values: Readonly<Record<string, GateValue>>, wave: WaveRun): Control {
  const ids = unrolled(r, gate.tier, values);
  if (gate.check.kind === 'noNew') {
    return { labels: new Set(ids.flatMap((id) => (Array.isArray(values[id]) ? (values[id] as string[]) : []))) };
  }
  if (gate.check.kind !== 'ratio') return {};
  const now = median(ids.map((id) => values[id]).filter((v): v is number => typeof v === 'number'));
  const before = wave.controlBaseline?.[gateKey(gate)];
  return { ...(before === undefined ? {} : { before }), ...(now === undefined ? {} : { now }) };
}

function judgeReading(r: Rollout, reading: GateReading, events: RolloutEvent[]): void {
  r.lastReadingAt = reading.at;
  r.gateErrors = { ...reading.errors };
  const wave = r.waves[r.current];
  // The reading before a wave's first assignment is its baseline.
  if (wave?.state === 'running' && wave.baseline === undefined && wave.startedAt !== undefined && reading.at >= wave.startedAt) {
    if (Object.keys(reading.errors).length > 0) return; // no baseline from a partial reading
    wave.baseline = {};
    wave.controlBaseline = {};
    const members = new Set(wave.instances);
    for (const g of r.gates) {
      if (g.check.kind === 'sidecar' || g.tier !== wave.tier) continue;
      const values = reading.values[gateKey(g)] ?? {};
      wave.baseline[gateKey(g)] = Object.fromEntries(Object.entries(values).filter(([id]) => members.has(id)));
      if (g.check.kind === 'ratio') {
        const m = median(unrolled(r, g.tier, values).map((id) => values[id]).filter((v): v is number => typeof v === 'number'));
        if (m !== undefined) wave.controlBaseline[gateKey(g)] = m;
      }
    }
    events.push(record(r, reading.at, 'baseline', `gates read before the wave (${wave.instances.length} instance(s), ${r.gates.filter((g) => g.tier === wave.tier && g.check.kind !== 'sidecar').length} gate(s))`, { wave: wave.name }));
    return;
  }
  if (Object.keys(reading.errors).length === 0) r.lastCleanReadingAt = reading.at;

  const newlyFailed: { id: string; gate: string; detail: string }[] = [];
  // The unrolled instances' drift, once per gate and wave (not per instance: 10,000 edges).
  const controls = new Map<WaveRun, Map<string, Control>>();
  const control = (g: Gate, values: Readonly<Record<string, GateValue>>, w: WaveRun) => {
    let byGate = controls.get(w);
    if (byGate === undefined) controls.set(w, (byGate = new Map()));
    let c = byGate.get(gateKey(g));
    if (c === undefined) byGate.set(gateKey(g), (c = controlOf(r, g, values, w)));
    return c;
  };
  for (const w of r.waves) {
    for (const [id, p] of Object.entries(w.progress)) {
      if (p.phase !== 'applied' || p.appliedAt === undefined || reading.at < p.appliedAt + r.settleMs) continue;
      for (const g of r.gates) {
        if (g.check.kind === 'sidecar' || g.tier !== w.tier) continue;
        const key = gateKey(g);
        if (reading.errors[key] !== undefined) continue;
        const values = reading.values[key] ?? {};
        const verdict = judge(g.check, values[id], w.baseline?.[key]?.[id], control(g, values, w));
        (r.verdicts[key] ??= {})[id] = verdict;
        const strike = `${key}|${id}`;
        if (verdict.ok) {
          delete r.strikes[strike];
          continue;
        }
        r.strikes[strike] = (r.strikes[strike] ?? 0) + 1;
        if (r.strikes[strike]! >= r.failAfter && p.phase === 'applied') {
          fail(w, id, p, reading.at, key, `gate ${g.name} (${describeCheck(g.check)}): ${verdict.detail}`);
          newlyFailed.push({ id, gate: key, detail: verdict.detail });
        }
      }
    }
  }
  for (const f of newlyFailed)
    events.push(record(r, reading.at, 'instance-failed', `${f.id}: ${progressOf(r, f.id)?.reason}`, { instances: [f.id], wave: waveOf(r, f.id)?.name }));
}

/** Starts the rollback when a wave has more failed instances than its budget allows. */
function overBudget(r: Rollout, now: number, events: RolloutEvent[]): boolean {
  for (const w of r.waves.slice(0, r.current + 1)) {
    if (indexOf(w).failed <= w.failureBudget) continue;
    const failed = Object.entries(w.progress).filter(([, p]) => p.phase === 'failed');
    const instances = failed.map(([id, p]) => ({ id, gate: p.gate ?? 'unknown', detail: p.reason ?? '' }));
    const gate = instances[0]!.gate;
    const kind = gate === 'deadline' ? 'deadline' : gate.endsWith(':sidecar') ? 'sidecar' : 'gate';
    startRollback(r, now, 'rolled-back', {
      kind,
      wave: w.name,
      gate,
      instances,
      summary: `wave "${w.name}": ${failed.length} of ${w.instances.length} instance(s) failed (budget ${w.failureBudget}${w.failureBudgetText.endsWith('%') ? ` = ${w.failureBudgetText}` : ''}); first: ${instances[0]!.id} ${instances[0]!.detail}`,
    }, events);
    return true;
  }
  return false;
}

function stepWave(r: Rollout, obs: Observations, events: RolloutEvent[]): void {
  const now = obs.now;
  const w = r.waves[r.current];
  if (w === undefined) {
    r.state = 'done';
    r.endedAt = now;
    events.push(record(r, now, 'done', `every wave done: revision ${r.to.seq} (${r.to.hash}) is the stable revision`));
    return;
  }
  switch (w.state) {
    case 'pending':
      if (w.instances.length === 0) {
        w.state = 'skipped';
        w.startedAt = now;
        w.endedAt = now;
        events.push(record(r, now, 'wave-skipped', `nothing it selects changes`, { wave: w.name }));
        r.current++;
        return;
      }
      w.state = 'running';
      w.startedAt = now;
      events.push(record(r, now, 'wave-started', `${w.instances.length} instance(s), at most ${w.maxConcurrency} at a time, soak ${Math.round(w.soakMs / 1000)}s, failure budget ${w.failureBudget}`, { wave: w.name, instances: w.instances }));
      return;
    case 'running': {
      const elapsed = now - w.startedAt! - w.pausedMs;
      if (w.baseline === undefined) {
        // No baseline, no judging: a wave never starts blind, and never waits forever either.
        if (elapsed > w.progressDeadlineMs)
          startRollback(r, now, 'rolled-back', {
            kind: 'unjudged',
            wave: w.name,
            gate: Object.keys(r.gateErrors)[0] ?? 'gates',
            instances: [],
            summary: `wave "${w.name}": no clean reading of the gates at central for a baseline within the ${Math.round(w.progressDeadlineMs / 1000)}s progress deadline (${Object.values(r.gateErrors)[0] ?? 'no reading'})`,
          }, events);
        return;
      }
      if (elapsed > w.progressDeadlineMs) {
        const stuck = w.instances.filter((id) => w.progress[id]?.phase !== 'applied' && w.progress[id]?.phase !== 'failed');
        for (const id of stuck) {
          const p = w.progress[id] ?? assign(w, id, now);
          fail(w, id, p, now, 'deadline', `no report of revision ${r.to.seq} within the ${Math.round(w.progressDeadlineMs / 1000)}s progress deadline`);
        }
        if (stuck.length > 0)
          events.push(record(r, now, 'deadline', `${stuck.length} instance(s) did not apply revision ${r.to.seq} in time: ${listed(stuck)}`, { wave: w.name, instances: stuck }));
        if (overBudget(r, now, events)) return;
      }
      const ix = indexOf(w);
      // The next unassigned instances, in order, up to the concurrency left.
      const next: string[] = [];
      skipAssigned(w, ix);
      for (let j = ix.next; j < w.instances.length && next.length < w.maxConcurrency - ix.pending.size; j++) {
        const id = w.instances[j]!;
        if (w.progress[id] === undefined) next.push(id);
      }
      for (const id of next) assign(w, id, now);
      skipAssigned(w, ix);
      if (next.length > 0)
        events.push(record(r, now, 'assigned', `${next.length} instance(s) assigned revision ${r.to.seq}: ${listed(next)}`, { wave: w.name, instances: next }));
      // Settled: every instance has progress, and none is still waiting for its sidecar.
      const settled = ix.next === w.instances.length && ix.pending.size === 0;
      if (settled) {
        w.state = 'soaking';
        w.soakStartedAt = now;
        events.push(record(r, now, 'soak-started', `every instance applied revision ${r.to.seq} (or failed within budget); soaking ${Math.round(w.soakMs / 1000)}s`, { wave: w.name }));
      }
      return;
    }
    case 'soaking': {
      const soaked = now - w.soakStartedAt! - w.soakPausedMs;
      if (soaked < w.soakMs) return;
      // The gates must have seen the wave's data: a clean reading made after the lag budget.
      const judged = r.lastCleanReadingAt !== undefined && r.lastCleanReadingAt >= w.soakStartedAt! + r.settleMs;
      if (!judged) {
        if (soaked > w.soakMs + w.progressDeadlineMs) {
          startRollback(r, now, 'rolled-back', {
            kind: 'unjudged',
            wave: w.name,
            gate: Object.keys(r.gateErrors)[0] ?? 'gates',
            instances: [],
            summary: `wave "${w.name}": the gates could not be read at central for ${Math.round((soaked - w.soakMs) / 1000)}s after the soak (${Object.values(r.gateErrors)[0] ?? 'no reading'})`,
          }, events);
        }
        return;
      }
      w.state = 'done';
      w.endedAt = now;
      const failed = Object.values(w.progress).filter((p) => p.phase === 'failed').length;
      events.push(record(r, now, 'wave-done', `soaked ${Math.round(soaked / 1000)}s, gates passed${failed > 0 ? ` (${failed} failed within budget)` : ''}`, { wave: w.name }));
      r.current++;
      return;
    }
    default:
      r.current++;
  }
}

function startRollback(
  r: Rollout,
  now: number,
  outcome: RollbackRun['outcome'],
  failure: RolloutFailure | undefined,
  events: RolloutEvent[],
): void {
  const instances = assignedIds(r);
  const w = r.waves[r.current];
  if (w !== undefined && (w.state === 'running' || w.state === 'soaking')) {
    w.state = 'failed';
    w.endedAt = now;
  }
  if (failure !== undefined) r.failure = failure;
  r.pausedAt = undefined;
  r.state = 'rolling-back';
  r.rollback = {
    startedAt: now,
    outcome,
    instances,
    confirmed: [],
    deadlineMs: Math.max(...r.waves.map((x) => x.progressDeadlineMs)),
  };
  events.push(
    record(r, now, 'rollback-started', `${failure ? `${failure.summary}. ` : ''}${instances.length} instance(s) go back to revision ${r.from.seq} (${r.from.hash})`, { instances, ...(w ? { wave: w.name } : {}) }),
  );
}

function verifyRollback(r: Rollout, obs: Observations, events: RolloutEvent[]): void {
  const rb = r.rollback!;
  const now = obs.now;
  // A report counts only if it came after the rollback began: one in flight may still say "new".
  const pending: string[] = [];
  rb.confirmed = rb.instances.filter((id) => {
    const rep = obs.report(id);
    const back = rep !== undefined && rep.receivedAt >= rb.startedAt && rep.revision === r.from.hash;
    if (!back) pending.push(id);
    return back;
  });
  if (pending.length === 0) {
    rb.verifiedAt = now;
    r.state = rb.outcome;
    r.endedAt = now;
    events.push(record(r, now, 'rollback-verified', `${rb.instances.length} instance(s) report revision ${r.from.seq} (${r.from.hash}) again, ${Math.round((now - rb.startedAt) / 100) / 10}s after the rollback began`, { instances: rb.instances }));
    events.push(record(r, now, rb.outcome, rb.outcome === 'aborted' ? 'aborted: the old revision runs everywhere' : `rolled back${r.failure ? `: ${r.failure.summary}` : ''}`));
    return;
  }
  if (now - rb.startedAt > rb.deadlineMs) {
    rb.unverified = pending;
    r.state = rb.outcome;
    r.endedAt = now;
    events.push(record(r, now, 'rollback-unverified', `${pending.length} instance(s) never reported revision ${r.from.seq}: ${listed(pending)}`, { instances: pending }));
    events.push(record(r, now, rb.outcome, `${rb.outcome} (unverified on ${pending.length} instance(s))`));
  }
}

/** Operator actions. Each returns its steps, or throws a message when it does not apply. */
export function pause(r: Rollout, now: number): RolloutEvent[] {
  if (r.state !== 'running') throw new Error(`rollout ${r.id} is ${r.state}: only a running rollout can be paused`);
  r.state = 'paused';
  r.pausedAt = now;
  return [record(r, now, 'paused', 'no new instances are assigned; gates keep judging those that were (and may still roll back)')];
}

export function resume(r: Rollout, now: number): RolloutEvent[] {
  if (r.state !== 'paused') throw new Error(`rollout ${r.id} is ${r.state}: only a paused rollout can be resumed`);
  const w = r.waves[r.current];
  const paused = now - (r.pausedAt ?? now);
  if (w?.state === 'running') w.pausedMs += paused;
  if (w?.state === 'soaking') w.soakPausedMs += paused;
  r.state = 'running';
  r.pausedAt = undefined;
  return [record(r, now, 'resumed', `after ${Math.round(paused / 1000)}s paused`)];
}

/** Back to the old revision everywhere. `abort` ends as aborted; `rollback` as rolled-back, paging the owner. */
export function stop(r: Rollout, now: number, how: 'abort' | 'rollback', by = 'operator'): RolloutEvent[] {
  if (r.state !== 'running' && r.state !== 'paused')
    throw new Error(`rollout ${r.id} is ${r.state}: only a running or paused rollout can be ${how === 'abort' ? 'aborted' : 'rolled back'}`);
  const events: RolloutEvent[] = [];
  const wave = r.waves[Math.min(r.current, r.waves.length - 1)]!.name;
  startRollback(
    r,
    now,
    how === 'abort' ? 'aborted' : 'rolled-back',
    how === 'abort'
      ? undefined
      : { kind: 'manual', wave, gate: 'manual', instances: [], summary: `rolled back by ${by} during wave "${wave}"` },
    events,
  );
  return events;
}
