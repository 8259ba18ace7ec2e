/**
 * The Containerfile, checked as far as a machine without a container engine allows: parsed
 * and linted (dockerfile-ast, dockerfile-utils), held to the image's rules, and its runtime
 * stage rebuilt as a directory (what each COPY puts there: package.json, bin/, a fresh dist/,
 * the production node_modules only) in which the CLI must run validate, render, serve and a
 * promtool-checked sidecar sync, so no command needs a dev dependency at run time.
 */
import assert from 'node:assert/strict';
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe, it } from 'node:test';
import { DockerfileParser, type Instruction } from 'dockerfile-ast';
import { validate } from 'dockerfile-utils';
import { POD_SECURITY } from '../deploy/manifests/common.ts';
import { waitFor } from '../deploy/local/process.ts';

const ROOT = fileURLToPath(new URL('../', import.meta.url));
const TEXT = readFileSync(join(ROOT, 'Containerfile'), 'utf8');
const file = DockerfileParser.parse(TEXT);

/** ARG defaults before the first FROM: what `${NODE_IMAGE}` means without --build-arg. */
const ARGS = new Map(
  file.getInitialARGs().map((a) => [a.getProperty()!.getName(), a.getProperty()!.getValue() ?? '']),
);
const resolveArgs = (s: string) => s.replace(/\$\{(\w+)\}|\$(\w+)/g, (_m, a, b) => ARGS.get(a ?? b) ?? '');

interface Stage {
  readonly name: string | undefined;
  readonly image: string;
  readonly instructions: readonly Instruction[];
}

const STAGES: Stage[] = (() => {
  const out: Stage[] = [];
  for (const i of file.getInstructions()) {
    if (i.getKeyword() === 'FROM') {
      const from = file.getFROMs().find((f) => f.getRange().start.line === i.getRange().start.line)!;
      out.push({ name: from.getBuildStage() ?? undefined, image: resolveArgs(from.getImage() ?? ''), instructions: [] });
    } else if (out.length > 0) {
      (out[out.length - 1]!.instructions as Instruction[]).push(i);
    }
  }
  return out;
})();
const FINAL = STAGES[STAGES.length - 1]!;
const keyword = (s: Stage, k: string) => s.instructions.filter((i) => i.getKeyword() === k);
const args = (i: Instruction) => i.getArguments().map((a) => a.getValue());
const copies = (s: Stage) =>
  keyword(s, 'COPY').map((i) => {
    const a = args(i).filter((x) => !x.startsWith('--'));
    const from = /--from=(\S+)/.exec(i.getTextContent())?.[1];
    return { from, sources: a.slice(0, -1), dest: a[a.length - 1]! };
  });
const stage = (name: string) => STAGES.find((s) => s.name === name)!;

describe('Containerfile', () => {
  it('parses and lints clean (dockerfile-utils)', () => {
    assert.deepEqual(
      validate(TEXT).map((d) => `${d.range.start.line + 1}: ${d.message}`),
      [],
    );
  });

  it('is multi-stage: build, production dependencies and promtool apart from the runtime image', () => {
    assert.deepEqual(
      STAGES.map((s) => s.name),
      ['build', 'deps', 'promtool', undefined],
    );
  });

  it('pins every base image to an exact version (no latest, no floating major), Node 20', () => {
    for (const s of STAGES) {
      assert.match(s.image, /^[\w./-]+(:\d+\.\d+\.\d+[\w.-]*|@sha256:[0-9a-f]{64})$/, `${s.name ?? 'final'}: ${s.image}`);
      assert.doesNotMatch(s.image, /:latest/);
    }
    assert.match(FINAL.image, /^node:20\.\d+\.\d+-/);
  });

  it('runs as the non-root numeric user the pods run as (runAsNonRoot can check it)', () => {
    const users = keyword(FINAL, 'USER').map((i) => args(i).join(' '));
    assert.equal(users.length, 1);
    assert.equal(users[0], `${POD_SECURITY.runAsUser}:${POD_SECURITY.runAsGroup}`);
    assert.notEqual(POD_SECURITY.runAsUser, 0);
  });

  it('copies production dependencies only: node_modules from a stage that ran npm ci --omit=dev, dist/ from the build', () => {
    const finalCopies = copies(FINAL);
    const modules = finalCopies.filter((c) => c.dest.replace(/\/$/, '').endsWith('node_modules'));
    assert.equal(modules.length, 1);
    const deps = stage(modules[0]!.from!);
    const npm = keyword(deps, 'RUN').map((i) => i.getTextContent());
    assert.ok(npm.some((r) => /npm ci\b.*--omit=dev/.test(r)), npm.join('\n'));
    assert.ok(!npm.some((r) => /npm (ci|install)\b(?!.*--omit=dev)/.test(r)), 'every npm ci there omits dev');
    assert.deepEqual(
      finalCopies.filter((c) => c.from === 'build').map((c) => [c.sources, c.dest]),
      [[['/src/dist'], './dist']],
      'nothing but dist/ comes from the stage that has the dev dependencies',
    );
    assert.deepEqual(keyword(FINAL, 'RUN'), [], 'no install in the runtime image');
  });

  it('puts promtool on PATH, from the Debian prometheus package this machine tests with', () => {
    const promtool = copies(FINAL).find((c) => c.dest === '/usr/local/bin/promtool');
    assert.ok(promtool, 'promtool is copied to /usr/local/bin');
    const source = stage(promtool.from!);
    assert.ok(
      keyword(source, 'RUN').some((i) => /apt-get install .*"prometheus=\$\{PROMETHEUS_DEB_VERSION\}"/.test(i.getTextContent())),
    );
    const tested = execFileSync('dpkg-query', ['-W', '-f=${Version}', 'prometheus'], { encoding: 'utf8' });
    assert.equal(ARGS.get('PROMETHEUS_DEB_VERSION'), tested);
  });

  it('starts the CLI from the runtime tree, serve by default', () => {
    assert.deepEqual(args(keyword(FINAL, 'ENTRYPOINT')[0]!), ['["node",', '"/app/bin/fedstack.js"]']);
    assert.deepEqual(args(keyword(FINAL, 'CMD')[0]!), ['["serve"]']);
    assert.deepEqual(args(keyword(FINAL, 'WORKDIR')[0]!), ['/app']);
  });
});

