import { test } from 'node:test';
import assert from 'node:assert/strict';
import express from 'express';
import request from 'supertest';
import { Registry } from 'prom-client';
import { once } from 'node:events';
import { get, request as httpRequest, type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';
import { gunzipSync } from 'node:zlib';
import { GENERATED_HEADER, LABEL } from '../../common/conventions.ts';
import { Secret } from '../../common/secret.ts';
import { createEmitter } from '../../render/emit.ts';
import { createPlan } from '../../render/plan.ts';
import { createApp, type AppDeps } from '../../server/app.ts';
import { RegistrationStore } from '../../server/registrations.ts';
import {
  staticTopologySource,
  type TopologySnapshot,
  type TopologySource,
} from '../../server/topology-watch.ts';
import { capturingLogger, defaultTopology, topologyFrom } from './helpers.ts';
import { defaultTopologyText } from '../../examples/index.ts';

const TOKEN = 'tok-3f9a1c0d7e5b';
const READ_TOKEN = 'read-6c1d0b2e9f47';
/** The header every read route (http_sd, configs) asks for. */
const READ = { Authorization: `Bearer ${READ_TOKEN}` };
const topo = defaultTopology();

function setup(over: Partial<AppDeps> = {}) {
  let clock = 1_700_000_000_000;
  const { logger, lines } = capturingLogger();
  const deps: AppDeps = {
    topologySource: staticTopologySource(topo),
    registrations: new RegistrationStore({ ttlMs: 90_000 }),
    heartbeatToken: new Secret(TOKEN),
    readToken: new Secret(READ_TOKEN),
    logger,
    registry: new Registry(),
    now: () => clock,
    ...over,
  };
  return { app: createApp(deps), lines, advance: (ms: number) => (clock += ms) };
}

/** A GET without supertest's automatic decompression: the bytes as they went over the wire. */
async function rawGet(app: express.Express, path: string, headers: Record<string, string>) {
  const server = app.listen(0, '127.0.0.1');
  await once(server, 'listening');
  try {
    const { port } = server.address() as AddressInfo;
    return await new Promise<{ status: number; headers: IncomingHttpHeaders; body: Buffer }>(
      (resolve, reject) => {
        get({ host: '127.0.0.1', port, path, headers }, (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () =>
            resolve({ status: res.statusCode!, headers: res.headers, body: Buffer.concat(chunks) }),
          );
        }).on('error', reject);
      },
    );
  } finally {
    server.close();
  }
}

const beat = { endpoint: '192.0.2.7:443', version: '0.1.0', configHash: 'abc123' };

test('cascade SD lists every meta-cluster of the big region with its labels, as JSON', async () => {
  const { app } = setup();
  const res = await request(app).get('/v1/sd/cascade/europe').set(READ).expect(200);
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
    .set(READ)
    .expect(200)
    .expect('content-type', /application\/json/);
  assert.deepEqual(
    res.body,
    topo.bigRegions.map((b) => ({ targets: [b.cascade.endpoint], labels: { [LABEL.bigRegion]: b.name } })),
  );
});

test('an unknown big region is a 404 with a reason naming the known ones', async () => {
  const { app } = setup();
  const res = await request(app)
    .get('/v1/sd/cascade/atlantis')
    .set(READ)
    .expect(404)
    .expect('content-type', /json/);
  assert.equal(res.body.error, 'not found');
  assert.match(res.body.reason, /unknown big region "atlantis" \(known: china, europe, americas, asia\)/);
});

