/**
 * The console's HTTP surface as the service mounts it: one answer per view, its security
 * headers, the token on actions, and the tree read from a real Prometheus standing in for
 * central (its recording rules make the series central would federate).
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import pino from 'pino';
import { Registry } from 'prom-client';
import request from 'supertest';
import { explain } from '../../render/explain.ts';
import { createPlan } from '../../render/plan.ts';
import { renderGraphSvg } from '../../cli/graph.ts';
import { HEARTBEAT_METRIC, JOB } from '../../common/conventions.ts';
import { Secret } from '../../common/secret.ts';
import { CONSOLE_CSP, consoleRouter, type ConsoleOptions } from '../../console/router.ts';
import type { RolloutAction, TreeView } from '../../console/types.ts';
import { createApp } from '../../server/app.ts';
import { RegistrationStore } from '../../server/registrations.ts';
import { staticTopologySource } from '../../server/topology-watch.ts';
import type { Topology } from '../../topology/model.ts';
import { generateFleetInput } from '../../bench/topology-gen.ts';
import { topologySchema } from '../../topology/schema.ts';
import { buildModel } from '../../topology/model.ts';
import {
  freePort,
  promQuery,
  removeTempDir,
  startProcess,
  startPrometheus,
  tempDir,
  waitFor,
  type ProcessHandle,
  type TestServer,
} from '../support/index.ts';
import { defaultTopology } from '../server/helpers.ts';

const TOKEN = 'console-test-token';
const topo = defaultTopology();

function app(
  opts: Partial<ConsoleOptions> & { token?: Secret | null; topology?: Topology; now?: () => number } = {},
) {
  return createApp({
    topologySource: staticTopologySource(opts.topology ?? topo, 'f00dfeed0001'),
    registrations: new RegistrationStore({ ttlMs: 60_000 }),
    heartbeatToken: new Secret('a-sidecar-token'),
    operatorToken: opts.token === null ? undefined : (opts.token ?? new Secret(TOKEN)),
    logger: pino({ level: 'silent' }),
    registry: new Registry(),
    now: opts.now ?? Date.now,
    extraRouters: [consoleRouter({ profile: 'kubernetes', ...opts })],
  });
}

/** Central as the console sees it: the federated series, made by recording rules. */
const CENTRAL_RULES = `groups:
  - name: federated
    interval: 1s
    rules:
      - { record: up, expr: vector(0), labels: { job: ${JOB.federateEdge}, meta_cluster: mc-hz-01 } }
      - { record: up, expr: vector(1), labels: { job: ${JOB.federateEdge}, meta_cluster: mc-hz-02 } }
      - { record: "${HEARTBEAT_METRIC}", expr: time() - 5, labels: { meta_cluster: mc-hz-02 } }
      - { record: scrape_samples_post_metric_relabeling, expr: vector(1234), labels: { job: ${JOB.federateEdge}, meta_cluster: mc-hz-02 } }
      - { record: up, expr: vector(1), labels: { job: ${JOB.federateCascade}, big_region: china } }
`;

