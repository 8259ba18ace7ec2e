import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { request as httpsRequest } from 'node:https';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { HEARTBEAT_METRIC, JOB, LABEL, MOUNT } from '../../common/conventions.ts';
import { Secret } from '../../common/secret.ts';
import { toYaml } from '../../common/serialize.ts';
import { renderTree } from '../../render/emit.ts';
import { createPlan } from '../../render/plan.ts';
import { startServer, type RunningServer } from '../../server/main.ts';
import { fillWebConfig } from '../../sidecar/web-config.ts';
import { federationWebConfig } from '../../topology/security.ts';
import { securedTopologyText } from './fixture-topology.ts';
import { capturingLogger, topologyFrom, waitFor } from './helpers.ts';
import {
  freePort,
  makeFederationSecrets,
  startPrometheus,
  type FederationSecrets,
  type Proc,
} from './procs.ts';

const TOKEN = 'sidecar-token-7d1e';
const READ_TOKEN = 'read-token-3c81';
const root = mkdtempSync(join(tmpdir(), 'fedstack-fed-'));
const procs: Proc[] = [];
let server: RunningServer;
let secrets: FederationSecrets;
let edgePort: number;
let cascadePort: number;

/** Rendered configs point at the pod's Secret mounts; here those live in the temp dir. */
const relocate = (text: string) => text.split(MOUNT.secrets).join(secrets.dir);

before(async () => {
  secrets = makeFederationSecrets(root);
  const servicePort = await freePort();
  edgePort = await freePort();
  cascadePort = await freePort();
  // The topology's endpoint is deliberately wrong: the sidecar heartbeat must win.
  const text = securedTopologyText({
    serviceUrl: `http://127.0.0.1:${servicePort}`,
    edgeEndpoint: '127.0.0.1:1',
    scrapeInterval: '2s',
  });
  const topoFile = join(root, 'topology.yaml');
  writeFileSync(topoFile, text);
  // The read token the cascade presents to http_sd, where its rendered config looks for it.
  const readTokenFile = relocate(MOUNT.readTokenFile);
  mkdirSync(dirname(readTokenFile), { recursive: true });
  writeFileSync(readTokenFile, `${READ_TOKEN}\n`, { mode: 0o600 });
  server = await startServer({
    topologyFile: topoFile,
    port: servicePort,
    heartbeatToken: new Secret(TOKEN),
    readTokenFile,
    logger: capturingLogger().logger,
  });
  const topo = topologyFrom(text);

  // Edge: records the heartbeat series every second, serves only over TLS with basic auth.
  const edgeDir = join(root, 'edge');
  mkdirSync(edgeDir);
  writeFileSync(
    join(edgeDir, 'prometheus.yml'),
    toYaml({ global: { external_labels: { [LABEL.metaCluster]: 'mc-lab-01' } }, rule_files: ['rules.yml'] }),
  );
  writeFileSync(
    join(edgeDir, 'rules.yml'),
    toYaml({
      groups: [{ name: 'hb', interval: '1s', rules: [{ record: HEARTBEAT_METRIC, expr: 'vector(time())' }] }],
    }),
  );
  const template = relocate(toYaml(federationWebConfig(topo.security, 'kubernetes')));
  writeFileSync(
    join(edgeDir, 'web-config.yml'),
    fillWebConfig(template, join(secrets.dir, 'federation', 'password.bcrypt')),
  );
  procs.push(
    await startPrometheus({
      dir: edgeDir,
      configFile: join(edgeDir, 'prometheus.yml'),
      port: edgePort,
      extraArgs: [`--web.config.file=${join(edgeDir, 'web-config.yml')}`],
    }),
  );

  // The sidecar's heartbeat, as it would send it from the edge pod.
  const hb = await fetch(`${server.url}/v1/edges/mc-lab-01/heartbeat`, {
    method: 'POST',
    headers: { Authorization: `Bearer ${TOKEN}`, 'Content-Type': 'application/json' },
    body: JSON.stringify({ endpoint: `127.0.0.1:${edgePort}`, version: 'test', configHash: 'abc' }),
  });
  assert.equal(hb.status, 200);

  // Cascade: the real rendered config (http_sd against the service, https + basic auth).
  const bundle = renderTree(createPlan(topo, 'kubernetes'));
  const cascadeDir = join(root, 'cascade');
  mkdirSync(cascadeDir);
  writeFileSync(join(cascadeDir, 'prometheus.yml'), relocate(bundle.get('cascade/lab/prometheus.yml')!));
  writeFileSync(join(cascadeDir, 'rules.yml'), bundle.get('cascade/lab/rules.yml')!);
  procs.push(
    await startPrometheus({
      dir: cascadeDir,
      configFile: join(cascadeDir, 'prometheus.yml'),
      port: cascadePort,
    }),
  );
});

