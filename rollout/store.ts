/**
 * The service's durable rollout state: every topology revision it kept (text, hash, note, time,
 * what changed against the one before) and the rollout in progress, in one JSON file in the
 * service's data directory. Each save writes a temp file, fsyncs it, renames it over the old one
 * and fsyncs the directory, so a `kill -9` at any instant leaves either the state before a step
 * or the state after it, never half of one: a restarted service resumes exactly there.
 */
import { closeSync, fsyncSync, mkdirSync, openSync, readFileSync, renameSync, rmSync, writeSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { Rollout } from './engine.ts';

export interface FileSummary {
  readonly file: string;
  /** Instances whose copy of the file changed. */
  readonly instances: number;
  /** Lines added and removed, summed over those instances. */
  readonly added: number;
  readonly removed: number;
}

export interface RevisionRecord {
  /** 1 for the first revision kept, +1 for each after. */
  readonly seq: number;
  /** sha256 of the topology text, 12 hex digits (server/topology-watch.ts textHash). */
  readonly hash: string;
  readonly note?: string;
  /** ms since the epoch. */
  readonly at: number;
  /** The file name it was given as (errors and status name it). Its text is kept beside the state (StateFile.text). */
  readonly file: string;
  /** Against the revision it was rolled out over (absent for the first). */
  readonly changes?: {
    readonly from: number;
    readonly instances: number;
    readonly unchanged: number;
    readonly files: readonly FileSummary[];
  };
}

export interface StoredState {
  readonly version: 1;
  revisions: RevisionRecord[];
  /** seq of the revision every instance outside a rollout is served. */
  stable: number;
  /** The latest rollout, active or ended (status shows how it ended). */
  rollout?: Rollout;
}

/** Revisions kept: enough to roll back several steps, bounded (each holds a topology text). */
const KEPT = 20;

export class StateFile {
  readonly path: string;
  private readonly dir: string;

  constructor(dir: string) {
    this.dir = join(dir, 'revisions');
    mkdirSync(this.dir, { recursive: true });
    this.path = join(dir, 'rollout-state.json');
  }

  /**
   * A revision's topology text lives in its own file, written once before the state names it:
   * the state file, saved at every step, stays small at any fleet size.
   */
  writeText(seq: number, text: string): void {
    writeAtomically(join(this.dir, `${seq}.yaml`), text);
  }

  text(seq: number): string {
    return readFileSync(join(this.dir, `${seq}.yaml`), 'utf8');
  }

  /** The saved state, or undefined when there is none yet. Throws on a corrupt file (never guess). */
  load(): StoredState | undefined {
    let text: string;
    try {
      text = readFileSync(this.path, 'utf8');
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw e;
    }
    const state = JSON.parse(text) as StoredState;
    if (state.version !== 1) throw new Error(`${this.path}: unknown state version ${String(state.version)}`);
    return state;
  }

  save(state: StoredState): void {
    // Old revisions go, but never the stable one or one the rollout refers to.
    const keep = new Set([state.stable, state.rollout?.from.seq, state.rollout?.to.seq]);
    while (state.revisions.length > KEPT) {
      const i = state.revisions.findIndex((r) => !keep.has(r.seq));
      if (i < 0) break;
      const [gone] = state.revisions.splice(i, 1);
      rmSync(join(this.dir, `${gone!.seq}.yaml`), { force: true });
    }
    writeAtomically(this.path, JSON.stringify(state));
  }
}

/** Temp file, fsync, rename, directory fsync: the old content or the new, never half. */
function writeAtomically(path: string, text: string): void {
  const tmp = `${path}.tmp`;
  const fd = openSync(tmp, 'w', 0o600);
  try {
    writeSync(fd, text);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  renameSync(tmp, path);
  try {
    const dir = openSync(dirname(path), 'r');
    try {
      fsyncSync(dir);
    } finally {
      closeSync(dir);
    }
  } catch {
    // Directory fsync is not supported everywhere; the rename is what must be atomic.
  }
}
