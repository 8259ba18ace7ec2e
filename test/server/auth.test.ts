import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Registry } from 'prom-client';
import request from 'supertest';
import { BRIDGE_BASE_PATH } from '../../alerting/render.ts';
import { Secret } from '../../common/secret.ts';
import { createApp } from '../../server/app.ts';
import { policyOf, registeredRoutes, ROUTE_AUTH, tokenFromFile, type TokenKind } from '../../server/auth.ts';
import { startAlertBridge } from '../../alerting/bridge/wiring.ts';
import { consoleRouter } from '../../console/router.ts';
import { RegistrationStore } from '../../server/registrations.ts';
import { staticTopologySource } from '../../server/topology-watch.ts';
import { capturingLogger, defaultTopology } from './helpers.ts';

const dir = mkdtempSync(join(tmpdir(), 'fedstack-auth-'));

const topology = defaultTopology();
const TOKENS: Record<TokenKind, string> = {
  read: 'read-0c9f2b7e',
  sidecar: 'sidecar-51d3a8e4',
  bridge: 'bridge-7a6e09c2',
  operator: 'operator-3f0e6d21',
};
const files = Object.fromEntries(
  Object.entries(TOKENS).map(([kind, value]) => {
    const file = join(dir, `${kind}.token`);
    writeFileSync(file, `${value}\n`, { mode: 0o600 });
    return [kind, file];
  }),
) as Record<TokenKind, string>;

// The bridge reads its token as the Secret routing.webhookToken names, under its secrets dir.
const hook = topology.routing!.webhookToken;
const secretsDir = join(dir, 'secrets');
const bridgeTokenFile = join(secretsDir, hook.name, hook.key);
mkdirSync(join(secretsDir, hook.name), { recursive: true });
writeFileSync(bridgeTokenFile, TOKENS.bridge, { mode: 0o600 });

const { logger } = capturingLogger();
const registry = new Registry();
/** The token files' clock: a file is checked for a change at most once a second. */
let clock = 0;
const tokenFile = (file: string) => tokenFromFile(file, { now: () => clock });
const bridge = startAlertBridge(
  { outboxDir: join(dir, 'outbox'), secretsDir },
  { topology: staticTopologySource(topology), registry, logger },
);
// The bridge first: closing it may still write to its outbox under `dir`.
after(async () => {
  await bridge.close();
  rmSync(dir, { recursive: true, force: true });
});
// Mounted as `fedstack serve --outbox-dir --secrets-dir` and `fedstack up` mount it.
const app = createApp({
  topologySource: staticTopologySource(topology),
  registrations: new RegistrationStore({ ttlMs: 60_000 }),
  heartbeatToken: tokenFile(files.sidecar),
  readToken: tokenFile(files.read),
  operatorToken: tokenFile(files.operator),
  logger,
  registry,
  now: Date.now,
  // As startServer mounts them: the bridge, then the console (its central is a closed port).
  extraRouters: [
    { path: BRIDGE_BASE_PATH, router: bridge.router },
    consoleRouter({ profile: 'kubernetes', centralUrls: ['http://127.0.0.1:1'] }),
  ],
});

/** Concrete requests for a route pattern (the bridge's: a webhook of each channel). */
function concrete(route: string): [method: string, path: string][] {
  if (route === '* /v1/alerts/*')
    return [
      ['POST', '/v1/alerts/dingtalk/sre-china-dingtalk'],
      ['POST', '/v1/alerts/sms/sre-china-sms'],
    ];
  if (route === '* /console/assets/*') return [['GET', '/console/assets/app.js']];
  const [method, pattern] = route.split(' ') as [string, string];
  return [
    [
      method,
      pattern
        .replace(':bigRegion', 'china')
        .replace(':metaCluster', 'mc-hz-01')
        .replace('*path', 'edge/mc-hz-01/prometheus.yml')
        .replace(':action', 'pause')
        .replace('/console/api/explain', '/console/api/explain?q=up'),
    ],
  ];
}
/** The statuses of the route's concrete requests. */
async function call(route: string, auth?: string): Promise<number[]> {
  return Promise.all(
    concrete(route).map(async ([method, path]) => {
      const r = method === 'GET' ? request(app).get(path) : request(app).post(path);
      return (await (auth === undefined ? r : r.set('Authorization', auth))).status;
    }),
  );
}

