import { test } from 'node:test';
import assert from 'node:assert/strict';
import request from 'supertest';
import { Registry } from 'prom-client';
import { PROFILES } from '../../common/conventions.ts';
import { Secret } from '../../common/secret.ts';
import { renderTree } from '../../render/emit.ts';
import { createPlan } from '../../render/plan.ts';
import { createApp } from '../../server/app.ts';
import { RegistrationStore } from '../../server/registrations.ts';
import { staticTopologySource } from '../../server/topology-watch.ts';
import { securedTopologyText } from '../server/fixture-topology.ts';
import { capturingLogger, topologyFrom } from '../server/helpers.ts';
import { federationMaterial } from '../../deploy/secrets/material.ts';

// Secret values as the operator's Secrets hold them, made by the code `fedstack secrets init`
// runs, for a topology with mutual TLS (the client key is one more secret to keep out).
const material = federationMaterial({ sans: ['federation.internal'], days: 1, mutualTls: true });
const token = 'sidecar-token-c0ffee-5ecret';
const readToken = 'read-token-bead-5ecret';
/** A line from inside a PEM key: any copy of the key would contain it. */
const keyLine = (pem: string) => pem.split('\n').find((l) => l.length > 20 && !l.startsWith('-----'))!;
const SECRET_VALUES: Record<string, string> = {
  'federation password': material.password.reveal(),
  'password bcrypt hash': material.passwordHash.reveal(),
  'TLS private key': keyLine(material.serving.keyPem.reveal()),
  'client private key': keyLine(material.client!.keyPem.reveal()),
  'CA private key': keyLine(material.ca.keyPem.reveal()),
  'sidecar token': token,
  'read token': readToken,
};
/** Shapes of secrets, whatever their value: no rendered file may contain one. */
const SECRET_SHAPES: Record<string, RegExp> = {
  'a bcrypt hash': /\$2[aby]\$\d{2}\$[./A-Za-z0-9]{53}/,
  'a PEM private key': /-----BEGIN [A-Z ]*PRIVATE KEY-----/,
};

const topo = topologyFrom(
  securedTopologyText({
    serviceUrl: 'http://fedstack.fedstack-system.svc:8080',
    edgeEndpoint: '10.0.0.1:9090',
    mutualTls: true,
  }),
);

function everyRenderedFile(): Map<string, string> {
  const all = new Map<string, string>();
  for (const profile of PROFILES) {
    for (const [p, t] of renderTree(createPlan(topo, profile))) all.set(`${profile}:${p}`, t);
  }
  return all;
}

function assertClean(files: ReadonlyMap<string, string>): void {
  for (const [path, text] of files) {
    for (const [what, value] of Object.entries(SECRET_VALUES))
      assert.ok(!text.includes(value), `${path} contains the ${what}`);
    for (const [what, re] of Object.entries(SECRET_SHAPES))
      assert.doesNotMatch(text, re, `${path} contains ${what}`);
  }
}

test('no rendered file (bundle and manifests, both profiles) contains a secret value of the fixture', () => {
  const files = everyRenderedFile();
  assert.ok(files.size > 20);
  assertClean(files);
  // The scan looks where secrets would be: the references to them are there.
  const edge = files.get('kubernetes:edge/mc-lab-01/manifests.yaml')!;
  for (const ref of [
    'secretName: fed-tls',
    'secretName: fed-client',
    'name: fed-auth',
    'key: password.bcrypt',
  ])
    assert.ok(edge.includes(ref), ref);
  const cascade = files.get('kubernetes:cascade/lab/prometheus.yml')!;
  assert.match(cascade, /password_file: \/etc\/prometheus\/secrets\/federation\/password/);
  assert.match(cascade, /scheme: https/);
});

test('no file served under /v1/config and no log line contains a secret value', async () => {
  const { logger, lines } = capturingLogger();
  const app = createApp({
    topologySource: staticTopologySource(topo),
    registrations: new RegistrationStore({ ttlMs: 60_000 }),
    heartbeatToken: new Secret(token),
    readToken: new Secret(readToken),
    logger,
    registry: new Registry(),
    now: () => 0,
  });
  const served = new Map<string, string>();
  for (const path of renderTree(createPlan(topo, 'kubernetes')).keys()) {
    const res = await request(app)
      .get(`/v1/config/${path}`)
      .set('Authorization', `Bearer ${readToken}`)
      .expect(200);
    served.set(path, res.text);
  }
  assert.ok(served.size > 5);
  await request(app)
    .post('/v1/edges/mc-lab-01/heartbeat')
    .set('Authorization', `Bearer ${token}`)
    .send({ endpoint: '10.0.0.2:9090', version: 'v', configHash: 'h' })
    .expect(200);
  served.set('(logs)', lines.join(''));
  assertClean(served);
});
