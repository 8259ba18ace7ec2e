/**
 * How every long-running command (`serve`, `sidecar`, `up`, `simulate`) lives and stops.
 *
 * The SIGINT/SIGTERM handlers go in before anything starts: a signal that arrives while the
 * command is still starting aborts the start (the AbortSignal), and whatever had started is
 * stopped, instead of Node's default of dying on the spot and leaving children behind. Once
 * running, the first signal stops the command cleanly; a second one exits at once (the exit
 * hook of deploy/local/process.ts still kills every child by PID).
 */
import { constants } from 'node:os';

export interface Running {
  stop(): Promise<void>;
  /** Resolves if the command stops by itself (then no signal is awaited). */
  readonly stopped?: Promise<void>;
}

const SIGNALS: readonly NodeJS.Signals[] = ['SIGINT', 'SIGTERM'];

/** Shell convention for "ended by signal N": 128 + N (130 for SIGINT, 143 for SIGTERM). */
export const interruptedCode = (signal: NodeJS.Signals): number => 128 + constants.signals[signal];

export interface RunUntilSignalOptions<H> {
  /** Maps a failed start to its exit code (and says why, on the command's stderr). */
  readonly failed: (error: Error) => number;
  /** Called once the command is running (not when a signal came first). */
  readonly onReady?: (handle: H) => void;
}

/**
 * Starts a command and runs it until SIGINT/SIGTERM (or until it stops by itself). Resolves to
 * the exit code: 0 after a clean stop, 128 + signal when the signal came while it was still
 * starting, else what `failed` says.
 */
export async function runUntilSignal<H extends Running>(
  start: (signal: AbortSignal) => Promise<H>,
  opts: RunUntilSignalOptions<H>,
): Promise<number> {
  const ac = new AbortController();
  let received: NodeJS.Signals | undefined;
  let onAbort = () => {};
  const aborted = new Promise<void>((resolve) => (onAbort = resolve));
  const onSignal = (signal: NodeJS.Signals) => {
    if (received !== undefined) process.exit(interruptedCode(signal));
    received = signal;
    ac.abort(new Error(`received ${signal}`));
    onAbort();
  };
  for (const s of SIGNALS) process.on(s, onSignal);
  try {
    let handle: H;
    try {
      handle = await start(ac.signal);
    } catch (err) {
      if (received !== undefined) return interruptedCode(received);
      return opts.failed(err as Error);
    }
    if (received !== undefined) {
      await handle.stop();
      return interruptedCode(received);
    }
    opts.onReady?.(handle);
    await Promise.race([aborted, handle.stopped ?? new Promise<never>(() => {})]);
    await handle.stop();
    return 0;
  } finally {
    for (const s of SIGNALS) process.off(s, onSignal);
  }
}
