import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { request as httpsRequest } from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FILE, MOUNT } from '../../common/conventions.ts';
import { Secret } from '../../common/secret.ts';
import { toYaml } from '../../common/serialize.ts';
import { startServer, type RunningServer } from '../../server/main.ts';
import { runSidecar, type RunningSidecar, type SidecarOptions } from '../../sidecar/sidecar.ts';
import { federationWebConfig, WEB_CONFIG_HASH_PLACEHOLDER } from '../../topology/security.ts';
import { securedTopologyText } from './fixture-topology.ts';
import { capturingLogger, topologyFrom, waitFor } from './helpers.ts';
import {
  freePort,
  makeFederationSecrets,
  startPrometheus,
  type FederationSecrets,
  type Proc,
} from './procs.ts';

const TOKEN = 'sidecar-token-51ab';
const READ_TOKEN = 'read-token-9e02';
const READ = { Authorization: `Bearer ${READ_TOKEN}` };
const root = mkdtempSync(join(tmpdir(), 'fedstack-sidecar-'));
const configDir = join(root, 'mounted');
const liveDir = join(root, 'live');
let secrets: FederationSecrets;
let server: RunningServer;
let prometheus: Proc;
let sidecar: RunningSidecar;
let promPort: number;
let options: SidecarOptions;

const config = (version: string) =>
  toYaml({
    global: { scrape_interval: '15s', external_labels: { config_version: version } },
    rule_files: ['rules.yml'],
    scrape_configs: [],
  });
const rules = (expr: string) =>
  toYaml({ groups: [{ name: 'r', rules: [{ record: 'fedstack:test:one', expr }] }] });
/** Prometheus logs this line once per successful (re)load. */
const loads = () => prometheus.output().split('Completed loading of configuration file').length - 1;

before(async () => {
  secrets = makeFederationSecrets(root);
  promPort = await freePort();
  const text = securedTopologyText({ serviceUrl: 'http://127.0.0.1:1', edgeEndpoint: '127.0.0.1:2' });
  const topoFile = join(root, 'topology.yaml');
  writeFileSync(topoFile, text);
  writeFileSync(join(root, 'token'), `${TOKEN}\n`);
  server = await startServer({
    topologyFile: topoFile,
    port: 0,
    heartbeatToken: new Secret(TOKEN),
    readToken: new Secret(READ_TOKEN),
    logger: capturingLogger().logger,
  });

  mkdirSync(configDir);
  writeFileSync(join(configDir, FILE.prometheus), config('v1'));
  writeFileSync(join(configDir, FILE.rules), rules('vector(1)'));
  const webTemplate = toYaml(federationWebConfig(topologyFrom(text).security, 'kubernetes'))
    .split(MOUNT.secrets)
    .join(secrets.dir);
  assert.ok(webTemplate.includes(WEB_CONFIG_HASH_PLACEHOLDER));
  writeFileSync(join(configDir, FILE.webConfig), webTemplate);

  options = {
    serviceUrl: server.url,
    metaCluster: 'mc-lab-01',
    endpoint: '198.51.100.20:9090',
    tokenFile: join(root, 'token'),
    configDir,
    liveDir,
    prometheusUrl: `https://127.0.0.1:${promPort}`,
    prometheusAuth: {
      username: 'federate',
      passwordFile: join(secrets.dir, 'federation', 'password'),
    },
    prometheusTls: { caFile: join(secrets.dir, 'federation', 'ca.crt') },
    passwordHashFile: join(secrets.dir, 'federation', 'password.bcrypt'),
    promtoolPath: '/usr/bin/promtool',
    interval: 3_600_000, // the test drives sync() itself
    metricsPort: 0,
    logger: capturingLogger().logger,
  };
  // The init container: one checked sync into the live dir before Prometheus starts.
  await runSidecar({ ...options, once: true });
  prometheus = await startPrometheus({
    dir: root,
    configFile: join(liveDir, FILE.prometheus),
    port: promPort,
    extraArgs: ['--web.enable-lifecycle', `--web.config.file=${join(liveDir, FILE.webConfig)}`],
  });
  sidecar = await runSidecar(options);
});

after(async () => {
  await sidecar?.close();
  await prometheus?.stop();
  await server?.close();
  rmSync(root, { recursive: true, force: true });
});

/** The config Prometheus is running, read through its TLS + basic auth front door. */
async function runningConfig(): Promise<string> {
  return (JSON.parse(await promGet('/api/v1/status/config')) as { data: { yaml: string } }).data.yaml;
}

