/**
 * fedstack's command line. Thin: each command parses its flags, calls the library, and maps
 * the outcome to an exit code (0 ok, 1 runtime failure, 2 bad input: see cli/io.ts).
 *
 * This module is the command table only. Each action imports what it runs when it runs, so
 * `fedstack --help` loads commander and nothing else, and `validate` never loads the service,
 * the manifests (kubernetes-models) or the SMS SDK (bench: cli-start).
 */
import { Command, CommanderError, Option } from 'commander';
import { PROFILES, type Profile } from '../common/conventions.ts';
import { EXIT, processIo, type CliIo } from './io.ts';
import type { RolloutAction, RolloutFlags } from './rollout.ts';
import type { SimulateFlags, UpFlags } from './runtime.ts';
import type { SecretsInitFlags } from './secrets.ts';

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
      new Option(
        '-p, --profile <profile>',
        'check what this profile needs (kubernetes: protected federation)',
      )
        .choices(PROFILES as string[])
        .default('kubernetes'),
    )
    .action(async (opts: { topology?: string; profile: Profile }) => {
      const { loadTopologyArg } = await import('./topology-arg.ts');
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
      const [{ loadTopologyArg }, { treeFiles }, { writeTreeAtomically }] = await Promise.all([
        import('./topology-arg.ts'),
        import('../render/emit.ts'),
        import('../render/write.ts'),
      ]);
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
    .action(async (opts: { topology?: string; json?: boolean; factors?: string }) =>
      setCode((await import('./capacity.ts')).capacityCommand(opts, io)),
    );

  root
    .command('explain')
    .description(
      'follow one series edge → cascade → central: scraped, kept, relabelled or dropped, and by which entry',
    )
    .addOption(topologyOption())
    .option('--json', 'print the answer as JSON')
    .argument('<metric>', 'metric name, e.g. cluster:etcd_server_has_leader:min')
    .argument('[labels...]', 'labels of the series as name=value')
    .action(async (metric: string, labels: string[], opts: { topology?: string; json?: boolean }) =>
      setCode((await import('./explain.ts')).explainCommand(metric, labels, opts, io)),
    );

  root
    .command('graph')
    .description('draw the federation tree (central pair ← cascades ← edges, with allow-list sizes)')
    .addOption(topologyOption())
    .addOption(
      new Option('-f, --format <format>', 'mermaid or svg').choices(['mermaid', 'svg']).default('mermaid'),
    )
    .action(async (opts: { topology?: string; format: 'mermaid' | 'svg' }) =>
      setCode((await import('./graph.ts')).graphCommand(opts, io)),
    );

  const rollout = root
    .command('rollout')
    .description('staged config rollout through the fedstack service: start, status, pause, resume, abort, rollback, plan');
  const serviceOptions = (c: Command) =>
    c
      .option('--service <url>', 'the fedstack service (default $FEDSTACK_SERVICE_URL or http://127.0.0.1:8080)')
      .option('--token-file <file>', "the rollout API's bearer token (default $FEDSTACK_TOKEN_FILE)")
      .option('--json', 'print the answer as JSON');
  const rolloutAction = (action: RolloutAction) => async (opts: RolloutFlags) =>
    setCode(await (await import('./rollout.ts')).rolloutCommand(action, opts, io));
  for (const [action, what] of [
    ['start', 'roll a new topology out wave by wave, gated on health, rolled back on harm'],
    ['plan', 'dry run: which instances and files change, the waves and the gates (nothing is touched)'],
  ] as const) {
    serviceOptions(rollout.command(action).description(what))
      .requiredOption('-t, --topology <file>', 'the new topology')
      .option('--plan <file>', 'rollout plan (waves, soak, failure budgets, gates; default: canary, 10%, 50%, all, cascades, central)')
      .option('--note <text>', "the revision's author note")
      .action(rolloutAction(action));
  }
  for (const [action, what] of [
    ['status', 'the rollout: waves, gates (PromQL and what they saw), failure, rollback, last steps'],
    ['pause', 'assign no more instances (gates keep judging, and may still roll back)'],
    ['resume', 'continue a paused rollout'],
    ['abort', 'put every instance back on the old revision; ends as aborted'],
    ['rollback', 'put every instance back on the old revision; ends as rolled-back (pages the owner)'],
  ] as const) {
    serviceOptions(rollout.command(action).description(what)).action(rolloutAction(action));
  }

  addRuntimeCommands(root, io, setCode);
  addSecretsCommand(root, io, setCode);
  return root;
}

/**
 * The long-running commands (cli/runtime.ts runs them): `serve` and `sidecar` take the flags
 * of their own parsers (server/args.ts, sidecar/args.ts), so commander passes them through.
 */
function addRuntimeCommands(root: Command, io: CliIo, setCode: (code: number) => void): void {
  const runtime = () => import('./runtime.ts');
  root
    .command('serve')
    .description(
      'run the fedstack service: the operator console at /, http_sd, rendered configs, edge heartbeats, /metrics, and the alert bridge',
    )
    .usage(
      '[--topology-file FILE] [--port 8080] [--host 127.0.0.1] [--heartbeat-token-file F] [--read-token-file F] [--operator-token-file F] [--registration-ttl-ms N] [--poll-interval-ms N] [--profile kubernetes|local] [--outbox-dir DIR --secrets-dir DIR [--dingtalk-window-ms 60000] [--bridge-replicas 1]] [--central-url URL[,URL]]',
    )
    .allowUnknownOption()
    .allowExcessArguments()
    .helpOption(
      '-h, --help',
      "display help; --outbox-dir (durable, on a persistent volume) and --secrets-dir (Secret volumes as <dir>/<name>/<key>) enable the alert bridge; --dingtalk-window-ms shrinks DingTalk's 60 s rate window, for tests against a stand-in; --bridge-replicas N divides each robot's and number's budget among N replicas' bridges; --central-url: where the console at / reads central (default: each replica's Service, or its endpoint with --profile local)",
    )
    .action(async (_opts: unknown, cmd: Command) =>
      setCode(await (await runtime()).serveCommand(cmd.args, io)),
    );

  root
    .command('sidecar')
    .description(
      'edge sidecar: heartbeat the LoadBalancer address, apply configs only after promtool passes, reload',
    )
    .allowUnknownOption()
    .allowExcessArguments()
    .action(async (_opts: unknown, cmd: Command) =>
      setCode(await (await runtime()).sidecarCommand(cmd.args, io)),
    );

  root
    .command('up')
    .description(
      'run the whole stack on loopback (simulators, edges, cascades, central pair, Alertmanager cluster, service) until Ctrl-C: federation over TLS with basic auth (throwaway secrets), notifications to local DingTalk, SMS and SMTP stand-ins',
    )
    .addOption(topologyOption())
    .option(
      '--interval <duration>',
      'scrape and evaluation interval for every tier (default 5s; "topology" keeps the file\'s)',
      '5s',
    )
    .option('--max-guest-clusters <n>', 'simulate at most this many guest clusters per meta-cluster', '3')
    .option('--keep', 'keep the data directory after stopping')
    .action(async (opts: UpFlags) => setCode(await (await runtime()).upCommand(opts, io)));

  root
    .command('simulate')
    .description('serve a fleet simulator (one exporter per meta-cluster, with fault knobs) until Ctrl-C')
    .addOption(topologyOption())
    .option('--max-guest-clusters <n>', 'simulate at most this many guest clusters per meta-cluster')
    .action(async (opts: SimulateFlags) => setCode(await (await runtime()).simulateCommand(opts, io)));
}

/** `fedstack secrets init`: the Secrets the kubernetes profile mounts (cli/secrets.ts). */
function addSecretsCommand(root: Command, io: CliIo, setCode: (code: number) => void): void {
  root
    .command('secrets')
    .description('the Kubernetes Secrets a rendered fleet mounts (federation TLS and password, tokens)')
    .command('init')
    .description(
      'write fresh Secret manifests (0600) into DIR, a directory of its own: never commit it, kubectl apply it',
    )
    .addOption(topologyOption())
    .requiredOption('-o, --out <dir>', 'output directory for the Secret manifests (not a render output)')
    .option('--rotate', 'replace existing Secrets with new values (the CA in DIR/ca is kept)')
    .option('--days <n>', 'certificate lifetime in days', '365')
    .action(async (opts: SecretsInitFlags) =>
      setCode((await import('./secrets.ts')).secretsInitCommand(opts, io)),
    );
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
