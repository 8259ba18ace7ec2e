/**
 * What the victoriametrics backend renders, checked by the real binaries (Debian's
 * VictoriaMetrics 1.79.5 and Prometheus 2.42): every vmalert rule file passes `vmalert -dryRun
 * -rule.validateExpressions -rule.validateTemplates`, the backend's scrape config passes
 * `vmagent -dryRun` with strict parsing, every cascade config with its remote_write passes
 * promtool, and the single node and vmalert accept the command lines the local stack runs.
 * The Kubernetes cluster (vmstorage per zone with volumes, vminsert's replication) is checked
 * on the validated manifests.
 */
import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import YAML from 'yaml';
import { BINARY } from '../../deploy/local/binaries.ts';
import { renderTree } from '../../render/emit.ts';
import { validateTopology } from '../../render/validate.ts';
import type { RenderPlan } from '../../render/plan.ts';
import { vmalertArgs, victoriaMetricsArgs } from '../../common/vmflags.ts';
import { checkPrometheusConfig } from '../support/promcheck.ts';
import { explain } from '../../render/explain.ts';

const exec = promisify(execFile);
const here = (p: string) => fileURLToPath(new URL(p, import.meta.url));
const CASES = [
  { file: here('../../examples/victoriametrics.yaml'), profile: 'local' },
  { file: here('../fixtures/scenarios/central-victoriametrics.good.yaml'), profile: 'kubernetes' },
] as const;

/** Runs a binary; resolves with its exit code and output (never rejects). */
async function run(cmd: string, args: string[], cwd?: string): Promise<{ code: number; output: string }> {
  try {
    const { stdout, stderr } = await exec(cmd, args, { cwd, timeout: 30_000 });
    return { code: 0, output: stdout + stderr };
  } catch (e) {
    const err = e as { code?: number; stdout?: string; stderr?: string; message: string };
    return {
      code: typeof err.code === 'number' ? err.code : 1,
      output: `${err.stdout ?? ''}${err.stderr ?? ''}${err.message}`,
    };
  }
}

function rendered(
  file: string,
  profile: 'local' | 'kubernetes',
): { plan: RenderPlan; dir: string; tree: Map<string, string> } {
  const r = validateTopology(readFileSync(file, 'utf8'), file, { profile });
  if (!r.ok) throw new Error(JSON.stringify(r.errors));
  const tree = renderTree(r.plan);
  const dir = mkdtempSync(join(tmpdir(), 'fedstack-vm-'));
  for (const [path, text] of tree) {
    mkdirSync(dirname(join(dir, path)), { recursive: true });
    writeFileSync(join(dir, path), text);
  }
  return { plan: r.plan, dir, tree };
}

const vmalertCheck = (rules: string, cwd?: string) =>
  run(
    BINARY.vmalert,
    [
      `-rule=${rules}`,
      '-dryRun',
      '-rule.validateExpressions',
      '-rule.validateTemplates',
      '-datasource.url=http://127.0.0.1:1',
      '-loggerLevel=ERROR',
    ],
    cwd,
  );

