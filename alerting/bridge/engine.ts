/**
 * The delivery engine: accepts notifications into the outbox and delivers them, one lane per
 * DingTalk receiver and per SMS (receiver, number), within the providers' limits.
 *
 * - DingTalk: a lane sends one message at a time on the next robot (round-robin) that has a
 *   free slot in its window; everything queued while waiting is merged into the next message
 *   (up to the body limit), so a burst costs few messages and nothing is dropped. A message is
 *   saved as a batch (units, parts, msgUuids) before it is sent, so a restart re-sends the same
 *   parts with the same msgUuid instead of re-merging differently.
 * - SMS: per number, the provider's frequency limits are kept locally; notifications queued
 *   while a number waits are summarised in one SMS.
 * - Every send is framed by the send journal (journal.ts): "about to send" before the request,
 *   "answered" the moment the answer is in. A restart resumes each robot's and number's rate
 *   window from it and never re-sends what it confirms; only a send in doubt (begun, never
 *   answered) goes out again. That is the whole crash window for a duplicate.
 * - Failures retry with exponential backoff; throttling answers pause the robot/number without
 *   using the retry budget; after the budget the units become dead letters (file + metric).
 * - Routing follows the topology source: each accept and each scheduling pass looks at its
 *   revision. Queued units are bound to a receiver name and re-resolved against the newest
 *   revision that has it (a new robot, URL or on-call applies to the backlog too); a batch
 *   already built keeps its text and msgUuids. A lane whose receiver a reload removed keeps the
 *   last definition it had until its queue is empty, so a reload neither drops nor repeats a
 *   page. (After a restart a removed receiver's units become dead letters: the definition is gone.)
 */
import { createHash, randomUUID } from 'node:crypto';
import type { SecretRef } from '../../common/secret.ts';
import type { Topology } from '../../topology/model.ts';
import type { Receiver, Routing, Team } from '../../topology/routing.ts';
import { receiversOf } from '../../topology/routing.ts';
import { resolveOnCall } from '../oncall.ts';
import {
  buildMessage,
  DINGTALK_MAX_BODY_BYTES,
  notificationLines,
  packMessages,
  sendDingTalk,
  type DingTalkMessage,
  type Mentions,
  type SendOutcome,
} from './dingtalk.ts';
import type { HttpClient } from './http.ts';
import { SendJournal } from './journal.ts';
import { SlidingWindowLimiter, type WindowLimit } from './limiter.ts';
import type { BridgeMetrics } from './metrics.ts';
import type { Channel, Outbox, OutboxBatch, OutboxUnit } from './outbox.ts';
import type { SecretResolver } from './secrets.ts';
import { smsTemplateParams, type SmsProvider, type SmsResult } from './sms.ts';
import { queueOf, SendLog, type BridgeStatus } from './status.ts';
import { dedupKey, type WebhookPayload } from './webhook.ts';

export interface BridgeLogger {
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
  error(obj: object, msg: string): void;
}

export interface BridgeOptions {
  readonly dingtalk: {
    /** Messages per window per robot (DingTalk: 20 per 60 s). */
    readonly limit: number;
    readonly windowMs: number;
    readonly maxBodyBytes: number;
    /** Pause of a robot after a throttling answer (DingTalk throttles ~10 minutes: default 10 windows). */
    readonly throttleCooldownMs: number;
    readonly timeoutMs: number;
  };
  readonly sms: {
    /** Per-number frequency limits (Aliyun defaults: 1/minute, 5/hour, 10/day). */
    readonly limits: readonly WindowLimit[];
    /** Pause of a number after the provider's own frequency control answered. */
    readonly rateLimitedCooldownMs: number;
  };
  readonly retry: { readonly maxAttempts: number; readonly baseMs: number; readonly maxMs: number };
  /** How long a delivered notification's dedup key is remembered (keep it below repeat_interval). */
  readonly dedupWindowMs: number;
}

export const DEFAULT_BRIDGE_OPTIONS: BridgeOptions = {
  dingtalk: {
    limit: 20,
    windowMs: 60_000,
    maxBodyBytes: DINGTALK_MAX_BODY_BYTES,
    throttleCooldownMs: 600_000,
    timeoutMs: 10_000,
  },
  sms: {
    limits: [
      { limit: 1, windowMs: 60_000 },
      { limit: 5, windowMs: 3_600_000 },
      { limit: 10, windowMs: 86_400_000 },
    ],
    rateLimitedCooldownMs: 60_000,
  },
  retry: { maxAttempts: 12, baseMs: 1_000, maxMs: 300_000 },
  dedupWindowMs: 30 * 60_000,
};

