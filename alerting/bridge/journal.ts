/**
 * The send journal: what the bridge sent to which robot or number, and when, on disk (one
 * append-only file in the outbox, each record fsync'd before the step it guards goes on).
 *
 *   begin  "about to send" a message (written before the request leaves): the send takes a slot
 *          of the provider's rate window, and until its answer is recorded it is in doubt;
 *   end    "answered" (written the moment the answer is in): `sent` when the provider showed
 *          the message, `slot` when the attempt counts against the rate window (DingTalk counts
 *          every request it received, Aliyun only sent SMS);
 *   cooldown  the provider throttled this key until a time (DingTalk's ~10 minute penalty).
 *
 * After a crash the journal gives back, per key, the send times still inside the window (so a
 * restart never exceeds 20 per 60 s per robot), the sends confirmed `sent` (never sent again)
 * and the sends in doubt: begun, never answered. Whether DingTalk showed one of those cannot be
 * known, so it is sent again (at-least-once) and its slot is counted as late as the request
 * could have arrived: at the restart, or at its deadline (request timeout + margin) if sooner.
 *
 * Concurrent appends share one write and one fdatasync (group commit). The file is rewritten
 * (temp file, fsync, rename, directory fsync) at start, which also drops a torn last line, and
 * whenever it has grown past COMPACT_AFTER records: it stays a handful of records per key.
 */
import { open, rename, type FileHandle } from 'node:fs/promises';
import path from 'node:path';

const FILE = 'sends.log';
const COMPACT_AFTER = 2_000;

type JournalRecord =
  | {
      op: 'begin';
      key: string;
      id: string;
      at: number;
      /** The request cannot reach the provider after this (its timeout plus a margin). */
      until: number;
      /** SMS: the units the message carries (DingTalk's are in the outbox batch). */
      units?: readonly string[];
    }
  | { op: 'end'; key: string; id: string; at: number; sent: boolean; slot: boolean }
  | { op: 'slot'; key: string; at: number }
  | { op: 'cooldown'; key: string; until: number }
  | { op: 'sent'; id: string; at: number; units?: readonly string[] };

export interface SentRecord {
  /** When the send began (an SMS unit accepted after it is another notification). */
  readonly at: number;
  readonly units?: readonly string[] | undefined;
}

export interface JournalOptions {
  /** How long a send time of this key matters (the longest rate window applying to it). */
  readonly retainMs: (key: string) => number;
  readonly now: () => number;
  /** Rewrite the file once it has this many records (default 2,000). */
  readonly compactAfter?: number;
}

export class SendJournal {
  private readonly file: string;
  private readonly o: JournalOptions;
  private readonly slots = new Map<string, number[]>();
  private readonly cooldowns = new Map<string, number>();
  private readonly sent = new Map<string, SentRecord>();
  private readonly inFlight = new Map<string, Extract<JournalRecord, { op: 'begin' }>>();
  private fh: FileHandle | undefined;
  private queue: { line: string; done: (e?: Error) => void }[] = [];
  private compactRequested = false;
  private writing: Promise<void> | undefined;
  private records = 0;

  constructor(outboxDir: string, opts: JournalOptions) {
    this.file = path.join(outboxDir, FILE);
    this.o = opts;
  }

  /**
   * Replays the file. Sends left in doubt get their slot (see the header) and are returned;
   * call compact() before the first append (it also drops a torn last line).
   */
  async open(): Promise<{ inDoubt: string[] }> {
    let text = '';
    try {
      const fh = await open(this.file, 'r');
      try {
        text = await fh.readFile('utf8');
      } finally {
        await fh.close();
      }
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
    }
    for (const line of text.split('\n')) {
      if (line === '') continue;
      let rec: JournalRecord;
      try {
        rec = JSON.parse(line) as JournalRecord;
      } catch {
        continue; // a line torn by a crash mid-append: its step never went on
      }
      this.apply(rec);
    }
    const now = this.o.now();
    const inDoubt = [...this.inFlight.values()];
    this.inFlight.clear();
    for (const b of inDoubt) this.addSlot(b.key, Math.min(now, b.until));
    return { inDoubt: inDoubt.map((b) => b.id) };
  }

  private apply(rec: JournalRecord): void {
    switch (rec.op) {
      case 'begin':
        this.inFlight.set(rec.id, rec);
        break;
      case 'end': {
        const begun = this.inFlight.get(rec.id);
        this.inFlight.delete(rec.id);
        if (rec.slot) this.addSlot(rec.key, rec.at);
        if (rec.sent) this.sent.set(rec.id, { at: begun?.at ?? rec.at, units: begun?.units });
        break;
      }
      case 'slot':
        this.addSlot(rec.key, rec.at);
        break;
      case 'cooldown':
        this.cooldowns.set(rec.key, Math.max(this.cooldowns.get(rec.key) ?? 0, rec.until));
        break;
      case 'sent':
        this.sent.set(rec.id, { at: rec.at, units: rec.units });
        break;
    }
  }

