/**
 * Joins every rendered config to the pod that runs it: for each file a Prometheus, Alertmanager
 * or fedstack process reads (`--config.file`, `--web.config.file`, `rule_files`, every `*_file`,
 * Alertmanager `templates`, the sidecar's and the service's file flags, the bridge's Secrets), the
 * pod built by `kubectl kustomize` from the shipped bundle mounts that path from a ConfigMap,
 * Secret or volume it defines, with the right key. A config that reads a file its pod lacks fails
 * only in a real cluster otherwise.
 */
import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, posix } from 'node:path';
import { fileURLToPath } from 'node:url';
import YAML from 'yaml';
import { parseServeArgs, parseSidecarArgs } from '../../common/flags.ts';
import { vmFilesRead } from '../../common/vmflags.ts';
import { DEFAULT_TOPOLOGY_PATH } from '../../examples/index.ts';
import { renderTree } from '../../render/emit.ts';
import { validateTopology } from '../../render/validate.ts';
import { routingSecrets, type Routing } from '../../topology/routing.ts';

/* eslint-disable @typescript-eslint/no-explicit-any -- Kubernetes objects as kustomize prints them */
type Obj = any;

interface Volume {
  /** Files the volume provides at paths relative to its mount, or 'any' (a whole Secret). */
  readonly files: ReadonlyMap<string, string> | 'any';
  readonly what: string;
}

const root = mkdtempSync(join(tmpdir(), 'fedstack-mounts-'));
after(() => rmSync(root, { recursive: true, force: true }));

function renderCase(name: string, topologyFile: string): { dir: string; dirs: string[] } {
  const r = validateTopology(readFileSync(topologyFile, 'utf8'), topologyFile, { profile: 'kubernetes' });
  if (!r.ok) throw new Error(JSON.stringify(r.errors));
  const dir = join(root, name);
  const tree = renderTree(r.plan);
  for (const [path, text] of tree) {
    mkdirSync(dirname(join(dir, path)), { recursive: true });
    writeFileSync(join(dir, path), text);
  }
  const dirs = [...tree.keys()].filter((p) => p.endsWith('/kustomization.yaml')).map((p) => dirname(p));
  return { dir, dirs };
}

const build = (dir: string): Obj[] =>
  YAML.parseAllDocuments(execFileSync('kubectl', ['kustomize', dir], { encoding: 'utf8' })).map((d) =>
    d.toJS(),
  );

/** Where a container finds each path: the mounts, longest prefix first. */
function resolver(
  pod: Obj,
  container: Obj,
  objects: Obj[],
  filled: Map<string, ReadonlyMap<string, string>>,
) {
  const configMaps = new Map<string, Obj>(
    objects.filter((o) => o.kind === 'ConfigMap').map((o) => [o.metadata.name, o]),
  );
  const volumes = new Map<string, Volume>();
  for (const v of pod.spec.volumes ?? []) {
    if (v.configMap) {
      const cm = configMaps.get(v.configMap.name);
      assert.ok(cm, `volume ${v.name}: ConfigMap ${v.configMap.name} is not defined by the bundle`);
      const items: { key: string; path: string }[] =
        v.configMap.items ?? Object.keys(cm.data ?? {}).map((key) => ({ key, path: key }));
      for (const i of items)
        assert.ok(i.key in (cm.data ?? {}), `ConfigMap ${cm.metadata.name} has no key ${i.key}`);
      volumes.set(v.name, {
        files: new Map(items.map((i) => [i.path, cm.data[i.key] as string])),
        what: `ConfigMap ${v.configMap.name}`,
      });
    } else if (v.secret) {
      const items: { key: string; path: string }[] | undefined = v.secret.items;
      volumes.set(v.name, {
        files:
          items === undefined
            ? 'any'
            : new Map(items.map((i) => [i.path, `<secret ${v.secret.secretName}/${i.key}>`])),
        what: `Secret ${v.secret.secretName}`,
      });
    } else if (v.projected) {
      const files = new Map<string, string>();
      for (const src of v.projected.sources)
        for (const i of src.secret?.items ?? []) files.set(i.path, `<secret ${src.secret.name}/${i.key}>`);
      volumes.set(v.name, { files, what: 'projected Secrets' });
    } else if (v.emptyDir) {
      volumes.set(v.name, { files: filled.get(v.name) ?? new Map(), what: `emptyDir ${v.name}` });
    }
  }
  // Kubelet mounts the service account token where the pod asks for it (the default).
  if (pod.spec.automountServiceAccountToken !== false)
    volumes.set('(service account)', {
      files: new Map(['token', 'ca.crt', 'namespace'].map((f) => [f, `<service account ${f}>`])),
      what: 'service account token',
    });
  for (const c of pod.spec.volumeClaimTemplates ?? [])
    volumes.set(c.metadata.name, { files: new Map(), what: `PersistentVolumeClaim ${c.metadata.name}` });
  const mounts = [
    ...(container.volumeMounts ?? []),
    ...(volumes.has('(service account)')
      ? [{ name: '(service account)', mountPath: '/var/run/secrets/kubernetes.io/serviceaccount' }]
      : []),
  ].sort((a: Obj, b: Obj) => b.mountPath.length - a.mountPath.length);
  return {
    /** The file's text (or a stand-in for a Secret's), or a failure that says what is missing. */
    file(path: string): { ok: true; text: string } | { ok: false; why: string } {
      const m = mounts.find((x: Obj) => path === x.mountPath || path.startsWith(`${x.mountPath}/`));
      if (m === undefined) return { ok: false, why: `${path}: no volume is mounted there` };
      const v = volumes.get(m.name);
      if (v === undefined) return { ok: false, why: `${path}: mount ${m.name} has no volume` };
      const rel = path.slice(m.mountPath.length + 1);
      if (v.files === 'any') return { ok: true, text: `<${v.what}/${rel}>` };
      const text = v.files.get(rel);
      return text === undefined
        ? {
            ok: false,
            why: `${path}: ${v.what} at ${m.mountPath} has no ${rel} (it has ${[...v.files.keys()].join(', ') || 'nothing'})`,
          }
        : { ok: true, text };
    },
    dir(path: string): boolean {
      return mounts.some((x: Obj) => x.mountPath === path);
    },
    volumeAt(path: string): Volume | undefined {
      const m = mounts.find((x: Obj) => x.mountPath === path);
      return m === undefined ? undefined : volumes.get(m.name);
    },
  };
}