type Loose<T> = { readonly [K in keyof T]?: T[K] | undefined };
export type BridgeOptionsInput = {
  readonly dingtalk?: Loose<BridgeOptions['dingtalk']>;
  readonly sms?: Loose<BridgeOptions['sms']>;
  readonly retry?: Loose<BridgeOptions['retry']>;
  readonly dedupWindowMs?: number;
  /**
   * How many bridges share each robot and phone number (the service's replicas, each behind
   * the same Service): the per-robot and per-number budgets are divided among them, so that
   * together they never exceed the provider's limit (DingTalk throttles a robot for ten
   * minutes past 20 per minute). Default 1.
   */
  readonly replicas?: number;
};

/**
 * Defaults filled in; an explicitly undefined field keeps its default. A shrunk DingTalk window
 * (tests) shrinks the throttle pause with it (10 windows); the request timeout stays. Limits
 * are then divided among `replicas` bridges, each keeping at least one send per window.
 */
export function bridgeOptions(input: BridgeOptionsInput = {}): BridgeOptions {
  const defined = <T extends object>(o: T | undefined): Partial<T> =>
    Object.fromEntries(Object.entries(o ?? {}).filter(([, v]) => v !== undefined)) as Partial<T>;
  const windowMs = input.dingtalk?.windowMs ?? DEFAULT_BRIDGE_OPTIONS.dingtalk.windowMs;
  const replicas = input.replicas ?? 1;
  if (!Number.isSafeInteger(replicas) || replicas < 1)
    throw new Error(`bridge replicas: want a whole number >= 1, got ${replicas}`);
  const share = (limit: number) => Math.max(1, Math.floor(limit / replicas));
  const dingtalk = {
    ...DEFAULT_BRIDGE_OPTIONS.dingtalk,
    throttleCooldownMs: 10 * windowMs,
    ...defined(input.dingtalk),
  };
  const sms = { ...DEFAULT_BRIDGE_OPTIONS.sms, ...defined(input.sms) };
  return {
    dingtalk: { ...dingtalk, limit: share(dingtalk.limit) },
    sms: { ...sms, limits: sms.limits.map((l) => ({ ...l, limit: share(l.limit) })) },
    retry: { ...DEFAULT_BRIDGE_OPTIONS.retry, ...defined(input.retry) },
    dedupWindowMs: input.dedupWindowMs ?? DEFAULT_BRIDGE_OPTIONS.dedupWindowMs,
  };
}

/** Builds the SMS provider of a receiver (default: Aliyun through its SDK). */
export type SmsProviderFactory = (receiver: Receiver, secrets: SecretResolver) => Promise<SmsProvider>;

export type AcceptOutcome = 'accepted' | 'duplicate' | 'skipped';

/** The receiver does not exist (or lacks the channel): the bridge cannot accept, answer 5xx. */
export class UnknownReceiverError extends Error {}

/**
 * Where the bridge reads its routing: the service's watched topology (server/topology-watch.ts'
 * TopologySource has this shape), polled by revision. It always holds the last good revision.
 */
export interface RoutingSource {
  current(): { readonly topology: Pick<Topology, 'routing'>; readonly revision: number };
}

/** A request that got no answer can still reach the provider this long after its timeout fired. */
const REQUEST_MARGIN_MS = 1_000;
/** Upper bound of one SendSms call (the SDK's connect + read timeouts are 10 s each). */
const SMS_REQUEST_BOUND_MS = 30_000;

type DingRobot = NonNullable<Receiver['dingtalk']>['robots'][number];

interface LaneBatch extends OutboxBatch {
  readonly parts: readonly DingTalkMessage[];
  /** On disk (saved before its first part is sent). */
  durable: boolean;
}

interface DingLane {
  receiver: Receiver;
  team: Team;
  pending: OutboxUnit[];
  batch: LaneBatch | undefined;
  nextAt: number;
  busy: boolean;
  rr: number;
}

interface SmsLane {
  receiver: Receiver;
  readonly number: string;
  pending: OutboxUnit[];
  nextAt: number;
  attempts: number;
  busy: boolean;
}

interface RateState {
  /** Send-journal key: `dingtalk:<secret>/<key>` of the robot's token, or `sms:<number>`. */
  readonly key: string;
  readonly limiter: SlidingWindowLimiter;
  cooldownUntil: number;
}

const robotKey = (ref: SecretRef) => `dingtalk:${ref.name}/${ref.key}`;
const numberKey = (n: string) => `sms:${n}`;
const partId = (batchId: string, part: number) => `${batchId}:${part}`;

export interface EngineDeps {
  readonly routing: RoutingSource;
  readonly outbox: Outbox;
  readonly now: () => number;
  readonly http: HttpClient;
  readonly secrets: SecretResolver;
  readonly logger: BridgeLogger;
  readonly metrics: BridgeMetrics;
  readonly smsProvider: SmsProviderFactory;
  readonly options: BridgeOptions;
}

