import { test } from 'node:test';
import assert from 'node:assert/strict';
import { run } from '../../cli/main.ts';
import { fixturePath } from './helpers.ts';

/** The real command table of cli/main.ts, with captured output. */
async function cli(argv: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const io = { out: (t: string) => void (out += t), err: (t: string) => void (err += t) };
  const code = await run(argv, io);
  return { code, out, err };
}

test('explain prints one line per tier for the embedded topology', async () => {
  const r = await cli(['explain', 'cluster:etcd_server_has_leader:min', 'meta_cluster=mc-hz-01', 'cluster_id=c-7']);
  assert.equal(r.code, 0, r.err);
  assert.equal(r.err, '');
  const lines = r.out.trimEnd().split('\n');
  assert.equal(lines.length, 5);
  assert.match(lines[4]!, /=> reaches central as cluster:etcd_server_has_leader:min\{big_region="china", cluster_id="c-7", meta_cluster="mc-hz-01", region="cn-hangzhou"\}/);
});

test('explain --json prints the result object for scripts', async () => {
  const r = await cli(['explain', '--json', 'apiserver_request_total', 'job=apiserver']);
  assert.equal(r.code, 0);
  const json = JSON.parse(r.out);
  assert.equal(json.reachesCentral, false);
  assert.deepEqual(json.steps.map((s: { status: string }) => s.status), ['scraped', 'dropped', 'not-reached']);
});

test('explain with a malformed label or metric exits 2 with the reason', async () => {
  assert.deepEqual(await cli(['explain', 'up', 'job']), { code: 2, out: '', err: 'fedstack explain: invalid label "job" (want name=value)\n' });
  assert.deepEqual(await cli(['explain', 'a-b']), { code: 2, out: '', err: 'fedstack explain: invalid metric name "a-b"\n' });
});

test('explain and graph read -t FILE', async () => {
  const r = await cli(['explain', '-t', fixturePath('small.good.yaml'), 'meta_cluster:kube_node:count', 'meta_cluster=mc-bj-01']);
  assert.equal(r.code, 0, r.err);
  assert.match(r.out, /adds big_region="china", region="cn-beijing", meta_cluster="mc-bj-01"/);
  const g = await cli(['graph', '-t', fixturePath('small.good.yaml')]);
  assert.equal(g.code, 0);
  assert.equal(g.out.split('\n').filter((l) => l.includes('-->')).length, 3 + 2);
  const missing = await cli(['graph', '-t', '/nonexistent/topology.yaml']);
  assert.equal(missing.code, 2);
  assert.match(missing.err, /^\/nonexistent\/topology.yaml: cannot read: ENOENT/);
});

test('graph prints Mermaid by default and SVG with --format svg', async () => {
  const m = await cli(['graph']);
  assert.equal(m.code, 0);
  assert.match(m.out, /^flowchart BT\n/);
  const s = await cli(['graph', '--format', 'svg']);
  assert.equal(s.code, 0);
  assert.match(s.out, /^<svg /);
  assert.equal((await cli(['graph', '--format', 'png'])).code, 2);
});