/** Every string under a key ending in `_file` (and rule_files), anywhere in a parsed config. */
function filesRead(config: unknown, out: string[] = []): string[] {
  if (Array.isArray(config)) for (const v of config) filesRead(v, out);
  else if (config !== null && typeof config === 'object') {
    for (const [k, v] of Object.entries(config)) {
      if (k.endsWith('_file') && typeof v === 'string') out.push(v);
      else if (k === 'rule_files' && Array.isArray(v)) out.push(...(v as string[]));
      else filesRead(v, out);
    }
  }
  return out;
}

const flag = (args: readonly string[], name: string) =>
  args.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3);
const abs = (base: string, p: string) => (p.startsWith('/') ? p : posix.join(base, p));

/** Every problem of one bundle: each a file a process reads that its pod does not provide. */
function problems(objects: Obj[]): string[] {
  const out: string[] = [];
  const need = (where: string, r: { ok: true; text: string } | { ok: false; why: string }) => {
    if (!r.ok) out.push(`${where}: ${r.why}`);
    return r.ok ? r.text : undefined;
  };
  for (const pod of objects.filter((o) => o.kind === 'StatefulSet' || o.kind === 'Deployment')) {
    const spec = pod.spec.template;
    const podSpec = { spec: { ...spec.spec, volumeClaimTemplates: pod.spec.volumeClaimTemplates } };
    const containers: Obj[] = [...(spec.spec.initContainers ?? []), ...spec.spec.containers];
    // The config sidecar copies its --config-dir into --live-dir (the emptyDir Prometheus reads).
    const filled = new Map<string, ReadonlyMap<string, string>>();
    for (const c of containers.filter((x) => x.args?.[0] === 'sidecar')) {
      const f = parseSidecarArgs(c.args.slice(1));
      const r = resolver(podSpec, c, objects, filled);
      const source = r.volumeAt(f.configDir);
      const live = c.volumeMounts.find((m: Obj) => m.mountPath === f.liveDir);
      if (source === undefined || source.files === 'any')
        out.push(`${pod.metadata.name}/${c.name}: --config-dir ${f.configDir} is not a ConfigMap mount`);
      else if (live === undefined)
        out.push(`${pod.metadata.name}/${c.name}: --live-dir ${f.liveDir} is not mounted`);
      else filled.set(live.name, source.files);
    }
    for (const c of containers) {
      const where = `${pod.metadata.name}/${c.name}`;
      const r = resolver(podSpec, c, objects, filled);
      const args: string[] = c.args ?? [];
      if (args[0] === 'sidecar') {
        const f = parseSidecarArgs(args.slice(1));
        for (const file of [f.tokenFile, f.prometheusPasswordFile, f.passwordHashFile, f.prometheusCaFile])
          if (file !== undefined) need(where, r.file(file));
        if (!r.dir(f.configDir)) out.push(`${where}: --config-dir ${f.configDir} is not mounted`);
        // promtool checks the config with every file it names: the sidecar must see them too.
        const config = need(where, r.file(posix.join(f.configDir, 'prometheus.yml')));
        if (config !== undefined)
          for (const file of filesRead(YAML.parse(config)))
            need(`${where} (promtool)`, r.file(abs(f.liveDir, file)));
      } else if (args[0] === 'serve') {
        const f = parseServeArgs(args.slice(1));
        const topology = f.topologyFile === undefined ? undefined : need(where, r.file(f.topologyFile));
        if (f.heartbeatTokenFile !== undefined) need(where, r.file(f.heartbeatTokenFile));
        if (f.outboxDir !== undefined && !/^PersistentVolumeClaim/.test(r.volumeAt(f.outboxDir)?.what ?? ''))
          out.push(`${where}: --outbox-dir ${f.outboxDir} is not on a PersistentVolumeClaim`);
        if (f.secretsDir !== undefined && topology !== undefined) {
          const routing = YAML.parse(topology).routing as Routing;
          for (const ref of routingSecrets(routing).bridge)
            need(`${where} (bridge)`, r.file(`${f.secretsDir}/${ref.name}/${ref.key}`));
        }
      } else if (vmFilesRead(args).length > 0) {
        // A VictoriaMetrics process (single-dash Go flags): -rule, -promscrape.config, -auth.config, -…File.
        for (const file of vmFilesRead(args)) need(where, r.file(file));
      } else if (flag(args, 'config.file') !== undefined) {
        const configFile = flag(args, 'config.file')!;
        const text = need(where, r.file(configFile));
        const webConfig = flag(args, 'web.config.file');
        const web = webConfig === undefined ? undefined : need(where, r.file(webConfig));
        if (text === undefined) continue;
        const config = YAML.parse(text) as Obj;
        for (const file of [...filesRead(config), ...(web === undefined ? [] : filesRead(YAML.parse(web)))])
          need(where, r.file(abs(dirname(configFile), file)));
        for (const glob of config.templates ?? []) {
          const dir = abs(dirname(configFile), posix.dirname(glob));
          const ext = posix.extname(glob);
          const v = r.volumeAt(dirname(configFile));
          const found =
            v !== undefined &&
            v.files !== 'any' &&
            [...v.files.keys()].some(
              (k) => abs(dirname(configFile), k).startsWith(`${dir}/`) && k.endsWith(ext),
            );
          if (!found) out.push(`${where}: templates ${glob} match no mounted file`);
        }
      }
    }
  }
  return out;
}

