import assert from 'node:assert/strict';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { run } from '../cli/main.ts';
import { BAD_DIR } from './bad-fixtures.ts';

function capture() {
  let out = '';
  let err = '';
  return {
    io: { out: (t: string) => void (out += t), err: (t: string) => void (err += t) },
    get out() {
      return out;
    },
    get err() {
      return err;
    },
  };
}

const work = mkdtempSync(join(tmpdir(), 'fedstack-cli-'));
after(() => rmSync(work, { recursive: true, force: true }));

describe('fedstack validate', () => {
  it('accepts the embedded default topology with exit 0', async () => {
    const c = capture();
    assert.equal(await run(['validate'], c.io), 0);
    assert.match(c.out, /valid/);
  });

  it('prints every error as FILE:LINE:COL: path: problem and exits 2', async () => {
    const c = capture();
    const file = join(BAD_DIR, 'duplicate-endpoints.bad.yaml');
    assert.equal(await run(['validate', '-t', file], c.io), 2);
    assert.match(
      c.err,
      new RegExp(
        `^${file.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}:\\d+:\\d+: bigRegions\\[0\\]\\.regions\\[0\\]\\.metaClusters\\[1\\]\\.endpoint: duplicate endpoint`,
        'm',
      ),
    );
  });

  it('exits 2 for a file that does not exist, naming it', async () => {
    const c = capture();
    assert.equal(await run(['validate', '-t', join(work, 'nope.yaml')], c.io), 2);
    assert.match(c.err, /nope\.yaml: cannot read: ENOENT/);
  });

  it('checks what the local profile needs when asked', async () => {
    const c = capture();
    assert.equal(await run(['validate', '--profile', 'local'], c.io), 2);
    assert.match(c.err, /central\.replicas\[0\]\.endpoint: is required by the local profile/);
  });
});

describe('fedstack render', () => {
  it('writes the documented tree', async () => {
    const out = join(work, 'tree');
    const c = capture();
    assert.equal(await run(['render', '-o', out], c.io), 0, c.err);
    assert.ok(existsSync(join(out, 'edge/mc-hz-01/prometheus.yml')));
    assert.ok(existsSync(join(out, 'edge/mc-hz-01/rules.yml')));
    assert.ok(existsSync(join(out, 'cascade/china/prometheus.yml')));
    assert.ok(existsSync(join(out, 'central/central-b/rules.yml')));
  });

  it('leaves DIR untouched when the topology is bad (exit 2)', async () => {
    const out = join(work, 'kept');
    mkdirSync(out);
    writeFileSync(join(out, 'marker'), 'previous render');
    const c = capture();
    assert.equal(
      await run(['render', '-t', join(BAD_DIR, 'central-not-subset.bad.yaml'), '-o', out], c.io),
      2,
    );
    assert.deepEqual(readdirSync(out), ['marker']);
    assert.equal(readFileSync(join(out, 'marker'), 'utf8'), 'previous render');
    assert.deepEqual(
      readdirSync(work).filter((n) => n.includes('.tmp-')),
      [],
      'no temp dir left behind',
    );
  });

  it('replaces a previous render whole (no stale files survive)', async () => {
    const out = join(work, 'replace');
    mkdirSync(join(out, 'edge/gone'), { recursive: true });
    writeFileSync(join(out, 'edge/gone/prometheus.yml'), 'old');
    assert.equal(await run(['render', '-o', out], capture().io), 0);
    assert.equal(existsSync(join(out, 'edge/gone')), false);
  });

  it('refuses an unknown profile with exit 2', async () => {
    const c = capture();
    assert.equal(await run(['render', '-o', join(work, 'x'), '--profile', 'docker'], c.io), 2);
    assert.match(c.err, /Allowed choices are kubernetes, local/);
  });
});

describe('fedstack --help', () => {
  for (const argv of [['--help'], ['validate', '--help'], ['render', '--help']]) {
    it(`${argv.join(' ')} prints usage and exits 0`, async () => {
      const c = capture();
      assert.equal(await run(argv, c.io), 0);
      assert.match(c.out, /Usage: fedstack/);
    });
  }
});
