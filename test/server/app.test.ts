import { test } from 'node:test';
import assert from 'node:assert/strict';
import express from 'express';
import request from 'supertest';
import { Registry } from 'prom-client';
import { LABEL, type Profile } from '../../common/conventions.ts';
import { Secret } from '../../common/secret.ts';
import type { Topology } from '../../topology/model.ts';
import { createApp, type AppDeps } from '../../server/app.ts';
import { RegistrationStore } from '../../server/registrations.ts';
import {
  staticTopologySource,
  type TopologySnapshot,
  type TopologySource,
} from '../../server/topology-watch.ts';
import { capturingLogger, defaultTopology } from './helpers.ts';

const TOKEN = 'tok-3f9a1c0d7e5b';
const topo = defaultTopology();

/** A stand-in renderer: the bundle itself is not under test here, only how the app serves it. */
function fakeRender(calls: { n: number }) {
  return (t: Topology, profile: Profile) => {
    calls.n++;
    const files = new Map<string, string>();
    for (const br of t.bigRegions)
      files.set(`cascade/${br.name}/prometheus.yml`, `# ${profile} ${br.cascade.endpoint}\n`);
    files.set('alerting/alertmanager.yml', 'route: {}\n');
    files.set('dashboards/fleet.json', '{}\n');
    return files;
  };
}

function setup(over: Partial<AppDeps> = {}) {
  let clock = 1_700_000_000_000;
  const calls = { n: 0 };
  const { logger, lines } = capturingLogger();
  const deps: AppDeps = {
    topologySource: staticTopologySource(topo),
    renderBundle: fakeRender(calls),
    registrations: new RegistrationStore({ ttlMs: 90_000 }),
    heartbeatToken: new Secret(TOKEN),
    logger,
    registry: new Registry(),
    now: () => clock,
    ...over,
  };
  return { app: createApp(deps), calls, lines, advance: (ms: number) => (clock += ms) };
}

const beat = { endpoint: '192.0.2.7:443', version: '0.1.0', configHash: 'abc123' };

test('cascade SD lists every meta-cluster of the big region with its labels, as JSON', async () => {
  const { app } = setup();
  const res = await request(app).get('/v1/sd/cascade/europe').expect(200);
  assert.match(res.headers['content-type']!, /^application\/json/);
  assert.deepEqual(res.body, [
    {
      targets: ['10.40.1.10:9090'],
      labels: {
        [LABEL.bigRegion]: 'europe',
        [LABEL.region]: 'eu-central-1',
        [LABEL.metaCluster]: 'mc-fra-01',
      },
    },
    {
      targets: ['10.40.2.10:9090'],
      labels: {
        [LABEL.bigRegion]: 'europe',
        [LABEL.region]: 'eu-central-1',
        [LABEL.metaCluster]: 'mc-fra-02',
      },
    },
    {
      targets: ['10.50.1.10:9090'],
      labels: { [LABEL.bigRegion]: 'europe', [LABEL.region]: 'eu-west-1', [LABEL.metaCluster]: 'mc-lon-01' },
    },
  ]);
});

test('central SD lists one target per cascade', async () => {
  const { app } = setup();
  const res = await request(app)
    .get('/v1/sd/central')
    .expect(200)
    .expect('content-type', /application\/json/);
  assert.deepEqual(
    res.body,
    topo.bigRegions.map((b) => ({ targets: [b.cascade.endpoint], labels: { [LABEL.bigRegion]: b.name } })),
  );
});

test('an unknown big region is a 404 with a reason naming the known ones', async () => {
  const { app } = setup();
  const res = await request(app).get('/v1/sd/cascade/atlantis').expect(404).expect('content-type', /json/);
  assert.equal(res.body.error, 'not found');
  assert.match(res.body.reason, /unknown big region "atlantis" \(known: china, europe, americas, asia\)/);
});

test('a heartbeat overrides its meta-cluster endpoint in SD until the TTL runs out', async () => {
  const { app, advance } = setup();
  // Asked first, so the answer is cached: the heartbeat must still show at once.
  const before = await request(app).get('/v1/sd/cascade/europe').expect(200);
  assert.equal(before.body[2].targets[0], '10.50.1.10:9090');
  const ok = await request(app)
    .post('/v1/edges/mc-lon-01/heartbeat')
    .set('Authorization', `Bearer ${TOKEN}`)
    .send(beat)
    .expect(200);
  assert.equal(ok.body.status, 'registered');
  const live = await request(app).get('/v1/sd/cascade/europe').expect(200);
  assert.deepEqual(
    live.body.map((g: { targets: string[] }) => g.targets[0]),
    ['10.40.1.10:9090', '10.40.2.10:9090', '192.0.2.7:443'],
  );
  advance(89_999);
  const still = await request(app).get('/v1/sd/cascade/europe');
  assert.equal(still.body[2].targets[0], '192.0.2.7:443');
  advance(1);
  const expired = await request(app).get('/v1/sd/cascade/europe');
  assert.equal(expired.body[2].targets[0], '10.50.1.10:9090');
});

