/**
 * Where the service gets its topology. A file source watches the file: a valid edit swaps the
 * served revision atomically (one assignment), an invalid one is refused and reported, and the
 * last good revision keeps serving.
 */
import { createHash } from 'node:crypto';
import { unwatchFile, watchFile } from 'node:fs';
import type { Logger } from 'pino';
import { validateTopology } from '../render/validate.ts';
import { formatError } from '../topology/errors.ts';
import { readTopologyText } from '../topology/text.ts';
import type { Topology } from '../topology/model.ts';

export interface TopologySnapshot {
  readonly topology: Topology;
  /** 1 for the first topology served, +1 for every accepted change. */
  readonly revision: number;
  /** sha256 of the topology text (hex, 12 chars): tells revisions apart across restarts. */
  readonly hash: string;
}

export interface TopologySource {
  current(): TopologySnapshot;
  /** Why the watched file is not what is being served; undefined when it is. */
  lastError(): string | undefined;
  /** How many changes were refused since start. */
  reloadFailures(): number;
}

export function textHash(text: string): string {
  return createHash('sha256').update(text).digest('hex').slice(0, 12);
}

/** A fixed topology (embedded default, tests). */
export function staticTopologySource(topology: Topology, hash = 'static'): TopologySource {
  const snapshot: TopologySnapshot = { topology, revision: 1, hash };
  return { current: () => snapshot, lastError: () => undefined, reloadFailures: () => 0 };
}

export interface TopologyWatcher extends TopologySource {
  /** Re-reads the file now; true when a new revision was swapped in. */
  reload(): boolean;
  close(): void;
}

/**
 * Loads `file` (throws when the first load fails: there is nothing good to serve yet) and
 * polls it. Polling (stat) rather than fs.watch because Kubernetes updates a mounted ConfigMap
 * by swapping a symlink, which inotify on the file itself misses; stat follows the link.
 */
export function watchTopologyFile(opts: {
  file: string;
  pollIntervalMs?: number;
  logger?: Logger;
}): TopologyWatcher {
  const { file, logger } = opts;
  const first = readAndParse(file);
  if (!first.ok) throw new Error(first.reason);
  let snapshot: TopologySnapshot = { topology: first.topology, revision: 1, hash: first.hash };
  let error: string | undefined;
  let failures = 0;
  let lastSeenHash = first.hash;

  const reload = (): boolean => {
    // Unchanged content (a touch, the first look below, a ConfigMap resync) or content already
    // refused: nothing to validate. A 10,000-meta-cluster topology takes ~0.3 s to validate.
    const read = readText(file);
    if (read.hash === snapshot.hash) {
      error = undefined;
      lastSeenHash = read.hash;
      return false;
    }
    if (read.hash === lastSeenHash && error !== undefined) return false;
    const next = parseText(read, file);
    if (!next.ok) {
      // Count and log each bad content once, not once per poll.
      if (next.hash !== lastSeenHash) {
        failures++;
        logger?.warn(
          { file, revision: snapshot.revision },
          'topology change refused, still serving the last good revision',
        );
      }
      lastSeenHash = next.hash;
      error = next.reason;
      return false;
    }
    snapshot = { topology: next.topology, revision: snapshot.revision + 1, hash: next.hash };
    lastSeenHash = next.hash;
    error = undefined;
    logger?.info({ file, revision: snapshot.revision, hash: snapshot.hash }, 'topology reloaded');
    return true;
  };

  const listener = () => {
    reload();
  };
  const interval = opts.pollIntervalMs ?? 2000;
  watchFile(file, { interval, persistent: false }, listener);
  // watchFile takes its baseline stat later, on libuv's thread pool: an edit made between the
  // read above and that stat would be the baseline, never seen as a change. One look after the
  // first interval closes the gap (reload compares content, so it is a no-op when unchanged).
  const firstLook = setTimeout(reload, interval);
  firstLook.unref();

  return {
    current: () => snapshot,
    lastError: () => error,
    reloadFailures: () => failures,
    reload,
    close: () => {
      clearTimeout(firstLook);
      unwatchFile(file, listener);
    },
  };
}

type Parsed = { ok: true; topology: Topology; hash: string } | { ok: false; reason: string; hash: string };

function readAndParse(file: string): Parsed {
  return parseText(readText(file), file);
}

type Read = { ok: true; text: string; hash: string } | { ok: false; reason: string; hash: string };

function readText(file: string): Read {
  let text: string;
  try {
    text = readTopologyText(file);
  } catch (e) {
    return {
      ok: false,
      reason: `${file}: cannot read: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`,
      hash: 'unreadable',
    };
  }
  return { ok: true, text, hash: textHash(text) };
}

function parseText(read: Read, file: string): Parsed {
  if (!read.ok) return read;
  const result = validateTopology(read.text, file);
  if (!result.ok) return { ok: false, reason: result.errors.map(formatError).join('\n'), hash: read.hash };
  return { ok: true, topology: result.topology, hash: read.hash };
}
