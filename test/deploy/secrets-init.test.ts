import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createPrivateKey, X509Certificate } from 'node:crypto';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import bcrypt from 'bcryptjs';
import YAML from 'yaml';
import { Secret as SecretModel } from 'kubernetes-models/v1';
import { run } from '../../cli/main.ts';
import { FILE, MOUNT } from '../../common/conventions.ts';
import { renderTree } from '../../render/emit.ts';
import { createPlan } from '../../render/plan.ts';
import { fillWebConfig } from '../../sidecar/web-config.ts';
import { receiverSecrets } from '../../topology/receiver-secrets.ts';
import type { Topology } from '../../topology/model.ts';
import { securedTopologyText } from '../server/fixture-topology.ts';
import { defaultTopology, topologyFrom } from '../server/helpers.ts';

const root = mkdtempSync(join(tmpdir(), 'fedstack-secrets-init-'));
after(() => rmSync(root, { recursive: true, force: true }));

interface SecretDoc {
  apiVersion: string;
  kind: string;
  type: string;
  metadata: { name: string; namespace: string };
  data: Record<string, string>;
}

/** Runs the CLI; returns its exit code and what it printed. */
async function cli(...argv: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const code = await run(argv, { out: (t) => (out += t), err: (t) => (err += t) });
  return { code, out, err };
}

/** Secret name → decoded data, from the manifests in DIR (each schema-checked). */
function readSecrets(dir: string): Map<string, SecretDoc & { values: Record<string, string> }> {
  const out = new Map<string, SecretDoc & { values: Record<string, string> }>();
  for (const f of readdirSync(dir).filter((n) => n.endsWith('.yaml'))) {
    const doc = YAML.parse(readFileSync(join(dir, f), 'utf8')) as SecretDoc;
    new SecretModel(doc as never).validate();
    const values = Object.fromEntries(
      Object.entries(doc.data).map(([k, v]) => [k, Buffer.from(v, 'base64').toString('utf8')]),
    );
    out.set(doc.metadata.name, { ...doc, values });
  }
  return out;
}

/**
 * Every Secret (name/key) the rendered kubernetes manifests mount, from the manifests
 * themselves: volumes' secretName and projected sources.
 */
function referencedSecrets(topo: Topology): Map<string, Set<string> | 'whole'> {
  const refs = new Map<string, Set<string> | 'whole'>();
  const note = (name: string, keys: string[] | undefined) => {
    if (keys === undefined) return refs.set(name, 'whole');
    const had = refs.get(name);
    if (had !== 'whole') refs.set(name, new Set([...(had ?? []), ...keys]));
  };
  type Items = { key: string }[] | undefined;
  for (const [path, text] of renderTree(createPlan(topo, 'kubernetes'))) {
    if (!path.endsWith(FILE.manifests)) continue;
    for (const d of YAML.parseAllDocuments(text)) {
      const obj = d.toJS() as { kind: string; spec?: { template?: { spec?: { volumes?: unknown[] } } } };
      for (const v of (obj.spec?.template?.spec?.volumes ?? []) as {
        secret?: { secretName: string; items?: Items };
        projected?: { sources: { secret: { name: string; items?: Items } }[] };
      }[]) {
        if (v.secret)
          note(
            v.secret.secretName,
            v.secret.items?.map((i) => i.key),
          );
        for (const s of v.projected?.sources ?? [])
          note(
            s.secret.name,
            s.secret.items?.map((i) => i.key),
          );
      }
    }
  }
  return refs;
}

const mutual = topologyFrom(
  securedTopologyText({
    serviceUrl: 'http://fedstack.svc:8080',
    edgeEndpoint: '10.0.0.1:9090',
    mutualTls: true,
  }),
);