describe('the tree, read from central', () => {
  let central: TestServer;
  let closed: string;

  before(async () => {
    central = await startPrometheus({
      configText: 'global: { evaluation_interval: 1s }\nrule_files: [rules.yml]\n',
      rulesFiles: { 'rules.yml': CENTRAL_RULES },
    });
    closed = `http://127.0.0.1:${await freePort()}`;
    await waitFor(async () => (await promQuery(central.url, HEARTBEAT_METRIC)).length > 0, {
      what: 'the recording rules at the stand-in central',
    });
  });
  after(() => central?.stop());

  const queriesAt = async (url: string) => {
    const text = await (await fetch(`${url}/metrics`)).text();
    const m = /^prometheus_http_requests_total\{code="200",handler="\/api\/v1\/query"\} (\d+)$/m.exec(text);
    return Number(m?.[1] ?? 0);
  };

  it('answers in one request, from the first replica that answers, with every node in it', async () => {
    const res = await request(app({ centralUrls: [closed, central.url] }))
      .get('/console/api/tree')
      .expect(200);
    const view = res.body as TreeView;
    assert.equal(view.source, 'central-b');
    assert.deepEqual(
      view.central.map((c) => [c.name, c.state]),
      [
        ['central-a', 'down'],
        ['central-b', 'up'],
      ],
    );
    assert.match(view.central[0]!.error!, /ECONNREFUSED|fetch failed/);
    assert.ok(view.central[1]!.series! > 0);
    const china = view.bigRegions.find((b) => b.name === 'china')!;
    const mcs = Object.fromEntries(china.regions.flatMap((r) => r.metaClusters).map((m) => [m.name, m]));
    assert.equal(mcs['mc-hz-01']!.state, 'down');
    assert.equal(mcs['mc-hz-02']!.state, 'up');
    assert.equal(mcs['mc-hz-02']!.samples, 1234);
    assert.ok(Math.abs(mcs['mc-hz-02']!.lagSeconds! - 5) < 2, `lag ${mcs['mc-hz-02']!.lagSeconds}`);
    assert.equal(mcs['mc-bj-01']!.state, 'unknown');
    assert.equal(china.cascade.state, 'up');
    assert.equal(view.bigRegions.find((b) => b.name === 'europe')!.cascade.state, 'unknown');
    assert.equal(
      view.bigRegions.flatMap((b) => b.regions.flatMap((r) => r.metaClusters)).length,
      topo.bigRegions.flatMap((b) => b.regions.flatMap((r) => r.metaClusters)).length,
    );
  });

  it('asks central once for any number of browsers within half a refresh, and again after', async () => {
    let clock = 1_900_000_000_000;
    const a = app({ centralUrls: [central.url], now: () => clock });
    const before = await queriesAt(central.url);
    await Promise.all([1, 2, 3].map(() => request(a).get('/console/api/tree').expect(200)));
    const once = (await queriesAt(central.url)) - before;
    assert.equal(once, 5, 'the five fleet queries of one reading');
    clock += 7_000; // the default topology refreshes every 15 s: still fresh
    await request(a).get('/console/api/tree').expect(200);
    assert.equal((await queriesAt(central.url)) - before, 5);
    clock += 1_000;
    await request(a).get('/console/api/tree').expect(200);
    assert.equal((await queriesAt(central.url)) - before, 10);
  });
});

