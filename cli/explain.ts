/** `fedstack explain -t FILE METRIC [label=value ...] [--json]`: render/explain.ts on the CLI. */
import { explain, formatExplain, parseLabelArgs, type ExplainResult } from '../render/explain.ts';
import { EXIT, type CliIo } from './io.ts';
import { loadTopologyArg } from './topology-arg.ts';

/** `fedstack explain`: cli/main.ts parses the flags, this answers. Returns the exit code. */
export function explainCommand(
  metric: string,
  labelArgs: readonly string[],
  opts: { readonly topology?: string; readonly json?: boolean },
  io: CliIo,
): number {
  const loaded = loadTopologyArg(opts.topology, io);
  if (!loaded.ok) return loaded.code;
  let result: ExplainResult;
  try {
    result = explain(loaded.plan, metric, parseLabelArgs(labelArgs));
  } catch (e) {
    io.err(`fedstack explain: ${(e as Error).message}\n`);
    return EXIT.invalid;
  }
  io.out(opts.json === true ? `${JSON.stringify(result)}\n` : formatExplain(result));
  return EXIT.ok;
}