test('a heartbeat overrides its meta-cluster endpoint in SD until the TTL runs out', async () => {
  const { app, advance } = setup();
  // Asked first, so the answer is cached: the heartbeat must still show at once.
  const before = await request(app).get('/v1/sd/cascade/europe').set(READ).expect(200);
  assert.equal(before.body[2].targets[0], '10.50.1.10:9090');
  const ok = await request(app)
    .post('/v1/edges/mc-lon-01/heartbeat')
    .set('Authorization', `Bearer ${TOKEN}`)
    .send(beat)
    .expect(200);
  assert.equal(ok.body.status, 'registered');
  const live = await request(app).get('/v1/sd/cascade/europe').set(READ).expect(200);
  assert.deepEqual(
    live.body.map((g: { targets: string[] }) => g.targets[0]),
    ['10.40.1.10:9090', '10.40.2.10:9090', '192.0.2.7:443'],
  );
  advance(89_999);
  const still = await request(app).get('/v1/sd/cascade/europe').set(READ);
  assert.equal(still.body[2].targets[0], '192.0.2.7:443');
  advance(1);
  const expired = await request(app).get('/v1/sd/cascade/europe').set(READ);
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
    const sd = await request(app).get('/v1/sd/cascade/europe').set(READ);
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
  assert.match(res.body.reason, /no sidecar token configured/);
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

test("configs are the render plan's files, byte for byte", async () => {
  const { app } = setup();
  const emitter = createEmitter(createPlan(topo, 'kubernetes'));
  for (const path of [
    'cascade/china/prometheus.yml',
    'edge/mc-hz-01/rules.yml',
    'alerting/alertmanager.yml',
  ]) {
    const res = await request(app).get(`/v1/config/${path}`).set(READ).expect(200);
    assert.equal(res.text, emitter.file(path), path);
    assert.match(res.headers['content-type']!, /^application\/yaml/);
  }
  await request(app)
    .get('/v1/config/dashboards/fedstack-global.json')
    .set(READ)
    .expect(200)
    .expect('content-type', /application\/json/);
});

test('a new topology revision is rendered afresh', async () => {
  let snap: TopologySnapshot = { topology: topo, revision: 1, hash: 'h1' };
  const source: TopologySource = { current: () => snap, lastError: () => undefined, reloadFailures: () => 0 };
  const { app } = setup({ topologySource: source });
  const before = await request(app).get('/v1/config/central/central-a/prometheus.yml').set(READ).expect(200);
  assert.match(before.text, /cascade-china\.fedstack\.example\.com:9090/);
  const moved = topologyFrom(
    defaultTopologyText().replace('cascade-china.fedstack.example.com:9090', 'cascade-cn.example.com:9090'),
  );
  snap = { topology: moved, revision: 2, hash: 'h2' };
  const res = await request(app).get('/v1/config/central/central-a/prometheus.yml').set(READ).expect(200);
  assert.equal(res.headers['x-fedstack-topology-revision'], '2');
  assert.match(res.text, /cascade-cn\.example\.com:9090/);
  assert.doesNotMatch(res.text, /cascade-china\.fedstack/);
});

test("the first GET of one edge's config renders that file alone, then answers from the cache", async () => {
  const { app } = setup();
  const renders = async () =>
    Number(
      /^fedstack_render_duration_seconds_count (\d+)$/m.exec((await request(app).get('/metrics')).text)![1],
    );
  await request(app).get('/v1/config/edge/mc-sz-01/prometheus.yml').set(READ).expect(200);
  assert.equal(await renders(), 1);
  await request(app).get('/v1/config/edge/mc-sz-01/prometheus.yml').set(READ).expect(200);
  assert.equal(await renders(), 1, 'the second GET is served from the cache');
});

test('configs and SD answers come gzip-compressed to a client that asks, with an ETag for 304s', async () => {
  const { app } = setup();
  for (const path of ['/v1/config/edge/mc-hz-01/prometheus.yml', '/v1/sd/cascade/china']) {
    const plain = await request(app).get(path).set(READ).set('Accept-Encoding', 'identity').expect(200);
    assert.equal(plain.headers['content-encoding'], undefined);
    const zipped = await rawGet(app, path, { 'accept-encoding': 'gzip', ...READ });
    assert.equal(zipped.status, 200);
    assert.equal(zipped.headers['content-encoding'], 'gzip');
    assert.equal(zipped.headers.vary, 'Accept-Encoding');
    assert.equal(gunzipSync(zipped.body).toString(), plain.text, path);
    const etag = plain.headers.etag!;
    await request(app).get(path).set(READ).set('If-None-Match', etag).expect(304);
  }
});

test("an instance's config (the pulling sidecar's answer): its files at once, uncompressed, a 304 for its ETag", async () => {
  const { app } = setup();
  const path = '/v1/config/edge/mc-hz-01';
  // Asked for gzip as every HTTP client does: sent plain (one sidecar, once per revision).
  const res = await rawGet(app, path, { 'accept-encoding': 'gzip', ...READ });
  assert.equal(res.status, 200);
  assert.equal(res.headers['content-encoding'], undefined);
  assert.equal(Number(res.headers['content-length']), res.body.length);
  assert.match(res.headers['content-type']!, /^application\/json/);
  const body = JSON.parse(res.body.toString()) as { tier: string; name: string; hash: string; files: Record<string, string> };
  assert.equal(body.tier, 'edge');
  assert.equal(body.name, 'mc-hz-01');
  assert.equal(body.hash, res.headers['x-fedstack-revision-hash']);
  const file = await request(app).get(`${path}/prometheus.yml`).set(READ).expect(200);
  assert.equal(body.files['prometheus.yml'], file.text, 'the same file the per-file route serves');
  const etag = res.headers.etag!;
  assert.match(etag, /^"[\w-]{27}"$/);
  for (const inm of [etag, `W/${etag}`, `"other", ${etag}`, '*']) {
    const again = await rawGet(app, path, { 'if-none-match': inm, ...READ });
    assert.equal(again.status, 304, inm);
    assert.equal(again.body.length, 0);
    assert.equal(again.headers.etag, etag);
  }
  assert.equal((await rawGet(app, path, { 'if-none-match': '"other"', ...READ })).status, 200);
  // Percent-encoded, as the sidecar encodes names: the same instance.
  assert.equal((await rawGet(app, '/v1/config/edge/mc%2Dhz%2D01', READ)).headers.etag, etag);
  // A service that has just (re)started knows no tag yet: the same answer is still a 304.
  const restarted = setup().app;
  const again = await rawGet(restarted, path, { 'if-none-match': etag, ...READ });
  assert.equal(again.status, 304);
  assert.equal(again.headers.etag, etag);
  // HEAD: the headers alone.
  const head = await request(app).head(path).set(READ).expect(200);
  assert.equal(head.headers.etag, etag);
  assert.equal(Number(head.headers['content-length']), res.body.length);
  assert.equal(head.text, undefined);
});

test("an instance's config: unknown instance 404, no token 401 with a challenge, other paths go on to the file routes", async () => {
  const { app } = setup();
  const missing = await request(app).get('/v1/config/cascade/mars').set(READ).expect(404);
  assert.deepEqual(missing.body, {
    error: 'not found',
    reason: 'no cascade instance "mars" in topology revision 1',
  });
  const anon = await request(app).get('/v1/config/edge/mc-hz-01').expect(401);
  assert.equal(anon.headers['www-authenticate'], 'Bearer realm="fedstack"');
  // A GET has no body left unread: its connection is kept for the next poll.
  for (const [path, headers] of [
    ['/v1/config/edge/mc-hz-01', {}],
    ['/v1/config/cascade/mars', READ],
  ] as const) {
    const res = await rawGet(app, path, { ...headers, connection: 'keep-alive' });
    assert.ok(res.status >= 400, path);
    assert.equal(res.headers.connection, 'keep-alive', path);
  }
  assert.deepEqual(anon.body, { error: 'unauthorized', reason: 'missing bearer token' });
  // Not a Prometheus tier, or not a name: the file routes answer, as before.
  await request(app).get('/v1/config/dashboards').set(READ).expect(404);
  const bad = await request(app).get('/v1/config/edge/..%2e').set(READ).expect(400);
  assert.match(bad.body.reason, /invalid path segment/);
  // A heartbeat route asked with GET is no route at all.
  const get = await request(app).get('/v1/edges/mc-hz-01/heartbeat').set(READ).expect(404);
  assert.match(get.body.reason, /no route for GET/);
});

test('a heartbeat body over the limit is refused from its Content-Length or as it streams, and the connection closed', async () => {
  const { app, lines } = setup({ bodyLimitBytes: 1024 });
  const server = app.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  const post = (body: string, chunked: boolean) =>
    new Promise<{ status: number; headers: IncomingHttpHeaders; text: string }>((resolve, reject) => {
      const req = httpRequest(
        {
          host: '127.0.0.1',
          port,
          method: 'POST',
          path: '/v1/edges/mc-hz-01/heartbeat',
          headers: {
            Authorization: `Bearer ${TOKEN}`,
            'Content-Type': 'application/json',
            ...(chunked ? {} : { 'Content-Length': Buffer.byteLength(body) }),
          },
        },
        (res) => {
          let text = '';
          res.on('data', (c: Buffer) => (text += c.toString()));
          res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, text }));
        },
      );
      req.on('error', reject);
      if (chunked) for (let i = 0; i < body.length; i += 256) req.write(body.slice(i, i + 256));
      else req.write(body);
      req.end();
    });
  try {
    const big = JSON.stringify({ ...beat, version: 'x'.repeat(4000) });
    for (const chunked of [false, true]) {
      const res = await post(big, chunked);
      assert.equal(res.status, 413, `chunked: ${chunked}`);
      assert.deepEqual(JSON.parse(res.text), {
        error: 'payload too large',
        reason: 'the request body is over the size limit',
      });
      assert.equal(res.headers.connection, 'close');
    }
    // A body read to its end, then refused, leaves the connection usable.
    const malformed = await post('{"endpoint": ', false);
    assert.equal(malformed.status, 400);
    assert.notEqual(malformed.headers.connection, 'close');
    assert.equal((await post(JSON.stringify(beat), true)).status, 200);
    // Logged like every request: the path, never a header.
    const logged = lines.map((l) => JSON.parse(l) as { path?: string; status?: number; msg: string });
    assert.deepEqual(
      logged.filter((l) => l.msg === 'request').map((l) => [l.path, l.status]),
      [
        ['/v1/edges/mc-hz-01/heartbeat', 413],
        ['/v1/edges/mc-hz-01/heartbeat', 413],
        ['/v1/edges/mc-hz-01/heartbeat', 400],
        ['/v1/edges/mc-hz-01/heartbeat', 200],
      ],
    );
    assert.ok(!lines.some((l) => l.includes(TOKEN)));
  } finally {
    server.close();
  }
});

