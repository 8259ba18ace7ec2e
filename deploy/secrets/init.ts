/**
 * `fedstack secrets init -t FILE -o DIR [--rotate]`: the Kubernetes Secrets the kubernetes
 * profile's manifests reference, with fresh values — the federation CA (ca.crt) and serving
 * certificate, the client certificate under mutual TLS, the federation password and its
 * bcrypt hash, the sidecar, read and bridge tokens — one manifest per Secret, written 0600
 * into a directory of the operator's own (never a render output), with a README that says
 * where each goes and not to commit them.
 *
 * Existing Secret files are never overwritten unless `rotate` is set; a rotation keeps the
 * CA (its key stays in DIR/ca/, out of every cluster) so scrapers keep trusting while the new
 * serving certificates roll out, and replaces every other value.
 */
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Secret as SecretModel } from 'kubernetes-models/v1';
import { Secret } from '../../common/secret.ts';
import type { SecretRef } from '../../common/secret.ts';
import { toYaml } from '../../common/serialize.ts';
import type { Topology } from '../../topology/model.ts';
import { receiverSecrets, type ReceiverSecret } from '../../topology/receiver-secrets.ts';
import { k8s, SECRET } from '../manifests/common.ts';
import { federationMaterial, federationSettings, randomToken, servingNames } from './material.ts';
import type { KeyPair } from './pki.ts';

/** Who mounts a Secret: README rows, and an annotation on the Secret itself. */
type Consumer = 'edges' | 'cascades' | 'central' | 'service' | 'alertmanager';

interface SecretKey {
  readonly ref: SecretRef;
  /** Made when the files are written, after the checks (a refusal makes no key). */
  readonly value: () => Secret;
  readonly consumers: readonly Consumer[];
  /** Part of a kubernetes.io/tls pair (tls.crt + tls.key). */
  readonly tls?: boolean;
}

export interface SecretsInitOptions {
  readonly topology: Topology;
  readonly outDir: string;
  /** Replace existing Secret files (keeping the CA in outDir/ca/ when there is one). */
  readonly rotate: boolean;
  /** Certificate lifetime (default 365 days). */
  readonly days?: number;
}

export interface SecretsInitResult {
  /** Secret manifests written, as paths. */
  readonly files: readonly string[];
  /** The CA of outDir/ca/ was kept (a rotation), rather than a new one made. */
  readonly caKept: boolean;
  /** Secrets the topology names that only their owner can supply (robot tokens, SMS keys, ...). */
  readonly toSupply: readonly ReceiverSecret[];
}

/** Directories of a rendered tree: secrets never go into one. */
const RENDER_DIRS = ['edge', 'cascade', 'central', 'alerting', 'dashboards', 'service'];
const CA_DIR = 'ca';

export class SecretsExistError extends Error {
  constructor(readonly existing: readonly string[]) {
    super(
      `${existing.join(', ')}: exists; rerun with --rotate to replace ${existing.length === 1 ? 'it' : 'them'} with new values`,
    );
  }
}

function once<T>(make: () => T): () => T {
  let v: { value: T } | undefined;
  return () => (v ??= { value: make() }).value;
}

/**
 * The Secret keys a topology's kubernetes profile references, each with how to make its value,
 * and the CA they need (undefined without TLS).
 */