const scenario = (n: string) =>
  fileURLToPath(new URL(`../fixtures/scenarios/${n}.good.yaml`, import.meta.url));

for (const [name, file] of [
  ['the example topology', DEFAULT_TOPOLOGY_PATH],
  ['a TLS + basic auth topology', scenario('federation-tls-basic-auth')],
  ['a topology with routing and mute intervals', scenario('routing-mute-intervals')],
  ['a VictoriaMetrics central with TLS + basic auth', scenario('central-victoriametrics')],
  ['staged rollouts (pulling sidecars, the service with its state volume)', scenario('staged-rollouts')],
] as const) {
  describe(`every file read in ${name} is mounted by its pod`, () => {
    const { dir, dirs } = renderCase(name.replace(/\W+/g, '-'), file);
    for (const d of dirs) {
      it(d, () => assert.deepEqual(problems(build(join(dir, d))), []));
    }
  });
}

describe('the join check itself', () => {
  it('reports a config that reads a file no volume provides', () => {
    const { dir } = renderCase('broken', scenario('routing-mute-intervals'));
    const objects = build(join(dir, 'alerting'));
    for (const sts of objects.filter((o) => o.kind === 'StatefulSet')) {
      const c = sts.spec.template.spec.containers[0];
      c.volumeMounts = c.volumeMounts.filter((m: Obj) => !m.mountPath.includes('/secrets/'));
    }
    const found = problems(objects);
    assert.ok(
      found.some((p) =>
        /fedstack-alert-bridge\/token: no volume is mounted there|secrets\/fedstack-alert-bridge\/token/.test(
          p,
        ),
      ),
      found.join('\n'),
    );
  });

  it('reports templates flattened out of the folder alertmanager.yml reads', () => {
    const { dir } = renderCase('flattened', scenario('routing-mute-intervals'));
    const objects = build(join(dir, 'alerting'));
    for (const sts of objects.filter((o) => o.kind === 'StatefulSet'))
      for (const v of sts.spec.template.spec.volumes) if (v.configMap) delete v.configMap.items;
    assert.ok(problems(objects).some((p) => /templates templates\/\*\.tmpl match no mounted file/.test(p)));
  });
});
