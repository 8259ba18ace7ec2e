/** What a command may touch: its output streams. Tests pass buffers, main passes the process. */
export interface CliIo {
  readonly out: (text: string) => void;
  readonly err: (text: string) => void;
}

export const processIo: CliIo = {
  out: (t) => process.stdout.write(t),
  err: (t) => process.stderr.write(t),
};

/** Exit codes: 0 success, 1 runtime failure (I/O, a process that would not start), 2 bad input. */
export const EXIT = { ok: 0, failure: 1, invalid: 2 } as const;
