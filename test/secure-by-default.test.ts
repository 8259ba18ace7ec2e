import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import YAML from 'yaml';
import { run } from '../cli/main.ts';
import { JOB } from '../common/conventions.ts';
import { renderTree } from '../render/emit.ts';
import { createPlan } from '../render/plan.ts';
import { defaultTopology } from './server/helpers.ts';

const work = mkdtempSync(join(tmpdir(), 'fedstack-secure-'));
after(() => rmSync(work, { recursive: true, force: true }));

async function cli(...argv: string[]) {
  let out = '';
  let err = '';
  const code = await run(argv, { out: (t) => (out += t), err: (t) => (err += t) });
  return { code, out, err };
}

const BASE = `apiVersion: fedstack/v1
kind: Topology
metadata: { name: t }
central: { replicas: [{ name: central-a, zone: z1 }, { name: central-b, zone: z2 }] }
alertmanager: { replicas: [{ name: am-0, zone: z1 }] }
bigRegions:
  - name: china
    cascade: { endpoint: cascade.example.com:9090 }
    regions: [{ name: cn-hangzhou, metaClusters: [{ name: mc-hz-01, endpoint: 10.0.0.1:9090 }] }]
`;

function file(name: string, text: string): string {
  const p = join(work, name);
  writeFileSync(p, text);
  return p;
}

describe('the kubernetes profile is secure unless told otherwise', () => {
  it('refuses a topology without security.federation at a FILE:LINE:COL, with the section to add', async () => {
    const p = file('bare.yaml', `# a comment first\n${BASE}`);
    for (const argv of [
      ['validate', '-t', p],
      ['render', '-t', p, '-o', join(work, 'out-bare')],
    ]) {
      const r = await cli(...argv);
      assert.equal(r.code, 2, argv[0]);
      const lines = r.err.trimEnd().split('\n');
      assert.equal(lines.length, 2, r.err);
      assert.match(
        lines[0]!,
        new RegExp(
          `^${p.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}:2:1: security\\.federation: required for the kubernetes profile .*: add security: \\{ federation: \\{ tls: .*basicAuth: .* \\} \\}.*insecure: true`,
        ),
      );
    }
  });

  it('shows a section that, pasted into the file, makes it valid', async () => {
    const r = await cli('validate', '-t', file('bare2.yaml', BASE));
    const snippet = /add (security: \{ federation: .*? \} \} \} \}) \(/.exec(r.err)?.[1];
    assert.ok(snippet, r.err);
    const fixed = await cli('validate', '-t', file('fixed.yaml', `${BASE}${snippet}\n`));
    assert.equal(fixed.code, 0, fixed.err);
    assert.equal(fixed.err, '');
  });

  it('accepts the same topology for the local profile, which the local stack secures itself', async () => {
    const p = file(
      'local.yaml',
      BASE.replace('cascade.example.com:9090', '127.0.0.1:9091')
        .replace(
          '{ name: central-a, zone: z1 }, { name: central-b, zone: z2 }',
          '{ name: central-a, zone: z1, endpoint: 127.0.0.1:9092 }, { name: central-b, zone: z2, endpoint: 127.0.0.1:9093 }',
        )
        .replace(
          '{ name: am-0, zone: z1 }',
          '{ name: am-0, zone: z1, endpoint: 127.0.0.1:9094, clusterEndpoint: 127.0.0.1:9095 }',
        ),
    );
    const r = await cli('validate', '-t', p, '--profile', 'local');
    assert.equal(r.code, 0, r.err);
  });

  it('accepts an explicit opt-out, and warns about it at every validate and render', async () => {
    const p = file('insecure.yaml', `${BASE}security:\n  federation: { insecure: true }\n`);
    for (let i = 0; i < 2; i++) {
      for (const argv of [
        ['validate', '-t', p],
        ['render', '-t', p, '-o', join(work, `out-insecure-${i}`)],
      ]) {
        const r = await cli(...argv);
        assert.equal(r.code, 0, r.err);
        assert.match(
          r.err,
          /^warning: .*insecure\.yaml:\d+:\d+: security\.federation\.insecure: federation is not protected: \/federate is served over plain HTTP without authentication/m,
          `${argv[0]} run ${i + 1}`,
        );
      }
    }
  });

  it('refuses an opt-out next to the protection it would turn off, and protection without TLS or authentication', async () => {
    const tls = '    tls: { serverCertSecret: t, ca: { name: c, key: ca.crt } }\n';
    const auth =
      '    basicAuth: { password: { name: a, key: password }, passwordHash: { name: a, key: password.bcrypt } }\n';
    const cases: [string, string, RegExp][] = [
      [
        'both',
        `  federation:\n    insecure: true\n${tls}`,
        /security\.federation\.insecure: insecure: true turns off the protection/,
      ],
      [
        'no TLS',
        `  federation:\n${auth}`,
        /security\.federation: tls is required for the kubernetes profile: add tls: \{ serverCertSecret:/,
      ],
      [
        'no authentication',
        `  federation:\n${tls}`,
        /security\.federation: authentication is required for the kubernetes profile: add basicAuth: .* \(or mutual TLS: tls\.clientCertSecret\)/,
      ],
    ];
    for (const [what, section, error] of cases) {
      const r = await cli('validate', '-t', file(`${what}.yaml`, `${BASE}security:\n${section}`));
      assert.equal(r.code, 2, what);
      assert.match(r.err, error, what);
    }
    const mutual = await cli(
      'validate',
      '-t',
      file(
        'mutual.yaml',
        `${BASE}security:\n  federation:\n    tls: { serverCertSecret: t, ca: { name: c, key: ca.crt }, clientCertSecret: client }\n`,
      ),
    );
    assert.equal(mutual.code, 0, `mutual TLS authenticates too: ${mutual.err}`);
  });
});

describe('the rendered kubernetes example', () => {
  it('federates over https with tls_config and basic_auth on every federation job', () => {
    const tree = renderTree(createPlan(defaultTopology(), 'kubernetes'));
    let jobs = 0;
    for (const [path, text] of tree) {
      if (!/^(cascade|central)\/[^/]+\/prometheus\.yml$/.test(path)) continue;
      const config = YAML.parse(text) as { scrape_configs: Record<string, unknown>[] };
      for (const job of config.scrape_configs.filter(
        (j) => j.job_name === JOB.federateEdge || j.job_name === JOB.federateCascade,
      )) {
        jobs++;
        assert.equal(job.scheme, 'https', path);
        assert.deepEqual(job.tls_config, {
          ca_file: '/etc/prometheus/secrets/federation/ca.crt',
          server_name: 'federation.fedstack.internal',
        });
        assert.deepEqual(job.basic_auth, {
          username: 'federate',
          password_file: '/etc/prometheus/secrets/federation/password',
        });
      }
    }
    assert.equal(jobs, 4 + 2, 'one per cascade, one per central replica');
    for (const [path, text] of tree)
      if (path.endsWith('/web-config.yml'))
        assert.match(
          text,
          /tls_server_config:\n {2}cert_file: .*\n {2}key_file: .*\nbasic_auth_users:\n {2}federate: /,
          path,
        );
  });
});
