/**
 * `fedstack up` as it runs for a user: the local stack with the service and the alert bridge
 * (deploy/local/service.ts, what the CLI passes), on a topology without a security section.
 * One stack for the suite; the cases run in order (the rotation changes every credential).
 *
 * What it proves: every federation hop is HTTPS with basic auth, exactly as rendered; plain
 * HTTP, missing credentials and a wrong CA are refused; data still reaches central; every
 * notification lands at a local stand-in and nothing would leave loopback; `up` claims that
 * alerts reach someone only after a delivery; a rotation of the password and every token under
 * the running stack takes effect without a restart; no secret shows in what it prints or
 * renders.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { FILE, HEARTBEAT_METRIC, JOB, LABEL } from '../../common/conventions.ts';
import { httpGet, type ClientCredentials } from '../../deploy/local/http.ts';
import { externalDestinations } from '../../deploy/local/localize.ts';
import { startLocalService } from '../../deploy/local/service.ts';
import { startLocalStack, type LocalStack } from '../../deploy/local/stack.ts';
import { createCa } from '../../deploy/secrets/pki.ts';
import { parseTopology } from '../../topology/load.ts';
import { promQuery, promTargets, startPrometheus, tempDir, waitFor } from '../support/index.ts';

const FIXTURE = new URL('./fixtures/secure.good.yaml', import.meta.url);

function loadFixture() {
  const parsed = parseTopology(readFileSync(FIXTURE, 'utf8'), FIXTURE.pathname);
  if (!parsed.ok) throw new Error(parsed.errors.map((e) => `${e.path}: ${e.message}`).join('\n'));
  return parsed.topology;
}

/** Every file under `dir`, as absolute paths. */
function walk(dir: string): string[] {
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile())
    .map((e) => join(e.parentPath, e.name));
}

