/**
 * scripts/setup.sh, which `npm start` and `npm test` run first: on a PATH we control, with
 * stand-ins for apt-get, id and sudo that record what they were asked (this machine's real
 * packages are already installed, and a test must not install or remove any).
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, describe, it } from 'node:test';

const SETUP = fileURLToPath(new URL('../scripts/setup.sh', import.meta.url));
const BINARIES = [
  'prometheus',
  'promtool',
  'prometheus-alertmanager',
  'amtool',
  'prometheus-node-exporter',
  'victoria-metrics',
  'wrk',
  'kubectl',
  'chromium',
  'openssl',
];
const work = mkdtempSync(join(tmpdir(), 'fedstack-setup-'));
after(() => rmSync(work, { recursive: true, force: true }));

interface Machine {
  readonly uid: number;
  readonly present: readonly string[];
  readonly passwordlessSudo?: boolean;
}

/** Runs setup.sh on a PATH with only the tools it uses, `present` binaries, and stand-ins. */
function runSetup(name: string, m: Machine) {
  const bin = join(work, name);
  const log = join(work, `${name}.log`);
  spawnSync('mkdir', ['-p', bin]);
  for (const tool of ['bash', 'sh', 'sort', 'cat']) {
    const real = spawnSync('bash', ['-c', `command -v ${tool}`], { encoding: 'utf8' }).stdout.trim();
    symlinkSync(real, join(bin, tool));
  }
  const script = (file: string, body: string) => {
    writeFileSync(join(bin, file), `#!/bin/bash\n${body}\n`);
    chmodSync(join(bin, file), 0o755);
  };
  for (const b of m.present) script(b, 'exit 0');
  script('id', `echo ${m.uid}`);
  script('apt-get', `echo "apt-get $*" >> ${log}`);
  script('service', `echo "service $*" >> ${log}`);
  if (m.passwordlessSudo === true) script('sudo', `[ "$1" = -n ] && shift; echo "sudo $*" >> ${log}; "$@"`);
  const r = spawnSync('bash', [SETUP], { env: { PATH: bin }, encoding: 'utf8' });
  return { ...r, calls: existsSync(log) ? readFileSync(log, 'utf8').trim().split('\n') : [] };
}

describe('scripts/setup.sh', () => {
  it('with every binary present only looks them up: exit 0, nothing installed', () => {
    const r = runSetup('all-present', { uid: 1000, present: BINARIES });
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /^setup: every binary present/);
    assert.deepEqual(r.calls, []);
  });

  it('as root installs exactly the packages of the missing binaries (chromium, kubectl), once each', () => {
    const r = runSetup('root-missing', {
      uid: 0,
      present: BINARIES.filter((b) => b !== 'chromium' && b !== 'kubectl'),
    });
    assert.equal(r.status, 0, r.stderr);
    const installs = r.calls.filter((c) => c.includes(' install '));
    assert.deepEqual(installs, [
      'apt-get install -y -qq --no-install-recommends chromium kubernetes-client',
    ]);
    assert.ok(r.calls[0]!.startsWith('apt-get update'), 'updates the package lists first');
  });

  it('asks for a package once when two of its binaries are missing (promtool and prometheus)', () => {
    const r = runSetup('one-package', {
      uid: 0,
      present: BINARIES.filter((b) => b !== 'prometheus' && b !== 'promtool'),
    });
    assert.equal(r.status, 0, r.stderr);
    assert.deepEqual(
      r.calls.filter((c) => c.includes(' install ')),
      ['apt-get install -y -qq --no-install-recommends prometheus'],
    );
  });

  it('not root and no sudo: installs nothing, prints the one command that will, and exits 1', () => {
    const r = runSetup('no-sudo', { uid: 1000, present: BINARIES.filter((b) => b !== 'amtool' && b !== 'wrk') });
    assert.equal(r.status, 1);
    assert.deepEqual(r.calls, []);
    const lines = r.stderr.trim().split('\n');
    assert.equal(lines.length, 2, r.stderr);
    assert.match(lines[0]!, /^setup: missing amtool wrk; this user cannot install them/);
    assert.equal(
      lines[1],
      "  sudo sh -c 'apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends prometheus-alertmanager wrk'",
    );
  });

  it('not root with password-less sudo: installs through sudo', () => {
    const r = runSetup('sudo', {
      uid: 1000,
      present: BINARIES.filter((b) => b !== 'victoria-metrics'),
      passwordlessSudo: true,
    });
    assert.equal(r.status, 0, r.stderr);
    assert.ok(r.calls.some((c) => c.startsWith('sudo sh -c apt-get update')), r.calls.join('\n'));
    assert.ok(r.calls.includes('apt-get install -y -qq --no-install-recommends victoria-metrics'));
  });
});
