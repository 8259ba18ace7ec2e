/**
 * The durable outbox. A notification is on disk (written, fsync'd, renamed, directory fsync'd)
 * before the bridge answers 2xx, so a crash after the answer loses nothing.
 *
 * Layout under the outbox directory:
 *   pending/<unit>.json     accepted, not yet delivered (one unit per notification and target)
 *   batches/<id>.json       a message being sent: its units and parts, with stable msgUuids
 *   delivered/<unit>        delivered marker (content: time), pruned after the dedup window
 *   accepted/<key>          the notification's dedup marker (content: time), pruned likewise
 *   dead/<unit>.json        dead letters: the unit plus the last error, kept for an operator
 */
import { mkdir, open, readdir, readFile, rename, rm } from 'node:fs/promises';
import path from 'node:path';
import type { WebhookPayload } from './webhook.ts';

export type Channel = 'dingtalk' | 'sms';

export interface OutboxUnit {
  readonly id: string;
  /** Dedup key of the notification the unit belongs to. */
  readonly key: string;
  readonly channel: Channel;
  readonly receiver: string;
  /** SMS: the phone number; DingTalk: undefined (the receiver's robots). */
  readonly target?: string | undefined;
  readonly acceptedAt: number;
  readonly payload: WebhookPayload;
}

export interface OutboxBatch {
  readonly id: string;
  readonly channel: Channel;
  readonly receiver: string;
  readonly unitIds: readonly string[];
  /** Message bodies (channel specific), sent in order; `sent` of them are confirmed. */
  readonly parts: readonly unknown[];
  readonly sent: number;
  readonly attempts: number;
  readonly robot?: number | undefined;
  readonly createdAt: number;
}

/** A unit given up on, as an operator sees it. */
export interface DeadLetter {
  readonly id: string;
  readonly reason: string;
  readonly channel: Channel;
  readonly receiver: string;
  readonly deadAt: number;
}

const DIRS = ['pending', 'batches', 'delivered', 'accepted', 'dead'] as const;
const SAFE_ID = /^[A-Za-z0-9_.-]+$/;

export class Outbox {
  readonly dir: string;
  /** Dedup markers in memory: key/unit id → time. Files are the truth; this is their index. */
  private readonly accepted = new Map<string, number>();
  private readonly delivered = new Map<string, number>();
  private readonly pendingIds = new Set<string>();
  private readonly deadIds = new Set<string>();

  constructor(dir: string) {
    this.dir = dir;
  }

  private file(sub: (typeof DIRS)[number], name: string): string {
    if (!SAFE_ID.test(name)) throw new Error(`outbox: invalid id ${JSON.stringify(name)}`);
    return path.join(this.dir, sub, name);
  }

  /** Creates the layout and loads the indexes; returns pending units and open batches to resume. */
  async open(): Promise<{ units: OutboxUnit[]; batches: OutboxBatch[] }> {
    for (const d of DIRS) await mkdir(path.join(this.dir, d), { recursive: true });
    for (const [sub, index] of [
      ['accepted', this.accepted],
      ['delivered', this.delivered],
    ] as const) {
      for (const name of await readdir(path.join(this.dir, sub))) {
        if (name.endsWith('.tmp')) continue;
        const at = Number(await readFile(path.join(this.dir, sub, name), 'utf8').catch(() => '0'));
        index.set(name, Number.isFinite(at) ? at : 0);
      }
    }
    for (const name of await readdir(path.join(this.dir, 'dead')))
      if (name.endsWith('.json')) this.deadIds.add(name.slice(0, -5));
    const units: OutboxUnit[] = [];
    for (const name of (await readdir(path.join(this.dir, 'pending'))).sort()) {
      if (!name.endsWith('.json')) continue;
      const unit = JSON.parse(await readFile(path.join(this.dir, 'pending', name), 'utf8')) as OutboxUnit;
      if (this.delivered.has(unit.id)) {
        // Crashed between the delivered marker and the cleanup.
        await rm(path.join(this.dir, 'pending', name), { force: true });
        continue;
      }
      this.pendingIds.add(unit.id);
      units.push(unit);
    }
    const batches: OutboxBatch[] = [];
    for (const name of (await readdir(path.join(this.dir, 'batches'))).sort()) {
      if (name.endsWith('.json'))
        batches.push(JSON.parse(await readFile(path.join(this.dir, 'batches', name), 'utf8')) as OutboxBatch);
    }
    units.sort((a, b) => a.acceptedAt - b.acceptedAt || a.id.localeCompare(b.id));
    return { units, batches };
  }

