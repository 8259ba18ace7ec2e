/**
 * Child processes of the local stack (and of tests that run real binaries): start, wait until
 * ready, stop by PID (SIGTERM, then SIGKILL), never leave one behind. Every child is also
 * killed when this Node process exits, so even a crashed test leaves no orphan.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream, type WriteStream } from 'node:fs';
import { createServer } from 'node:net';
import { httpGet, type ClientCredentials } from './http.ts';

export interface StartProcessOptions {
  readonly cmd: string;
  readonly args?: readonly string[];
  readonly cwd?: string;
  readonly env?: NodeJS.ProcessEnv;
  /** Names the process in messages. Default: the command's basename. */
  readonly name?: string;
  /** Resolve only once this URL answers 2xx (e.g. Prometheus' /-/ready). */
  readonly readyUrl?: string;
  /** How to ask readyUrl when the server is protected (TLS, basic auth). */
  readonly readyCredentials?: ClientCredentials;
  /** Default 30 s. */
  readonly readyTimeoutMs?: number;
  /** Also append stdout and stderr to this file. */
  readonly logFile?: string;
}

export interface ExitStatus {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
}

export interface ProcessHandle {
  readonly name: string;
  readonly pid: number;
  /** True until the process has exited. */
  readonly running: boolean;
  /** Resolves when the process exits (never rejects). */
  readonly exited: Promise<ExitStatus>;
  /** The last 64 KiB of stdout and stderr, for error messages. */
  output(): string;
  /** SIGTERM, then SIGKILL after `timeoutMs` (default 10 s); resolves once it has exited. */
  stop(opts?: { timeoutMs?: number }): Promise<ExitStatus>;
}

const TAIL_BYTES = 64 * 1024;
const live = new Set<ChildProcess>();
let exitHookInstalled = false;

function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  // 'exit' handlers run synchronously: kill is all we can do there, and all we need.
  process.on('exit', () => {
    for (const child of live) {
      try {
        child.kill('SIGKILL');
      } catch {
        // already gone
      }
    }
  });
}

export async function startProcess(opts: StartProcessOptions): Promise<ProcessHandle> {
  installExitHook();
  const name = opts.name ?? opts.cmd.split('/').pop() ?? opts.cmd;
  const child = spawn(opts.cmd, [...(opts.args ?? [])], {
    cwd: opts.cwd,
    env: opts.env ?? process.env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let tail = '';
  const log: WriteStream | undefined =
    opts.logFile === undefined ? undefined : createWriteStream(opts.logFile, { flags: 'a' });
  const onData = (chunk: Buffer) => {
    tail = (tail + chunk.toString('utf8')).slice(-TAIL_BYTES);
    log?.write(chunk);
  };
  child.stdout?.on('data', onData);
  child.stderr?.on('data', onData);

  let running = true;
  const exited = new Promise<ExitStatus>((resolve) => {
    child.once('exit', (code, signal) => {
      running = false;
      live.delete(child);
      log?.end();
      resolve({ code, signal });
    });
  });
  const spawnError = new Promise<Error>((resolve) => child.once('error', resolve));
  const started = await Promise.race([
    new Promise<true>((resolve) => child.once('spawn', () => resolve(true))),
    spawnError,
  ]);
  if (started !== true)
    throw new Error(`${name}: cannot start ${JSON.stringify(opts.cmd)}: ${started.message}`);
  live.add(child);

  const handle: ProcessHandle = {
    name,
    pid: child.pid!,
    get running() {
      return running;
    },
    exited,
    output: () => tail,
    stop: async ({ timeoutMs = 10_000 } = {}) => {
      if (!running) return exited;
      child.kill('SIGTERM');
      const timer = setTimeout(() => {
        if (running) child.kill('SIGKILL');
      }, timeoutMs);
      const status = await exited;
      clearTimeout(timer);
      return status;
    },
  };

  if (opts.readyUrl !== undefined) {
    const readyUrl = opts.readyUrl;
    try {
      await waitFor(
        async () => {
          if (!running) {
            const s = await exited;
            throw new ExitedError(
              `${name} exited (code ${s.code}, signal ${s.signal}) before it was ready:\n${lastLines(tail)}`,
            );
          }
          return (await httpOk(readyUrl, opts.readyCredentials)) || undefined;
        },
        { timeoutMs: opts.readyTimeoutMs ?? 30_000, intervalMs: 100, what: `${name} ready at ${readyUrl}` },
      );
    } catch (err) {
      await handle.stop({ timeoutMs: 2000 });
      throw err;
    }
  }
  return handle;
}

/** Thrown from a waitFor probe to stop waiting at once. */
export class ExitedError extends Error {}

async function httpOk(url: string, creds: ClientCredentials | undefined): Promise<boolean> {
  try {
    const res = await httpGet(url, creds, 2000);
    return res.status >= 200 && res.status < 300;
  } catch {
    return false;
  }
}

function lastLines(text: string, n = 20): string {
  return text.trimEnd().split('\n').slice(-n).join('\n');
}

export interface WaitForOptions {
  /** Default 30 s. */
  readonly timeoutMs?: number;
  /** Default 200 ms. */
  readonly intervalMs?: number;
  /** What is awaited, for the timeout message. */
  readonly what?: string;
}

/**
 * Calls `probe` until it returns something other than undefined/false/null, and returns that.
 * A probe that throws is retried (its last error ends up in the timeout message), except for
 * ExitedError, which ends the wait at once.
 */
export async function waitFor<T>(
  probe: () => T | undefined | null | false | Promise<T | undefined | null | false>,
  opts: WaitForOptions = {},
): Promise<T> {
  const timeoutMs = opts.timeoutMs ?? 30_000;
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  while (true) {
    try {
      const v = await probe();
      if (v !== undefined && v !== null && v !== false) return v;
    } catch (err) {
      if (err instanceof ExitedError) throw err;
      lastError = err;
    }
    if (Date.now() >= deadline) {
      const why = lastError === undefined ? '' : ` (last error: ${(lastError as Error).message})`;
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${opts.what ?? 'a condition'}${why}`);
    }
    await new Promise((resolve) => setTimeout(resolve, opts.intervalMs ?? 200));
  }
}

const handedOut = new Set<number>();

/**
 * A TCP port free on 127.0.0.1 right now (the OS picks it). Not reserved: bind it soon. The same
 * port is never handed out twice by one process, so parallel starts cannot collide here.
 */
export async function freePort(): Promise<number> {
  for (let attempt = 0; attempt < 50; attempt++) {
    const port = await new Promise<number>((resolve, reject) => {
      const srv = createServer();
      srv.once('error', reject);
      srv.listen(0, '127.0.0.1', () => {
        const addr = srv.address();
        const p = typeof addr === 'object' && addr !== null ? addr.port : 0;
        srv.close(() => resolve(p));
      });
    });
    if (port > 0 && !handedOut.has(port)) {
      handedOut.add(port);
      return port;
    }
  }
  throw new Error('freePort: no free port found on 127.0.0.1');
}
