/**
 * Email end to end: the real Alertmanager 0.25 with the rendered config sends its own email
 * (email_configs, the rendered templates, the SMTP password read from auth_password_file) to a
 * real SMTP server. Adaptations to the rendered config, and only these: the smarthost is the
 * test's SMTP port without STARTTLS, and group_wait is 1s instead of 30s.
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';
import path from 'node:path';
import { after, it } from 'node:test';
import { SMTPServer } from 'smtp-server';
import { renderAlertingFiles, renderAlertmanager } from '../../alerting/render.ts';
import { toYaml } from '../../common/serialize.ts';
import { defaultTopologyText } from '../../examples/index.ts';
import { parseTopology } from '../../topology/load.ts';
import { removeTempDirs, tempDir, waitFor } from './support/fixtures.ts';

const SMTP_PASSWORD = 'smtp-test-password';
let am: ChildProcess | undefined;
let smtp: SMTPServer | undefined;

after(async () => {
  if (am && am.exitCode === null && am.signalCode === null) {
    am.kill('SIGTERM');
    await new Promise((r) => am!.once('exit', r));
  }
  if (smtp) await new Promise<void>((r) => smtp!.close(() => r()));
  removeTempDirs();
});

async function freePort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const port = (s.address() as AddressInfo).port;
  await new Promise((r) => s.close(r));
  return port;
}

it("Alertmanager's own email reaches an SMTP server with region and meta-cluster in subject and body", async () => {
  const mails: { from: string; to: string[]; raw: string; user: string | undefined }[] = [];
  const auths: { user: string; pass: string }[] = [];
  smtp = new SMTPServer({
    disabledCommands: ['STARTTLS'],
    allowInsecureAuth: true,
    logger: false,
    onAuth(auth, _session, cb) {
      auths.push({ user: auth.username ?? '', pass: auth.password ?? '' });
      if (auth.username === 'alerts@example.com' && auth.password === SMTP_PASSWORD) cb(null, { user: auth.username });
      else cb(new Error('Invalid username or password'));
    },
    onData(stream, session, cb) {
      let raw = '';
      stream.on('data', (d: Buffer) => (raw += d.toString()));
      stream.on('end', () => {
        mails.push({ from: session.envelope.mailFrom ? session.envelope.mailFrom.address : '', to: session.envelope.rcptTo.map((r) => r.address), raw, user: session.user as string | undefined });
        cb();
      });
    },
  });
  const smtpPort = await freePort();
  await new Promise<void>((r) => smtp!.listen(smtpPort, '127.0.0.1', r));

  const parsed = parseTopology(defaultTopologyText(), 'default-topology.yaml');
  assert.ok(parsed.ok);
  const dir = tempDir('am-email');
  const files = renderAlertingFiles(parsed.topology, 'local');
  for (const [rel, text] of files) {
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
  // The password lives where the rendered auth_password_file points (relative to the config dir).
  mkdirSync(path.join(dir, 'secrets', 'fedstack-smtp'), { recursive: true });
  writeFileSync(path.join(dir, config.global!.smtp_auth_password_file!), SMTP_PASSWORD);

  const amPort = await freePort();
  am = spawn(
    '/usr/bin/prometheus-alertmanager',
    [`--config.file=${path.join(dir, 'alertmanager.yml')}`, `--storage.path=${path.join(dir, 'data')}`, `--web.listen-address=127.0.0.1:${amPort}`, '--cluster.listen-address=', '--log.level=warn'],
    { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'] },
  );
  let amLog = '';
  am.stderr!.on('data', (d: Buffer) => (amLog += d.toString()));
  const base = `http://127.0.0.1:${amPort}`;
  let ready = false;
  await waitFor(() => {
    void fetch(`${base}/-/ready`).then((r) => (ready = r.ok), () => undefined);
    return ready;
  }, 20_000, `alertmanager ready (${amLog})`);

  const labels = { alertname: 'ApiserverErrorRatioHigh', severity: 'critical', big_region: 'europe', region: 'eu-central-1', meta_cluster: 'mc-fra-01' };
  const res = await fetch(`${base}/api/v2/alerts`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify([{ labels, annotations: { summary: 'kube-apiserver error ratio above 5% in mc-fra-01' }, generatorURL: 'http://central-a:9090/graph?g0.expr=x' }]),
  });
  assert.equal(res.status, 200);

  await waitFor(() => mails.length > 0, 30_000, `the email (alertmanager log: ${amLog})`);
  const mail = mails[0]!;
  assert.deepEqual(mail.to, ['sre-europe@example.com']);
  assert.equal(mail.from, 'alerts@example.com');
  assert.equal(mail.user, 'alerts@example.com', 'authenticated with the password from auth_password_file');
  const unfolded = mail.raw.replace(/\r?\n[ \t]+/g, ' ');
  const subject = /^Subject: (.*)$/m.exec(unfolded)?.[1] ?? '';
  assert.match(subject, /\[FIRING:1\] ApiserverErrorRatioHigh region=eu-central-1 meta_cluster=mc-fra-01 \(europe\)/);
  const body = unfolded.replace(/=\r?\n/g, '').replace(/=3D/g, '=');
  assert.match(body, /mc-fra-01/);
  assert.match(body, /eu-central-1/);
  assert.match(body, /https:\/\/grafana\.example\.com/);
  assert.match(body, /http:\/\/central-a:9090\/graph/);
});
