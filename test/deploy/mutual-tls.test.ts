/**
 * Mutual TLS for real: an edge and its cascade, Debian's Prometheus 2.42, the local profile's
 * rendered configs and web configs, certificates from deploy/secrets. The cascade federates the
 * edge presenting its client certificate; without one (or with one from another CA) the edge
 * refuses the handshake.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { FILE, JOB } from '../../common/conventions.ts';
import { runPrometheus, type RunningServer } from '../../deploy/local/binaries.ts';
import { httpGet, type ClientCredentials } from '../../deploy/local/http.ts';
import { localizeTopology } from '../../deploy/local/localize.ts';
import { promTargets } from '../../deploy/local/promapi.ts';
import { writeLocalSecrets, type LocalSecrets } from '../../deploy/local/secrets.ts';
import { createCa, issueCertificate } from '../../deploy/secrets/pki.ts';
import { treeFiles } from '../../render/emit.ts';
import { createPlan } from '../../render/plan.ts';
import { writeTreeAtomically } from '../../render/write.ts';
import pino from 'pino';
import { runSidecar, type RunningSidecar } from '../../sidecar/sidecar.ts';
import { fillWebConfig } from '../../sidecar/web-config.ts';
import { LOCAL_SECRET_FILES } from '../../topology/security.ts';
import { securedTopologyText } from '../server/fixture-topology.ts';
import { topologyFrom } from '../server/helpers.ts';
import { freePort, tempDir, waitFor } from '../support/index.ts';

describe('mutual TLS between a cascade and its edge', () => {
  const root = tempDir('fedstack-mtls-');
  const config = join(root, 'config');
  const servers: RunningServer[] = [];
  let secrets: LocalSecrets;
  let creds: ClientCredentials;
  let edgeUrl: string;
  let cascadeUrl: string;

  before(async () => {
    const [edge, cascade, central, am, amCluster] = await Promise.all([1, 2, 3, 4, 5].map(() => freePort()));
    const topology = localizeTopology(
      topologyFrom(
        securedTopologyText({
          serviceUrl: 'http://127.0.0.1:1',
          edgeEndpoint: '127.0.0.1:1',
          mutualTls: true,
        }),
      ),
      {
        ports: {
          edges: { 'mc-lab-01': edge! },
          cascades: { lab: cascade! },
          centrals: { 'central-a': central!, 'central-b': central! + 1 },
          alertmanagers: {
            'am-0': { web: am!, cluster: amCluster! },
            'am-1': { web: am! + 1, cluster: amCluster! + 1 },
          },
        },
        intervals: { scrape: '1s', evaluation: '1s' },
      },
    );
    await writeTreeAtomically(treeFiles(createPlan(topology, 'local')), config);
    secrets = writeLocalSecrets({ root: config, topology, receiverValues: new Map() });
    creds = secrets.credentials()!;
    const start = async (tier: 'edge' | 'cascade', name: string, port: number) => {
      const dir = join(config, tier, name);
      const live = join(dir, 'web-config.live.yml');
      writeFileSync(
        live,
        fillWebConfig(readFileSync(join(dir, FILE.webConfig), 'utf8'), secrets.paths.passwordHash),
      );
      const server = await runPrometheus({
        configFile: join(dir, FILE.prometheus),
        dataDir: join(root, 'data', tier),
        listen: `127.0.0.1:${port}`,
        protection: { scheme: 'https', credentials: creds },
        extraArgs: [`--web.config.file=${live}`],
      });
      servers.push(server);
      return server.url;
    };
    edgeUrl = await start('edge', 'mc-lab-01', edge!);
    cascadeUrl = await start('cascade', 'lab', cascade!);
  });

  after(async () => {
    for (const s of servers) await s.stop();
  });

  it('renders a web config that requires and verifies client certificates, and promtool accepts it filled in', () => {
    const live = join(config, 'edge', 'mc-lab-01', 'web-config.live.yml');
    const text = readFileSync(live, 'utf8');
    assert.match(text, /client_auth_type: RequireAndVerifyClientCert/);
    assert.match(text, /client_ca_file: \.\.\/\.\.\/secrets\/federation\/ca\.crt/);
    execFileSync('promtool', ['check', 'web-config', live], { stdio: 'pipe' });
  });

  it('federates the edge, the cascade presenting its client certificate', async () => {
    const target = await waitFor(
      async () =>
        (await promTargets(cascadeUrl, creds)).find(
          (t) => t.scrapePool === JOB.federateEdge && t.health === 'up',
        ),
      { timeoutMs: 20_000, what: 'the edge federated by the cascade' },
    );
    assert.match(target.scrapeUrl, /^https:\/\/127\.0\.0\.1:\d+\/federate\?/);
  });

  it('refuses a scraper without a client certificate, or with one another CA signed', async () => {
    const withoutCert = { ...creds, cert: undefined, key: undefined };
    await assert.rejects(
      httpGet(`${edgeUrl}/federate?match[]=up`, withoutCert),
      /alert (bad certificate|certificate required)/,
    );
    const otherCa = createCa({ commonName: 'not the federation CA', days: 1 });
    const stranger = issueCertificate(otherCa, { commonName: 'stranger', usage: 'client', days: 1 });
    await assert.rejects(
      httpGet(`${edgeUrl}/federate?match[]=up`, {
        ...creds,
        cert: stranger.certPem,
        key: stranger.keyPem.reveal(),
      }),
      /alert (bad certificate|certificate required)/,
    );
  });

  it("lets the edge's sidecar reload its Prometheus with the client certificate, and only with it", async () => {
    const sidecar = (tls: { certFile?: string; keyFile?: string }) =>
      runSidecar({
        configDir: join(config, 'edge', 'mc-lab-01'),
        // Two levels below the bundle root while staging, as the rendered relative paths expect.
        liveDir: join(config, 'live'),
        prometheusUrl: edgeUrl,
        prometheusAuth: { username: 'federate', passwordFile: secrets.paths.password },
        prometheusTls: { ...tls, insecureSkipVerify: true },
        passwordHashFile: secrets.paths.passwordHash,
        promtoolPath: 'promtool',
        interval: 3_600_000,
        logger: pino({ level: 'silent' }),
      });
    // A config change for each sidecar to apply, once its start-up sync is done.
    const rules = join(config, 'edge', 'mc-lab-01', FILE.rules);
    const change = async (s: RunningSidecar) => {
      await s.sync();
      writeFileSync(rules, `${readFileSync(rules, 'utf8')}\n`);
    };
    const withCert = await sidecar({
      certFile: join(config, LOCAL_SECRET_FILES.clientCert),
      keyFile: join(config, LOCAL_SECRET_FILES.clientKey),
    });
    try {
      await change(withCert);
      assert.equal(await withCert.sync(), 'applied');
    } finally {
      await withCert.close();
    }
    const without = await sidecar({});
    try {
      await change(without);
      assert.equal(await without.sync(), 'reload-failed');
    } finally {
      await without.close();
    }
  });

  it('still asks a scraper with a good certificate for the password', async () => {
    assert.equal(
      (await httpGet(`${edgeUrl}/federate?match[]=up`, { ...creds, basicAuth: undefined })).status,
      401,
    );
    assert.equal((await httpGet(`${edgeUrl}/federate?match[]=up`, creds)).status, 200);
  });
});