export class DeliveryEngine {
  private readonly d: EngineDeps;
  private readonly journal: SendJournal;
  private readonly receivers = new Map<string, { team: Team; receiver: Receiver }>();
  private revision: number | undefined;
  private readonly dingLanes = new Map<string, DingLane>();
  private readonly smsLanes = new Map<string, SmsLane>();
  private readonly robots = new Map<string, RateState>();
  private readonly numbers = new Map<string, RateState>();
  private readonly providers = new Map<string, Promise<SmsProvider>>();
  private readonly accepting = new Map<string, Promise<AcceptOutcome>>();
  private readonly inFlight = new Set<Promise<void>>();
  /** Every accepted unit not yet delivered or dead, by id. */
  private readonly units = new Map<string, OutboxUnit>();
  /** Outcomes of the last hour's sends, for status() (the operator console). */
  private readonly sends = new SendLog();
  private timer: NodeJS.Timeout | undefined;
  private pruneTimer: NodeJS.Timeout | undefined;
  private started = false;
  private closed = false;

  constructor(deps: EngineDeps) {
    this.d = deps;
    const smsWindow = Math.max(...deps.options.sms.limits.map((l) => l.windowMs));
    this.journal = new SendJournal(deps.outbox.dir, {
      now: deps.now,
      retainMs: (key) => (key.startsWith('sms:') ? smsWindow : deps.options.dingtalk.windowMs),
    });
    this.refreshRouting();
  }

  /**
   * Follows the routing source: a new revision replaces the receiver definitions, and every
   * lane whose receiver is still there takes the new one (see the header for removed ones).
   */
  private refreshRouting(): void {
    const snap = this.d.routing.current();
    if (snap.revision === this.revision) return;
    const first = this.revision === undefined;
    this.revision = snap.revision;
    this.receivers.clear();
    const routing = snap.topology.routing as Routing | undefined;
    if (routing)
      for (const { team, receiver } of receiversOf(routing))
        this.receivers.set(receiver.name, { team, receiver });
    for (const [name, lane] of this.dingLanes) {
      const r = this.receivers.get(name);
      if (r?.receiver.dingtalk) {
        lane.receiver = r.receiver;
        lane.team = r.team;
      }
    }
    for (const lane of this.smsLanes.values()) {
      const r = this.receivers.get(lane.receiver.name);
      if (r?.receiver.sms) lane.receiver = r.receiver;
    }
    // Provider clients are built from a receiver's settings and secrets: build them afresh.
    this.providers.clear();
    if (!first)
      this.d.logger.info(
        { revision: snap.revision, receivers: this.receivers.size },
        'alert bridge: routing reloaded',
      );
  }

  private starting: Promise<void> | undefined;

  /** Loads the outbox and the send journal and resumes every pending unit and open batch. */
  start(): Promise<void> {
    this.starting ??= this.resume();
    return this.starting;
  }

  private async resume(): Promise<void> {
    const { units, batches } = await this.d.outbox.open();
    const { inDoubt } = await this.journal.open();
    if (inDoubt.length > 0) {
      this.d.metrics.inDoubt.inc(inDoubt.length);
      this.d.logger.warn(
        { sends: inDoubt.length },
        'alert bridge: sends left unanswered by the last stop are sent again (each may show twice)',
      );
    }
    const now = this.d.now();
    const byId = new Map(units.map((u) => [u.id, u]));
    const inBatch = new Set<string>();
    const keepSent = new Set<string>();
    for (const b of batches) {
      const lane = b.channel === 'dingtalk' ? this.dingLaneOf(b.receiver) : undefined;
      const batchUnits = b.unitIds.filter((id) => byId.has(id));
      let sent = b.sent;
      while (sent < b.parts.length && this.journal.sentRecord(partId(b.id, sent))) sent++;
      if (batchUnits.length > 0 && sent >= b.parts.length) {
        // Every part was confirmed before the stop; only the bookkeeping was left to do.
        await this.d.outbox.markDelivered(batchUnits, b.id, now);
        for (const id of batchUnits) byId.delete(id);
        continue;
      }
      if (!lane || batchUnits.length === 0) {
        // Its units were delivered, or its receiver is gone (its units then become dead letters below).
        await this.d.outbox.dropBatch(b.id);
        continue;
      }
      for (let i = 0; i < sent; i++) keepSent.add(partId(b.id, i));
      batchUnits.forEach((id) => inBatch.add(id));
      lane.batch = { ...b, unitIds: batchUnits, parts: b.parts as DingTalkMessage[], sent, durable: true };
    }
    // SMS confirmed before the stop: the journal lists their units (a unit accepted after that
    // send is a later notification with the same id, and is sent).
    const smsSentAt = new Map<string, number>();
    for (const id of this.journal.sentIds())
      for (const unit of this.journal.sentRecord(id)?.units ?? [])
        smsSentAt.set(unit, Math.max(smsSentAt.get(unit) ?? -Infinity, this.journal.sentRecord(id)!.at));
    const confirmed = [...byId.values()].filter(
      (u) => u.channel === 'sms' && (smsSentAt.get(u.id) ?? -Infinity) >= u.acceptedAt,
    );
    if (confirmed.length > 0) {
      await this.d.outbox.markDelivered(
        confirmed.map((u) => u.id),
        undefined,
        now,
      );
      for (const u of confirmed) byId.delete(u.id);
    }
    this.journal.forget((id) => !keepSent.has(id));
    await this.journal.compact();
    const pending = [...byId.values()];
    for (const u of pending) this.units.set(u.id, u);
    for (const u of pending) if (!inBatch.has(u.id)) this.enqueue(u);
    await this.d.outbox.prune(this.d.now() - this.d.options.dedupWindowMs);
    // Dedup markers expire so that Alertmanager's repeat_interval reminders get through again.
    this.pruneTimer = setInterval(() => {
      this.d.outbox
        .prune(this.d.now() - this.d.options.dedupWindowMs)
        .catch((e: unknown) =>
          this.d.logger.warn({ err: (e as Error).message }, 'alert bridge: prune failed'),
        );
    }, 60_000);
    this.pruneTimer.unref?.();
    this.started = true;
    this.schedule();
    this.d.logger.info(
      { pending: pending.length, batches: batches.length, inDoubt: inDoubt.length },
      'alert bridge: outbox resumed, delivering',
    );
  }

