/** `fedstack explain -t FILE METRIC [label=value ...] [--json]`: render/explain.ts on the CLI. */
import { Option, type Command } from 'commander';
import { explain, formatExplain, parseLabelArgs, type ExplainResult } from '../render/explain.ts';
import { EXIT, type CliIo } from './io.ts';
import { loadTopologyArg } from './topology-arg.ts';

/**
 * Registers `explain -t FILE METRIC [label=value ...] [--json]` on the CLI root; cli/main.ts
 * calls this so the command logic stays here.
 */
export function addExplainCommand(root: Command, io: CliIo, setCode: (code: number) => void): Command {
  return root
    .command('explain')
    .description(
      'follow one series edge → cascade → central: scraped, kept, relabelled or dropped, and by which entry',
    )
    .addOption(new Option('-t, --topology <file>', 'topology file (default: the embedded example topology)'))
    .option('--json', 'print the answer as JSON')
    .argument('<metric>', 'metric name, e.g. cluster:etcd_server_has_leader:min')
    .argument('[labels...]', 'labels of the series as name=value')
    .action((metric: string, labelArgs: string[], opts: { topology?: string; json?: boolean }) => {
      const loaded = loadTopologyArg(opts.topology, io);
      if (!loaded.ok) return setCode(loaded.code);
      let result: ExplainResult;
      try {
        result = explain(loaded.plan, metric, parseLabelArgs(labelArgs));
      } catch (e) {
        io.err(`fedstack explain: ${(e as Error).message}\n`);
        return setCode(EXIT.invalid);
      }
      io.out(opts.json === true ? `${JSON.stringify(result)}\n` : formatExplain(result));
      setCode(EXIT.ok);
    });
}
