/**
 * Central's self-monitoring rules (central/self-monitoring.ts) read series a live fedstack
 * service exports, under the names it exports them: a renamed metric fails here, not in a
 * cluster where the alert would silently never fire.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import request from 'supertest';
import { Registry } from 'prom-client';
import { JOB, SIDECAR_CONFIG_VALID } from '../../common/conventions.ts';
import { Secret } from '../../common/secret.ts';
import { SELF_MONITORING_RULES } from '../../central/self-monitoring.ts';
import { createApp } from '../../server/app.ts';
import { RegistrationStore } from '../../server/registrations.ts';
import { staticTopologySource } from '../../server/topology-watch.ts';
import { capturingLogger, defaultTopology } from './helpers.ts';

/** Metric names an expression reads (identifiers followed by `{`, ` `, `)` or the end, not functions or labels). */
function metricsRead(expr: string): string[] {
  const withoutLabels = expr
    .replace(/\{[^}]*\}/g, '{}')
    .replace(/\b(by|without|on|ignoring)\s*\([^)]*\)/g, '');
  const names = withoutLabels.match(/[a-zA-Z_:][a-zA-Z0-9_:]*(?=\s*(\{|\[|\)|$|\s*[-+*/><=!]))/g) ?? [];
  return names.filter((n) => !['sum', 'rate', 'increase', 'max', 'min', 'avg', 'count'].includes(n));
}

test('every series the self-monitoring rules read is one the service (or the sidecar) exports', async () => {
  const registry = new Registry();
  const app = createApp({
    topologySource: staticTopologySource(defaultTopology()),
    registrations: new RegistrationStore({ ttlMs: 60_000 }),
    heartbeatToken: new Secret('t'),
    readToken: new Secret('r'),
    logger: capturingLogger().logger,
    registry,
    now: () => 0,
  });
  await request(app).get('/v1/sd/cascade/china').set('Authorization', 'Bearer r').expect(200);
  const exported = (await request(app).get('/metrics')).text;
  const read = new Set(SELF_MONITORING_RULES.flatMap((r) => metricsRead(r.expr)));
  assert.ok(read.has('fedstack_topology_valid') && read.has('up'), [...read].join(', '));
  for (const name of read) {
    if (name === 'up') continue; // made by central's scrape of job "fedstack"
    if (name === SIDECAR_CONFIG_VALID) continue; // the sidecar's own gauge, named by the same constant
    assert.match(exported, new RegExp(`^${name}(\\{| )`, 'm'), `the service exports no ${name}`);
  }
  assert.ok(SELF_MONITORING_RULES.some((r) => r.expr.includes(`job="${JOB.fedstack}"`)));
});

test('the service counts the meta-clusters that should heartbeat', async () => {
  const app = createApp({
    topologySource: staticTopologySource(defaultTopology()),
    registrations: new RegistrationStore({ ttlMs: 60_000 }),
    heartbeatToken: new Secret('t'),
    logger: capturingLogger().logger,
    registry: new Registry(),
    now: () => 0,
  });
  const text = (await request(app).get('/metrics')).text;
  assert.match(text, /^fedstack_topology_meta_clusters 12$/m);
  assert.match(text, /^fedstack_edge_registrations 0$/m);
});