  private dingLaneOf(name: string): DingLane | undefined {
    let lane = this.dingLanes.get(name);
    const r = this.receivers.get(name);
    if (!lane && r?.receiver.dingtalk) {
      lane = {
        receiver: r.receiver,
        team: r.team,
        pending: [],
        batch: undefined,
        nextAt: 0,
        busy: false,
        rr: 0,
      };
      this.dingLanes.set(name, lane);
    }
    return lane;
  }

  private enqueue(u: OutboxUnit): void {
    this.units.set(u.id, u);
    if (u.channel === 'dingtalk') {
      const lane = this.dingLaneOf(u.receiver);
      if (lane) lane.pending.push(u);
      else void this.dead([u], `receiver ${JSON.stringify(u.receiver)} no longer has dingtalk`, undefined);
      return;
    }
    const r = this.receivers.get(u.receiver);
    if (!r?.receiver.sms || u.target === undefined) {
      void this.dead([u], `receiver ${JSON.stringify(u.receiver)} no longer has sms`, undefined);
      return;
    }
    const k = `${u.receiver}\u0000${u.target}`;
    let lane = this.smsLanes.get(k);
    if (!lane) {
      lane = { receiver: r.receiver, number: u.target, pending: [], nextAt: 0, attempts: 0, busy: false };
      this.smsLanes.set(k, lane);
    }
    lane.pending.push(u);
  }

  queueDepth(channel: Channel): number {
    let n = 0;
    for (const u of this.units.values()) if (u.channel === channel) n++;
    return n;
  }

  /** Seconds the oldest undelivered notification of `channel` has waited (0 when none). */
  oldestPendingSeconds(channel: Channel): number {
    let oldest = Infinity;
    for (const u of this.units.values())
      if (u.channel === channel && u.acceptedAt < oldest) oldest = u.acceptedAt;
    return oldest === Infinity ? 0 : Math.max(0, this.d.now() - oldest) / 1000;
  }

  /** Persists a notification (fsync'd) and queues it. Throws when it cannot: the caller answers 5xx. */
  async accept(channel: Channel, receiverName: string, payload: WebhookPayload): Promise<AcceptOutcome> {
    if (this.closed) throw new Error('bridge is shutting down');
    this.refreshRouting();
    const r = this.receivers.get(receiverName);
    if (!r || (channel === 'dingtalk' && !r.receiver.dingtalk) || (channel === 'sms' && !r.receiver.sms)) {
      throw new UnknownReceiverError(
        `no ${channel} receiver ${JSON.stringify(receiverName)} in the topology's routing`,
      );
    }
    const key = dedupKey(channel, receiverName, payload);
    if (this.d.outbox.isAccepted(key)) return 'duplicate';
    const running = this.accepting.get(key);
    if (running) return running.then(() => 'duplicate' as const);
    const p = this.doAccept(channel, r, key, payload).finally(() => this.accepting.delete(key));
    this.accepting.set(key, p);
    return p;
  }