/** Prometheus' own record of reloads: a reload of a bad config would set successful to 0. */
async function reloadState(): Promise<{ successful: string; lastSuccess: string }> {
  const text = await promGet('/metrics');
  const value = (name: string) => new RegExp(`^${name} (\\S+)$`, 'm').exec(text)?.[1] ?? 'missing';
  return {
    successful: value('prometheus_config_last_reload_successful'),
    lastSuccess: value('prometheus_config_last_reload_success_timestamp_seconds'),
  };
}

function promGet(path: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const auth = Buffer.from(`federate:${secrets.password}`).toString('base64');
    const req = httpsRequest(
      {
        host: '127.0.0.1',
        port: promPort,
        path,
        ca: secrets.caPem,
        headers: { Authorization: `Basic ${auth}` },
      },
      (res) => {
        let body = '';
        res.on('data', (d) => (body += d));
        res.on('end', () => resolve(body));
      },
    );
    req.on('error', reject);
    req.end();
  });
}

test('the init run fills the password hash into the live web config and Prometheus serves with it', async () => {
  const live = readFileSync(join(liveDir, FILE.webConfig), 'utf8');
  assert.ok(!live.includes(WEB_CONFIG_HASH_PLACEHOLDER));
  assert.ok(live.includes(secrets.hash));
  assert.match(await runningConfig(), /config_version: v1/);
  assert.equal(loads(), 1);
});

test('an unchanged mount is not reloaded', async () => {
  assert.equal(await sidecar.sync(), 'unchanged');
  assert.equal(loads(), 1);
});

const badChanges: { name: string; file: string; text: string; problem: RegExp }[] = [
  {
    name: 'a rule file with broken PromQL',
    file: FILE.rules,
    text: rules('sum(rate(x[5m]'),
    problem: /promtool check config/,
  },
  {
    name: 'a config with an unknown field',
    file: FILE.prometheus,
    text: `${config('v9')}scrape_configz: []\n`,
    problem: /promtool check config/,
  },
  {
    name: 'a web config with an unknown field',
    file: FILE.webConfig,
    text: 'tls_server_confg: {}\n',
    problem: /promtool check web-config/,
  },
];
for (const c of badChanges) {
  test(`${c.name} is never copied live nor reloaded`, async () => {
    const before = {
      reload: await reloadState(),
      loads: loads(),
      live: readFileSync(join(liveDir, c.file), 'utf8'),
      hash: sidecar.appliedHash(),
    };
    const good = readFileSync(join(configDir, c.file), 'utf8');
    writeFileSync(join(configDir, c.file), c.text);
    try {
      assert.equal(await sidecar.sync(), 'rejected');
      assert.equal(await sidecar.sync(), 'unchanged', 'the same bad content is checked once');
      assert.deepEqual(await reloadState(), before.reload, 'Prometheus was not reloaded');
      assert.equal(before.reload.successful, '1');
      assert.equal(loads(), before.loads, 'no configuration load was logged');
      assert.equal(
        readFileSync(join(liveDir, c.file), 'utf8'),
        before.live,
        'the live file is the last good one',
      );
      assert.equal(sidecar.appliedHash(), before.hash);
      assert.match(await runningConfig(), /config_version: v1/);
      const metrics = await (await fetch(sidecar.metricsUrl!)).text();
      assert.match(metrics, /^fedstack_sidecar_config_valid 0$/m);
    } finally {
      writeFileSync(join(configDir, c.file), good);
    }
    // Back to the good content: it is the live one already, nothing to reload.
    assert.equal(await sidecar.sync(), 'unchanged');
    assert.match(await (await fetch(sidecar.metricsUrl!)).text(), /^fedstack_sidecar_config_valid 1$/m);
  });
}

test('a good change is checked, copied live and reloaded', async () => {
  const before = loads();
  writeFileSync(join(configDir, FILE.prometheus), config('v2'));
  assert.equal(await sidecar.sync(), 'applied');
  // The log line may trail the HTTP answer by a moment.
  await waitFor('the reload log line', () => (loads() === before + 1 ? true : undefined));
  assert.match(await runningConfig(), /config_version: v2/);
  assert.equal(readFileSync(join(liveDir, FILE.prometheus), 'utf8'), config('v2'));
  const metrics = await (await fetch(sidecar.metricsUrl!)).text();
  assert.match(metrics, /^fedstack_sidecar_config_syncs_total\{outcome="rejected"\} 3$/m);
  assert.match(metrics, /^fedstack_sidecar_config_syncs_total\{outcome="applied"\} 1$/m);
  assert.match(metrics, /^fedstack_sidecar_config_valid 1$/m);
});