  isAccepted(key: string): boolean {
    return this.accepted.has(key);
  }

  /** True when the unit is already pending, delivered or dead (so it must not be queued again). */
  knows(unitId: string): boolean {
    return this.pendingIds.has(unitId) || this.delivered.has(unitId) || this.deadIds.has(unitId);
  }

  /**
   * Persists a notification's units, then its dedup marker. Units already known are skipped,
   * so a retry of a half-written accept neither loses nor duplicates anything.
   * Returns the units newly written.
   */
  async accept(key: string, units: readonly OutboxUnit[], now: number): Promise<OutboxUnit[]> {
    const fresh = units.filter((u) => !this.knows(u.id));
    for (const u of fresh) await this.writeDurably(this.file('pending', `${u.id}.json`), JSON.stringify(u));
    await this.writeDurably(this.file('accepted', key), String(now));
    for (const u of fresh) this.pendingIds.add(u.id);
    this.accepted.set(key, now);
    return fresh;
  }

  async saveBatch(b: OutboxBatch): Promise<void> {
    await this.writeDurably(this.file('batches', `${b.id}.json`), JSON.stringify(b));
  }

  /** Delivered: marker first, then the pending file and the batch go (a crash in between is harmless). */
  async markDelivered(unitIds: readonly string[], batchId: string | undefined, now: number): Promise<void> {
    for (const id of unitIds) await this.writeDurably(this.file('delivered', id), String(now), false);
    await this.syncDir(path.join(this.dir, 'delivered'));
    for (const id of unitIds) {
      this.delivered.set(id, now);
      this.pendingIds.delete(id);
      await rm(this.file('pending', `${id}.json`), { force: true });
    }
    if (batchId !== undefined) await rm(this.file('batches', `${batchId}.json`), { force: true });
  }

  async dropBatch(id: string): Promise<void> {
    await rm(this.file('batches', `${id}.json`), { force: true });
  }

  async deadLetter(
    units: readonly OutboxUnit[],
    reason: string,
    batchId: string | undefined,
    now: number,
  ): Promise<void> {
    for (const u of units) {
      await this.writeDurably(
        this.file('dead', `${u.id}.json`),
        JSON.stringify({ ...u, deadAt: now, reason }),
      );
      this.deadIds.add(u.id);
      this.pendingIds.delete(u.id);
      await rm(this.file('pending', `${u.id}.json`), { force: true });
    }
    if (batchId !== undefined) await rm(this.file('batches', `${batchId}.json`), { force: true });
  }

  async deadLetters(): Promise<DeadLetter[]> {
    const out: DeadLetter[] = [];
    for (const name of (await readdir(path.join(this.dir, 'dead'))).sort()) {
      if (!name.endsWith('.json')) continue;
      const d = JSON.parse(await readFile(path.join(this.dir, 'dead', name), 'utf8')) as OutboxUnit & {
        reason: string;
        deadAt: number;
      };
      out.push({ id: d.id, reason: d.reason, channel: d.channel, receiver: d.receiver, deadAt: d.deadAt });
    }
    return out;
  }

  /** Forgets dedup markers older than the window (Alertmanager's own repeats must get through again). */
  async prune(olderThan: number): Promise<void> {
    for (const [sub, index] of [
      ['accepted', this.accepted],
      ['delivered', this.delivered],
    ] as const) {
      for (const [name, at] of [...index]) {
        if (at < olderThan) {
          index.delete(name);
          await rm(path.join(this.dir, sub, name), { force: true });
        }
      }
    }
  }

  private async writeDurably(file: string, text: string, syncDir = true): Promise<void> {
    const tmp = `${file}.tmp`;
    const fh = await open(tmp, 'w');
    try {
      await fh.writeFile(text);
      await fh.sync();
    } finally {
      await fh.close();
    }
    await rename(tmp, file);
    if (syncDir) await this.syncDir(path.dirname(file));
  }

  private async syncDir(dir: string): Promise<void> {
    const fh = await open(dir, 'r');
    try {
      await fh.sync();
    } finally {
      await fh.close();
    }
  }
}