  private async doAccept(
    channel: Channel,
    r: { team: Team; receiver: Receiver },
    key: string,
    payload: WebhookPayload,
  ): Promise<AcceptOutcome> {
    const now = this.d.now();
    if (channel === 'sms' && payload.status === 'resolved' && !r.receiver.sms?.sendResolved) return 'skipped';
    const base = { key, channel, receiver: r.receiver.name, acceptedAt: now, payload };
    let units: OutboxUnit[];
    if (channel === 'dingtalk') {
      units = [{ ...base, id: `d-${key}` }];
    } else {
      units = this.smsNumbers(r.team, r.receiver, now).map((number) => ({
        ...base,
        id: `s-${key}-${createHash('sha256').update(number).digest('hex').slice(0, 12)}`,
        target: number,
      }));
      if (units.length === 0) {
        // Nobody to text: keep the evidence as a dead letter rather than answering 2xx into the void.
        await this.dead(
          [{ ...base, id: `s-${key}-none` }],
          'no SMS recipient (no mobile for the on-call or the team)',
          undefined,
        );
        await this.d.outbox.accept(key, [], now);
        return 'accepted';
      }
    }
    const fresh = await this.d.outbox.accept(key, units, now);
    for (const u of fresh) this.enqueue(u);
    this.schedule();
    return 'accepted';
  }

  private smsNumbers(team: Team, receiver: Receiver, now: number): string[] {
    const to = receiver.sms!.to;
    if (Array.isArray(to)) return [...new Set(to)];
    const teamMobiles = team.members.flatMap((m) => (m.mobile ? [m.mobile] : []));
    if (to === 'team') return [...new Set(teamMobiles)];
    const onCall = resolveOnCall(team, now).flatMap((m) => (m.mobile ? [m.mobile] : []));
    return [...new Set(onCall.length > 0 ? onCall : teamMobiles)];
  }

  /** Runs every lane that can make progress now and arms one timer for the earliest next one. */
  schedule(): void {
    if (this.closed || !this.started) return;
    this.refreshRouting();
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    let wake = Infinity;
    for (const lane of this.dingLanes.values()) wake = Math.min(wake, this.pumpDing(lane));
    for (const lane of this.smsLanes.values()) wake = Math.min(wake, this.pumpSms(lane));
    if (wake !== Infinity) {
      const delay = Math.min(Math.max(0, wake - this.d.now()), 60_000);
      this.timer = setTimeout(() => this.schedule(), delay + 1);
      this.timer.unref?.();
    }
  }

  private track(p: Promise<void>): void {
    const wrapped = p
      .catch((e: unknown) =>
        this.d.logger.error({ err: (e as Error).message }, 'alert bridge: delivery step failed'),
      )
      .finally(() => {
        this.inFlight.delete(wrapped);
        this.schedule();
      });
    this.inFlight.add(wrapped);
  }

  /** A rate-limited key's state, resumed from the send journal the first time it is used. */
  private rateState(map: Map<string, RateState>, key: string, limits: readonly WindowLimit[]): RateState {
    let r = map.get(key);
    if (!r) {
      r = { key, limiter: new SlidingWindowLimiter(limits), cooldownUntil: this.journal.cooldownOf(key) };
      r.limiter.restore(this.journal.slotsOf(key));
      map.set(key, r);
    }
    return r;
  }

  private robotOf(ref: SecretRef): RateState {
    const { limit, windowMs } = this.d.options.dingtalk;
    return this.rateState(this.robots, robotKey(ref), [{ limit, windowMs }]);
  }

  /** The next robot (round-robin) free now, or the time one will be. */
  private pickRobot(lane: DingLane, now: number, prefer?: number): { index: number } | { wake: number } {
    const robots = lane.receiver.dingtalk!.robots;
    const freeAt = (i: number) => {
      const st = this.robotOf(robots[i]!.tokenSecret);
      return Math.max(st.cooldownUntil, st.limiter.nextFree(now));
    };
    if (prefer !== undefined && prefer < robots.length && freeAt(prefer) <= now) return { index: prefer };
    let wake = Infinity;
    for (let k = 0; k < robots.length; k++) {
      const i = (lane.rr + k) % robots.length;
      const at = freeAt(i);
      if (at <= now) {
        lane.rr = i + 1;
        return { index: i };
      }
      wake = Math.min(wake, at);
    }
    return { wake };
  }

  private mentions(lane: DingLane, now: number): Mentions {
    if (!lane.receiver.dingtalk!.mentionOnCall) return { mobiles: [], userIds: [] };
    const onCall = resolveOnCall(lane.team, now);
    return {
      mobiles: onCall.flatMap((m) => (m.mobile ? [m.mobile] : [])),
      userIds: onCall.flatMap((m) => (m.dingtalkUserId ? [m.dingtalkUserId] : [])),
    };
  }