function secretKeys(
  topo: Topology,
  days: number,
  keptCa: KeyPair | undefined,
): { keys: SecretKey[]; ca: () => KeyPair | undefined } {
  const keys: SecretKey[] = [];
  const add = (ref: SecretRef, value: () => Secret | string, consumers: Consumer[], tls?: boolean) =>
    keys.push({
      ref,
      value: () => {
        const v = value();
        return typeof v === 'string' ? new Secret(v) : v;
      },
      consumers,
      tls,
    });
  const fed = federationSettings(topo);
  const mutual = fed?.tls?.clientCertSecret;
  const m = once(() =>
    federationMaterial({
      sans: fed?.tls ? servingNames(topo, fed) : ['unused'],
      days,
      ca: keptCa,
      mutualTls: mutual !== undefined,
    }),
  );
  if (fed?.tls) {
    const serving = fed.tls.serverCertSecret;
    add({ name: serving, key: 'tls.crt' }, () => m().serving.certPem, ['edges', 'cascades'], true);
    add({ name: serving, key: 'tls.key' }, () => m().serving.keyPem, ['edges', 'cascades'], true);
    add(
      fed.tls.ca,
      () => m().ca.certPem,
      mutual ? ['edges', 'cascades', 'central'] : ['cascades', 'central'],
    );
    if (mutual !== undefined) {
      add(
        { name: mutual, key: 'tls.crt' },
        () => m().client!.certPem,
        ['edges', 'cascades', 'central'],
        true,
      );
      add({ name: mutual, key: 'tls.key' }, () => m().client!.keyPem, ['edges', 'cascades', 'central'], true);
    }
  }
  if (fed?.basicAuth) {
    add(fed.basicAuth.password, () => m().password, ['edges', 'cascades', 'central']);
    add(fed.basicAuth.passwordHash, () => m().passwordHash, ['edges', 'cascades']);
  }
  add(SECRET.sidecarToken, randomToken, ['edges', 'service']);
  add(SECRET.readToken, randomToken, ['cascades', 'service']);
  add(SECRET.operatorToken, randomToken, ['service']);
  for (const s of receiverSecrets(topo).filter((x) => x.generated))
    add(s.ref, randomToken, ['alertmanager', 'service']);
  return { keys, ca: () => (fed?.tls ? m().ca : undefined) };
}

interface SecretFile {
  readonly name: string;
  readonly file: string;
  readonly keys: readonly SecretKey[];
}

/** One Secret per name, keys merged; a key given two values is a topology mistake. */
function groupByName(keys: readonly SecretKey[]): SecretFile[] {
  const byName = new Map<string, SecretKey[]>();
  for (const k of keys) {
    const list = byName.get(k.ref.name) ?? [];
    if (list.some((x) => x.ref.key === k.ref.key))
      throw new Error(
        `Secret ${k.ref.name}, key ${k.ref.key}: the topology uses it for two different values; give each its own key`,
      );
    byName.set(k.ref.name, [...list, k]);
  }
  return [...byName].map(([name, list]) => ({ name, file: `${name}.yaml`, keys: list }));
}

function manifest(s: SecretFile, namespace: string): string {
  const consumers = [...new Set(s.keys.flatMap((k) => k.consumers))];
  const tls = s.keys.some((k) => k.tls === true);
  const obj = k8s(SecretModel, {
    metadata: {
      name: s.name,
      namespace,
      labels: {
        'app.kubernetes.io/part-of': 'fedstack',
        'app.kubernetes.io/managed-by': 'fedstack-secrets-init',
      },
      annotations: { 'fedstack.io/mounted-by': consumers.join(', ') },
    },
    type: tls ? 'kubernetes.io/tls' : 'Opaque',
    data: Object.fromEntries(
      s.keys.map((k) => [k.ref.key, Buffer.from(k.value().reveal()).toString('base64')]),
    ),
  });
  return `# Secret values: never commit this file (see README.md).\n${toYaml(obj, { header: false })}`;
}

/** Writes `text` to `file` with mode 0600, atomically (a reader sees the old or the new file). */
function writePrivate(file: string, text: string): void {
  const tmp = `${file}.tmp-${process.pid}`;
  writeFileSync(tmp, text, { mode: 0o600 });
  renameSync(tmp, file);
}

