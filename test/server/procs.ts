/** Real binaries in tests: free loopback ports, processes stopped by PID, certificates. */
import { execFileSync, spawn } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import bcrypt from 'bcryptjs';

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

/** A self-signed certificate for 127.0.0.1 (its own CA), a random password and its bcrypt hash. */
export function makeFederationSecrets(root: string): FederationSecrets {
  const dir = join(root, 'secrets');
  mkdirSync(join(dir, 'federation'), { recursive: true });
  mkdirSync(join(dir, 'tls'), { recursive: true });
  execFileSync(
    'openssl',
    [
      'req',
      '-x509',
      '-newkey',
      'rsa:2048',
      '-nodes',
      '-days',
      '1',
      '-subj',
      '/CN=127.0.0.1',
      '-addext',
      'subjectAltName=IP:127.0.0.1',
      '-keyout',
      join(dir, 'tls', 'tls.key'),
      '-out',
      join(dir, 'tls', 'tls.crt'),
    ],
    { stdio: 'ignore' },
  );
  const caPem = readFileSync(join(dir, 'tls', 'tls.crt'), 'utf8');
  writeFileSync(join(dir, 'federation', 'ca.crt'), caPem);
  const password = `pw-${Math.random().toString(36).slice(2)}-${Date.now().toString(36)}`;
  const hash = bcrypt.hashSync(password, 10);
  writeFileSync(join(dir, 'federation', 'password'), password, { mode: 0o600 });
  writeFileSync(join(dir, 'federation', 'password.bcrypt'), hash, { mode: 0o600 });
  return { password, hash, dir, caPem };
}