  private pumpDing(lane: DingLane): number {
    if (lane.busy) return Infinity;
    const now = this.d.now();
    if (!lane.batch && lane.pending.length === 0) return Infinity;
    if (lane.batch && lane.nextAt > now) return lane.nextAt;
    const pick = this.pickRobot(lane, now, lane.batch?.robot);
    if ('wake' in pick) return pick.wake;
    const robot = lane.receiver.dingtalk!.robots[pick.index]!;
    const state = this.robotOf(robot.tokenSecret);
    // The slot is taken now, before any await, so that no other lane can take it too.
    state.limiter.begin();
    lane.busy = true;
    this.track(this.sendDing(lane, pick.index, robot, state));
    return Infinity;
  }

  private newBatch(lane: DingLane, robotIndex: number): LaneBatch {
    const now = this.d.now();
    // Only the head of a backlog can fit in one message: render no more of it than that.
    const inputs = [];
    let bytes = 0;
    for (const u of lane.pending) {
      const lines = notificationLines(u.payload);
      inputs.push({ id: u.id, lines, firing: u.payload.status === 'firing' });
      bytes += lines.reduce((n, l) => n + Buffer.byteLength(l), 0);
      if (bytes > this.d.options.dingtalk.maxBodyBytes) break;
    }
    const mentions = this.mentions(lane, now);
    const { parts, taken } = packMessages(inputs, mentions, this.d.options.dingtalk.maxBodyBytes);
    const id = randomUUID();
    const batch: LaneBatch = {
      id,
      channel: 'dingtalk',
      receiver: lane.receiver.name,
      unitIds: lane.pending.slice(0, taken).map((u) => u.id),
      parts: parts.map((p, i) => buildMessage(p, mentions, `${id}-${i}`)),
      sent: 0,
      attempts: 0,
      robot: robotIndex,
      createdAt: now,
      durable: false,
    };
    lane.pending = lane.pending.slice(taken);
    return batch;
  }

  private saved(b: LaneBatch): OutboxBatch {
    return {
      id: b.id,
      channel: b.channel,
      receiver: b.receiver,
      unitIds: b.unitIds,
      parts: b.parts,
      sent: b.sent,
      attempts: b.attempts,
      robot: b.robot,
      createdAt: b.createdAt,
    };
  }

  private async sendDing(
    lane: DingLane,
    robotIndex: number,
    robot: DingRobot,
    state: RateState,
  ): Promise<void> {
    const o = this.d.options;
    let held = true;
    /** Gives the slot back (no request left) or stamps it with the answer's time. */
    const release = (answeredAt?: number) => {
      if (!held) return;
      held = false;
      if (answeredAt === undefined) state.limiter.cancel();
      else state.limiter.end(answeredAt);
    };
    try {
      if (!lane.batch) lane.batch = this.newBatch(lane, robotIndex);
      const batch: LaneBatch = { ...lane.batch, robot: robotIndex };
      lane.batch = batch;
      if (!batch.durable) {
        // Saved before anything is sent: after a crash the same parts go out with the same msgUuid.
        await this.d.outbox.saveBatch(this.saved(batch));
        batch.durable = true;
      }
      let credentials;
      try {
        credentials = await Promise.all([
          this.d.secrets(robot.tokenSecret),
          this.d.secrets(robot.signSecret),
        ]);
      } catch (e) {
        release();
        return await this.dingFailed(lane, batch, robotIndex, (e as Error).message);
      }
      const id = partId(batch.id, batch.sent);
      const startedAt = this.d.now();
      await this.journal.begin(
        state.key,
        id,
        startedAt,
        startedAt + o.dingtalk.timeoutMs + REQUEST_MARGIN_MS,
      );
      let outcome: SendOutcome;
      try {
        outcome = await sendDingTalk({
          http: this.d.http,
          url: robot.url,
          token: credentials[0],
          secret: credentials[1],
          timestampMs: this.d.now(),
          message: batch.parts[batch.sent]!,
          timeoutMs: o.dingtalk.timeoutMs,
        });
      } catch (e) {
        outcome = { ok: false, throttled: false, reason: (e as Error).message, code: 'network' };
      }
      const now = this.d.now();
      release(now);
      // DingTalk counts every request it received; the answer is recorded before anything else
      // happens, which closes the window in which a crash would send this part again.
      await this.journal
        .end(state.key, id, now, { sent: outcome.ok, slot: true })
        .catch((e: unknown) =>
          this.d.logger.error(
            { err: (e as Error).message, receiver: lane.receiver.name },
            'alert bridge: cannot record a DingTalk answer (a restart would send this part again)',
          ),
        );
      this.sends.add(
        now,
        'dingtalk',
        lane.receiver.name,
        outcome.ok ? undefined : outcome.reason,
        batch.unitIds.map((id) => this.units.get(id)),
      );
      if (outcome.ok) {
        this.d.metrics.messages.inc({ channel: 'dingtalk' });
        const sent = batch.sent + 1;
        if (sent < batch.parts.length) {
          lane.batch = { ...batch, sent };
          return;
        }
        lane.batch = undefined;
        this.delivered(batch.unitIds, 'dingtalk', now);
        // The journal already says "sent": the outbox's own bookkeeping can trail the next send.
        this.track(this.closeBatch(batch, now));
        return;
      }
      this.d.metrics.retried.inc({ channel: 'dingtalk' });
      this.d.metrics.providerErrors.inc({ channel: 'dingtalk', code: outcome.code });
      if (outcome.throttled) {
        state.cooldownUntil = now + o.dingtalk.throttleCooldownMs;
        this.d.logger.warn(
          { receiver: lane.receiver.name, robot: robotIndex, reason: outcome.reason },
          'alert bridge: DingTalk robot throttled, pausing it',
        );
        await this.journal.cooldown(state.key, state.cooldownUntil);
        return;
      }
      await this.dingFailed(lane, batch, robotIndex, outcome.reason);
    } catch (e) {
      // Outbox or journal not writable: nothing was sent; try again a little later.
      release();
      lane.nextAt = this.d.now() + o.retry.baseMs;
      throw e;
    } finally {
      lane.busy = false;
    }
  }