describe('fedstack secrets init', () => {
  const example = defaultTopology();
  const dir = join(root, 'example');
  let first: Map<string, SecretDoc & { values: Record<string, string> }>;

  it('writes a Secret manifest for every Secret the kubernetes manifests mount, but those only their owner has', async () => {
    const r = await cli('secrets', 'init', '-o', dir);
    assert.equal(r.code, 0, r.err);
    first = readSecrets(dir);
    const refs = referencedSecrets(example);
    // fedstack cannot make the etcd client certificate (the meta-cluster's etcd issues it) nor
    // the receivers' credentials (DingTalk, Aliyun, the SMTP relay): the output names those.
    const external = new Set([
      'fedstack-etcd-client',
      ...receiverSecrets(example)
        .filter((s) => !s.generated)
        .map((s) => s.ref.name),
    ]);
    for (const [name, keys] of refs) {
      if (external.has(name)) continue;
      const s = first.get(name);
      assert.ok(s, `no manifest for Secret ${name}`);
      assert.equal(s.metadata.namespace, example.global.namespace);
      if (keys !== 'whole') for (const k of keys) assert.ok(k in s.values, `${name} lacks key ${k}`);
    }
    assert.deepEqual([...first.keys()].sort(), [
      'fedstack-alert-bridge',
      'fedstack-federation-auth',
      'fedstack-federation-ca',
      'fedstack-federation-tls',
      'fedstack-operator-token',
      'fedstack-read-token',
      'fedstack-sidecar-token',
    ]);
    assert.equal(first.get('fedstack-federation-tls')!.type, 'kubernetes.io/tls');
    for (const name of external)
      if (name !== 'fedstack-etcd-client')
        assert.match(r.out, new RegExp(`still to create yourself: Secret ${name} `));
  });

  it('writes every file 0600 in a 0700 directory, with a README that warns not to commit them', () => {
    const files = readdirSync(dir, { recursive: true, withFileTypes: true }).filter((e) => e.isFile());
    assert.ok(files.length >= 9);
    for (const f of files) assert.equal(statSync(join(f.parentPath, f.name)).mode & 0o777, 0o600, f.name);
    assert.equal(statSync(dir).mode & 0o777, 0o700);
    assert.match(readFileSync(join(dir, 'README.md'), 'utf8'), /DO NOT COMMIT THESE FILES/);
    assert.equal(readFileSync(join(dir, '.gitignore'), 'utf8'), '*\n');
  });

  it("makes values that fit together: the CA signed the serving certificate for serverName, the hash is the password's", () => {
    const ca = new X509Certificate(first.get('fedstack-federation-ca')!.values['ca.crt']!);
    const tls = first.get('fedstack-federation-tls')!.values;
    const cert = new X509Certificate(tls['tls.crt']!);
    assert.ok(cert.verify(ca.publicKey), 'signed by the CA');
    assert.equal(cert.checkHost('federation.fedstack.internal'), 'federation.fedstack.internal');
    assert.ok(cert.checkPrivateKey(createPrivateKey(tls['tls.key']!)));
    const auth = first.get('fedstack-federation-auth')!.values;
    assert.ok(bcrypt.compareSync(auth.password!, auth['password.bcrypt']!));
    const tokens = [
      'fedstack-sidecar-token',
      'fedstack-read-token',
      'fedstack-operator-token',
      'fedstack-alert-bridge',
    ].map((n) => first.get(n)!.values.token!);
    assert.equal(new Set(tokens).size, 4, 'each token its own value');
    assert.ok(tokens.every((t) => t.length >= 40));
  });

  it('gives a web config that promtool accepts once the sidecar fills the hash in', () => {
    const wc = join(root, 'webcheck');
    const mount = (p: string) => join(wc, p.slice(MOUNT.secrets.length));
    const tls = first.get('fedstack-federation-tls')!.values;
    const auth = first.get('fedstack-federation-auth')!.values;
    for (const [file, text] of [
      [MOUNT.tlsCertFile, tls['tls.crt']!],
      [MOUNT.tlsKeyFile, tls['tls.key']!],
      [`${MOUNT.secrets}/federation/password.bcrypt`, auth['password.bcrypt']!],
    ] as const) {
      mkdirSync(join(mount(file), '..'), { recursive: true });
      writeFileSync(mount(file), text);
    }
    const rendered = renderTree(createPlan(example, 'kubernetes')).get('edge/mc-hz-01/web-config.yml')!;
    const filled = fillWebConfig(
      rendered.split(MOUNT.secrets).join(wc),
      mount(`${MOUNT.secrets}/federation/password.bcrypt`),
    );
    writeFileSync(join(wc, 'web-config.yml'), filled);
    execFileSync('promtool', ['check', 'web-config', join(wc, 'web-config.yml')], { stdio: 'pipe' });
  });

  it('refuses to overwrite an existing Secret without --rotate, and changes nothing', async () => {
    const before = readdirSync(dir).map((f) => [
      f,
      statSync(join(dir, f)).isFile() ? readFileSync(join(dir, f), 'utf8') : '',
    ]);
    const r = await cli('secrets', 'init', '-o', dir);
    assert.equal(r.code, 2);
    assert.match(r.err, /fedstack-federation-tls\.yaml, .*: exists; rerun with --rotate/);
    assert.deepEqual(
      readdirSync(dir).map((f) => [
        f,
        statSync(join(dir, f)).isFile() ? readFileSync(join(dir, f), 'utf8') : '',
      ]),
      before,
    );
  });

  it('with --rotate replaces every value but keeps the CA, which still signs the new certificate', async () => {
    const r = await cli('secrets', 'init', '-o', dir, '--rotate');
    assert.equal(r.code, 0, r.err);
    assert.match(r.out, /rotated 7 Secrets \(0600\), CA kept/);
    const next = readSecrets(dir);
    const old = (n: string, k: string) => first.get(n)!.values[k];
    const now = (n: string, k: string) => next.get(n)!.values[k];
    assert.equal(now('fedstack-federation-ca', 'ca.crt'), old('fedstack-federation-ca', 'ca.crt'));
    for (const [n, k] of [
      ['fedstack-federation-tls', 'tls.crt'],
      ['fedstack-federation-tls', 'tls.key'],
      ['fedstack-federation-auth', 'password'],
      ['fedstack-sidecar-token', 'token'],
      ['fedstack-read-token', 'token'],
      ['fedstack-operator-token', 'token'],
      ['fedstack-alert-bridge', 'token'],
    ] as const)
      assert.notEqual(now(n, k), old(n, k), `${n}/${k} rotated`);
    const ca = new X509Certificate(now('fedstack-federation-ca', 'ca.crt')!);
    assert.ok(new X509Certificate(now('fedstack-federation-tls', 'tls.crt')!).verify(ca.publicKey));
  });

  it('prints file names and never a value', async () => {
    const r = await cli('secrets', 'init', '-o', join(root, 'printed'));
    assert.equal(r.code, 0, r.err);
    for (const s of readSecrets(join(root, 'printed')).values())
      for (const [k, v] of Object.entries(s.values)) {
        const probe = v.split('\n').find((l) => l.length > 20 && !l.startsWith('-----')) ?? v;
        assert.ok(!r.out.includes(probe) && !r.err.includes(probe), `${s.metadata.name}/${k} printed`);
      }
  });

  it('refuses to write into a render output', async () => {
    const out = join(root, 'rendered');
    assert.equal((await cli('render', '-o', out)).code, 0);
    const r = await cli('secrets', 'init', '-o', out);
    assert.equal(r.code, 1);
    assert.match(r.err, /looks like a render output/);
    assert.deepEqual(
      readdirSync(out).filter((f) => f.endsWith('.yaml')),
      [],
    );
  });
});

