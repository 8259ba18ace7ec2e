import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MOUNT } from '../../common/conventions.ts';
import {
  federationClientConfig,
  federationWebConfig,
  selfScrapeClientConfig,
  securitySchema,
  WEB_CONFIG_HASH_PLACEHOLDER,
} from '../../topology/security.ts';

const security = securitySchema.parse({
  federation: {
    tls: {
      serverCertSecret: 'fed-tls',
      ca: { name: 'fed-ca', key: 'ca.crt' },
      serverName: 'federation.internal',
    },
    basicAuth: {
      password: { name: 'fed-auth', key: 'password' },
      passwordHash: { name: 'fed-auth', key: 'password.bcrypt' },
    },
  },
});

test('without a security section federation stays plain HTTP', () => {
  assert.deepEqual(federationClientConfig(undefined, 'kubernetes'), {
    scheme: 'http',
    tls_config: undefined,
    basic_auth: undefined,
  });
  assert.deepEqual(federationWebConfig(undefined, 'kubernetes'), {
    tls_server_config: undefined,
    basic_auth_users: undefined,
  });
});

test('in kubernetes the scraper reads the CA and password from the mounted Secret paths', () => {
  assert.deepEqual(federationClientConfig(security, 'kubernetes'), {
    scheme: 'https',
    tls_config: { ca_file: MOUNT.federationCaFile, server_name: 'federation.internal' },
    basic_auth: { username: 'federate', password_file: MOUNT.federationPasswordFile },
  });
});

test('in the local profile paths are relative to a config two levels below the bundle root', () => {
  const c = federationClientConfig(security, 'local');
  assert.equal(c.tls_config?.ca_file, '../../secrets/federation/ca.crt');
  assert.equal(c.basic_auth?.password_file, '../../secrets/federation/password');
});

test('the web config carries the hash placeholder, never a hash', () => {
  const w = federationWebConfig(security, 'kubernetes');
  assert.deepEqual(w.basic_auth_users, { federate: WEB_CONFIG_HASH_PLACEHOLDER });
  assert.deepEqual(w.tls_server_config, { cert_file: MOUNT.tlsCertFile, key_file: MOUNT.tlsKeyFile });
});

test('a literal password where a Secret reference belongs is refused', () => {
  const r = securitySchema.safeParse({
    federation: { basicAuth: { password: 'hunter2', passwordHash: { name: 'a', key: 'b' } } },
  });
  assert.equal(r.success, false);
});

test('a protected Prometheus scrapes itself with the same credentials but without verifying localhost', () => {
  assert.deepEqual(selfScrapeClientConfig(security, 'kubernetes'), {
    scheme: 'https',
    tls_config: { insecure_skip_verify: true },
    basic_auth: { username: 'federate', password_file: MOUNT.federationPasswordFile },
  });
  assert.equal(selfScrapeClientConfig(undefined, 'kubernetes').scheme, 'http');
});
