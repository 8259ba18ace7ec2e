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
 * - Failures retry with exponential backoff; throttling answers pause the robot/number without
 *   using the retry budget; after the budget the units become dead letters (file + metric).
 */
import { randomUUID } from 'node:crypto';
import type { SecretRef } from '../../common/secret.ts';
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
} from './dingtalk.ts';
import type { HttpClient } from './http.ts';
import { SlidingWindowLimiter, type WindowLimit } from './limiter.ts';
import type { BridgeMetrics } from './metrics.ts';
import type { Channel, Outbox, OutboxBatch, OutboxUnit } from './outbox.ts';
import type { SecretResolver } from './secrets.ts';
import { smsTemplateParams, type SmsProvider } from './sms.ts';
import { dedupKey, type WebhookPayload } from './webhook.ts';
import { createHash } from 'node:crypto';

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
    /** Pause of a robot after a throttling answer (DingTalk throttles ~10 minutes). */
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
};

/** Defaults filled in; an explicitly undefined field keeps its default. */
export function bridgeOptions(input: BridgeOptionsInput = {}): BridgeOptions {
  const defined = <T extends object>(o: T | undefined): Partial<T> =>
    Object.fromEntries(Object.entries(o ?? {}).filter(([, v]) => v !== undefined)) as Partial<T>;
  return {
    dingtalk: { ...DEFAULT_BRIDGE_OPTIONS.dingtalk, ...defined(input.dingtalk) },
    sms: { ...DEFAULT_BRIDGE_OPTIONS.sms, ...defined(input.sms) },
    retry: { ...DEFAULT_BRIDGE_OPTIONS.retry, ...defined(input.retry) },
    dedupWindowMs: input.dedupWindowMs ?? DEFAULT_BRIDGE_OPTIONS.dedupWindowMs,
  };
}

/** Builds the SMS provider of a receiver (default: Aliyun through its SDK). */
export type SmsProviderFactory = (receiver: Receiver, secrets: SecretResolver) => Promise<SmsProvider>;

export type AcceptOutcome = 'accepted' | 'duplicate' | 'skipped';

/** The receiver does not exist (or lacks the channel): the bridge cannot accept, answer 5xx. */
export class UnknownReceiverError extends Error {}

interface DingLane {
  readonly receiver: Receiver;
  readonly team: Team;
  pending: OutboxUnit[];
  batch: (OutboxBatch & { parts: readonly DingTalkMessage[] }) | undefined;
  nextAt: number;
  busy: boolean;
  rr: number;
}

interface SmsLane {
  readonly receiver: Receiver;
  readonly number: string;
  pending: OutboxUnit[];
  nextAt: number;
  attempts: number;
  busy: boolean;
}

interface RobotState {
  readonly limiter: SlidingWindowLimiter;
  cooldownUntil: number;
}

export interface EngineDeps {
  readonly routing: Routing | undefined;
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
  private readonly receivers = new Map<string, { team: Team; receiver: Receiver }>();
  private readonly dingLanes = new Map<string, DingLane>();
  private readonly smsLanes = new Map<string, SmsLane>();
  private readonly robots = new Map<string, RobotState>();
  private readonly numbers = new Map<string, { limiter: SlidingWindowLimiter; cooldownUntil: number }>();
  private readonly providers = new Map<string, Promise<SmsProvider>>();
  private readonly accepting = new Map<string, Promise<AcceptOutcome>>();
  private readonly inFlight = new Set<Promise<void>>();
  /** Every accepted unit not yet delivered or dead, by id. */
  private readonly units = new Map<string, OutboxUnit>();
  private timer: NodeJS.Timeout | undefined;
  private pruneTimer: NodeJS.Timeout | undefined;
  private closed = false;

  constructor(deps: EngineDeps) {
    this.d = deps;
    if (deps.routing)
      for (const { team, receiver } of receiversOf(deps.routing))
        this.receivers.set(receiver.name, { team, receiver });
  }