describe('fedstack secrets init with mutual TLS', () => {
  it('adds a client certificate the CA signed for client auth, and the serving certificate names every endpoint', async () => {
    const topoFile = join(root, 'mtls.yaml');
    writeFileSync(
      topoFile,
      securedTopologyText({
        serviceUrl: 'http://fedstack.svc:8080',
        edgeEndpoint: '10.0.0.1:9090',
        mutualTls: true,
      }),
    );
    const dir = join(root, 'mtls');
    const r = await cli('secrets', 'init', '-t', topoFile, '-o', dir);
    assert.equal(r.code, 0, r.err);
    const s = readSecrets(dir);
    const refs = referencedSecrets(mutual);
    for (const name of refs.keys()) if (name !== 'fedstack-etcd-client') assert.ok(s.has(name), name);
    const ca = new X509Certificate(s.get('fed-ca')!.values['ca.crt']!);
    const client = new X509Certificate(s.get('fed-client')!.values['tls.crt']!);
    assert.equal(s.get('fed-client')!.type, 'kubernetes.io/tls');
    assert.ok(client.verify(ca.publicKey));
    assert.match(
      client.toLegacyObject().ext_key_usage?.join() ?? '',
      /1\.3\.6\.1\.5\.5\.7\.3\.2/,
      'clientAuth',
    );
    // No serverName: the certificate names the edge and cascade endpoints themselves.
    const serving = new X509Certificate(s.get('fed-tls')!.values['tls.crt']!);
    assert.equal(serving.checkIP('10.0.0.1'), '10.0.0.1');
    assert.equal(serving.checkIP('127.0.0.1'), '127.0.0.1', 'the cascade endpoint of the fixture');
  });
});