describe('the tree, read from VictoriaMetrics (central.backend: victoriametrics)', () => {
  let vm: ProcessHandle;
  let vmTopo: Topology;
  let dir: string;

  before(async () => {
    dir = tempDir('fedstack-console-vm-');
    const port = await freePort();
    vm = await startProcess({
      cmd: 'victoria-metrics',
      args: [`-storageDataPath=${dir}`, `-httpListenAddr=127.0.0.1:${port}`, '-search.latencyOffset=0s'],
      readyUrl: `http://127.0.0.1:${port}/health`,
    });
    // What the cascades' remote_write would have shipped: the edges' federation, the heartbeat,
    // and the china cascade's own self-scrape (no meta_cluster).
    const ts = Date.now() - 1_000;
    const text = [
      `up{job="${JOB.federateEdge}",meta_cluster="mc-hz-01",big_region="china"} 0 ${ts}`,
      `up{job="${JOB.federateEdge}",meta_cluster="mc-hz-02",big_region="china"} 1 ${ts}`,
      `${HEARTBEAT_METRIC}{meta_cluster="mc-hz-02"} ${ts / 1000 - 5} ${ts}`,
      `scrape_samples_post_metric_relabeling{job="${JOB.federateEdge}",meta_cluster="mc-hz-02"} 1234 ${ts}`,
      `up{job="${JOB.self}",big_region="china"} 1 ${ts}`,
    ].join('\n');
    const res = await fetch(`http://127.0.0.1:${port}/api/v1/import/prometheus`, {
      method: 'POST',
      body: `${text}\n`,
    });
    assert.equal(res.status, 204);
    await waitFor(async () => (await promQuery(`http://127.0.0.1:${port}`, HEARTBEAT_METRIC)).length > 0, {
      what: 'the imported series at VictoriaMetrics',
    });
    vmTopo = {
      ...topo,
      central: {
        ...topo.central,
        backend: 'victoriametrics',
        victoriaMetrics: {
          endpoint: '127.0.0.1:1',
          queryEndpoint: `127.0.0.1:${port}`,
          replicationFactor: 1,
          vmstorage: 1,
          vminsert: 1,
          vmselect: 1,
          storageSize: '1Gi',
        },
      },
    } as Topology;
  });
  after(async () => {
    await vm?.stop();
    removeTempDir(dir);
  });

  it('reads the fleet where the vmalert pair cannot answer: VictoriaMetrics, and the cascades by their own up', async () => {
    const view = (
      await request(app({ topology: vmTopo, profile: 'local' }))
        .get('/console/api/tree')
        .expect(200)
    ).body as TreeView;
    assert.equal(view.source, 'victoriametrics');
    assert.deepEqual(
      view.central.map((c) => [c.name, c.state]),
      [['victoriametrics', 'up']],
    );
    assert.ok(view.central[0]!.series! >= 5, `series ${view.central[0]!.series}`);
    const china = view.bigRegions.find((b) => b.name === 'china')!;
    const mcs = Object.fromEntries(china.regions.flatMap((r) => r.metaClusters).map((m) => [m.name, m]));
    assert.equal(mcs['mc-hz-01']!.state, 'down');
    assert.equal(mcs['mc-hz-02']!.state, 'up');
    assert.equal(mcs['mc-hz-02']!.samples, 1234);
    assert.deepEqual(
      [china.cascade.state, china.cascade.why],
      ['up', 'its remote_write reaches VictoriaMetrics'],
    );
    const europe = view.bigRegions.find((b) => b.name === 'europe')!.cascade;
    assert.deepEqual(
      [europe.state, europe.why],
      ['unknown', 'nothing of it has reached VictoriaMetrics lately'],
    );
  });
});

