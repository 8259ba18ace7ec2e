import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { after, it } from 'node:test';
import { inspect } from 'node:util';
import { fileSecretResolver } from '../../alerting/bridge/secrets.ts';
import { removeTempDirs, tempDir } from './support/fixtures.ts';

after(removeTempDirs);

it('reads <dir>/<name>/<key> as a Kubernetes Secret volume lays it out, without the trailing newline', async () => {
  const dir = tempDir('secret-volume');
  mkdirSync(path.join(dir, 'dingtalk'));
  writeFileSync(path.join(dir, 'dingtalk', 'token'), 'abc\n');
  const s = await fileSecretResolver(dir)({ name: 'dingtalk', key: 'token' });
  assert.equal(s.reveal(), 'abc');
  assert.equal(`${s}`, '<secret>');
  assert.equal(JSON.stringify({ s }), '{"s":"<secret>"}');
  assert.doesNotMatch(inspect(s), /abc/);
});

it('refuses names that climb out of the directory, and never echoes a value in its errors', async () => {
  const resolve = fileSecretResolver(tempDir('secret-volume'));
  await assert.rejects(resolve({ name: '..', key: 'passwd' }), /invalid name/);
  await assert.rejects(
    resolve({ name: 'missing', key: 'token' }),
    /secret missing\/token: cannot read \(ENOENT\)/,
  );
});

it('keeps a value a few seconds at most: a rotated Secret is read again', async () => {
  const dir = tempDir('secret-volume');
  mkdirSync(path.join(dir, 'dingtalk'));
  writeFileSync(path.join(dir, 'dingtalk', 'token'), 'old');
  const resolve = fileSecretResolver(dir, 50);
  assert.equal((await resolve({ name: 'dingtalk', key: 'token' })).reveal(), 'old');
  writeFileSync(path.join(dir, 'dingtalk', 'token'), 'rotated');
  assert.equal((await resolve({ name: 'dingtalk', key: 'token' })).reveal(), 'old', 'reused within its age');
  await new Promise((r) => setTimeout(r, 60));
  assert.equal((await resolve({ name: 'dingtalk', key: 'token' })).reveal(), 'rotated');
});