const badHeartbeats: {
  name: string;
  send: (r: request.Test) => request.Test;
  status: number;
  reason: RegExp;
}[] = [
  {
    name: 'without a token is refused',
    send: (r) => r.send(beat),
    status: 401,
    reason: /missing bearer token/,
  },
  {
    name: 'with a wrong token is refused',
    send: (r) => r.set('Authorization', 'Bearer nope').send(beat),
    status: 401,
    reason: /invalid token/,
  },
  {
    name: 'with a non-bearer scheme is refused',
    send: (r) => r.set('Authorization', `Basic ${TOKEN}`).send(beat),
    status: 401,
    reason: /Bearer <token>/,
  },
  {
    name: 'with malformed JSON is a 400',
    send: (r) =>
      r.set('Authorization', `Bearer ${TOKEN}`).set('Content-Type', 'application/json').send('{"endpoint": '),
    status: 400,
    reason: /malformed JSON body/,
  },
  {
    name: 'with an oversized body is a 413',
    send: (r) => r.set('Authorization', `Bearer ${TOKEN}`).send({ ...beat, version: 'x'.repeat(20_000) }),
    status: 413,
    reason: /over the size limit/,
  },
  {
    name: 'with a non-JSON body is a 415',
    send: (r) => r.set('Authorization', `Bearer ${TOKEN}`).set('Content-Type', 'text/plain').send('hello'),
    status: 415,
    reason: /application\/json/,
  },
  {
    name: 'with invalid fields names each of them',
    send: (r) =>
      r
        .set('Authorization', `Bearer ${TOKEN}`)
        .send({ endpoint: 'nohost', version: '', configHash: 'a b', extra: 1 }),
    status: 400,
    reason: /endpoint: invalid endpoint "nohost".*version: .*configHash: must be.*extra/,
  },
];
for (const c of badHeartbeats) {
  test(`a heartbeat ${c.name}`, async () => {
    const { app } = setup();
    const res = await c.send(request(app).post('/v1/edges/mc-lon-01/heartbeat')).expect(c.status);
    assert.match(res.headers['content-type']!, /application\/json/);
    assert.ok(res.body.error, 'has an error');
    assert.match(res.body.reason, c.reason);
    // Refused heartbeats never register.
    const sd = await request(app).get('/v1/sd/cascade/europe');
    assert.equal(sd.body[2].targets[0], '10.50.1.10:9090');
  });
}

test('a heartbeat for an unknown meta-cluster is a 404', async () => {
  const { app } = setup();
  const res = await request(app)
    .post('/v1/edges/mc-nowhere/heartbeat')
    .set('Authorization', `Bearer ${TOKEN}`)
    .send(beat)
    .expect(404);
  assert.match(res.body.reason, /unknown meta-cluster "mc-nowhere"/);
});

test('heartbeats are refused with 503 when the service has no token', async () => {
  const { app } = setup({ heartbeatToken: undefined });
  const res = await request(app)
    .post('/v1/edges/mc-lon-01/heartbeat')
    .set('Authorization', 'Bearer anything')
    .send(beat)
    .expect(503);
  assert.match(res.body.reason, /no token configured/);
});

test('the token never appears in the logs', async () => {
  const { app, lines } = setup();
  await request(app)
    .post('/v1/edges/mc-lon-01/heartbeat')
    .set('Authorization', `Bearer ${TOKEN}`)
    .send(beat)
    .expect(200);
  await request(app)
    .post('/v1/edges/mc-lon-01/heartbeat')
    .set('Authorization', `Bearer ${TOKEN}x`)
    .send(beat)
    .expect(401);
  assert.ok(lines.length >= 2);
  for (const l of lines) assert.ok(!l.includes(TOKEN), `log line leaks the token: ${l}`);
  assert.ok(lines.some((l) => JSON.parse(l).path === '/v1/edges/mc-lon-01/heartbeat'));
});

test('config files are served from the rendered bundle, rendered once per revision', async () => {
  const { app, calls } = setup();
  const a = await request(app).get('/v1/config/cascade/china/prometheus.yml').expect(200);
  assert.match(a.headers['content-type']!, /^application\/yaml/);
  assert.equal(a.text, '# kubernetes cascade-china.fedstack.example.com:9090\n');
  await request(app).get('/v1/config/alerting/alertmanager.yml').expect(200, 'route: {}\n');
  await request(app)
    .get('/v1/config/dashboards/fleet.json')
    .expect(200)
    .expect('content-type', /application\/json/);
  assert.equal(calls.n, 1);
});

test('a new topology revision is rendered afresh', async () => {
  let snap: TopologySnapshot = { topology: topo, revision: 1, hash: 'h1' };
  const source: TopologySource = { current: () => snap, lastError: () => undefined, reloadFailures: () => 0 };
  const { app, calls } = setup({ topologySource: source });
  await request(app).get('/v1/config/cascade/china/prometheus.yml').expect(200);
  snap = { topology: topo, revision: 2, hash: 'h2' };
  const res = await request(app).get('/v1/config/cascade/china/prometheus.yml').expect(200);
  assert.equal(res.headers['x-fedstack-topology-revision'], '2');
  assert.equal(calls.n, 2);
});