  private async dingFailed(
    lane: DingLane,
    batch: LaneBatch,
    robotIndex: number,
    reason: string,
  ): Promise<void> {
    const attempts = batch.attempts + 1;
    this.d.logger.warn(
      { receiver: lane.receiver.name, robot: robotIndex, attempts, reason },
      'alert bridge: DingTalk delivery failed',
    );
    if (attempts >= this.d.options.retry.maxAttempts) {
      lane.batch = undefined;
      await this.dead(
        batch.unitIds.map((id) => this.units.get(id)!).filter(Boolean),
        `after ${attempts} attempts: ${reason}`,
        batch.id,
      );
      return;
    }
    lane.batch = { ...batch, attempts };
    lane.nextAt = this.d.now() + this.backoff(attempts);
    await this.d.outbox.saveBatch(this.saved(lane.batch));
  }

  private async closeBatch(batch: LaneBatch, now: number): Promise<void> {
    await this.d.outbox.markDelivered(batch.unitIds, batch.id, now);
    this.journal.forget((id) => id.startsWith(`${batch.id}:`));
  }

  private backoff(attempts: number): number {
    const { baseMs, maxMs } = this.d.options.retry;
    const raw = Math.min(maxMs, baseMs * 2 ** (attempts - 1));
    return Math.round(raw * (0.75 + Math.random() * 0.25));
  }

  private numberOf(n: string): RateState {
    return this.rateState(this.numbers, numberKey(n), this.d.options.sms.limits);
  }

  private pumpSms(lane: SmsLane): number {
    if (lane.busy || lane.pending.length === 0) return Infinity;
    const now = this.d.now();
    const st = this.numberOf(lane.number);
    const at = Math.max(lane.nextAt, st.cooldownUntil, st.limiter.nextFree(now));
    if (at > now) return at;
    st.limiter.begin();
    lane.busy = true;
    this.track(this.sendSms(lane, st));
    return Infinity;
  }

  private provider(receiver: Receiver): Promise<SmsProvider> {
    let p = this.providers.get(receiver.name);
    if (!p) {
      p = this.d.smsProvider(receiver, this.d.secrets);
      // A failed construction (secret missing) is retried on the next send.
      p.catch(() => this.providers.delete(receiver.name));
      this.providers.set(receiver.name, p);
    }
    return p;
  }

