import { after, test } from 'node:test';
import { pbkdf2 } from 'node:crypto';
import assert from 'node:assert/strict';
import { lstatSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { defaultTopologyText } from '../../examples/index.ts';
import { Secret } from '../../common/secret.ts';
import { watchTopologyFile } from '../../server/topology-watch.ts';
import { startServer } from '../../server/main.ts';
import { projectedVolume } from '../support/configmap.ts';
import { capturingLogger, waitFor } from './helpers.ts';

const dir = mkdtempSync(join(tmpdir(), 'fedstack-watch-'));
after(() => rmSync(dir, { recursive: true, force: true }));
const good = defaultTopologyText();
const moved = good.replace('10.50.1.10:9090', '10.50.9.99:9090');
const broken = good.replace('name: eu-west-1', 'name: EU_WEST');

test('a valid edit swaps the revision, an invalid one is refused and the last good one keeps serving', () => {
  // A mounted ConfigMap: kubelet swaps the `..data` symlink, it never rewrites the file in place.
  const volume = projectedVolume(join(dir, 'a'), { 'topology.yaml': good });
  const file = volume.path('topology.yaml');
  assert.ok(lstatSync(file).isSymbolicLink());
  const w = watchTopologyFile({ file, pollIntervalMs: 60_000 });
  try {
    assert.equal(w.current().revision, 1);
    assert.equal(w.reload(), false, 'an unchanged file is not a new revision');
    volume.update({ 'topology.yaml': moved });
    assert.equal(w.reload(), true);
    assert.equal(w.current().revision, 2);
    const served = w.current().topology;
    volume.update({ 'topology.yaml': broken });
    assert.equal(w.reload(), false);
    assert.equal(w.current().topology, served, 'the last good topology object is kept');
    assert.match(
      w.lastError()!,
      /topology\.yaml:\d+:\d+: bigRegions\[1\]\.regions\[1\]\.name: invalid name "EU_WEST"/,
    );
    w.reload();
    assert.equal(w.reloadFailures(), 1, 'the same bad content counts once');
    volume.update({ 'topology.yaml': moved });
    assert.equal(w.reload(), false, 'back to the served content: no new revision');
    assert.equal(w.lastError(), undefined);
  } finally {
    w.close();
  }
});

test('an edit made before the watcher took its baseline stat is still served', async () => {
  const file = join(dir, 'early.yaml');
  writeFileSync(file, good);
  // Keep libuv's 4 pool threads busy, so the watcher's first stat runs after the edit below:
  // without a second look, the edited file would be its baseline and never a change.
  const busy = Array.from(
    { length: 4 },
    () => new Promise((r) => pbkdf2('x', 'salt', 300_000, 32, 'sha256', r)),
  );
  const w = watchTopologyFile({ file, pollIntervalMs: 50 });
  writeFileSync(file, moved);
  try {
    await Promise.all(busy);
    await waitFor('the early edit to be served', () => (w.current().revision === 2 ? true : undefined), 5_000);
  } finally {
    w.close();
  }
});

test('a file rewritten in place (a plain file on disk, not a mount) is followed too', () => {
  const file = join(dir, 'inplace.yaml');
  writeFileSync(file, good);
  const w = watchTopologyFile({ file, pollIntervalMs: 60_000 });
  try {
    writeFileSync(file, moved);
    assert.equal(w.reload(), true);
    assert.equal(w.current().revision, 2);
  } finally {
    w.close();
  }
});

test('a first load of an invalid file throws with every error', () => {
  const file = join(dir, 'b.yaml');
  writeFileSync(file, broken);
  assert.throws(() => watchTopologyFile({ file }), /invalid name "EU_WEST"/);
});

test('the running server picks up a ConfigMap update (symlink swap) on its own and reports a bad one on readyz', async () => {
  const volume = projectedVolume(join(dir, 'c'), { 'topology.yaml': good });
  const file = volume.path('topology.yaml');
  const { logger } = capturingLogger();
  const srv = await startServer({
    topologyFile: file,
    port: 0,
    pollIntervalMs: 50,
    logger,
    heartbeatToken: new Secret('t'),
    readToken: new Secret('r'),
  });
  try {
    const sd = async () =>
      (await (
        await fetch(`${srv.url}/v1/sd/cascade/europe`, { headers: { Authorization: 'Bearer r' } })
      ).json()) as {
        targets: string[];
      }[];
    assert.equal((await sd())[2]!.targets[0], '10.50.1.10:9090');
    volume.update({ 'topology.yaml': moved });
    await waitFor('the new endpoint', async () =>
      (await sd())[2]!.targets[0] === '10.50.9.99:9090' ? true : undefined,
    );
    volume.update({ 'topology.yaml': broken });
    const ready = await waitFor('readyz to fail', async () => {
      const r = await fetch(`${srv.url}/readyz`);
      return r.status === 503 ? ((await r.json()) as { reason: string }) : undefined;
    });
    assert.match(ready.reason, /serving revision 2: .*invalid name "EU_WEST"/);
    assert.equal((await sd())[2]!.targets[0], '10.50.9.99:9090');
  } finally {
    await srv.close();
  }
});

test('the server reads the heartbeat token from its file and refuses a busy port cleanly', async () => {
  const file = join(dir, 'd.yaml');
  writeFileSync(file, good);
  const tokenFile = join(dir, 'token');
  writeFileSync(tokenFile, 'from-file-token\n');
  const { logger } = capturingLogger();
  const srv = await startServer({ topologyFile: file, port: 0, heartbeatTokenFile: tokenFile, logger });
  try {
    const beat = (token: string) =>
      fetch(`${srv.url}/v1/edges/mc-lon-01/heartbeat`, {
        method: 'POST',
        headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'application/json' },
        body: JSON.stringify({ endpoint: '10.9.9.9:9090', version: 'v', configHash: 'h' }),
      });
    assert.equal((await beat('from-file-token')).status, 200);
    assert.equal((await beat('from-file')).status, 401);
    const port = Number(new URL(srv.url).port);
    await assert.rejects(startServer({ topologyFile: file, port, logger }), /EADDRINUSE/);
  } finally {
    await srv.close();
  }
});