test('the heartbeat registers the LoadBalancer address, which the cascade SD then serves', async () => {
  assert.equal(await sidecar.heartbeat(), true);
  const sd = (await (await fetch(`${server.url}/v1/sd/cascade/lab`, { headers: READ })).json()) as {
    targets: string[];
  }[];
  assert.deepEqual(sd[0]!.targets, ['198.51.100.20:9090']);
});

test('a heartbeat with a wrong token fails and is counted', async () => {
  writeFileSync(join(root, 'token'), 'not-the-token');
  try {
    assert.equal(await sidecar.heartbeat(), false);
    const metrics = await (await fetch(sidecar.metricsUrl!)).text();
    assert.match(metrics, /^fedstack_sidecar_heartbeats_total\{outcome="failed"\} 1$/m);
  } finally {
    writeFileSync(join(root, 'token'), TOKEN);
  }
});

test('the heartbeat goes to every address the service name resolves to, keeping the Host header', async () => {
  const asked: string[] = [];
  const port = new URL(server.url).port;
  const fanout = await runSidecar({
    ...options,
    serviceUrl: `http://fedstack.replicas.test:${port}`,
    endpoint: '198.51.100.30:9090',
    interval: 3_600_000,
    metricsPort: undefined,
    resolveAll: async (host) => {
      asked.push(host);
      return ['127.0.0.1'];
    },
  });
  try {
    assert.equal(await fanout.heartbeat(), true);
    assert.deepEqual(asked.slice(-1), ['fedstack.replicas.test']);
    const sd = (await (await fetch(`${server.url}/v1/sd/cascade/lab`, { headers: READ })).json()) as {
      targets: string[];
    }[];
    assert.deepEqual(sd[0]!.targets, ['198.51.100.30:9090']);
  } finally {
    await fanout.close();
  }
});

test('a service name that does not resolve fails the heartbeat without throwing', async () => {
  const lost = await runSidecar({
    ...options,
    serviceUrl: 'http://fedstack.replicas.test:1',
    interval: 3_600_000,
    metricsPort: undefined,
    resolveAll: async () => {
      throw Object.assign(new Error('getaddrinfo ENOTFOUND'), { code: 'ENOTFOUND' });
    },
  });
  try {
    assert.equal(await lost.heartbeat(), false);
  } finally {
    await lost.close();
  }
});

test('a failed reload is retried on the next sync until Prometheus takes it', async () => {
  // Prometheus' /-/reload answering 500 then 200: the retry logic alone is under test here.
  const answers = [500, 200];
  const calls: string[] = [];
  const fake = createServer((req, res) => {
    calls.push(`${req.method} ${req.url}`);
    res.writeHead(answers.shift() ?? 200).end();
  });
  await new Promise<void>((r) => fake.listen(0, '127.0.0.1', r));
  const dir = join(root, 'retry');
  mkdirSync(join(dir, 'mounted'), { recursive: true });
  writeFileSync(join(dir, 'mounted', FILE.prometheus), config('r1'));
  writeFileSync(join(dir, 'mounted', FILE.rules), rules('vector(1)'));
  const s = await runSidecar({
    configDir: join(dir, 'mounted'),
    liveDir: join(dir, 'live'),
    prometheusUrl: `http://127.0.0.1:${(fake.address() as AddressInfo).port}`,
    promtoolPath: '/usr/bin/promtool',
    interval: 3_600_000,
    logger: capturingLogger().logger,
    once: true,
  });
  await s.close();
  const loop = await runSidecar({
    configDir: join(dir, 'mounted'),
    liveDir: join(dir, 'live'),
    prometheusUrl: `http://127.0.0.1:${(fake.address() as AddressInfo).port}`,
    promtoolPath: '/usr/bin/promtool',
    interval: 3_600_000,
    logger: capturingLogger().logger,
  });
  try {
    writeFileSync(join(dir, 'mounted', FILE.prometheus), config('r2'));
    // The loop's first tick may already have picked the change up.
    const first = await loop.sync();
    assert.ok(
      first === 'reload-failed' || (first === 'applied' && calls.length === 2),
      `first sync: ${first}`,
    );
    if (first === 'reload-failed') assert.equal(await loop.sync(), 'applied');
    assert.deepEqual(calls, ['POST /-/reload', 'POST /-/reload']);
    assert.equal(await loop.sync(), 'unchanged');
    assert.equal(calls.length, 2);
  } finally {
    await loop.close();
    await new Promise((r) => fake.close(r));
  }
});

