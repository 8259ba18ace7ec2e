/** Shared fixtures for the server tests. */
import { Writable } from 'node:stream';
import pino, { type Logger } from 'pino';
import { defaultTopologyText } from '../../examples/index.ts';
import { parseTopology } from '../../topology/load.ts';
import type { Topology } from '../../topology/model.ts';

export function defaultTopology(): Topology {
  return topologyFrom(defaultTopologyText());
}

export function topologyFrom(text: string): Topology {
  const r = parseTopology(text, 'fixture.yaml');
  if (!r.ok) throw new Error(r.errors.map((e) => `${e.path}: ${e.message}`).join('\n'));
  return r.topology;
}

/** A pino logger writing into an array, so tests can read what was logged. */
export function capturingLogger(): { logger: Logger; lines: string[] } {
  const lines: string[] = [];
  const stream = new Writable({
    write(chunk, _enc, cb) {
      lines.push(String(chunk));
      cb();
    },
  });
  return { logger: pino({ level: 'debug' }, stream), lines };
}

export async function waitFor<T>(
  what: string,
  probe: () => Promise<T | undefined> | T | undefined,
  timeoutMs = 30_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  while (Date.now() < deadline) {
    try {
      const v = await probe();
      if (v !== undefined && v !== false) return v;
    } catch (e) {
      last = e;
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`timed out waiting for ${what}${last ? `: ${(last as Error).message}` : ''}`);
}