describe('the console over HTTP', () => {
  it("counts every sidecar's config hash, edges', cascades' and central replicas' alike", async () => {
    const a = app({ centralUrls: ['http://127.0.0.1:1'] });
    const beat = (path: string, body: object) =>
      request(a)
        .post(path)
        .set('Authorization', 'Bearer a-sidecar-token')
        .send({ version: 'test', ...body })
        .expect(200);
    await beat('/v1/edges/mc-hz-01/heartbeat', { endpoint: '192.0.2.1:443', configHash: 'aaaa000000000001' });
    await beat('/v1/instances/cascade/china/heartbeat', { configHash: 'aaaa000000000001' });
    await beat('/v1/instances/central/central-a/heartbeat', { configHash: 'bbbb000000000002' });
    const view = (await request(a).get('/console/api/rollouts').expect(200)).body as {
      hashes: { hash: string | null; instances: number }[];
      instances: { tier: string; name: string; applied?: { configHash: string } }[];
    };
    const hashOf = (tier: string, name: string) =>
      view.instances.find((i) => i.tier === tier && i.name === name)?.applied?.configHash;
    assert.equal(hashOf('edge', 'mc-hz-01'), 'aaaa000000000001');
    assert.equal(hashOf('cascade', 'china'), 'aaaa000000000001');
    assert.equal(hashOf('central', 'central-a'), 'bbbb000000000002');
    assert.equal(hashOf('central', 'central-b'), undefined);
    assert.deepEqual(
      view.hashes.filter((h) => h.hash !== null),
      [
        { hash: 'aaaa000000000001', instances: 2 },
        { hash: 'bbbb000000000002', instances: 1 },
      ],
    );
    assert.equal(view.hashes.find((h) => h.hash === null)?.instances, view.instances.length - 3);
  });

  it('serves the page and every answer with a strict Content-Security-Policy', async () => {
    const a = app({ centralUrls: ['http://127.0.0.1:1'] });
    for (const path of [
      '/',
      '/console/assets/app.js',
      '/console/assets/console.css',
      '/console/api/rollouts',
    ]) {
      const res = await request(a).get(path).expect(200);
      assert.equal(res.headers['content-security-policy'], CONSOLE_CSP, path);
      assert.equal(res.headers['x-content-type-options'], 'nosniff', path);
      assert.equal(res.headers['x-frame-options'], 'DENY', path);
    }
    assert.match(CONSOLE_CSP, /script-src 'self';/);
    assert.doesNotMatch(CONSOLE_CSP, /unsafe|https?:/);
    const page = await request(a)
      .get('/')
      .expect('content-type', /text\/html/);
    // No inline script or style for the CSP to refuse: everything comes from console/assets.
    assert.doesNotMatch(page.text, /<script>|<style|\sstyle=|\son[a-z]+=/i);
    assert.match(page.text, /<script type="module" src="console\/assets\/app\.js"><\/script>/);
  });

  it('serves its assets but nothing outside their folder', async () => {
    const a = app();
    for (const path of [
      '/console/assets/../router.ts',
      '/console/assets/%2e%2e/router.ts',
      '/console/assets/..%2frouter.ts',
      '/console/assets/.hidden',
    ]) {
      const res = await request(a).get(path);
      assert.ok(res.status === 404 || res.status === 403, `${path}: ${res.status}`);
      assert.doesNotMatch(res.text, /createConsoleRouter/);
    }
  });

  describe('rollout actions', () => {
    const post = (a: ReturnType<typeof app>, action: string, token?: string) => {
      const r = request(a).post(`/console/api/rollouts/${action}`);
      return token === undefined ? r : r.set('Authorization', `Bearer ${token}`);
    };

    it('are refused without the service token, with the app’s own answers', async () => {
      const a = app();
      const none = await post(a, 'pause').expect(401);
      assert.equal(none.headers['www-authenticate'], 'Bearer realm="fedstack"');
      assert.deepEqual(none.body, { error: 'unauthorized', reason: 'missing bearer token' });
      assert.deepEqual((await post(a, 'abort', 'nope').expect(401)).body.reason, 'invalid token');
      const off = await post(app({ token: null }), 'pause', TOKEN).expect(503);
      assert.match(off.body.reason, /operator actions are disabled: no operator token configured/);
    });

    it('say there is nothing to act on while the service runs no staged rollout', async () => {
      const res = await post(app(), 'resume', TOKEN).expect(409);
      assert.match(res.body.reason, /nothing to resume: this service runs no staged rollout/);
    });

    it('reach the rollout when the service runs one, and only the three known actions', async () => {
      const calls: RolloutAction[] = [];
      const a = app({
        rollouts: {
          current: () => undefined,
          history: () => [],
          pause: async () => void calls.push('pause'),
          resume: async () => void calls.push('resume'),
          abort: async () => void calls.push('abort'),
        },
      });
      for (const action of ['pause', 'resume', 'abort'] as const)
        assert.deepEqual((await post(a, action, TOKEN).expect(200)).body, { status: 'ok', action });
      assert.deepEqual(calls, ['pause', 'resume', 'abort']);
      await post(a, 'rollback', TOKEN).expect(404);
      // The token comes first: an unknown action tells nothing to a caller without it.
      await post(a, 'rollback').expect(401);
    });
  });

  it('explains as `fedstack explain` does, in both spellings, and answers 400 with the reason', async () => {
    const a = app();
    const want = JSON.parse(
      JSON.stringify(explain(createPlan(topo, 'kubernetes'), 'node_cpu_seconds_total', { mode: 'idle' })),
    );
    for (const q of [
      'node_cpu_seconds_total mode=idle',
      'node_cpu_seconds_total{mode="idle"}',
      ' node_cpu_seconds_total { mode = "idle" } ',
    ]) {
      const res = await request(a).get('/console/api/explain').query({ q }).expect(200);
      assert.deepEqual(res.body, want, q);
    }
    const bad = await request(a).get('/console/api/explain').query({ q: '9lives' }).expect(400);
    assert.deepEqual(bad.body, { error: 'bad request', reason: 'invalid metric name "9lives"' });
    const label = await request(a).get('/console/api/explain').query({ q: 'up mode' }).expect(400);
    assert.match(label.body.reason, /invalid label "mode" \(want name=value\)/);
    const regex = await request(a).get('/console/api/explain').query({ q: 'up{job=~"node.*"}' }).expect(400);
    assert.match(regex.body.reason, /explain follows one series: give exact values/);
    const unclosed = await request(a).get('/console/api/explain').query({ q: 'up{job="x"' }).expect(400);
    assert.match(unclosed.body.reason, /^up\{job="x": /);
  });

  it('draws the graph of `fedstack graph`, per big region when the fleet is too large for one drawing', async () => {
    const small = app();
    const svg = await request(small).get('/console/api/graph.svg').responseType('blob').expect(200);
    assert.equal((svg.body as Buffer).toString('utf8'), renderGraphSvg(topo));
    assert.match(svg.headers['content-type']!, /^image\/svg\+xml/);
    assert.equal(svg.headers['content-security-policy'], "default-src 'none'; style-src 'unsafe-inline'");
    const mmd = await request(small).get('/console/api/graph.mmd').query({ bigRegion: 'europe' }).expect(200);
    assert.match(mmd.text, /^flowchart BT\n/);
    assert.doesNotMatch(mmd.text, /mc-hz-01/);
    await request(small).get('/console/api/graph.svg').query({ bigRegion: 'atlantis' }).expect(400);

    const fleet = buildModel(
      topologySchema.parse(
        generateFleetInput({ bigRegions: 3, regionsPerBigRegion: 3, metaClustersPerRegion: 50 }),
      ),
    );
    const big = app({ topology: fleet });
    assert.deepEqual((await request(big).get('/console/api/graph').expect(200)).body, {
      topology: 'bench-fleet',
      bigRegions: [
        { name: 'br-0', metaClusters: 150 },
        { name: 'br-1', metaClusters: 150 },
        { name: 'br-2', metaClusters: 150 },
      ],
      maxMetaClusters: 400,
    });
    const refused = await request(big).get('/console/api/graph.svg').expect(400);
    assert.match(
      refused.body.reason,
      /450 meta-clusters, more than 400 can be drawn at once: pick a big region/,
    );
    await request(big).get('/console/api/graph.svg').query({ bigRegion: 'br-1' }).expect(200);
  });

  it('lists the metric names explain knows: recorded, read by rules, named in allow-lists', async () => {
    const { metrics } = (await request(app()).get('/console/api/metrics').expect(200)).body as {
      metrics: string[];
    };
    for (const m of [
      'cluster:apiserver_request:rate5m',
      'apiserver_request_total',
      'cluster:etcd_server_has_leader:min',
    ])
      assert.ok(metrics.includes(m), m);
    assert.deepEqual(metrics, [...metrics].sort());
  });

  it('shows who is on call and the next handover without a bridge, and says the bridge is off', async () => {
    const now = Date.UTC(2026, 1, 18, 12, 0); // inside sre-china's override for Wang Fang
    const res = await request(app({ now: () => now }))
      .get('/console/api/pages')
      .expect(200);
    assert.equal(res.body.bridge, undefined);
    const china = res.body.onCall.find((t: { team: string }) => t.team === 'sre-china');
    assert.deepEqual(china.now, ['Wang Fang']);
    assert.equal(china.timeZone, 'Asia/Shanghai');
    // Weekly rotation, handover 10:00 Shanghai (02:00 UTC) on the start's weekday (Monday).
    assert.equal(china.nextHandoverAt, Date.UTC(2026, 1, 23, 2, 0));
  });
});