  private async sendSms(lane: SmsLane, st: RateState): Promise<void> {
    const o = this.d.options;
    // A copy: units accepted while this SMS is in flight wait for the next one.
    const units = lane.pending.slice();
    const ids = units.map((u) => u.id);
    let held = true;
    try {
      const sms = lane.receiver.sms!;
      let result: SmsResult;
      const id = `sms-${randomUUID()}`;
      let begun = false;
      try {
        const provider = await this.provider(lane.receiver);
        const startedAt = this.d.now();
        await this.journal.begin(st.key, id, startedAt, startedAt + SMS_REQUEST_BOUND_MS, ids);
        begun = true;
        result = await provider.send({
          phoneNumbers: [lane.number],
          signName: sms.signName,
          templateCode: sms.templateCode,
          templateParam: smsTemplateParams(units.map((u) => u.payload)),
        });
      } catch (e) {
        result = {
          ok: false,
          code: 'ERROR',
          message: (e as Error).message,
          rateLimited: false,
          permanent: false,
        };
      }
      const now = this.d.now();
      // Only a sent SMS counts against the number's frequency limits.
      held = false;
      if (result.ok) st.limiter.end(now);
      else st.limiter.cancel();
      if (begun)
        await this.journal
          .end(st.key, id, now, { sent: result.ok, slot: result.ok })
          .catch((e: unknown) =>
            this.d.logger.error(
              { err: (e as Error).message, receiver: lane.receiver.name },
              'alert bridge: cannot record an SMS answer (a restart would send it again)',
            ),
          );
      this.sends.add(
        now,
        'sms',
        lane.receiver.name,
        result.ok ? undefined : `${result.code}: ${result.message}`,
        units,
      );
      if (result.ok) {
        this.d.metrics.messages.inc({ channel: 'sms' });
        this.delivered(ids, 'sms', now);
        lane.pending = lane.pending.slice(units.length);
        lane.attempts = 0;
        await this.d.outbox.markDelivered(ids, undefined, now);
        this.journal.forget((x) => x === id);
        return;
      }
      const reason = `${result.code}: ${result.message}`;
      this.d.metrics.providerErrors.inc({ channel: 'sms', code: smsErrorCode(result.code) });
      // Credentials may have been rotated in the Secret volume: build the client afresh next time.
      if (/AccessKey|Signature/i.test(result.code)) this.providers.delete(lane.receiver.name);
      if (result.rateLimited) {
        this.d.metrics.retried.inc({ channel: 'sms' });
        st.cooldownUntil = now + o.sms.rateLimitedCooldownMs;
        this.d.logger.warn(
          { receiver: lane.receiver.name, reason },
          'alert bridge: SMS number rate limited by the provider, waiting',
        );
        await this.journal.cooldown(st.key, st.cooldownUntil);
        return;
      }
      lane.attempts++;
      if (result.permanent || lane.attempts >= o.retry.maxAttempts) {
        await this.dead(
          units,
          result.permanent ? `permanent error ${reason}` : `after ${lane.attempts} attempts: ${reason}`,
          undefined,
        );
        lane.pending = lane.pending.slice(units.length);
        lane.attempts = 0;
        return;
      }
      this.d.metrics.retried.inc({ channel: 'sms' });
      this.d.logger.warn(
        { receiver: lane.receiver.name, attempts: lane.attempts, reason },
        'alert bridge: SMS delivery failed',
      );
      lane.nextAt = now + this.backoff(lane.attempts);
    } finally {
      if (held) st.limiter.cancel();
      lane.busy = false;
    }
  }

  private delivered(ids: readonly string[], channel: Channel, now: number): void {
    for (const id of ids) {
      const u = this.units.get(id);
      this.units.delete(id);
      this.d.metrics.delivered.inc({ channel });
      if (u) this.d.metrics.latency.observe({ channel }, Math.max(0, now - u.acceptedAt) / 1000);
    }
  }

  private async dead(
    units: readonly OutboxUnit[],
    reason: string,
    batchId: string | undefined,
  ): Promise<void> {
    const now = this.d.now();
    try {
      await this.d.outbox.deadLetter(units, reason, batchId, now);
      for (const u of units) this.d.metrics.deadLetters.inc({ channel: u.channel });
    } catch (e) {
      for (const u of units) this.d.metrics.dropped.inc({ channel: u.channel });
      this.d.logger.error(
        { err: (e as Error).message },
        'alert bridge: cannot write dead letter, notification lost',
      );
    }
    for (const u of units) this.units.delete(u.id);
    if (batchId !== undefined) this.journal.forget((id) => id.startsWith(`${batchId}:`));
    this.d.logger.error(
      { units: units.map((u) => u.id), receiver: units[0]?.receiver, reason },
      'alert bridge: dead letter',
    );
  }

  /** Waits for in-flight sends; nothing new starts. Pending units stay in the outbox for the next start. */
  async close(): Promise<void> {
    this.closed = true;
    await this.starting?.catch(() => undefined);
    if (this.timer) clearTimeout(this.timer);
    if (this.pruneTimer) clearInterval(this.pruneTimer);
    while (this.inFlight.size > 0) await Promise.all([...this.inFlight]);
    await this.journal.close();
  }

  /** Test/ops hook: re-run the scheduler now (e.g. after advancing an injected clock). */
  kick(): void {
    this.schedule();
  }

  /** Read-only snapshot for the operator console: queue per receiver, the last hour's sends, dead letters. */
  async status(): Promise<BridgeStatus> {
    const now = this.d.now();
    return {
      queue: queueOf(this.units.values()),
      sends: this.sends.recent(now),
      deadLetters: await this.d.outbox.deadLetters(),
    };
  }

  /** Settled when every accepted unit is delivered or dead (tests, graceful shutdown). */
  idle(): boolean {
    return this.units.size === 0 && this.inFlight.size === 0;
  }
}

/** An Aliyun SMS error code as a metric label: its own codes (isv.*, SignatureDoesNotMatch, ...) are a small fixed set; anything else is 'other'. */
function smsErrorCode(code: string): string {
  return /^[A-Za-z][\w.-]{0,63}$/.test(code) ? code : 'other';
}
