/**
 * Rendered output is deterministic, matches the reviewed golden files, and every Prometheus
 * file passes the real checkers (promtool; vmagent for kubernetes_sd, see support/promcheck.ts).
 */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { GOLDEN_CASES, goldenDir, renderGoldenCase, renderGoldenTree } from './golden-cases.ts';
import {
  checkAlertmanagerConfig,
  checkPrometheusConfig,
  checkRules,
  testRules,
} from './support/promcheck.ts';

function listFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const p = join(dir, name);
    return statSync(p).isDirectory() ? listFiles(p) : [p];
  });
}

for (const c of GOLDEN_CASES) {
  describe(`golden ${c.name}`, () => {
    const bundle = renderGoldenCase(c);
    const tree = renderGoldenTree(c);

    it('keeps at least one file', () => assert.ok(bundle.size > 0));

    it('renders byte-identical output twice', () => {
      const again = renderGoldenCase(c);
      assert.deepEqual([...again.entries()], [...bundle.entries()]);
    });

    it('matches the golden files exactly (regenerate with npm run test:update)', () => {
      const dir = goldenDir(c);
      const onDisk = listFiles(dir)
        .map((f) => relative(dir, f))
        .sort();
      assert.deepEqual([...bundle.keys()].sort(), onDisk);
      for (const [path, text] of bundle) assert.equal(text, readFileSync(join(dir, path), 'utf8'), path);
    });

    for (const [path, text] of bundle) {
      if (path.endsWith('/prometheus.yml')) {
        it(`${path} passes promtool check config`, async () => {
          const rules = tree.get(join(dirname(path), 'rules.yml'));
          const result = await checkPrometheusConfig(text, rules === undefined ? {} : { 'rules.yml': rules });
          assert.ok(result.ok, result.output);
        });
      }
      if (path === 'alerting/alertmanager.yml') {
        it(`${path} passes amtool check-config`, async () => {
          const templates = Object.fromEntries(
            [...tree]
              .filter(([p]) => p.startsWith('alerting/templates/'))
              .map(([p, t]) => [p.slice('alerting/'.length), t]),
          );
          assert.ok(Object.keys(templates).length > 0, 'templates are rendered');
          const result = await checkAlertmanagerConfig(text, templates);
          assert.ok(result.ok, result.output);
          assert.match(result.output, /SUCCESS/);
          // amtool reads the templates from where alertmanager.yml points, as production does:
          // a broken template must fail the check, not pass because nothing was read.
          const broken = Object.fromEntries(
            Object.entries(templates).map(([p, t]) => [p, `${t}\n{{ define "broken" }}`]),
          );
          const refused = await checkAlertmanagerConfig(text, broken);
          assert.ok(!refused.ok, `a broken template passed amtool: ${refused.output}`);
        });
      }
      if (path.endsWith('/rules.yml')) {
        it(`${path} passes promtool check rules`, async () => {
          const result = await checkRules(text);
          assert.ok(result.ok, result.output);
        });
      }
    }
  });
}

describe('promtool test rules', () => {
  const dir = fileURLToPath(new URL('./promtool/', import.meta.url));
  for (const file of readdirSync(dir).filter((f) => f.endsWith('.test.yml'))) {
    it(`${file} passes`, async () => {
      const result = await testRules(file, dir);
      assert.ok(result.ok, result.output);
      assert.match(result.output, /SUCCESS/);
    });
  }

  it('every rendered rule file with alert rules has a promtool test', () => {
    const tested = readdirSync(dir)
      .filter((f) => f.endsWith('.test.yml'))
      .flatMap((f) =>
        [...readFileSync(join(dir, f), 'utf8').matchAll(/^\s+- (\.\.\/golden\/\S+)$/gm)].map((m) => m[1]!),
      );
    for (const c of GOLDEN_CASES) {
      for (const [path, text] of renderGoldenCase(c)) {
        if (!path.endsWith('/rules.yml') || !/^\s+- alert: /m.test(text)) continue;
        const rel = relative(dir, join(goldenDir(c), path));
        // Replicas render identical rules; one tested replica per golden case covers them.
        const replicaRules = [...renderGoldenCase(c).entries()]
          .filter(([, t]) => t === text)
          .map(([p]) => relative(dir, join(goldenDir(c), p)));
        assert.ok(
          replicaRules.some((r) => tested.includes(r)),
          `no promtool test covers ${rel}`,
        );
      }
    }
  });
});
