/**
 * What `fedstack up` and `fedstack simulate` run once their flags are parsed: start, then
 * wait for Ctrl-C or SIGTERM and stop everything before returning the exit code. Kept out of
 * the CLI so the signal handling is tested with the stack it stops.
 */
import { runSimulate, type SimulateHandle, type SimulateOptions } from '../../simulator/cli.ts';
import { startLocalStack, type LocalStack, type LocalStackOptions } from './stack.ts';

const SIGNALS: readonly NodeJS.Signals[] = ['SIGINT', 'SIGTERM'];

/** Exit codes as cli/io.ts has them, plus 130 for "interrupted while starting" (shell convention). */
const EXIT = { ok: 0, failure: 1, interrupted: 130 } as const;

async function untilSignal<H extends { stopped: Promise<void> }>(
  start: (signal: AbortSignal) => Promise<H>,
  opts: { log: (line: string) => void; onReady?: (handle: H) => void },
): Promise<number> {
  const ac = new AbortController();
  const onSignal = () => ac.abort();
  for (const s of SIGNALS) process.once(s, onSignal);
  try {
    const handle = await start(ac.signal);
    if (!ac.signal.aborted) opts.onReady?.(handle);
    await handle.stopped;
    return EXIT.ok;
  } catch (err) {
    if (ac.signal.aborted) return EXIT.interrupted;
    opts.log(`error: ${(err as Error).message}`);
    return EXIT.failure;
  } finally {
    for (const s of SIGNALS) process.off(s, onSignal);
  }
}

/** `fedstack up`: starts the local stack and runs it until SIGINT/SIGTERM. Resolves to the exit code. */
export function runUp(
  opts: Omit<LocalStackOptions, 'signal'> & { readonly onReady?: (stack: LocalStack) => void },
): Promise<number> {
  const log = opts.log ?? (() => {});
  return untilSignal((signal) => startLocalStack({ ...opts, signal }), { log, onReady: opts.onReady });
}

/** `fedstack simulate`: serves the simulators until SIGINT/SIGTERM. Resolves to the exit code. */
export function runSimulateUntilSignal(
  opts: Omit<SimulateOptions, 'signal'> & { readonly onReady?: (sim: SimulateHandle) => void },
): Promise<number> {
  const log = opts.log ?? (() => {});
  return untilSignal((signal) => runSimulate({ ...opts, signal }), { log, onReady: opts.onReady });
}
