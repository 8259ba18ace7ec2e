/** Real binaries in tests: free loopback ports, processes stopped by PID, certificates. */
import { spawn } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { federationMaterial } from '../../deploy/secrets/material.ts';

/** The shared loopback port finder (deploy/local/process.ts), re-exported for these tests. */
export { freePort } from '../../deploy/local/process.ts';

export interface Proc {
  readonly pid: number;
  output(): string;
  stop(): Promise<void>;
}

/** Starts `cmd` and resolves once its output matches `ready` (rejects if it exits first). */
export async function startProcess(
  cmd: string,
  args: readonly string[],
  ready: RegExp,
  timeoutMs = 30_000,
): Promise<Proc> {
  const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let exited = false;
  const exit = new Promise<void>((r) => child.once('exit', () => ((exited = true), r())));
  const proc: Proc = {
    pid: child.pid!,
    output: () => out,
    stop: async () => {
      if (exited) return;
      process.kill(child.pid!, 'SIGTERM');
      const t = setTimeout(() => !exited && process.kill(child.pid!, 'SIGKILL'), 5_000);
      await exit;
      clearTimeout(t);
    },
  };
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`${cmd} not ready after ${timeoutMs} ms:\n${out}`)),
      timeoutMs,
    );
    const onData = (d: Buffer) => {
      out += d.toString();
      if (ready.test(out)) {
        clearTimeout(timer);
        resolve();
      }
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', onData);
    void exit.then(() => {
      clearTimeout(timer);
      reject(new Error(`${cmd} exited before it was ready:\n${out}`));
    });
  }).catch(async (e) => {
    await proc.stop();
    throw e;
  });
  return proc;
}

export const PROMETHEUS_READY = /Server is ready to receive web requests/;

/** Prometheus on a loopback port with its own data dir. */
export async function startPrometheus(opts: {
  dir: string;
  configFile: string;
  port: number;
  extraArgs?: readonly string[];
}): Promise<Proc> {
  return startProcess(
    '/usr/bin/prometheus',
    [
      `--config.file=${opts.configFile}`,
      `--web.listen-address=127.0.0.1:${opts.port}`,
      `--storage.tsdb.path=${join(opts.dir, 'data')}`,
      '--log.level=info',
      ...(opts.extraArgs ?? []),
    ],
    PROMETHEUS_READY,
  );
}

export interface FederationSecrets {
  readonly password: string;
  readonly hash: string;
  /** Root holding federation/{password,password.bcrypt,ca.crt} and tls/{tls.crt,tls.key}, like the pod's MOUNT.secrets. */
  readonly dir: string;
  readonly caPem: string;
}

/**
 * A CA, a serving certificate for 127.0.0.1, a random password and its bcrypt hash: made by
 * the same code as `fedstack secrets init` and `fedstack up` (deploy/secrets/material.ts).
 */
export function makeFederationSecrets(root: string): FederationSecrets {
  const dir = join(root, 'secrets');
  mkdirSync(join(dir, 'federation'), { recursive: true });
  mkdirSync(join(dir, 'tls'), { recursive: true });
  const m = federationMaterial({ sans: ['127.0.0.1'], days: 1, mutualTls: false });
  const put = (rel: string, text: string) => writeFileSync(join(dir, rel), text, { mode: 0o600 });
  put('tls/tls.crt', m.serving.certPem);
  put('tls/tls.key', m.serving.keyPem.reveal());
  put('federation/ca.crt', m.ca.certPem);
  put('federation/password', m.password.reveal());
  put('federation/password.bcrypt', m.passwordHash.reveal());
  return { password: m.password.reveal(), hash: m.passwordHash.reveal(), dir, caPem: m.ca.certPem };
}
