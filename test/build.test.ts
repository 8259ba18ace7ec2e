/**
 * The compiled CLI: scripts/build.ts makes a dist/ that runs on its own (its assets included),
 * and bin/fedstack.js runs dist/ only while it is fresh (bin/dist-state.js), else the sources.
 */
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import {
  cpSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  utimesSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, describe, it } from 'node:test';
import { BUILD_INFO_FILE, distState, type BuildInfo } from '../bin/dist-state.js';
import { run } from '../cli/main.ts';

const ROOT = fileURLToPath(new URL('../', import.meta.url));
// Under the checkout, so the compiled modules resolve their packages from its node_modules.
mkdirSync(join(ROOT, '.tmp'), { recursive: true });
const work = mkdtempSync(join(ROOT, '.tmp', 'build-test-'));
after(() => rmSync(work, { recursive: true, force: true }));

async function inProcess(argv: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const code = await run(argv, { out: (t) => void (out += t), err: (t) => void (err += t) });
  return { code, out, err };
}

describe('scripts/build.ts', () => {
  const out = join(work, 'dist');
  const compiled = (argv: string[]) =>
    spawnSync(
      process.execPath,
      [
        '--input-type=module',
        '-e',
        `const { main } = await import(${JSON.stringify(join(out, 'cli', 'main.js'))}); process.exitCode = await main(${JSON.stringify(argv)});`,
      ],
      { encoding: 'utf8', cwd: work },
    );

  it('compiles the CLI to JavaScript with .js specifiers and records every input', () => {
    execFileSync(process.execPath, ['--import', 'tsx', join(ROOT, 'scripts/build.ts'), '--out', out], {
      cwd: ROOT,
      stdio: 'pipe',
    });
    const main = readFileSync(join(out, 'cli', 'main.js'), 'utf8');
    assert.match(main, /import\(["']\.\/topology-arg\.js["']\)/);
    assert.doesNotMatch(main, /\.ts["']/);
    const info = JSON.parse(readFileSync(join(out, BUILD_INFO_FILE), 'utf8')) as BuildInfo;
    const paths = info.inputs.map((i) => i.path);
    for (const p of [
      'cli/main.ts',
      'topology/load.ts',
      'tsconfig.build.json',
      'examples/default-topology.yaml',
    ])
      assert.ok(paths.includes(p), `${p} is not a recorded input`);
    assert.ok(
      !paths.some((p) => p.startsWith('test/') || p.startsWith('node_modules/')),
      'tests and packages are not inputs',
    );
  });

  it('prints the same help as the sources', async () => {
    const r = compiled(['--help']);
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.stdout, (await inProcess(['--help'])).out);
  });

  it('finds the embedded example topology next to its own modules (validate, render --profile kubernetes)', async () => {
    const v = compiled(['validate']);
    assert.equal(v.status, 0, v.stderr);
    assert.equal(v.stdout, (await inProcess(['validate'])).out);
    const r = compiled(['render', '-o', join(work, 'rendered')]);
    assert.equal(r.status, 0, r.stderr);
    assert.ok(statSync(join(work, 'rendered', 'alerting', 'alertmanager.yml')).size > 0);
  });

  it("serves the console's page and assets from dist, as fedstack up runs it", async () => {
    for (const f of readdirSync(join(ROOT, 'console', 'assets')))
      assert.equal(
        readFileSync(join(out, 'console', 'assets', f), 'utf8'),
        readFileSync(join(ROOT, 'console', 'assets', f), 'utf8'),
        f,
      );
    const r = spawnSync(
      process.execPath,
      [
        '--input-type=module',
        '-e',
        `const { ASSETS_DIR } = await import(${JSON.stringify(join(out, 'console', 'router.js'))}); console.log(ASSETS_DIR);`,
      ],
      { encoding: 'utf8', cwd: work },
    );
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.stdout.trim(), `${join(out, 'console', 'assets')}/`);
  });

  it('finds the bench calibration for capacity, as the sources do', async () => {
    const r = compiled(['capacity']);
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.stdout, (await inProcess(['capacity'])).out);
  });
});

describe('bin/fedstack.js', () => {
  /**
   * A package root with bin/ copied from the checkout, a "compiled" CLI and a "source" one that
   * each say which they are, so the choice bin/fedstack.js makes is visible.
   */
  function fakeRoot(name: string, opts: { sources: boolean; built: boolean }): string {
    const root = join(work, name);
    cpSync(join(ROOT, 'bin'), join(root, 'bin'), { recursive: true });
    const mainModule = (which: string) =>
      `export async function main(argv) { process.stdout.write(${JSON.stringify(which)} + ' ' + argv.join(' ')); return 0; }\n`;
    mkdirSync(join(root, 'dist', 'cli'), { recursive: true });
    writeFileSync(join(root, 'dist', 'cli', 'main.js'), mainModule('dist'));
    if (opts.sources) {
      mkdirSync(join(root, 'cli'), { recursive: true });
      writeFileSync(join(root, 'cli', 'main.ts'), mainModule('sources'));
      writeFileSync(join(root, 'cli', 'io.ts'), 'export const x: number = 1;\n');
    }
    if (opts.built) {
      const inputs = opts.sources
        ? ['cli/main.ts', 'cli/io.ts'].map((p) => {
            const s = statSync(join(root, p));
            return { path: p, mtimeMs: s.mtimeMs, size: s.size };
          })
        : [];
      const info: BuildInfo = { startedAtMs: Date.now(), inputs };
      writeFileSync(join(root, 'dist', BUILD_INFO_FILE), JSON.stringify(info));
    }
    return root;
  }
  const bin = (root: string) =>
    spawnSync(process.execPath, [join(root, 'bin', 'fedstack.js'), 'validate', '-t', 'x.yaml'], {
      encoding: 'utf8',
    });

  it('runs dist/ when it was built from the sources as they are', () => {
    const root = fakeRoot('fresh', { sources: true, built: true });
    assert.deepEqual(distState(root), { state: 'fresh' });
    const r = bin(root);
    assert.equal(r.stdout, 'dist validate -t x.yaml', r.stderr);
  });

  const staleCases: [string, (root: string) => void, RegExp][] = [
    [
      'a source edited since the build',
      (root) => writeFileSync(join(root, 'cli', 'io.ts'), 'export const x: number = 2;\n'),
      /cli\/io\.ts changed since the build/,
    ],
    [
      'a source touched (same size, new mtime), as a checkout does',
      (root) => utimesSync(join(root, 'cli', 'io.ts'), new Date(), new Date(Date.now() + 5000)),
      /cli\/io\.ts changed since the build/,
    ],
    [
      'a source replaced by an older copy (mtime back in time)',
      (root) => utimesSync(join(root, 'cli', 'io.ts'), new Date(0), new Date(0)),
      /cli\/io\.ts changed since the build/,
    ],
    ['a source deleted', (root) => rmSync(join(root, 'cli', 'io.ts')), /cli\/io\.ts is gone/],
  ];
  for (const [what, change, because] of staleCases) {
    it(`runs the sources through tsx after ${what}`, () => {
      const root = fakeRoot(what.replace(/\W+/g, '-'), { sources: true, built: true });
      change(root);
      const state = distState(root);
      assert.equal(state.state, 'stale');
      assert.match((state as { because: string }).because, because);
      const r = bin(root);
      assert.equal(r.stdout, 'sources validate -t x.yaml', r.stderr);
    });
  }

  it('runs the sources in a checkout whose build never finished (no build info)', () => {
    const root = fakeRoot('unbuilt', { sources: true, built: false });
    assert.deepEqual(distState(root), { state: 'missing' });
    assert.equal(bin(root).stdout, 'sources validate -t x.yaml');
  });

  it('runs dist/ where there are no sources at all (an installed package, the image)', () => {
    const root = fakeRoot('installed', { sources: false, built: true });
    assert.deepEqual(distState(root), { state: 'fresh' });
    assert.equal(bin(root).stdout, 'dist validate -t x.yaml');
  });
});
