/**
 * `fedstack secrets init -t FILE -o DIR [--rotate]`: writes the Secrets the kubernetes
 * profile references (deploy/secrets/init.ts). Prints file names, never a value.
 */
import { SecretsExistError, secretsInit } from '../deploy/secrets/init.ts';
import { EXIT, type CliIo } from './io.ts';
import { loadTopologyArg } from './topology-arg.ts';

export interface SecretsInitFlags {
  readonly topology?: string;
  readonly out: string;
  readonly rotate?: boolean;
  readonly days: string;
}

export function secretsInitCommand(opts: SecretsInitFlags, io: CliIo): number {
  const days = Number(opts.days);
  if (!Number.isInteger(days) || days < 1 || days > 3650) {
    io.err(
      `fedstack secrets init: --days: want a whole number of days 1-3650, got ${JSON.stringify(opts.days)}\n`,
    );
    return EXIT.invalid;
  }
  // Any profile's topology: the Secrets follow its security section (or fedstack's suggested one).
  const loaded = loadTopologyArg(opts.topology, io);
  if (!loaded.ok) return loaded.code;
  let result;
  try {
    result = secretsInit({ topology: loaded.topology, outDir: opts.out, rotate: opts.rotate === true, days });
  } catch (e) {
    io.err(`fedstack secrets init: ${(e as Error).message}\n`);
    return e instanceof SecretsExistError ? EXIT.invalid : EXIT.failure;
  }
  if (loaded.topology.security === undefined)
    io.err(
      'fedstack secrets init: the topology has no security.federation: these are the Secrets of the section `fedstack validate` suggests; add it\n',
    );
  for (const f of result.files) io.out(`${f}\n`);
  io.out(
    `${opts.rotate === true ? 'rotated' : 'wrote'} ${result.files.length} Secrets (0600)${result.caKept ? ', CA kept' : ''}: do not commit them; apply with kubectl apply -f FILE (see ${opts.out}/README.md)\n`,
  );
  for (const s of result.toSupply)
    io.out(`still to create yourself: Secret ${s.ref.name} key ${s.ref.key} (${s.what})\n`);
  return EXIT.ok;
}
