/**
 * fedstack's command line. Thin: each command parses its flags, calls the library, and maps
 * the outcome to an exit code (0 ok, 1 runtime failure, 2 bad input: see cli/io.ts).
 */
import { Command, CommanderError, Option } from 'commander';
import { PROFILES, type Profile } from '../common/conventions.ts';
import { treeFiles } from '../render/emit.ts';
import { writeTreeAtomically } from '../render/write.ts';
import { capacityCommand } from './capacity.ts';
import { addExplainCommand } from './explain.ts';
import { addGraphCommand } from './graph.ts';
import { addRuntimeCommands } from './runtime.ts';
import { EXIT, processIo, type CliIo } from './io.ts';
import { loadTopologyArg } from './topology-arg.ts';

const topologyOption = () =>
  new Option('-t, --topology <file>', 'topology file (default: the embedded example topology)');
const profileOption = () =>
  new Option('-p, --profile <profile>', 'kubernetes (production) or local (loopback, static targets)')
    .choices(PROFILES as string[])
    .default('kubernetes');

function program(io: CliIo, setCode: (code: number) => void): Command {
  const root = new Command('fedstack')
    .description('Federated Prometheus for fleets of Kubernetes clusters, from one topology file.')
    .configureOutput({ writeOut: io.out, writeErr: io.err })
    .exitOverride()
    .showHelpAfterError('(run with --help for usage)');

  root
    .command('validate')
    .description('check a topology; prints FILE:LINE:COL: path: problem for every error (exit 2)')
    .addOption(topologyOption())
    .addOption(
      new Option('-p, --profile <profile>', 'also check what this profile needs').choices(
        PROFILES as string[],
      ),
    )
    .action((opts: { topology?: string; profile?: Profile }) => {
      const loaded = loadTopologyArg(opts.topology, io, opts.profile);
      if (!loaded.ok) return setCode(loaded.code);
      io.out(`${loaded.file}: valid\n`);
      setCode(EXIT.ok);
    });

  root
    .command('render')
    .description('render every tier into DIR (atomically: on error DIR is left untouched)')
    .addOption(topologyOption())
    .requiredOption('-o, --out <dir>', 'output directory')
    .addOption(profileOption())
    .action(async (opts: { topology?: string; out: string; profile: Profile }) => {
      const loaded = loadTopologyArg(opts.topology, io, opts.profile);
      if (!loaded.ok) return setCode(loaded.code);
      let written;
      try {
        written = await writeTreeAtomically(treeFiles(loaded.plan), opts.out);
      } catch (e) {
        io.err(`${opts.out}: cannot write: ${(e as Error).message}\n`);
        return setCode(EXIT.failure);
      }
      io.out(`rendered ${written.files} files (${opts.profile} profile) to ${opts.out}\n`);
      setCode(EXIT.ok);
    });

  root
    .command('capacity')
    .description('estimate series, samples/s and memory per tier; recommend shards and pod resources')
    .addOption(topologyOption())
    .option('--json', 'print the report as JSON')
    .option(
      '--factors <file>',
      'JSON capacity factors (default: bench calibration if present, else built-in)',
    )
    .action((opts: { topology?: string; json?: boolean; factors?: string }) =>
      setCode(capacityCommand(opts, io)),
    );

  addExplainCommand(root, io, setCode);
  addGraphCommand(root, io, setCode);
  addRuntimeCommands(root, io, setCode);
  return root;
}

/** Runs the CLI with arguments (without node and script) and returns the exit code. */
export async function run(argv: readonly string[], io: CliIo = processIo): Promise<number> {
  let code: number = EXIT.ok;
  const root = program(io, (c) => (code = c));
  try {
    await root.parseAsync([...argv], { from: 'user' });
  } catch (e) {
    if (e instanceof CommanderError) {
      // --help and --version end with a CommanderError too, with exit code 0.
      return e.exitCode === 0 ? EXIT.ok : EXIT.invalid;
    }
    io.err(`fedstack: ${(e as Error).stack ?? String(e)}\n`);
    return EXIT.failure;
  }
  return code;
}

export async function main(argv: readonly string[]): Promise<number> {
  return run(argv, processIo);
}
