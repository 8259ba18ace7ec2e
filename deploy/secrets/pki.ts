/**
 * Certificates for federation TLS, made with the `openssl` CLI (scripts/setup.sh installs it):
 * a CA, serving certificates whose SANs name what scrapers connect to, client certificates for
 * mutual TLS. ECDSA P-256 keys: fast to make, and what Go's TLS (Prometheus) prefers.
 *
 * Private keys never touch a command line: openssl reads and writes them in a private (0700)
 * temp dir that is removed before returning, and they come back wrapped in `Secret`, so a log
 * line or an error can never print one.
 */
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { isIP } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Secret } from '../../common/secret.ts';

export interface KeyPair {
  readonly certPem: string;
  readonly keyPem: Secret;
}

export interface IssueOptions {
  readonly commonName: string;
  /** DNS names and IP addresses the certificate is valid for (serving certificates). */
  readonly sans?: readonly string[];
  readonly usage: 'server' | 'client';
  readonly days: number;
}

function openssl(dir: string, args: readonly string[]): void {
  try {
    execFileSync('openssl', [...args], { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'] });
  } catch (e) {
    const err = e as NodeJS.ErrnoException & { stderr?: Buffer };
    if (err.code === 'ENOENT')
      throw new Error('openssl: not found on PATH (bash scripts/setup.sh installs it)');
    const detail = err.stderr?.toString('utf8').trim().split('\n')[0] ?? err.message;
    throw new Error(`openssl ${args[0]}: ${detail}`);
  }
}

/** Runs `fn` in a fresh private directory and removes it, keys and all, whatever happens. */
function inPrivateDir<T>(fn: (dir: string) => T): T {
  const dir = mkdtempSync(join(tmpdir(), 'fedstack-pki-'));
  try {
    return fn(dir);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const newKey = (dir: string, file: string) =>
  openssl(dir, ['genpkey', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256', '-out', file]);

/** A self-signed CA for the federation links (signs serving and client certificates). */
export function createCa(opts: { readonly commonName: string; readonly days: number }): KeyPair {
  return inPrivateDir((dir) => {
    newKey(dir, 'ca.key');
    openssl(dir, [
      'req',
      '-x509',
      '-new',
      '-key',
      'ca.key',
      '-subj',
      `/CN=${opts.commonName}`,
      '-days',
      String(opts.days),
      '-set_serial',
      `0x${randomBytes(16).toString('hex')}`,
      '-addext',
      'basicConstraints=critical,CA:TRUE,pathlen:0',
      '-addext',
      'keyUsage=critical,keyCertSign,cRLSign',
      '-out',
      'ca.crt',
    ]);
    return {
      certPem: readFileSync(join(dir, 'ca.crt'), 'utf8'),
      keyPem: new Secret(readFileSync(join(dir, 'ca.key'), 'utf8')),
    };
  });
}

/** `IP:127.0.0.1`, `DNS:localhost`: what openssl's subjectAltName wants. */
export function sanEntry(name: string): string {
  const bare = name.replace(/^\[|\]$/g, '');
  return isIP(bare) !== 0 ? `IP:${bare}` : `DNS:${bare}`;
}

/** A certificate signed by `ca`: serving (serverAuth, with SANs) or client (clientAuth). */
export function issueCertificate(ca: KeyPair, opts: IssueOptions): KeyPair {
  const sans = opts.sans ?? [];
  if (opts.usage === 'server' && sans.length === 0)
    throw new Error('a serving certificate needs at least one name (SAN)');
  return inPrivateDir((dir) => {
    writeFileSync(join(dir, 'ca.crt'), ca.certPem);
    writeFileSync(join(dir, 'ca.key'), ca.keyPem.reveal(), { mode: 0o600 });
    newKey(dir, 'leaf.key');
    openssl(dir, ['req', '-new', '-key', 'leaf.key', '-subj', `/CN=${opts.commonName}`, '-out', 'leaf.csr']);
    writeFileSync(
      join(dir, 'ext.cnf'),
      [
        '[leaf]',
        'basicConstraints=critical,CA:FALSE',
        'keyUsage=critical,digitalSignature,keyEncipherment',
        `extendedKeyUsage=${opts.usage === 'server' ? 'serverAuth' : 'clientAuth'}`,
        ...(sans.length > 0 ? [`subjectAltName=${sans.map(sanEntry).join(',')}`] : []),
        '',
      ].join('\n'),
    );
    openssl(dir, [
      'x509',
      '-req',
      '-in',
      'leaf.csr',
      '-CA',
      'ca.crt',
      '-CAkey',
      'ca.key',
      '-set_serial',
      `0x${randomBytes(16).toString('hex')}`,
      '-days',
      String(opts.days),
      '-extfile',
      'ext.cnf',
      '-extensions',
      'leaf',
      '-out',
      'leaf.crt',
    ]);
    return {
      certPem: readFileSync(join(dir, 'leaf.crt'), 'utf8'),
      keyPem: new Secret(readFileSync(join(dir, 'leaf.key'), 'utf8')),
    };
  });
}