for (const c of CASES) {
  describe(`the victoriametrics backend of ${c.file.split('/').slice(-2).join('/')} (${c.profile})`, () => {
    const { plan, dir, tree } = rendered(c.file, c.profile);
    after(() => rmSync(dir, { recursive: true, force: true }));
    const paths = [...tree.keys()];

    it('renders a vmalert rules file per central replica, and no central Prometheus', () => {
      for (const r of plan.topology.central.replicas) {
        assert.ok(tree.has(`central/${r.name}/rules.yml`), r.name);
        assert.ok(!tree.has(`central/${r.name}/prometheus.yml`), r.name);
      }
    });

    it('has every vmalert rules file pass vmalert -dryRun -rule.validateExpressions -rule.validateTemplates', async () => {
      for (const p of paths.filter((x) => /^central\/[^/]+\/rules\.yml$/.test(x))) {
        const r = await vmalertCheck(join(dir, p));
        assert.equal(r.code, 0, `${p}: ${r.output}`);
      }
    });

    it('has the backend scrape config pass vmagent -dryRun with strict parsing', async () => {
      const r = await run('vmagent', [
        `-promscrape.config=${join(dir, 'victoriametrics/scrape.yml')}`,
        '-promscrape.config.strictParse',
        '-dryRun',
        '-loggerLevel=ERROR',
      ]);
      assert.equal(r.code, 0, r.output);
    });

    it('has every cascade config with its remote_write pass promtool', async () => {
      for (const b of plan.topology.bigRegions) {
        const config = tree.get(`cascade/${b.name}/prometheus.yml`)!;
        assert.equal((YAML.parse(config) as { remote_write: unknown[] }).remote_write.length, 1);
        const r = await checkPrometheusConfig(config, {
          'rules.yml': tree.get(`cascade/${b.name}/rules.yml`)!,
        });
        assert.ok(r.ok, r.output);
      }
    });

    it('keeps every cascade external label on its remote_write (no relabel writes big_region)', () => {
      for (const b of plan.topology.bigRegions) {
        const config = YAML.parse(tree.get(`cascade/${b.name}/prometheus.yml`)!) as {
          global: { external_labels: Record<string, string> };
          remote_write: {
            write_relabel_configs: { target_label?: string; regex?: string; action?: string }[];
          }[];
        };
        assert.equal(config.global.external_labels.big_region, b.name);
        for (const r of config.remote_write[0]!.write_relabel_configs)
          assert.ok(
            r.target_label !== 'big_region' &&
              !(r.action === 'labeldrop' && /big_region/.test(r.regex ?? '')),
            JSON.stringify(r),
          );
      }
    });

    if (c.profile === 'local') {
      it('runs command lines the real victoria-metrics and vmalert accept', async () => {
        const vm = plan.victoriaMetrics()!.single!;
        const data = mkdtempSync(join(tmpdir(), 'fedstack-vm-data-'));
        try {
          const single = await run(
            BINARY.victoriaMetrics,
            [...victoriaMetricsArgs({ ...vm, storageDataPath: data }), '-promscrape.config.dryRun'],
            dir,
          );
          assert.equal(single.code, 0, single.output);
        } finally {
          rmSync(data, { recursive: true, force: true });
        }
        for (const r of plan.topology.central.replicas) {
          const v = await run(
            BINARY.vmalert,
            [...vmalertArgs(plan.vmalert(r.name)!.flags), '-dryRun', '-loggerLevel=ERROR'],
            dir,
          );
          assert.equal(v.code, 0, `${r.name}: ${v.output}`);
        }
      });
    } else {
      it('spreads vmstorage over the central zones with a volume per node, and vminsert alternates zones', () => {
        const objects = YAML.parseAllDocuments(tree.get('victoriametrics/manifests.yaml')!).map((d) =>
          d.toJS(),
        );
        const storage = objects.filter((o) => o.kind === 'StatefulSet');
        assert.deepEqual(
          storage.map((s) => [
            s.metadata.name,
            s.spec.replicas,
            s.spec.template.spec.nodeSelector['topology.kubernetes.io/zone'],
            s.spec.volumeClaimTemplates[0].spec.resources.requests.storage,
          ]),
          [
            ['vmstorage-central-a', 2, 'zone-a', '200Gi'],
            ['vmstorage-central-b', 2, 'zone-b', '200Gi'],
          ],
        );
        const vminsert = objects.find((o) => o.kind === 'Deployment' && o.metadata.name === 'vminsert');
        const args: string[] = vminsert.spec.template.spec.containers[0].args;
        assert.deepEqual(
          args
            .filter((a) => a.startsWith('-storageNode='))
            .map((a) => /vmstorage-(central-[ab])-/.exec(a)![1]),
          ['central-a', 'central-b', 'central-a', 'central-b'],
        );
        assert.ok(args.includes('-replicationFactor=2'));
        for (const name of ['vminsert', 'vmselect'])
          assert.equal(
            objects.find((o) => o.kind === 'Deployment' && o.metadata.name === name).spec.template.spec
              .topologySpreadConstraints[0].topologyKey,
            'topology.kubernetes.io/zone',
          );
        // vmauth is the cascades' only way in: a LoadBalancer open to their egress only.
        const lb = objects.find((o) => o.kind === 'Service' && o.spec.type === 'LoadBalancer');
        assert.equal(lb.metadata.name, 'vmauth');
        assert.deepEqual(lb.spec.loadBalancerSourceRanges, ['18.184.0.10/32', '47.96.0.10/32']);
      });

      it('protects the cascades remote_write like federation: TLS to vmauth with the federation basic auth', () => {
        const rw = (
          YAML.parse(tree.get('cascade/china/prometheus.yml')!) as { remote_write: Record<string, unknown>[] }
        ).remote_write[0]!;
        assert.match(rw.url as string, /^https:\/\/vm-write\.example\.com:8427\/api\/v1\/write$/);
        assert.deepEqual(rw.basic_auth, {
          username: 'federate',
          password_file: '/etc/prometheus/secrets/federation/password',
        });
        assert.equal(
          (rw.tls_config as { ca_file: string }).ca_file,
          '/etc/prometheus/secrets/federation/ca.crt',
        );
        const auth = tree.get('victoriametrics/auth.yml')!;
        assert.ok(
          !auth.includes('password:') || auth.includes('%{FEDSTACK_FEDERATION_PASSWORD}'),
          'no literal password',
        );
      });
    }

    it('explains a global series as shipped by the remote_write hop, and a cascade-only one as dropped', () => {
      const kept = explain(plan, 'meta_cluster:apiserver_request_errors:ratio_rate5m');
      assert.ok(kept.reachesCentral);
      const note = kept.steps.find((st) => st.tier === 'central')!.note;
      assert.match(note, /remote_write to VictoriaMetrics at \S+; its write_relabel_configs/);
      // Only the last hop changed: edge → cascade is still federation.
      const atCascade = explain(plan, 'cluster:etcd_server_has_leader:min').steps.find(
        (st) => st.tier === 'cascade',
      )!;
      assert.doesNotMatch(atCascade.note, /remote_write/);
      const dropped = explain(plan, 'cluster:apiserver_request:rate5m', { code: '200' });
      assert.equal(dropped.reachesCentral, false);
    });

    it('rejects a broken rule through the same vmalert check (the check can fail)', async () => {
      const bad = join(dir, 'bad-rules.yml');
      writeFileSync(bad, 'groups:\n  - name: g\n    rules:\n      - alert: A\n        expr: sum(\n');
      const r = await vmalertCheck(bad);
      assert.notEqual(r.code, 0);
      assert.match(r.output, /bad prometheus expr|unexpected/);
    });
  });
}