  /** Loads the outbox and resumes every pending unit and open batch. */
  async start(): Promise<void> {
    const { units, batches } = await this.d.outbox.open();
    const byId = new Map(units.map((u) => [u.id, u]));
    const inBatch = new Set<string>();
    for (const b of batches) {
      const lane = b.channel === 'dingtalk' ? this.dingLaneOf(b.receiver) : undefined;
      const batchUnits = b.unitIds.filter((id) => byId.has(id));
      if (!lane || batchUnits.length === 0) {
        // Its units were delivered, or its receiver is gone (its units then become dead letters below).
        await this.d.outbox.dropBatch(b.id);
        continue;
      }
      batchUnits.forEach((id) => inBatch.add(id));
      lane.batch = { ...b, unitIds: batchUnits, parts: b.parts as DingTalkMessage[] };
    }
    for (const u of units) this.units.set(u.id, u);
    for (const u of units) if (!inBatch.has(u.id)) this.enqueue(u);
    if (units.length > 0)
      this.d.logger.info({ pending: units.length, batches: batches.length }, 'alert bridge: resuming outbox');
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
    this.schedule();
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

  /** Persists a notification (fsync'd) and queues it. Throws when it cannot: the caller answers 5xx. */
  async accept(channel: Channel, receiverName: string, payload: WebhookPayload): Promise<AcceptOutcome> {
    if (this.closed) throw new Error('bridge is shutting down');
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
    if (this.closed) return;
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

  private robotOf(ref: SecretRef): RobotState {
    const k = `${ref.name}/${ref.key}`;
    let r = this.robots.get(k);
    if (!r) {
      r = {
        limiter: new SlidingWindowLimiter([
          { limit: this.d.options.dingtalk.limit, windowMs: this.d.options.dingtalk.windowMs },
        ]),
        cooldownUntil: 0,
      };
      this.robots.set(k, r);
    }
    return r;
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
    lane.busy = true;
    this.track(this.sendDing(lane, pick.index));
    return Infinity;
  }

  private async sendDing(lane: DingLane, robotIndex: number): Promise<void> {
    const o = this.d.options;
    try {
      if (!lane.batch) {
        const now = this.d.now();
        const inputs = lane.pending.map((u) => ({
          id: u.id,
          lines: notificationLines(u.payload),
          firing: u.payload.status === 'firing',
        }));
        const { parts, taken } = packMessages(inputs, this.mentions(lane, now), o.dingtalk.maxBodyBytes);
        const id = randomUUID();
        const mentions = this.mentions(lane, now);
        lane.batch = {
          id,
          channel: 'dingtalk',
          receiver: lane.receiver.name,
          unitIds: lane.pending.slice(0, taken).map((u) => u.id),
          parts: parts.map((p, i) => buildMessage(p, mentions, `${id}-${i}`)),
          sent: 0,
          attempts: 0,
          robot: robotIndex,
          createdAt: now,
        };
        lane.pending = lane.pending.slice(taken);
      }
      const batch = { ...lane.batch, robot: robotIndex };
      lane.batch = batch;
      // Saved before sending: after a crash the same parts go out with the same msgUuid.
      await this.d.outbox.saveBatch(batch);
      const robot = lane.receiver.dingtalk!.robots[robotIndex]!;
      const state = this.robotOf(robot.tokenSecret);
      state.limiter.begin();
      let outcome;
      try {
        const [token, secret] = await Promise.all([
          this.d.secrets(robot.tokenSecret),
          this.d.secrets(robot.signSecret),
        ]);
        outcome = await sendDingTalk({
          http: this.d.http,
          url: robot.url,
          token,
          secret,
          timestampMs: this.d.now(),
          message: batch.parts[batch.sent]!,
          timeoutMs: o.dingtalk.timeoutMs,
        });
      } catch (e) {
        outcome = { ok: false as const, throttled: false, reason: (e as Error).message };
      } finally {
        state.limiter.end(this.d.now());
      }
      const now = this.d.now();
      if (outcome.ok) {
        this.d.metrics.messages.inc({ channel: 'dingtalk' });
        const next = { ...batch, sent: batch.sent + 1 };
        if (next.sent < next.parts.length) {
          lane.batch = next;
          await this.d.outbox.saveBatch(next);
        } else {
          await this.d.outbox.markDelivered(next.unitIds, next.id, now);
          this.delivered(next.unitIds, 'dingtalk', now);
          lane.batch = undefined;
        }
        return;
      }
      this.d.metrics.retried.inc({ channel: 'dingtalk' });
      if (outcome.throttled) {
        state.cooldownUntil = now + o.dingtalk.throttleCooldownMs;
        this.d.logger.warn(
          { receiver: lane.receiver.name, robot: robotIndex, reason: outcome.reason },
          'alert bridge: DingTalk robot throttled, pausing it',
        );
        return;
      }
      const attempts = batch.attempts + 1;
      this.d.logger.warn(
        { receiver: lane.receiver.name, robot: robotIndex, attempts, reason: outcome.reason },
        'alert bridge: DingTalk delivery failed',
      );
      if (attempts >= o.retry.maxAttempts) {
        await this.dead(
          batch.unitIds.map((id) => this.units.get(id)!).filter(Boolean),
          `after ${attempts} attempts: ${outcome.reason}`,
          batch.id,
        );
        lane.batch = undefined;
        return;
      }
      lane.batch = { ...batch, attempts };
      lane.nextAt = now + this.backoff(attempts);
      await this.d.outbox.saveBatch(lane.batch);
    } finally {
      lane.busy = false;
    }
  }

  private backoff(attempts: number): number {
    const { baseMs, maxMs } = this.d.options.retry;
    const raw = Math.min(maxMs, baseMs * 2 ** (attempts - 1));
    return Math.round(raw * (0.75 + Math.random() * 0.25));
  }

  private numberOf(n: string): { limiter: SlidingWindowLimiter; cooldownUntil: number } {
    let s = this.numbers.get(n);
    if (!s) {
      s = { limiter: new SlidingWindowLimiter(this.d.options.sms.limits), cooldownUntil: 0 };
      this.numbers.set(n, s);
    }
    return s;
  }

  private pumpSms(lane: SmsLane): number {
    if (lane.busy || lane.pending.length === 0) return Infinity;
    const now = this.d.now();
    const st = this.numberOf(lane.number);
    const at = Math.max(lane.nextAt, st.cooldownUntil, st.limiter.nextFree(now));
    if (at > now) return at;
    lane.busy = true;
    this.track(this.sendSms(lane));
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

  private async sendSms(lane: SmsLane): Promise<void> {
    const o = this.d.options;
    // A copy: units accepted while this SMS is in flight wait for the next one.
    const units = lane.pending.slice();
    const st = this.numberOf(lane.number);
    try {
      const sms = lane.receiver.sms!;
      st.limiter.begin();
      let result;
      try {
        const provider = await this.provider(lane.receiver);
        result = await provider.send({
          phoneNumbers: [lane.number],
          signName: sms.signName,
          templateCode: sms.templateCode,
          templateParam: smsTemplateParams(units.map((u) => u.payload)),
        });
      } catch (e) {
        result = {
          ok: false as const,
          code: 'ERROR',
          message: (e as Error).message,
          rateLimited: false,
          permanent: false,
        };
      }
      // Only a sent SMS counts against the number's frequency limits.
      if (result.ok) st.limiter.end(this.d.now());
      else st.limiter.cancel();
      const now = this.d.now();
      const ids = units.map((u) => u.id);
      if (result.ok) {
        this.d.metrics.messages.inc({ channel: 'sms' });
        await this.d.outbox.markDelivered(ids, undefined, now);
        this.delivered(ids, 'sms', now);
        lane.pending = lane.pending.slice(units.length);
        lane.attempts = 0;
        return;
      }
      const reason = `${result.code}: ${result.message}`;
      // Credentials may have been rotated in the Secret volume: build the client afresh next time.
      if (/AccessKey|Signature/i.test(result.code)) this.providers.delete(lane.receiver.name);
      if (result.rateLimited) {
        this.d.metrics.retried.inc({ channel: 'sms' });
        st.cooldownUntil = now + o.sms.rateLimitedCooldownMs;
        this.d.logger.warn(
          { receiver: lane.receiver.name, reason },
          'alert bridge: SMS number rate limited by the provider, waiting',
        );
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
    this.d.logger.error(
      { units: units.map((u) => u.id), receiver: units[0]?.receiver, reason },
      'alert bridge: dead letter',
    );
  }

  /** Waits for in-flight sends; nothing new starts. Pending units stay in the outbox for the next start. */
  async close(): Promise<void> {
    this.closed = true;
    if (this.timer) clearTimeout(this.timer);
    if (this.pruneTimer) clearInterval(this.pruneTimer);
    await Promise.all([...this.inFlight]);
  }

  /** Test/ops hook: re-run the scheduler now (e.g. after advancing an injected clock). */
  kick(): void {
    this.schedule();
  }

  /** Settled when every accepted unit is delivered or dead (tests, graceful shutdown). */
  idle(): boolean {
    return this.units.size === 0 && this.inFlight.size === 0;
  }
}
