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
import YAML from 'yaml';
import { defaultTopologyText } from '../examples/index.ts';
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

describe('the embedded example with the local profile', () => {
  it('names the example in one form on every error line and in the summary, then says what to do', async () => {
    const out = join(work, 'local-embedded');
    const c = capture();
    assert.equal(await run(['render', '-o', out, '--profile', 'local'], c.io), 2);
    const lines = c.err.trimEnd().split('\n');
    const hint = lines.pop()!;
    const summary = lines.pop()!;
    assert.ok(lines.length > 0);
    for (const l of lines)
      assert.match(l, /^examples\/default-topology\.yaml:\d+:\d+: \S+: is required by the local profile/);
    assert.equal(summary, `${lines.length} error(s) in examples/default-topology.yaml`);
    assert.match(hint, /`fedstack up` picks free loopback ports/);
    assert.match(hint, /copy examples\/default-topology\.yaml, give each central replica an endpoint and each Alertmanager replica an endpoint and a clusterEndpoint/);
    assert.equal(existsSync(out), false);
  });

  it('renders once the advice is followed: a copy with an address for every replica', async () => {
    const doc = YAML.parseDocument(defaultTopologyText());
    const replicas = (section: string) => (doc.getIn([section, 'replicas']) as YAML.YAMLSeq).items.length;
    for (let i = 0; i < replicas('central'); i++) doc.setIn(['central', 'replicas', i, 'endpoint'], `127.0.0.1:${19100 + i}`);
    for (let i = 0; i < replicas('alertmanager'); i++) {
      doc.setIn(['alertmanager', 'replicas', i, 'endpoint'], `127.0.0.1:${19300 + i}`);
      doc.setIn(['alertmanager', 'replicas', i, 'clusterEndpoint'], `127.0.0.1:${19310 + i}`);
    }
    const file = join(work, 'example-local.yaml');
    writeFileSync(file, doc.toString());
    const c = capture();
    assert.equal(await run(['render', '-t', file, '-o', join(work, 'local-copy'), '--profile', 'local'], c.io), 0, c.err);
    assert.ok(existsSync(join(work, 'local-copy', 'central', 'central-a', 'prometheus.yml')));
  });

  it('says valid with the same name', async () => {
    const c = capture();
    assert.equal(await run(['validate'], c.io), 0);
    assert.equal(c.out, 'examples/default-topology.yaml: valid\n');
  });
});

describe('numeric flags of the long-running commands', () => {
  const cases: [string, string[], RegExp][] = [
    ['up --interval 0s (every tier would scrape in a loop)', ['up', '--interval', '0s'], /--interval: want a duration from 100ms to 60m/],
    ['up --interval past an hour', ['up', '--interval', '99999999999m'], /--interval: want a duration from 100ms to 60m/],
    ['up --max-guest-clusters 1e309', ['up', '--max-guest-clusters', '1e309'], /--max-guest-clusters: want a whole number, got "1e309"/],
    ['simulate --max-guest-clusters 1e20 (past exact integers)', ['simulate', '--max-guest-clusters', '1e20'], /--max-guest-clusters: want a whole number, got "1e20"/],
    ['simulate --max-guest-clusters -1', ['simulate', '--max-guest-clusters', '-1'], /--max-guest-clusters: want a whole number, got "-1"/],
  ];
  for (const [what, argv, message] of cases) {
    it(`refuses ${what} with exit 2 before starting anything`, async () => {
      const c = capture();
      assert.equal(await run(argv, c.io), 2);
      assert.match(c.err, message);
      assert.equal(c.out, '');
    });
  }
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