test('every route the service registers declares its authentication, and every declaration is a route', () => {
  const routes = [...new Set(registeredRoutes(app as never))].sort();
  assert.ok(routes.length >= 8, routes.join(', '));
  assert.deepEqual(
    routes.filter((r) => ROUTE_AUTH[r] === undefined),
    [],
    'routes without a declared auth policy in server/auth.ts ROUTE_AUTH',
  );
  assert.deepEqual(
    Object.keys(ROUTE_AUTH).filter((r) => !routes.includes(r)),
    [],
    'declared policies with no route behind them',
  );
});

test('registering a route without a declared policy fails at start, naming it', () => {
  assert.throws(() => policyOf('GET', '/v1/new-thing'), /GET \/v1\/new-thing: no auth policy/);
});

for (const [route, policy] of Object.entries(ROUTE_AUTH)) {
  if (policy.auth === 'none') {
    test(`${route} answers without credentials (${policy.why})`, async () => {
      assert.deepEqual(await call(route), [200]);
    });
    continue;
  }
  test(`${route} refuses a request without the ${policy.token} token, or with another token`, async () => {
    const refused = (statuses: number[]) => statuses.every((s) => s === 401);
    assert.ok(refused(await call(route)), 'no token');
    assert.ok(refused(await call(route, 'Bearer not-the-token')), 'a wrong token');
    for (const other of Object.keys(TOKENS).filter((k) => k !== policy.token))
      assert.ok(refused(await call(route, `Bearer ${TOKENS[other as TokenKind]}`)), `the ${other} token`);
    // With its own token the request gets past authentication (a heartbeat or webhook without a
    // body is then a client error, not an auth one).
    const ok = await call(route, `Bearer ${TOKENS[policy.token]}`);
    assert.ok(
      ok.every((s) => ![401, 403, 503].includes(s)),
      ok.join(),
    );
  });
}

test('tokens are re-read from their files: a rotated token works within a second, the old one no longer', async () => {
  const route = 'GET /v1/sd/central';
  const sd = async (t: string) => (await call(route, `Bearer ${t}`))[0];
  assert.equal(await sd(TOKENS.read), 200);
  // Rotated the way kubelet updates a Secret volume: a new file swapped in.
  writeFileSync(`${files.read}.new`, 'read-rotated-11aa');
  renameSync(`${files.read}.new`, files.read);
  // Checked at most once a second: until then the token last read still holds.
  clock += 999;
  assert.equal(await sd(TOKENS.read), 200);
  clock += 1;
  assert.equal(await sd(TOKENS.read), 401);
  assert.equal(await sd('read-rotated-11aa'), 200);
  // A missing token file disables the route rather than opening it.
  rmSync(files.read);
  clock += 1000;
  assert.equal(await sd('read-rotated-11aa'), 503);
  writeFileSync(files.read, TOKENS.read);
  clock += 1000;
  assert.equal(await sd(TOKENS.read), 200);
});

test('a fixed token (tests) and a token file behave alike', async () => {
  const fixed = createApp({
    topologySource: staticTopologySource(topology),
    registrations: new RegistrationStore({ ttlMs: 60_000 }),
    heartbeatToken: undefined,
    readToken: new Secret(TOKENS.read),
    logger,
    registry: new Registry(),
    now: Date.now,
  });
  await request(fixed).get('/v1/sd/central').set('Authorization', `Bearer ${TOKENS.read}`).expect(200);
  await request(fixed).get('/v1/sd/central').expect(401);
});

test('the README lists every route with its authentication', () => {
  const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');
  const section = readme.slice(readme.indexOf('## Security'));
  assert.ok(section.length > 0 && readme.includes('## Security'), 'README has a Security section');
  for (const route of Object.keys(ROUTE_AUTH)) assert.ok(section.includes(`\`${route}\``), route);
});
