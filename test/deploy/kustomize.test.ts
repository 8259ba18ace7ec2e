import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import YAML from 'yaml';
import { FILE } from '../../common/conventions.ts';
import { renderTree } from '../../render/emit.ts';
import { createPlan } from '../../render/plan.ts';
import { metaClusters } from '../../topology/model.ts';
import { defaultTopology } from '../server/helpers.ts';

// kubectl kustomize builds each rendered cluster bundle offline, as an operator would apply it.
const root = mkdtempSync(join(tmpdir(), 'fedstack-kustomize-'));
after(() => rmSync(root, { recursive: true, force: true }));
const topo = defaultTopology();
// The whole rendered tree, as `fedstack render` writes it: manifests and the files they pack.
const files = renderTree(createPlan(topo, 'kubernetes'));
for (const [path, text] of files) {
  mkdirSync(dirname(join(root, path)), { recursive: true });
  writeFileSync(join(root, path), text);
}

const build = (dir: string) =>
  YAML.parseAllDocuments(execFileSync('kubectl', ['kustomize', join(root, dir)], { encoding: 'utf8' })).map(
    (d) => d.toJS() as { kind: string; metadata: { name: string; namespace?: string }; spec?: never },
  );

test('every cluster bundle builds with kustomize into namespaced objects', () => {
  const dirs = [...files.keys()].filter((p) => p.endsWith('/kustomization.yaml')).map((p) => dirname(p));
  assert.equal(
    dirs.length,
    metaClusters(topo).length + topo.bigRegions.length + topo.central.replicas.length + 2,
  );
  for (const dir of dirs) {
    const objects = build(dir);
    assert.ok(objects.length >= 5, dir);
    for (const o of objects) {
      if (o.kind === 'Namespace' || o.kind.startsWith('Cluster')) continue;
      assert.equal(o.metadata.namespace, topo.global.namespace, `${dir}: ${o.kind} ${o.metadata.name}`);
    }
  }
});

test('the Alertmanager config becomes a hashed ConfigMap that both replicas mount', () => {
  const objects = build('alerting');
  const cm = objects.find((o) => o.kind === 'ConfigMap')!;
  assert.match(cm.metadata.name, /^alertmanager-config-[a-z0-9]+$/);
  const mounted = objects
    .filter((o) => o.kind === 'StatefulSet')
    .map(
      (o) =>
        (o.spec as unknown as { template: { spec: { volumes: { configMap?: { name: string } }[] } } })
          .template.spec.volumes[0]!.configMap!.name,
    );
  assert.deepEqual(mounted, [cm.metadata.name, cm.metadata.name]);
});

test('each Prometheus gets a ConfigMap with its rendered files as keys, under the name its pod mounts', () => {
  for (const dir of ['edge/mc-hz-01', 'cascade/china', 'central/central-a']) {
    const objects = build(dir) as unknown as {
      kind: string;
      metadata: { name: string };
      data?: Record<string, string>;
      spec?: { template: { spec: { volumes: { name: string; configMap?: { name: string } }[] } } };
    }[];
    const cm = objects.find((o) => o.kind === 'ConfigMap')!;
    for (const [key, text] of Object.entries(cm.data!))
      assert.equal(text, files.get(`${dir}/${key}`), `${dir}: ${key}`);
    assert.ok(FILE.prometheus in cm.data! && FILE.rules in cm.data!, dir);
    const sts = objects.find((o) => o.kind === 'StatefulSet')!;
    assert.equal(
      sts.spec!.template.spec.volumes.find((v) => v.name === 'config')!.configMap!.name,
      cm.metadata.name,
    );
  }
});