describe('the victoriametrics backend with federation security opted out (kubernetes)', () => {
  const file = here('../fixtures/scenarios/central-victoriametrics.good.yaml');
  // The kubernetes profile takes unprotected federation only as an explicit opt-out.
  const text = readFileSync(file, 'utf8').replace(
    /\nsecurity:[\s\S]*$/,
    '\nsecurity: { federation: { insecure: true } }\n',
  );
  const r = validateTopology(text, file, { profile: 'kubernetes' });
  if (!r.ok) throw new Error(JSON.stringify(r.errors));
  const tree = renderTree(r.plan);

  it('has the cascades write to vminsert under tenant 0, through a LoadBalancer open to their egress only', () => {
    const rw = (YAML.parse(tree.get('cascade/china/prometheus.yml')!) as { remote_write: { url: string }[] })
      .remote_write[0]!;
    assert.equal(rw.url, 'http://vm-write.example.com:8427/insert/0/prometheus/api/v1/write');
    assert.ok(!tree.has('victoriametrics/auth.yml'));
    const objects = YAML.parseAllDocuments(tree.get('victoriametrics/manifests.yaml')!).map((d) => d.toJS());
    const lbs = objects.filter((o) => o.kind === 'Service' && o.spec.type === 'LoadBalancer');
    assert.deepEqual(
      lbs.map((o) => [o.metadata.name, o.spec.ports[0].port, o.spec.loadBalancerSourceRanges]),
      // The port the topology's endpoint names, whatever vminsert listens on inside.
      [['vminsert-write', 8427, ['18.184.0.10/32', '47.96.0.10/32']]],
    );
  });
});
