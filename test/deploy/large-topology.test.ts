/**
 * A ConfigMap holds at most 1 MiB, and a 10,000-meta-cluster topology is ~1.5 MB of YAML. The
 * bundle then packs the service's topology gzip'd (binaryData), and the service reads it: built
 * here with `kubectl kustomize` from the written bundle, and served by a real service.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import YAML from 'yaml';
import { parseServeArgs } from '../../common/flags.ts';
import { Secret } from '../../common/secret.ts';
import { createEmitter, TOPOLOGY_INLINE_LIMIT } from '../../render/emit.ts';
import { createPlan } from '../../render/plan.ts';
import { writeTreeAtomically } from '../../render/write.ts';
import { startServer } from '../../server/main.ts';
import { generateFleet } from '../../bench/topology-gen.ts';
import { capturingLogger } from '../server/helpers.ts';

const CONFIGMAP_LIMIT = 1024 * 1024;
const root = mkdtempSync(join(tmpdir(), 'fedstack-large-topology-'));
after(() => rmSync(root, { recursive: true, force: true }));

const fleet = generateFleet({ bigRegions: 20, regionsPerBigRegion: 10, metaClustersPerRegion: 50 });
const emitter = createEmitter(createPlan(fleet, 'kubernetes'));
const service = join(root, 'service');

before(async () => {
  const files = emitter.paths().filter((p) => p.startsWith('service/'));
  await writeTreeAtomically(
    files.map((p) => [p.slice('service/'.length), emitter.file(p) ?? emitter.bytes(p)!] as const),
    service,
  );
});

test('a 10,000-meta-cluster topology is too big for a ConfigMap as YAML, so the bundle packs it gzip\'d', () => {
  const yaml = readFileSync(join(service, 'topology.yaml'), 'utf8');
  assert.ok(Buffer.byteLength(yaml) > CONFIGMAP_LIMIT, `${Buffer.byteLength(yaml)} bytes of YAML`);
  assert.ok(Buffer.byteLength(yaml) > TOPOLOGY_INLINE_LIMIT);
  // The packed file is the reviewed one, byte for byte.
  assert.equal(gunzipSync(readFileSync(join(service, 'topology.yaml.gz'))).toString('utf8'), yaml);

  const objects = YAML.parseAllDocuments(
    execFileSync('kubectl', ['kustomize', service], { encoding: 'utf8', maxBuffer: 64 << 20 }),
  ).map((d) => d.toJS());
  const cm = objects.find((o) => o.kind === 'ConfigMap' && o.metadata.name === 'fedstack-topology');
  assert.ok(cm, 'the topology ConfigMap');
  assert.equal(cm.data, undefined, 'no YAML copy in it');
  assert.deepEqual(Object.keys(cm.binaryData), ['topology.yaml.gz']);
  const size = Buffer.byteLength(YAML.stringify(cm));
  assert.ok(size < CONFIGMAP_LIMIT / 2, `ConfigMap of ${size} bytes`);

  const sts = objects.find((o) => o.kind === 'StatefulSet' && o.metadata.name === 'fedstack');
  const flags = parseServeArgs(sts.spec.template.spec.containers[0].args.slice(1));
  assert.equal(flags.topologyFile, '/etc/fedstack/topology/topology.yaml.gz');
});

test('the service serves a gzip\'d topology file as it would the YAML', async () => {
  const server = await startServer({
    topologyFile: join(service, 'topology.yaml.gz'),
    port: 0,
    readToken: new Secret('read-token-large'),
    logger: capturingLogger().logger,
  });
  try {
    const ready = (await (await fetch(`${server.url}/readyz`)).json()) as { status: string };
    assert.equal(ready.status, 'ready');
    const res = await fetch(`${server.url}/v1/config/edge/mc-9999/prometheus.yml`, {
      headers: { Authorization: 'Bearer read-token-large' },
    });
    assert.equal(res.status, 200);
    assert.match(await res.text(), /meta_cluster: mc-9999/);
  } finally {
    await server.close();
  }
});

test('a small topology keeps its readable ConfigMap: no gzip\'d copy', () => {
  const small = createEmitter(
    createPlan(generateFleet({ bigRegions: 1, regionsPerBigRegion: 1, metaClustersPerRegion: 2 }), 'kubernetes'),
  );
  assert.deepEqual(
    small.paths().filter((p) => p.startsWith('service/')),
    ['service/kustomization.yaml', 'service/manifests.yaml', 'service/topology.yaml'],
  );
  assert.equal(small.bytes('service/topology.yaml.gz'), undefined);
});