test('a missing config file is a 404 and a bad path segment a 400', async () => {
  const { app } = setup();
  const missing = await request(app).get('/v1/config/cascade/mars/prometheus.yml').set(READ).expect(404);
  assert.match(missing.body.reason, /no rendered file "cascade\/mars\/prometheus.yml"/);
  const bad = await request(app).get('/v1/config/cascade/..%2e/prometheus.yml').set(READ).expect(400);
  assert.match(bad.body.reason, /invalid path segment/);
});

test('a render failure is a 500 with a reason, not a crash', async () => {
  // The example topology gives the Alertmanagers no endpoints, which the local profile needs.
  const { app } = setup({ profile: 'local' });
  const res = await request(app).get('/v1/config/central/central-a/prometheus.yml').set(READ).expect(500);
  assert.deepEqual(res.body, {
    error: 'render failed',
    reason:
      'rendering central/central-a/prometheus.yml of topology revision 1 failed: alertmanager replica "am-0" has no endpoint, which the local profile needs',
  });
  await request(app).get('/v1/config/cascade/china/prometheus.yml').set(READ).expect(200);
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
  await request(app).get('/v1/sd/cascade/china').set(READ).expect(200);
  const metrics = await request(app).get('/metrics').expect(200);
  assert.match(metrics.text, /^fedstack_topology_valid 0$/m);
  assert.match(metrics.text, /^fedstack_topology_reload_failures_total 1$/m);
  assert.match(metrics.text, /^fedstack_topology_revision 3$/m);
});

test('metrics count requests by route pattern, renders and registrations', async () => {
  const { app } = setup();
  await request(app).get('/v1/sd/cascade/china').set(READ);
  await request(app).get('/v1/sd/cascade/atlantis').set(READ);
  await request(app).get('/v1/config/cascade/china/prometheus.yml').set(READ);
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

test('config files deeper in the tree are served too, and a bare tier is a 404', async () => {
  const { app } = setup();
  const res = await request(app)
    .get('/v1/config/dashboards/provisioning/datasources/fedstack.yaml')
    .set(READ)
    .expect(200);
  assert.ok(res.text.startsWith(`${GENERATED_HEADER}\napiVersion: 1\n`), res.text.slice(0, 80));
  await request(app).get('/v1/config/dashboards').set(READ).expect(404);
});
