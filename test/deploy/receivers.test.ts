/**
 * Joins the rendered Alertmanager config to the rendered service: every webhook URL in
 * alertmanager.yml is answered by `fedstack serve` started exactly as the kustomized StatefulSet
 * starts it (its args, its volumes' files at their mount paths, mapped under a temp dir), and a
 * page posted there reaches the DingTalk and SMS stand-ins. Only the listen address changes
 * (--host/--port), since a test cannot bind 0.0.0.0:8080.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import YAML from 'yaml';
import { freePort, startProcess, type ProcessHandle } from '../../deploy/local/process.ts';
import { renderTree } from '../../render/emit.ts';
import { validateTopology } from '../../render/validate.ts';
import { startSmsContract, type SmsContract } from '../alerting/support/aliyun-sms-contract.ts';
import { startDingTalkContract, type DingTalkContract } from '../alerting/support/dingtalk-contract.ts';
import { payload, waitFor } from '../alerting/support/fixtures.ts';
import { removeTempDir, tempDir } from '../support/index.ts';

/* eslint-disable @typescript-eslint/no-explicit-any -- Kubernetes objects as kustomize prints them */
type Obj = any;

const SCENARIO = fileURLToPath(
  new URL('../fixtures/scenarios/routing-mute-intervals.good.yaml', import.meta.url),
);
const BIN = fileURLToPath(new URL('../../bin/fedstack.js', import.meta.url));
const ROBOT = { token: 'robot-token-a1', sign: `SEC${'a'.repeat(64)}` };
const SMS_KEY = { id: 'LTAI-receivers-test', secret: 'receivers-test-secret' };
const WEBHOOK_TOKEN = 'webhook-token-f00d';

/** What an operator puts into each Secret the bundle references (secret name/key → value). */
const SECRET_VALUES: Record<string, string> = {
  'dingtalk-sre/token': ROBOT.token,
  'dingtalk-sre/sign': ROBOT.sign,
  'aliyun-sms/access-key-id': SMS_KEY.id,
  'aliyun-sms/access-key-secret': SMS_KEY.secret,
  'fedstack-alert-bridge/token': WEBHOOK_TOKEN,
  'fedstack-sidecar-token/token': 'sidecar-token-beef',
  'fedstack-read-token/token': 'read-token-cafe',
  'fedstack-operator-token/token': 'operator-token-cafe',
};

let dir: string;
let dingtalk: DingTalkContract;
let sms: SmsContract;
let service: ProcessHandle;
let serviceUrl: string;
let alertmanagerConfig: Obj;

/** The scenario's routing, with the robot and the SMS API pointed at the local stand-ins. */
function topologyText(): string {
  return readFileSync(SCENARIO, 'utf8')
    .replace(
      '                signSecret: { name: dingtalk-sre, key: sign }\n',
      `                signSecret: { name: dingtalk-sre, key: sign }\n                url: '${dingtalk.url}'\n`,
    )
    .replace(
      '            accessKeySecret: { name: aliyun-sms, key: access-key-secret }\n',
      `            accessKeySecret: { name: aliyun-sms, key: access-key-secret }\n            endpoint: '${sms.endpoint}'\n            protocol: http\n`,
    );
}

