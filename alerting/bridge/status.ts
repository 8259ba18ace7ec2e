/**
 * What the bridge tells an operator (the console's pages view): its queue, the outcome of its
 * recent sends per receiver with the providers' error codes, and its dead letters. Read-only:
 * nothing here changes what the engine does. Send outcomes are kept in memory for one hour;
 * dead letters come from the outbox, so they survive a restart.
 */
import type { Channel, DeadLetter, OutboxUnit } from './outbox.ts';

/** How long send outcomes are kept: the pages view shows the last hour. */
export const SEND_LOG_WINDOW_MS = 3_600_000;

/** One attempt to send a message (a DingTalk post or one SMS) and how it ended. */
export interface SendRecord {
  /** ms since the epoch. */
  readonly at: number;
  readonly channel: Channel;
  readonly receiver: string;
  readonly ok: boolean;
  /** The provider's code when it failed: a DingTalk errcode, an Aliyun Code, `HTTP 500`, `request failed`. */
  readonly code?: string;
  readonly reason?: string;
  /** Notifications the message carried, and their alert names (at most 5, for display). */
  readonly notifications: number;
  readonly alerts: readonly string[];
  readonly status: 'firing' | 'resolved' | 'mixed';
}

export interface BridgeQueue {
  readonly channel: Channel;
  readonly receiver: string;
  /** Accepted units not yet delivered or dead. */
  readonly depth: number;
  readonly oldestAcceptedAt: number;
}

export interface BridgeStatus {
  readonly queue: readonly BridgeQueue[];
  /** Sends of the last hour, oldest first. */
  readonly sends: readonly SendRecord[];
  readonly deadLetters: readonly DeadLetter[];
}

/**
 * The code of a failure reason as the engine words it (`errcode 310000: ...`, `HTTP 503`,
 * `isv.BUSINESS_LIMIT_CONTROL: ...`, `request failed: ...`).
 */
export function reasonCode(reason: string): string {
  const errcode = /^errcode (-?\d+|\S+?):/.exec(reason);
  if (errcode) return errcode[1]!;
  const http = /^HTTP (\d{3})/.exec(reason);
  if (http) return `HTTP ${http[1]}`;
  if (reason.startsWith('request failed')) return 'request failed';
  const sms = /^(?:permanent error )?([A-Za-z][\w.]*):/.exec(reason);
  return sms ? sms[1]! : 'error';
}

/** Send outcomes of the last hour, appended by the engine after each attempt. */
export class SendLog {
  readonly #records: SendRecord[] = [];

  add(
    at: number,
    channel: Channel,
    receiver: string,
    failure: string | undefined,
    units: readonly (OutboxUnit | undefined)[],
  ): void {
    const present = units.filter((u): u is OutboxUnit => u !== undefined);
    const statuses = new Set(present.map((u) => u.payload.status));
    const alerts = [
      ...new Set(present.flatMap((u) => u.payload.alerts.map((a) => a.labels.alertname ?? '(unnamed)'))),
    ];
    this.#records.push({
      at,
      channel,
      receiver,
      ok: failure === undefined,
      ...(failure === undefined ? {} : { code: reasonCode(failure), reason: failure }),
      notifications: present.length,
      alerts: alerts.slice(0, 5),
      status: statuses.size === 1 ? [...statuses][0]! : 'mixed',
    });
    this.#prune(at);
  }

  /** Records of the last hour at `now`, oldest first. */
  recent(now: number): readonly SendRecord[] {
    this.#prune(now);
    return [...this.#records];
  }

  #prune(now: number): void {
    let drop = 0;
    while (drop < this.#records.length && this.#records[drop]!.at <= now - SEND_LOG_WINDOW_MS) drop++;
    if (drop > 0) this.#records.splice(0, drop);
  }
}

/** Queue depth and oldest entry per (channel, receiver) of the pending units. */
export function queueOf(units: Iterable<OutboxUnit>): BridgeQueue[] {
  const by = new Map<
    string,
    { channel: Channel; receiver: string; depth: number; oldestAcceptedAt: number }
  >();
  for (const u of units) {
    const k = `${u.channel}\u0000${u.receiver}`;
    const q = by.get(k);
    if (q === undefined)
      by.set(k, { channel: u.channel, receiver: u.receiver, depth: 1, oldestAcceptedAt: u.acceptedAt });
    else {
      q.depth++;
      q.oldestAcceptedAt = Math.min(q.oldestAcceptedAt, u.acceptedAt);
    }
  }
  return [...by.values()].sort(
    (a, b) => a.channel.localeCompare(b.channel) || a.receiver.localeCompare(b.receiver),
  );
}