export function secretsInit(o: SecretsInitOptions): SecretsInitResult {
  const days = o.days ?? 365;
  const rendered = RENDER_DIRS.filter((d) => existsSync(join(o.outDir, d)));
  if (rendered.length > 0 || existsSync(join(o.outDir, 'kustomization.yaml')))
    throw new Error(
      `${o.outDir}: looks like a render output (${[...rendered, 'kustomization.yaml'].slice(0, 3).join(', ')}): write Secrets to a directory of their own, outside anything you commit or apply as configuration`,
    );

  const caCert = join(o.outDir, CA_DIR, 'ca.crt');
  const caKey = join(o.outDir, CA_DIR, 'ca.key');
  const kept: KeyPair | undefined =
    o.rotate && existsSync(caCert) && existsSync(caKey)
      ? { certPem: readFileSync(caCert, 'utf8'), keyPem: new Secret(readFileSync(caKey, 'utf8')) }
      : undefined;
  const { keys, ca } = secretKeys(o.topology, days, kept);
  const files = groupByName(keys);
  const needsCa = keys.some((k) => k.tls === true);

  const existing = [
    ...files.map((f) => join(o.outDir, f.file)),
    ...(kept === undefined && needsCa ? [caKey] : []),
  ].filter((p) => existsSync(p));
  if (existing.length > 0 && !o.rotate) throw new SecretsExistError(existing);

  mkdirSync(o.outDir, { recursive: true, mode: 0o700 });
  const made = ca();
  if (made !== undefined && kept === undefined) {
    mkdirSync(join(o.outDir, CA_DIR), { recursive: true, mode: 0o700 });
    writePrivate(caCert, made.certPem);
    writePrivate(caKey, made.keyPem.reveal());
  }
  for (const f of files) writePrivate(join(o.outDir, f.file), manifest(f, o.topology.global.namespace));
  const toSupply = receiverSecrets(o.topology).filter((s) => !s.generated);
  writePrivate(join(o.outDir, 'README.md'), readme(o.topology, files, toSupply));
  // A second guard for the warning in the README: git ignores everything here.
  writePrivate(join(o.outDir, '.gitignore'), '*\n');
  return { files: files.map((f) => join(o.outDir, f.file)), caKept: kept !== undefined, toSupply };
}

function readme(topo: Topology, files: readonly SecretFile[], toSupply: readonly ReceiverSecret[]): string {
  const ns = topo.global.namespace;
  const rows = files.map(
    (f) =>
      `| \`${f.file}\` | ${f.keys.map((k) => `\`${k.ref.key}\``).join(', ')} | ${[...new Set(f.keys.flatMap((k) => k.consumers))].join(', ')} |`,
  );
  const bySecret = new Map<string, ReceiverSecret[]>();
  for (const s of toSupply) bySecret.set(s.ref.name, [...(bySecret.get(s.ref.name) ?? []), s]);
  const supply = [...bySecret].flatMap(([name, list]) => [
    ...list.map((s) => `- \`${name}\` key \`${s.ref.key}\`: ${s.what}`),
    `  \`kubectl -n ${ns} create secret generic ${name} ${list.map((s) => `--from-file=${s.ref.key}=FILE`).join(' ')}\``,
  ]);
  return [
    `# Secrets of "${topo.metadata.name}": DO NOT COMMIT THESE FILES`,
    '',
    'They hold private keys, a password and bearer tokens in clear (base64 is not encryption).',
    'Keep this directory out of version control (its .gitignore ignores everything) and apply the',
    'manifests with `kubectl apply -f FILE` to each cluster that mounts them:',
    '',
    '| file | keys | mounted by |',
    '| --- | --- | --- |',
    ...rows,
    '',
    "edges: every meta-cluster; cascades: each big region's cluster; central: the central",
    "replicas' cluster; service and alertmanager: where the fedstack service and Alertmanager run.",
    '',
    '`ca/ca.key` signs the certificates: it goes to no cluster. Keep it (offline) for rotations.',
    '',
    ...(supply.length > 0
      ? ['Secrets only their owner can supply (create them yourself):', '', ...supply, '']
      : []),
    '## Rotation',
    '',
    `\`fedstack secrets init -t TOPOLOGY -o ${'DIR'} --rotate\` replaces every value but the CA, then`,
    'apply the manifests again. Nothing restarts: kubelet updates mounted Secrets in place (about',
    'a minute), and every reader re-reads its file — Prometheus its `password_file`, CA and',
    'certificates, the edge sidecar the password hash (it refills the web config within its',
    'interval) and its token, the fedstack service its tokens, Alertmanager and the bridge the',
    'bridge token. Until every pod sees the new federation password, some scrapes get 401: fewer',
    "than EdgeDown's `for` allows, so nobody is paged.",
    '',
  ].join('\n');
}