describe('the secure local stack (fedstack up)', () => {
  let stack: LocalStack;
  const output: string[] = [];
  let edge: string;
  let cascade: string;
  let central: string[];
  let service: string;

  before(async () => {
    stack = await startLocalStack({
      topology: loadFixture(),
      intervals: { scrape: '1s', evaluation: '1s' },
      simulate: { maxGuestClusters: 2 },
      alertmanagerPeerTimeout: '2s',
      startService: startLocalService,
      log: (line) => output.push(line),
    });
    edge = stack.urls.edges['mc-hz-01']!;
    cascade = stack.urls.cascades['china']!;
    central = Object.values(stack.urls.centrals);
    service = stack.urls.service!;
  });

  after(async () => {
    await stack?.stop();
  });

  const creds = (): ClientCredentials => stack.secrets.credentials()!;
  const federate = (base: string, c: ClientCredentials | undefined) =>
    httpGet(`${base}/federate?match[]=${encodeURIComponent('{__name__=~".+"}')}`, c);

  it('says alerts reach Alertmanager only after a notification was delivered, and one was, through every channel', async () => {
    const claim = output.find((l) => l.includes('alerts reach Alertmanager'));
    assert.match(
      claim ?? '',
      // Whichever stand-in answered first: the three race.
      /alerts reach Alertmanager and notifications are delivered: "[^"]+" by (DingTalk to sre-dingtalk|SMS to \+?\d+|email to \S+@\S+) \(local stand-in\)/,
    );
    // Watchdog is routed to all three receivers: each stand-in gets it.
    const channels = await waitFor(
      () => {
        const got = new Set(stack.standIns.deliveries().map((d) => d.channel));
        return got.size === 3 ? got : undefined;
      },
      { timeoutMs: 30_000, what: 'Watchdog by DingTalk, SMS and email' },
    );
    assert.deepEqual([...channels].sort(), ['dingtalk', 'email', 'sms']);
    assert.deepEqual(stack.standIns.problems(), []);
    const mail = walk(join(stack.dir, 'mail'));
    assert.ok(
      mail.length >= 1 && readFileSync(mail[0]!, 'utf8').includes('li.lei@example.com'),
      'email stored',
    );
  });

  it('sends nothing beyond loopback: every destination of the running Alertmanager and bridge is local', async () => {
    const amConfig = readFileSync(join(stack.dir, 'config', 'alerting', FILE.alertmanager), 'utf8');
    assert.deepEqual(externalDestinations(stack.topology, amConfig), []);
    // The fixture names smtp.example.com and Aliyun's and DingTalk's hosts: all replaced.
    assert.match(amConfig, /smtp_smarthost: 127\.0\.0\.1:\d+/);
    for (const am of Object.values(stack.urls.alertmanagers)) {
      const metrics = (await httpGet(`${am}/metrics`, undefined)).text;
      const failed = [...metrics.matchAll(/^alertmanager_notifications_failed_total\{[^}]*\} (\d+)/gm)];
      assert.ok(failed.length > 0, 'the metric is there');
      assert.deepEqual(
        failed.filter((m) => m[1] !== '0').map((m) => m[0]),
        [],
        am,
      );
    }
  });

  it('serves every federation hop over HTTPS with basic auth, with the configs production renders', () => {
    for (const url of [...Object.values(stack.urls.edges), ...Object.values(stack.urls.cascades)])
      assert.match(url, /^https:\/\/127\.0\.0\.1:\d+$/);
    const config = (p: string) => readFileSync(join(stack.dir, 'config', p), 'utf8');
    for (const p of [
      'cascade/china/prometheus.yml',
      'central/central-a/prometheus.yml',
      'central/central-b/prometheus.yml',
    ]) {
      const job = config(p).slice(config(p).indexOf('- job_name: fedstack-federate'));
      assert.match(
        job,
        /scheme: https\n {4}tls_config:\n {6}ca_file: \.\.\/\.\.\/secrets\/federation\/ca\.crt\n {4}basic_auth:\n {6}username: federate\n {6}password_file: \.\.\/\.\.\/secrets\/federation\/password\n/,
        p,
      );
    }
    // The rendered web config carries the placeholder; the one Prometheus reads, the hash.
    assert.match(config('edge/mc-hz-01/web-config.yml'), /federate: \$\{FEDSTACK_FEDERATION_PASSWORD_HASH\}/);
    assert.match(config('edge/mc-hz-01/web-config.live.yml'), /federate: \$2[aby]\$10\$/);
  });

  it('refuses plain HTTP to an edge and to a cascade', async () => {
    for (const url of [edge, cascade]) {
      const plain = await federate(url.replace('https:', 'http:'), undefined);
      assert.equal(plain.status, 400, url);
      assert.doesNotMatch(plain.text, /fedstack:heartbeat|^up\{/m);
    }
  });

  it('answers /federate without credentials, or with a wrong password, with 401', async () => {
    for (const url of [edge, cascade]) {
      const { ca } = creds();
      assert.equal((await federate(url, { ca })).status, 401, url);
      assert.equal(
        (await federate(url, { ca, basicAuth: { username: 'federate', password: 'not-the-password' } }))
          .status,
        401,
      );
      const ok = await federate(url, creds());
      assert.equal(ok.status, 200);
      assert.match(ok.text, new RegExp(`^${HEARTBEAT_METRIC}\\{`, 'm'));
    }
  });

  it('fails the scrape of an edge whose certificate another CA signed', async () => {
    const dir = tempDir('fedstack-wrong-ca-');
    const other = createCa({ commonName: 'some other CA', days: 1 });
    writeFileSync(join(dir, 'wrong-ca.crt'), other.certPem);
    const job = (name: string, caFile: string) => ({
      job_name: name,
      scrape_interval: '1s',
      scrape_timeout: '1s',
      metrics_path: '/federate',
      params: { 'match[]': [HEARTBEAT_METRIC] },
      scheme: 'https',
      tls_config: { ca_file: caFile },
      basic_auth: { username: 'federate', password_file: stack.secrets.paths.password },
      static_configs: [{ targets: [new URL(edge).host] }],
    });
    const prom = await startPrometheus({
      configText: JSON.stringify({
        scrape_configs: [job('right-ca', stack.secrets.paths.ca), job('wrong-ca', join(dir, 'wrong-ca.crt'))],
      }),
    });
    try {
      const health = await waitFor(
        async () => {
          const t = await promTargets(prom.url);
          const right = t.find((x) => x.scrapePool === 'right-ca');
          const wrong = t.find((x) => x.scrapePool === 'wrong-ca');
          return right?.health === 'up' && wrong?.health === 'down' ? { right, wrong } : undefined;
        },
        { timeoutMs: 20_000, what: 'one scrape up with the stack CA, one down with another CA' },
      );
      assert.match(health.wrong.lastError, /x509: certificate signed by unknown authority/);
    } finally {
      await prom.stop();
    }
  });

  it('still federates every edge through its cascade to both central replicas', async () => {
    for (const url of central) {
      const edgesUp = await promQuery(url, `up{job="${JOB.federateEdge}"} == 1`);
      assert.deepEqual(edgesUp.map((s) => s.metric[LABEL.metaCluster]).sort(), ['mc-hz-01', 'mc-hz-02']);
      assert.equal((await promQuery(url, `up{job="${JOB.federateCascade}"} == 1`)).length, 1);
      const beats = await promQuery(url, `count by (${LABEL.metaCluster}) (${HEARTBEAT_METRIC})`);
      assert.equal(beats.length, 2);
    }
  });

  it('keeps every secret file 0600 in directories only its owner can enter', () => {
    const secretDirs = [join(stack.dir, 'config', 'secrets'), stack.secrets.paths.receivers];
    const files = secretDirs.flatMap(walk);
    assert.ok(files.length >= 12, files.join('\n'));
    for (const f of files) assert.equal(statSync(f).mode & 0o777, 0o600, relative(stack.dir, f));
    for (const d of secretDirs.flatMap((root) =>
      readdirSync(root, { recursive: true, withFileTypes: true })
        .filter((e) => e.isDirectory())
        .map((e) => join(e.parentPath, e.name)),
    ))
      assert.equal(statSync(d).mode & 0o777, 0o700, relative(stack.dir, d));
    for (const f of walk(join(stack.dir, 'config')).filter((p) => p.endsWith('.live.yml')))
      assert.equal(statSync(f).mode & 0o777, 0o600, f);
  });

  it('takes a rotation of the federation password and every token under the running stack, restarting nothing', async () => {
    const pids = stack.pids();
    const before = creds();
    const file = (p: string) => readFileSync(p, 'utf8').trim();
    const oldRead = file(stack.secrets.paths.readToken);
    const oldSidecar = file(stack.secrets.paths.sidecarToken);
    const bridgeFile = join(stack.secrets.paths.receivers, 'fedstack-alert-bridge', 'token');
    const oldBridge = file(bridgeFile);
    const dingtalkBefore = stack.standIns.deliveries().filter((d) => d.channel === 'dingtalk').length;

    stack.secrets.rotate();
    const after = creds();
    assert.notEqual(after.basicAuth!.password, before.basicAuth!.password);

    // Prometheus: the web config follows the new hash (the sidecar's job), scrapers re-read password_file.
    await waitFor(async () => (await federate(edge, after)).status === 200, {
      timeoutMs: 10_000,
      what: 'the edge to accept the new password',
    });
    for (const url of [edge, cascade]) {
      assert.equal((await federate(url, before)).status, 401, `${url} still takes the old password`);
      assert.equal((await federate(url, after)).status, 200);
    }
    const rotatedAt = Date.now() / 1000;
    for (const [url, job, n] of [
      [cascade, JOB.federateEdge, 2],
      [central[0]!, JOB.federateCascade, 1],
      [central[1]!, JOB.federateCascade, 1],
    ] as const)
      await waitFor(
        async () =>
          (
            await promQuery(
              url,
              `timestamp(up{job="${job}"} == 1) > ${rotatedAt}`,
              url === cascade ? after : undefined,
            )
          ).length === n,
        { timeoutMs: 15_000, what: `${job} scraped with the new password at ${url}` },
      );

    // The service: read and sidecar tokens, re-read from their files (checked once a second).
    const get = (token: string) =>
      fetch(`${service}/v1/sd/central`, { headers: { Authorization: `Bearer ${token}` } });
    await waitFor(async () => (await get(oldRead)).status === 401, {
      timeoutMs: 3_000,
      what: 'the service to refuse the old read token',
    });
    assert.equal((await get(file(stack.secrets.paths.readToken))).status, 200);
    const beat = (token: string) =>
      fetch(`${service}/v1/edges/mc-hz-01/heartbeat`, {
        method: 'POST',
        headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'application/json' },
        body: JSON.stringify({ endpoint: new URL(edge).host, version: 'test', configHash: 'rotation' }),
      });
    assert.equal((await beat(oldSidecar)).status, 401);
    assert.equal((await beat(file(stack.secrets.paths.sidecarToken))).status, 200);

    // The bridge token: the bridge refuses the old one (it keeps a value read from its Secret
    // volume for 5 s at most), Alertmanager sends with the new one.
    const webhook = () =>
      fetch(`${service}/v1/alerts/dingtalk/sre-dingtalk`, {
        method: 'POST',
        headers: { Authorization: `Bearer ${oldBridge}`, 'Content-Type': 'application/json' },
        body: '{}',
      }).then((r) => r.status);
    await waitFor(async () => (await webhook()) === 401, {
      timeoutMs: 10_000,
      what: 'the bridge to refuse the old token',
    });
    assert.notEqual(file(bridgeFile), oldBridge);
    const am = Object.values(stack.urls.alertmanagers)[0]!;
    const posted = await fetch(`${am}/api/v2/alerts`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify([
        {
          labels: { alertname: 'RotationProbe', severity: 'warning' },
          annotations: { summary: 'after the rotation' },
        },
      ]),
    });
    assert.equal(posted.status, 200);
    await waitFor(
      () => stack.standIns.deliveries().filter((d) => d.channel === 'dingtalk').length > dingtalkBefore,
      { timeoutMs: 20_000, what: 'a DingTalk notification sent with the rotated bridge token' },
    );

    assert.deepEqual(stack.pids(), pids, 'no process restarted');
  });

  it("prints no secret: not in its output, its rendered files or its processes' logs (the service's included)", () => {
    const values = stack.secrets.values();
    assert.ok(values.length >= 12);
    // A line from the inside of each value: a PEM's body line, or the value itself.
    const probes = values.map(
      (v) => v.split('\n').find((l) => l.length >= 20 && !l.startsWith('-----')) ?? v,
    );
    const texts = new Map<string, string>([['output of up', output.join('\n')]]);
    const secretDirs = [join(stack.dir, 'config', 'secrets'), stack.secrets.paths.receivers];
    for (const f of [
      ...walk(join(stack.dir, 'config')),
      ...walk(join(stack.dir, 'data')).filter((p) => p.endsWith('.log')),
    ]) {
      if (secretDirs.some((d) => f.startsWith(d)) || f.endsWith('.live.yml')) continue;
      texts.set(relative(stack.dir, f), readFileSync(f, 'utf8'));
    }
    assert.ok(texts.size > 20);
    for (const [where, text] of texts)
      for (const p of probes) assert.ok(!text.includes(p), `${where} contains a secret value`);
    assert.doesNotMatch(output.join('\n'), /\$2[aby]\$\d\d\$|PRIVATE KEY/);
  });

  it('stops every process and removes its directory', async () => {
    const pids = stack.pids();
    await stack.stop();
    for (const pid of pids)
      assert.throws(() => process.kill(pid, 0), { code: 'ESRCH' }, `pid ${pid} survived`);
    assert.equal(existsSync(stack.dir), false);
  });
});