test('a pulling sidecar whose service is out of reach starts from the mounted config, and keeps a live one', async () => {
  const dir = mkdtempSync(join(root, 'pull-fallback-'));
  writeFileSync(join(dir, 'read-token'), `${READ_TOKEN}\n`);
  const pulling: SidecarOptions = {
    ...options,
    serviceUrl: 'http://127.0.0.1:1', // nothing listens
    instance: 'edge/mc-lab-01',
    readTokenFile: join(dir, 'read-token'),
    liveDir: join(dir, 'live'),
    metricsPort: undefined,
  };
  // The init container on a first start: nothing live, the service down.
  const mountedNow = readFileSync(join(configDir, FILE.prometheus), 'utf8');
  const init = await runSidecar({ ...pulling, once: true });
  assert.notEqual(init.appliedHash(), 'none');
  assert.equal(readFileSync(join(dir, 'live', FILE.prometheus), 'utf8'), mountedNow);
  assert.ok(readFileSync(join(dir, 'live', FILE.webConfig), 'utf8').includes(secrets.hash));
  assert.equal(init.liveRevision(), undefined); // no revision was pulled

  // Something is live now: a failed pull keeps it, even when the mount changes underneath.
  const mounted = join(dir, 'mounted');
  mkdirSync(mounted);
  for (const f of [FILE.prometheus, FILE.rules, FILE.webConfig])
    writeFileSync(join(mounted, f), readFileSync(join(configDir, f)));
  writeFileSync(join(mounted, FILE.prometheus), config('mounted-later'));
  const loop = await runSidecar({ ...pulling, configDir: mounted });
  try {
    assert.equal(await loop.sync(), 'unchanged');
    assert.equal(readFileSync(join(dir, 'live', FILE.prometheus), 'utf8'), mountedNow);
  } finally {
    await loop.close();
  }
});

test('a pulling sidecar polls with the ETag it has: a 304 keeps the live config, a new answer is applied', async () => {
  // The service's side (server/app.ts instanceConfig): 304 for the ETag of the current answer.
  const answers = [
    { etag: '"rev-1"', hash: 'rev-1', prometheus: config('p1') },
    { etag: '"rev-2"', hash: 'rev-2', prometheus: config('p2') },
  ];
  let current = 0;
  const seen: (string | undefined)[] = [];
  const service = createServer((req, res) => {
    seen.push(req.headers['if-none-match']);
    const a = answers[current]!;
    if (req.headers['if-none-match'] === a.etag) return void res.writeHead(304, { ETag: a.etag }).end();
    const body = JSON.stringify({ hash: a.hash, files: { [FILE.prometheus]: a.prometheus, [FILE.rules]: rules('vector(1)') } });
    res.writeHead(200, { ETag: a.etag, 'Content-Type': 'application/json' }).end(body);
  });
  const reloads: string[] = [];
  const prom = createServer((req, res) => {
    reloads.push(`${req.method} ${req.url}`);
    res.writeHead(200).end();
  });
  for (const s of [service, prom]) await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const dir = mkdtempSync(join(root, 'pull-etag-'));
  writeFileSync(join(dir, 'read-token'), `${READ_TOKEN}\n`);
  const loop = await runSidecar({
    serviceUrl: `http://127.0.0.1:${(service.address() as AddressInfo).port}`,
    instance: 'cascade/china',
    readTokenFile: join(dir, 'read-token'),
    liveDir: join(dir, 'live'),
    prometheusUrl: `http://127.0.0.1:${(prom.address() as AddressInfo).port}`,
    promtoolPath: '/usr/bin/promtool',
    interval: 3_600_000,
    logger: capturingLogger().logger,
  });
  const live = () => readFileSync(join(dir, 'live', FILE.prometheus), 'utf8');
  try {
    // Revision 1 is applied by the loop's first tick or by this sync, whichever runs first.
    await loop.sync();
    assert.deepEqual(reloads, ['POST /-/reload']);
    assert.equal(live(), config('p1'));
    assert.equal(seen[0], undefined, 'the first pull has no ETag to send');
    assert.equal(await loop.sync(), 'unchanged');
    assert.equal(seen.at(-1), '"rev-1"');
    assert.equal(live(), config('p1'), 'a 304 keeps what is live');
    assert.equal(loop.liveRevision(), 'rev-1');
    current = 1;
    assert.equal(await loop.sync(), 'applied');
    assert.equal(seen.at(-1), '"rev-1"');
    assert.equal(live(), config('p2'));
    assert.equal(loop.liveRevision(), 'rev-2');
    assert.equal(await loop.sync(), 'unchanged');
    assert.equal(seen.at(-1), '"rev-2"');
    assert.deepEqual(reloads, ['POST /-/reload', 'POST /-/reload']);
  } finally {
    await loop.close();
    for (const s of [service, prom]) await new Promise((r) => s.close(r));
  }
});