describe('the runtime image as a directory', () => {
  // Outside the checkout, so nothing resolves from its node_modules (which has the dev tools).
  const app = join(mkdtempSync(join(tmpdir(), 'fedstack-image-')), 'app');
  after(() => rmSync(join(app, '..'), { recursive: true, force: true }));
  const fedstack = (argv: string[]) =>
    spawnSync(process.execPath, [join(app, 'bin', 'fedstack.js'), ...argv], { encoding: 'utf8', cwd: app });

  before(() => {
    // What the final stage's COPY lines put there, stage by stage.
    const expected = copies(FINAL).map((c) => `${c.from ?? 'context'}:${c.sources.join(',')}`);
    assert.deepEqual(expected, [
      'context:package.json',
      'context:bin/',
      'deps:/app/node_modules',
      'build:/src/dist',
      'promtool:/usr/bin/promtool',
    ]);
    mkdirSync(app, { recursive: true });
    cpSync(join(ROOT, 'package.json'), join(app, 'package.json'));
    cpSync(join(ROOT, 'bin'), join(app, 'bin'), { recursive: true });
    // deps: npm ci --omit=dev installs the lockfile's non-dev packages; hard links, same files.
    const lock = JSON.parse(readFileSync(join(ROOT, 'package-lock.json'), 'utf8')) as {
      packages: Record<string, { dev?: boolean }>;
    };
    const production = Object.entries(lock.packages)
      .filter(([path, p]) => path !== '' && p.dev !== true && !path.slice('node_modules/'.length).includes('node_modules/'))
      .map(([path]) => path);
    execFileSync('cp', ['-al', '--parents', ...production, app], { cwd: ROOT });
    // build: npm run build.
    execFileSync(process.execPath, ['--import', 'tsx', join(ROOT, 'scripts', 'build.ts'), '--out', join(app, 'dist')], {
      cwd: ROOT,
      stdio: 'pipe',
    });
  });

  it('has no dev dependency to lean on (typescript, tsx, eslint are absent)', () => {
    for (const dev of ['typescript', 'tsx', 'eslint', 'dockerfile-ast'])
      assert.equal(spawnSync('test', ['-e', join(app, 'node_modules', dev)]).status, 1, dev);
  });

  it('validates and renders the embedded example (kubernetes-models, the Grafana SDK and all)', () => {
    const v = fedstack(['validate']);
    assert.equal(v.status, 0, v.stderr);
    assert.equal(v.stdout, 'examples/default-topology.yaml: valid\n');
    const r = fedstack(['render', '-o', join(app, '..', 'out')]);
    assert.equal(r.status, 0, r.stderr);
  });

  it('serves, with the alert bridge, until SIGTERM', async () => {
    const secrets = join(app, '..', 'secrets');
    mkdirSync(secrets);
    const child = spawn(
      process.execPath,
      [join(app, 'bin', 'fedstack.js'), 'serve', '--port=0', `--outbox-dir=${join(app, '..', 'outbox')}`, `--secrets-dir=${secrets}`],
      { cwd: app, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let out = '';
    let err = '';
    child.stdout.on('data', (c: Buffer) => (out += c.toString()));
    child.stderr.on('data', (c: Buffer) => (err += c.toString()));
    const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
    try {
      const url = await waitFor(() => /fedstack service at (http:\/\/\S+) /.exec(out)?.[1], {
        timeoutMs: 30_000,
        what: `the service to listen (stderr: ${err})`,
      });
      assert.equal((await fetch(`${url}/healthz`)).status, 200);
      child.kill('SIGTERM');
      assert.equal(await exited, 0, err);
    } finally {
      child.kill('SIGKILL');
    }
  });

  it('syncs an edge config once through promtool, as the init container does', () => {
    const config = join(app, '..', 'config');
    const live = join(app, '..', 'live');
    mkdirSync(config);
    writeFileSync(join(config, 'prometheus.yml'), 'global: { scrape_interval: 30s }\n');
    const r = fedstack([
      'sidecar',
      '--once',
      `--config-dir=${config}`,
      `--live-dir=${live}`,
      '--prometheus-url=http://127.0.0.1:1',
      '--promtool-path=promtool',
    ]);
    assert.equal(r.status, 0, r.stderr);
    assert.equal(readFileSync(join(live, 'prometheus.yml'), 'utf8'), 'global: { scrape_interval: 30s }\n');
  });
});