  private addSlot(key: string, at: number): void {
    const list = this.slots.get(key) ?? [];
    list.push(at);
    list.sort((a, b) => a - b);
    const oldest = this.o.now() - this.o.retainMs(key);
    while (list.length > 0 && list[0]! <= oldest) list.shift();
    this.slots.set(key, list);
  }

  /** Send times of a key still inside its window (oldest first). */
  slotsOf(key: string): readonly number[] {
    const oldest = this.o.now() - this.o.retainMs(key);
    return (this.slots.get(key) ?? []).filter((t) => t > oldest);
  }

  cooldownOf(key: string): number {
    return this.cooldowns.get(key) ?? 0;
  }

  sentRecord(id: string): SentRecord | undefined {
    return this.sent.get(id);
  }

  sentIds(): string[] {
    return [...this.sent.keys()];
  }

  /** "About to send": durable before the request leaves. */
  begin(key: string, id: string, at: number, until: number, units?: readonly string[]): Promise<void> {
    return this.append({ op: 'begin', key, id, at, until, ...(units ? { units } : {}) });
  }

  /** The answer is in: durable before anything else happens. */
  end(key: string, id: string, at: number, outcome: { sent: boolean; slot: boolean }): Promise<void> {
    return this.append({ op: 'end', key, id, at, ...outcome });
  }

  cooldown(key: string, until: number): Promise<void> {
    return this.append({ op: 'cooldown', key, until });
  }

  /**
   * The outbox has recorded the outcome of these sends (units delivered, batch closed): their
   * `sent` records go at the next compaction. Not durable by itself, and need not be.
   */
  forget(pred: (id: string) => boolean): void {
    for (const id of [...this.sent.keys()]) if (pred(id)) this.sent.delete(id);
  }

  private append(rec: JournalRecord): Promise<void> {
    if (!this.fh && !this.compactRequested)
      return Promise.reject(new Error('send journal: not open (compact() first)'));
    this.apply(rec);
    return this.enqueue(`${JSON.stringify(rec)}\n`);
  }

  private enqueue(line: string): Promise<void> {
    return new Promise((resolve, reject) => {
      this.queue.push({ line, done: (e) => (e ? reject(e) : resolve()) });
      this.kick();
    });
  }

  private kick(): void {
    if (this.writing) return;
    this.writing = this.drain().finally(() => {
      this.writing = undefined;
      if (this.queue.length > 0) this.kick();
    });
  }

  private async drain(): Promise<void> {
    while (this.queue.length > 0) {
      const batch = this.queue.splice(0);
      try {
        if (this.compactRequested || this.records + batch.length > (this.o.compactAfter ?? COMPACT_AFTER)) {
          this.compactRequested = false;
          // The state in memory already holds these records: the rewrite makes them durable.
          await this.rewrite();
        } else {
          await this.fh!.write(batch.map((b) => b.line).join(''));
          await this.fh!.datasync();
          this.records += batch.length;
        }
        for (const b of batch) b.done();
      } catch (e) {
        for (const b of batch) b.done(e as Error);
      }
    }
  }

  /** Rewrites the file as the current state (through the write queue); required once after open(). */
  compact(): Promise<void> {
    this.compactRequested = true;
    return this.enqueue('');
  }

  private async rewrite(): Promise<void> {
    const now = this.o.now();
    const lines: JournalRecord[] = [];
    for (const key of [...this.slots.keys()].sort())
      for (const at of this.slotsOf(key)) lines.push({ op: 'slot', key, at });
    for (const [key, until] of this.cooldowns) if (until > now) lines.push({ op: 'cooldown', key, until });
    for (const [id, s] of this.sent)
      lines.push({ op: 'sent', id, at: s.at, ...(s.units ? { units: s.units } : {}) });
    for (const b of this.inFlight.values()) lines.push(b);
    const tmp = `${this.file}.tmp`;
    const out = await open(tmp, 'w');
    try {
      await out.writeFile(lines.map((l) => `${JSON.stringify(l)}\n`).join(''));
      await out.sync();
    } finally {
      await out.close();
    }
    await rename(tmp, this.file);
    const dir = await open(path.dirname(this.file), 'r');
    try {
      await dir.sync();
    } finally {
      await dir.close();
    }
    // Appends go to the new file from now on; the old handle points at the replaced one.
    const old = this.fh;
    this.fh = await open(this.file, 'a');
    await old?.close();
    this.records = lines.length;
  }

  async close(): Promise<void> {
    while (this.writing) await this.writing;
    await this.fh?.close();
    this.fh = undefined;
  }
}