before(async () => {
  dir = tempDir('fedstack-receivers-');
  dingtalk = await startDingTalkContract({ robots: { [ROBOT.token]: ROBOT.sign } });
  sms = await startSmsContract({
    accessKeys: { [SMS_KEY.id]: SMS_KEY.secret },
    signNames: ['Fedstack'],
    templates: { SMS_000000001: ['status', 'alert', 'where', 'count'] },
  });
  const text = topologyText();
  assert.notEqual(text, readFileSync(SCENARIO, 'utf8'), 'the stand-ins were put into the topology');
  const r = validateTopology(text, 'receivers.yaml', { profile: 'kubernetes' });
  if (!r.ok) throw new Error(JSON.stringify(r.errors));
  const bundle = join(dir, 'bundle');
  for (const [path, t] of renderTree(r.plan)) {
    mkdirSync(dirname(join(bundle, path)), { recursive: true });
    writeFileSync(join(bundle, path), t);
  }
  alertmanagerConfig = YAML.parse(readFileSync(join(bundle, 'alerting/alertmanager.yml'), 'utf8'));

  // The service's pod, as kustomize builds it.
  const objects: Obj[] = YAML.parseAllDocuments(
    execFileSync('kubectl', ['kustomize', join(bundle, 'service')], { encoding: 'utf8' }),
  ).map((d) => d.toJS());
  const sts = objects.find((o) => o.kind === 'StatefulSet');
  const pod = sts.spec.template.spec;
  const container = pod.containers.find((c: Obj) => c.args?.[0] === 'serve');
  const root = join(dir, 'pod');
  const at = (p: string) => join(root, p);
  for (const m of container.volumeMounts) {
    mkdirSync(at(m.mountPath), { recursive: true });
    const v = pod.volumes.find((x: Obj) => x.name === m.name);
    if (v?.configMap) {
      const cm = objects.find((o) => o.kind === 'ConfigMap' && o.metadata.name === v.configMap.name);
      for (const [key, value] of Object.entries<string>(cm.data))
        writeFileSync(join(at(m.mountPath), key), value);
    } else if (v?.secret) {
      for (const item of v.secret.items) {
        const value = SECRET_VALUES[`${v.secret.secretName}/${item.key}`];
        assert.ok(
          value !== undefined,
          `the test has no value for Secret ${v.secret.secretName} key ${item.key}`,
        );
        writeFileSync(join(at(m.mountPath), item.path), `${value}\n`);
      }
    }
  }
  const port = await freePort();
  const mounts: string[] = container.volumeMounts.map((m: Obj) => m.mountPath);
  const args = (container.args as string[]).map((a) => {
    const [flag, value] = a.split(/=(.*)/s) as [string, string | undefined];
    if (flag === '--port') return `--port=${port}`;
    if (flag === '--host') return '--host=127.0.0.1';
    // A path in a mount, or the folder the mounts sit in (--secrets-dir: one mount per Secret).
    const mapped = (p: string) =>
      mounts.some((m) => p === m || p.startsWith(`${m}/`) || m.startsWith(`${p}/`));
    if (value !== undefined && mapped(value)) return `${flag}=${at(value)}`;
    return a;
  });
  assert.ok(args.includes(`--outbox-dir=${at('/var/lib/fedstack/outbox')}`), args.join(' '));
  serviceUrl = `http://127.0.0.1:${port}`;
  service = await startProcess({
    cmd: process.execPath,
    args: [BIN, ...args],
    name: 'fedstack serve',
    readyUrl: `${serviceUrl}/readyz`,
    readyTimeoutMs: 30_000,
  });
});

after(async () => {
  await service?.stop();
  await dingtalk?.close();
  await sms?.close();
  removeTempDir(dir);
});

describe('every receiver URL of the rendered alertmanager.yml is answered by the rendered service', () => {
  it('posts a page to each webhook and sees it delivered', async () => {
    const hooks: { receiver: string; url: string }[] = alertmanagerConfig.receivers.flatMap((r: Obj) =>
      (r.webhook_configs ?? []).map((w: Obj) => ({ receiver: r.name, url: w.url })),
    );
    assert.deepEqual(
      hooks.map((h) => h.receiver),
      ['sre-dingtalk', 'sre-sms'],
    );
    for (const [i, h] of hooks.entries()) {
      const url = new URL(h.url);
      const res = await fetch(`${serviceUrl}${url.pathname}`, {
        method: 'POST',
        headers: { authorization: `Bearer ${WEBHOOK_TOKEN}`, 'content-type': 'application/json' },
        body: JSON.stringify({ ...payload(i + 1), receiver: h.receiver }),
      });
      assert.ok(res.status >= 200 && res.status < 300, `${h.url}: ${res.status} ${await res.text()}`);
    }
    await waitFor(() => dingtalk.messages.length >= 1, 20_000, 'the DingTalk message');
    await waitFor(() => sms.sent.length >= 1, 20_000, 'the SMS');
    assert.deepEqual(dingtalk.errors, []);
  });

  it('refuses a page without the bearer token Alertmanager presents', async () => {
    const hook = alertmanagerConfig.receivers.find((r: Obj) => r.webhook_configs)!.webhook_configs[0];
    const res = await fetch(`${serviceUrl}${new URL(hook.url).pathname}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(payload(9)),
    });
    assert.equal(res.status, 401);
  });
});