after(async () => {
  for (const p of procs) await p.stop();
  await server?.close();
  rmSync(root, { recursive: true, force: true });
});

/** GET over https to the edge, trusting the test CA; status code only. */
function edgeStatus(path: string, auth?: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = httpsRequest(
      {
        host: '127.0.0.1',
        port: edgePort,
        path,
        ca: secrets.caPem,
        headers: auth ? { Authorization: `Basic ${Buffer.from(auth).toString('base64')}` } : {},
      },
      (res) => {
        res.resume();
        resolve(res.statusCode!);
      },
    );
    req.on('error', reject);
    req.end();
  });
}

async function query(q: string): Promise<{ metric: Record<string, string>; value: [number, string] }[]> {
  const r = await fetch(`http://127.0.0.1:${cascadePort}/api/v1/query?query=${encodeURIComponent(q)}`);
  const body = (await r.json()) as {
    data: { result: { metric: Record<string, string>; value: [number, string] }[] };
  };
  return body.data.result;
}

test('the edge refuses plain HTTP, missing and wrong credentials, and answers with them', async () => {
  const plain = await fetch(`http://127.0.0.1:${edgePort}/federate`);
  assert.equal(plain.status, 400);
  assert.equal(await edgeStatus('/federate'), 401);
  assert.equal(await edgeStatus('/federate', `federate:${secrets.password}x`), 401);
  assert.equal(await edgeStatus('/federate', `nobody:${secrets.password}`), 401);
  assert.equal(
    await edgeStatus(
      `/federate?match[]=${encodeURIComponent(HEARTBEAT_METRIC)}`,
      `federate:${secrets.password}`,
    ),
    200,
  );
});

test('the cascade discovers the edge from the service SD and federates it over TLS with basic auth', async () => {
  const targets = await waitFor('the federation target to be up', async () => {
    const r = await fetch(`http://127.0.0.1:${cascadePort}/api/v1/targets?state=active`);
    const body = (await r.json()) as {
      data: {
        activeTargets: {
          labels: Record<string, string>;
          scrapeUrl: string;
          health: string;
          lastError: string;
        }[];
      };
    };
    const fed = body.data.activeTargets.filter((t) => t.labels.job === JOB.federateEdge);
    return fed.length === 1 && fed[0]!.health === 'up' ? fed : undefined;
  });
  assert.match(targets[0]!.scrapeUrl, new RegExp(`^https://127\\.0\\.0\\.1:${edgePort}/federate\\?`));
  assert.deepEqual(
    {
      big: targets[0]!.labels[LABEL.bigRegion],
      region: targets[0]!.labels[LABEL.region],
      mc: targets[0]!.labels[LABEL.metaCluster],
    },
    { big: 'lab', region: 'lab-east', mc: 'mc-lab-01' },
  );
  const series = await waitFor('the edge heartbeat series at the cascade', async () => {
    const r = await query(HEARTBEAT_METRIC);
    return r.length > 0 ? r : undefined;
  });
  assert.equal(series[0]!.metric[LABEL.metaCluster], 'mc-lab-01');
  assert.equal(series[0]!.metric[LABEL.bigRegion], 'lab');
});