test('a missing config file is a 404 and a bad path segment a 400', async () => {
  const { app } = setup();
  const missing = await request(app).get('/v1/config/cascade/mars/prometheus.yml').expect(404);
  assert.match(missing.body.reason, /no rendered file "cascade\/mars\/prometheus.yml"/);
  const bad = await request(app).get('/v1/config/cascade/..%2e/prometheus.yml').expect(400);
  assert.match(bad.body.reason, /invalid path segment/);
});

test('a render failure is a 500 with a reason, not a crash', async () => {
  const { app } = setup({
    renderBundle: () => {
      throw new Error('allow-list closure broken');
    },
  });
  const res = await request(app).get('/v1/config/cascade/china/prometheus.yml').expect(500);
  assert.deepEqual(res.body, {
    error: 'render failed',
    reason: 'rendering topology revision 1 failed: allow-list closure broken',
  });
});

test('healthz is always ok and readyz reports the served revision', async () => {
  const { app } = setup();
  await request(app).get('/healthz').expect(200, { status: 'ok' });
  const res = await request(app).get('/readyz').expect(200);
  assert.deepEqual(res.body, { status: 'ready', revision: 1, hash: 'static' });
});

test('readyz is 503 with the reason while the topology file is invalid, SD keeps serving', async () => {
  const source: TopologySource = {
    current: () => ({ topology: topo, revision: 3, hash: 'h3' }),
    lastError: () => 'topo.yaml:4:3: bigRegions[0].name: invalid name "Bad"',
    reloadFailures: () => 1,
  };
  const { app } = setup({ topologySource: source });
  const res = await request(app).get('/readyz').expect(503);
  assert.equal(res.body.error, 'not ready');
  assert.match(
    res.body.reason,
    /serving revision 3: topo.yaml:4:3: bigRegions\[0\].name: invalid name "Bad"/,
  );
  await request(app).get('/v1/sd/cascade/china').expect(200);
  const metrics = await request(app).get('/metrics').expect(200);
  assert.match(metrics.text, /^fedstack_topology_valid 0$/m);
  assert.match(metrics.text, /^fedstack_topology_reload_failures_total 1$/m);
  assert.match(metrics.text, /^fedstack_topology_revision 3$/m);
});

test('metrics count requests by route pattern, renders and registrations', async () => {
  const { app } = setup();
  await request(app).get('/v1/sd/cascade/china');
  await request(app).get('/v1/sd/cascade/atlantis');
  await request(app).get('/v1/config/cascade/china/prometheus.yml');
  await request(app).post('/v1/edges/mc-hz-01/heartbeat').set('Authorization', `Bearer ${TOKEN}`).send(beat);
  const res = await request(app)
    .get('/metrics')
    .expect(200)
    .expect('content-type', /text\/plain/);
  const t = res.text;
  assert.match(
    t,
    /^fedstack_http_requests_total\{method="GET",route="\/v1\/sd\/cascade\/:bigRegion",code="200"\} 1$/m,
  );
  assert.match(
    t,
    /^fedstack_http_requests_total\{method="GET",route="\/v1\/sd\/cascade\/:bigRegion",code="404"\} 1$/m,
  );
  assert.match(
    t,
    /^fedstack_http_request_duration_seconds_count\{method="POST",route="\/v1\/edges\/:metaCluster\/heartbeat",code="200"\} 1$/m,
  );
  assert.match(t, /^fedstack_render_duration_seconds_count 1$/m);
  assert.match(t, /^fedstack_edge_registrations 1$/m);
  assert.match(t, /^fedstack_edge_heartbeats_total\{meta_cluster="mc-hz-01"\} 1$/m);
  assert.match(t, /^fedstack_topology_revision 1$/m);
});

test('an unknown route is a JSON 404', async () => {
  const { app } = setup();
  const res = await request(app).get('/v2/nothing').expect(404).expect('content-type', /json/);
  assert.deepEqual(res.body, { error: 'not found', reason: 'no route for GET /v2/nothing' });
});

test('extra routers are mounted at their path and their errors are JSON too', async () => {
  const router = express.Router();
  router.post('/dingtalk', express.json({ limit: '1kb' }), (_req, res) => {
    res.status(202).json({ accepted: true });
  });
  const { app } = setup({ extraRouters: [{ path: '/v1/alerts', router }] });
  await request(app).post('/v1/alerts/dingtalk').send({ a: 1 }).expect(202, { accepted: true });
  const big = await request(app)
    .post('/v1/alerts/dingtalk')
    .send({ a: 'x'.repeat(2000) })
    .expect(413);
  assert.equal(big.body.error, 'payload too large');
});

test('config files deeper in the bundle are served too, and a bare tier is a 404', async () => {
  const { app } = setup({
    renderBundle: () => new Map([['dashboards/provisioning/datasources/fedstack.yaml', 'apiVersion: 1\n']]),
  });
  await request(app)
    .get('/v1/config/dashboards/provisioning/datasources/fedstack.yaml')
    .expect(200, 'apiVersion: 1\n');
  await request(app).get('/v1/config/dashboards').expect(404);
});
