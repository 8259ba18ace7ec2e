/**
 * End to end with the real Alertmanager 0.25 and the rendered config of the default topology:
 * - email: Alertmanager's own email_configs, the rendered templates and the SMTP password read
 *   from auth_password_file reach a real SMTP server (smtp-server);
 * - webhooks: Alertmanager posts its real v4 payload, with the bearer token from
 *   credentials_file, to the fedstack service itself (startServer with the bridge, exactly as
 *   `fedstack serve --outbox-dir --secrets-dir` runs it, following the same topology file),
 *   which signs and sends to the DingTalk contract server and texts through the Aliyun SMS
 *   contract server with the official SDK.
 * Adaptations to the default topology, all through its own fields: serviceUrl is the test
 * service's port, each DingTalk robot has a `url` (the contract server), the SMS receiver an
 * `endpoint` + `protocol: http` (the SMS contract server), and the SMS route has no mute
 * interval (the test must not depend on the hour in Shanghai). Adaptations to the rendered
 * config, and only these: the smarthost is the test's SMTP port without STARTTLS, and
 * group_wait is 1s instead of 30s.
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';
import path from 'node:path';
import { after, before, it } from 'node:test';
import pino from 'pino';
import { SMTPServer } from 'smtp-server';
import { renderAlertingFiles, renderAlertmanager } from '../../alerting/render.ts';
import { toYaml } from '../../common/serialize.ts';
import { defaultTopologyText } from '../../examples/index.ts';
import { startServer, type RunningServer } from '../../server/main.ts';
import { parseTopology } from '../../topology/load.ts';
import { startDingTalkContract, type DingTalkContract } from './support/dingtalk-contract.ts';
import { startSmsContract, type SmsContract } from './support/aliyun-sms-contract.ts';
import { removeTempDirs, tempDir, waitFor } from './support/fixtures.ts';

const SMTP_PASSWORD = 'smtp-test-password';
const WEBHOOK_TOKEN = 'e2e-webhook-token';
const ROBOT_SECRET = 'SEC' + 'c'.repeat(64);

let am: ChildProcess | undefined;
let smtp: SMTPServer | undefined;
let ding: DingTalkContract | undefined;
let sms: SmsContract | undefined;
let service: RunningServer | undefined;
let amBase = '';
let amLog = '';
const mails: { from: string; to: string[]; raw: string; user: string | undefined }[] = [];

async function freePort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const port = (s.address() as AddressInfo).port;
  await new Promise((r) => s.close(r));
  return port;
}

function put(dir: string, name: string, key: string, value: string): void {
  mkdirSync(path.join(dir, name), { recursive: true });
  writeFileSync(path.join(dir, name, key), value);
}

before(async () => {
  smtp = new SMTPServer({
    disabledCommands: ['STARTTLS'],
    allowInsecureAuth: true,
    logger: false,
    onAuth(auth, _session, cb) {
      if (auth.username === 'alerts@example.com' && auth.password === SMTP_PASSWORD)
        cb(null, { user: auth.username });
      else cb(new Error('Invalid username or password'));
    },
    onData(stream, session, cb) {
      let raw = '';
      stream.on('data', (d: Buffer) => (raw += d.toString()));
      stream.on('end', () => {
        mails.push({
          from: session.envelope.mailFrom ? session.envelope.mailFrom.address : '',
          to: session.envelope.rcptTo.map((r) => r.address),
          raw,
          user: session.user as string | undefined,
        });
        cb();
      });
    },
  });
  const smtpPort = await freePort();
  await new Promise<void>((r) => smtp!.listen(smtpPort, '127.0.0.1', r));

  const dir = tempDir('am-e2e');
  // One secrets tree serves both processes: Alertmanager reads it relative to its config, the bridge as a Secret volume.
  const secrets = path.join(dir, 'secrets');
  put(secrets, 'fedstack-smtp', 'password', SMTP_PASSWORD);
  put(secrets, 'fedstack-alert-bridge', 'token', WEBHOOK_TOKEN);
  for (const k of ['token-1', 'token-2']) put(secrets, 'dingtalk-sre-china', k, `china-${k}`);
  for (const k of ['sign-1', 'sign-2']) put(secrets, 'dingtalk-sre-china', k, ROBOT_SECRET);
  put(secrets, 'dingtalk-sre-asia', 'token', 'asia-token');
  put(secrets, 'dingtalk-sre-asia', 'sign', ROBOT_SECRET);
  put(secrets, 'aliyun-sms', 'access-key-id', 'LTAI-e2e');
  put(secrets, 'aliyun-sms', 'access-key-secret', 'e2e-secret');

  ding = await startDingTalkContract({
    robots: { 'china-token-1': ROBOT_SECRET, 'china-token-2': ROBOT_SECRET, 'asia-token': ROBOT_SECRET },
  });
  sms = await startSmsContract({
    accessKeys: { 'LTAI-e2e': 'e2e-secret' },
    signNames: ['Fedstack'],
    templates: { SMS_000000001: ['status', 'alert', 'where', 'count'] },
  });
  const servicePort = await freePort();
  const topologyText = defaultTopologyText()
    .replace(
      'serviceUrl: http://fedstack.fedstack-system.svc:8080',
      `serviceUrl: http://127.0.0.1:${servicePort}`,
    )
    .replace(/^( +)signSecret: (.*)$/gm, `$1signSecret: $2\n$1url: '${ding.url}'`)
    .replace(/^( +)templateCode: SMS_000000001$/m, `$&\n$1endpoint: '${sms.endpoint}'\n$1protocol: http`)
    .replace('muteTimeIntervals: [china-office-hours], ', '');
  const topologyFile = path.join(dir, 'topology.yaml');
  writeFileSync(topologyFile, topologyText);
  const parsed = parseTopology(topologyText, topologyFile);
  assert.ok(parsed.ok, parsed.ok ? '' : JSON.stringify(parsed.errors));
  assert.match(topologyText, /url: 'http:\/\/127\.0\.0\.1:\d+\/robot\/send'/);
  assert.match(topologyText, /protocol: http/);
  service = await startServer({
    topologyFile,
    port: servicePort,
    profile: 'local',
    logger: pino({ level: 'silent' }),
    bridge: { outboxDir: path.join(dir, 'outbox'), secretsDir: secrets },
  });

  for (const [rel, text] of renderAlertingFiles(parsed.topology, 'local')) {
    mkdirSync(path.dirname(path.join(dir, rel)), { recursive: true });
    writeFileSync(path.join(dir, rel), text);
  }
  const { config } = renderAlertmanager(parsed.topology, 'local');
  const adapted = {
    ...config,
    global: { ...config.global, smtp_smarthost: `127.0.0.1:${smtpPort}`, smtp_require_tls: false },
    route: { ...config.route, group_wait: '1s' },
  };
  writeFileSync(path.join(dir, 'alertmanager.yml'), toYaml(adapted));

  const amPort = await freePort();
  // cwd = the config dir: Alertmanager 0.25 resolves templates and http_config files against the
  // config file's directory, but smtp_auth_password_file against its working directory
  // (checked: with cwd=/ the email is never sent). The local profile's relative paths need both.
  am = spawn(
    '/usr/bin/prometheus-alertmanager',
    [
      `--config.file=${path.join(dir, 'alertmanager.yml')}`,
      `--storage.path=${path.join(dir, 'data')}`,
      `--web.listen-address=127.0.0.1:${amPort}`,
      '--cluster.listen-address=',
      '--log.level=warn',
    ],
    { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'] },
  );
  am.stderr!.on('data', (d: Buffer) => (amLog += d.toString()));
  amBase = `http://127.0.0.1:${amPort}`;
  let ready = false;
  await waitFor(
    () => {
      void fetch(`${amBase}/-/ready`).then(
        (r) => (ready = r.ok),
        () => undefined,
      );
      return ready;
    },
    20_000,
    'alertmanager ready',
  );
});

after(async () => {
  if (am && am.exitCode === null && am.signalCode === null) {
    am.kill('SIGTERM');
    await new Promise((r) => am!.once('exit', r));
  }
  await service?.close();
  if (smtp) await new Promise<void>((r) => smtp!.close(() => r()));
  await ding?.close();
  await sms?.close();
  removeTempDirs();
});

async function postAlert(labels: Record<string, string>, summary: string): Promise<void> {
  const res = await fetch(`${amBase}/api/v2/alerts`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify([
      { labels, annotations: { summary }, generatorURL: 'http://central-a:9090/graph?g0.expr=x' },
    ]),
  });
  assert.equal(res.status, 200);
}

it("Alertmanager's own email reaches an SMTP server with region and meta-cluster in subject and body", async () => {
  await postAlert(
    {
      alertname: 'ApiserverErrorRatioHigh',
      severity: 'critical',
      big_region: 'europe',
      region: 'eu-central-1',
      meta_cluster: 'mc-fra-01',
    },
    'kube-apiserver error ratio above 5% in mc-fra-01',
  );
  await waitFor(() => mails.length > 0, 30_000, `the email (alertmanager log: ${amLog})`);
  const mail = mails[0]!;
  assert.deepEqual(mail.to, ['sre-europe@example.com']);
  assert.equal(mail.from, 'alerts@example.com');
  assert.equal(mail.user, 'alerts@example.com', 'authenticated with the password from auth_password_file');
  const unfolded = mail.raw.replace(/\r?\n[ \t]+/g, ' ');
  const subject = /^Subject: (.*)$/m.exec(unfolded)?.[1] ?? '';
  assert.match(
    subject,
    /\[FIRING:1\] ApiserverErrorRatioHigh region=eu-central-1 meta_cluster=mc-fra-01 \(europe\)/,
  );
  const body = unfolded.replace(/=\r?\n/g, '').replace(/=3D/g, '=');
  assert.match(body, /mc-fra-01/);
  assert.match(body, /eu-central-1/);
  assert.match(body, /https:\/\/grafana\.example\.com/);
  assert.match(body, /http:\/\/central-a:9090\/graph/);
});

it("Alertmanager's webhook reaches the bridge with its bearer token, and the DingTalk group gets one signed message", async () => {
  await postAlert(
    {
      alertname: 'EtcdNoLeader',
      severity: 'warning',
      big_region: 'china',
      region: 'cn-beijing',
      meta_cluster: 'mc-bj-02',
    },
    'etcd without leader in mc-bj-02',
  );
  await waitFor(
    () => ding!.messages.some((m) => m.body.markdown!.text.includes('EtcdNoLeader')),
    30_000,
    `the DingTalk message (alertmanager log: ${amLog})`,
  );
  const msgs = ding!.messages.filter((m) => m.body.markdown!.text.includes('EtcdNoLeader'));
  assert.equal(msgs.length, 1);
  assert.match(msgs[0]!.body.markdown!.text, /#### china \/ cn-beijing \/ mc-bj-02/);
  assert.ok(msgs[0]!.token.startsWith('china-token-'));
  assert.deepEqual(ding!.errors, []);
  assert.doesNotMatch(amLog, /status code 4\d\d/);
});

it("a critical China alert reaches the on-call by SMS through the service's bridge, and the DingTalk group too", async () => {
  await postAlert(
    {
      alertname: 'KubeletDown',
      severity: 'critical',
      big_region: 'china',
      region: 'cn-hangzhou',
      meta_cluster: 'mc-hz-01',
    },
    'kubelet down in mc-hz-01',
  );
  await waitFor(
    () => sms!.sent.some((s) => s.params.alert?.includes('KubeletDown')),
    30_000,
    `the SMS (alertmanager log: ${amLog}; SMS answers: ${JSON.stringify(sms!.answers)})`,
  );
  const texts = sms!.sent.filter((s) => s.params.alert?.includes('KubeletDown'));
  assert.equal(texts.length, 1);
  const [text] = texts;
  assert.equal(text!.signName, 'Fedstack');
  assert.equal(text!.templateCode, 'SMS_000000001');
  assert.ok(['13800000001', '13800000002', '13800000003'].includes(text!.phone), text!.phone);
  assert.match(text!.params.status!, /FIRING/i);
  assert.match(text!.params.where!, /mc-hz-01|cn-hangzhou/);
  assert.deepEqual(
    sms!.answers.filter((a) => a.code !== 'OK'),
    [],
    'the SDK signed, the template and sign were accepted',
  );
  await waitFor(
    () => ding!.messages.some((m) => m.body.markdown!.text.includes('KubeletDown')),
    30_000,
    'the DingTalk message of the same alert (the SMS route continues)',
  );
  const metrics = await (await fetch(`${service!.url}/metrics`)).text();
  assert.match(metrics, /fedstack_alert_bridge_delivered_total\{channel="sms"\} 1/);
});

it('the rendered inhibition works in Alertmanager: EdgeDown silences its meta-cluster, critical silences warning', async () => {
  const mc = (meta: string, region: string) => ({ big_region: 'americas', region, meta_cluster: meta });
  await postAlert(
    { alertname: 'EdgeDown', severity: 'critical', ...mc('mc-va-01', 'us-east-1') },
    'edge down',
  );
  await postAlert(
    { alertname: 'ApiserverErrorRatioHigh', severity: 'critical', ...mc('mc-va-01', 'us-east-1') },
    'errors',
  );
  await postAlert(
    { alertname: 'ApiserverErrorRatioHigh', severity: 'critical', ...mc('mc-sv-01', 'us-west-1') },
    'errors',
  );
  await postAlert(
    { alertname: 'ApiserverLatencyHigh', severity: 'warning', ...mc('mc-sv-01', 'us-west-1') },
    'slow',
  );
  await postAlert(
    {
      alertname: 'ApiserverLatencyHigh',
      severity: 'warning',
      big_region: 'europe',
      region: 'eu-west-1',
      meta_cluster: 'mc-lon-01',
    },
    'slow',
  );
  type ApiAlert = { labels: Record<string, string>; status: { state: string; inhibitedBy: string[] } };
  let alerts: ApiAlert[] = [];
  const state = (name: string, meta: string) =>
    alerts.find((a) => a.labels.alertname === name && a.labels.meta_cluster === meta)?.status.state;
  await waitFor(
    () => {
      void fetch(`${amBase}/api/v2/alerts`).then(
        async (r) => (alerts = (await r.json()) as ApiAlert[]),
        () => undefined,
      );
      return (
        state('ApiserverErrorRatioHigh', 'mc-va-01') === 'suppressed' &&
        state('ApiserverLatencyHigh', 'mc-sv-01') === 'suppressed'
      );
    },
    10_000,
    'inhibition',
  );
  assert.equal(state('EdgeDown', 'mc-va-01'), 'active');
  assert.equal(
    state('ApiserverErrorRatioHigh', 'mc-sv-01'),
    'active',
    'another meta-cluster is not silenced by EdgeDown',
  );
  assert.equal(
    state('ApiserverLatencyHigh', 'mc-lon-01'),
    'active',
    'a warning without a critical in its meta-cluster stays',
  );
});
