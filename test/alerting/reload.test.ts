/**
 * The bridge follows the service's topology: a ConfigMap update (kubelet's `..data` symlink
 * swap) under a running burst moves the backlog of a receiver to its new robot, adds a receiver
 * (503 before, 202 after), removes one whose queue still drains on its last definition, and a
 * broken edit changes nothing (the last good revision keeps serving). No page is lost or shown
 * twice across the reloads.
 */
import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { after, it } from 'node:test';
import pino from 'pino';
import { startServer, type RunningServer } from '../../server/main.ts';
import { projectedVolume } from '../support/configmap.ts';
import { startDingTalkContract, type DingTalkContract } from './support/dingtalk-contract.ts';
import {
  WEBHOOK_TOKEN,
  payload,
  removeTempDirs,
  tempDir,
  topologyHead,
  waitFor,
} from './support/fixtures.ts';

const SIGN = (c: string) => `SEC${c.repeat(64)}`;
const ROBOTS = {
  'old-robot': SIGN('o'),
  'new-robot': SIGN('n'),
  'legacy-robot': SIGN('l'),
  'ops-robot': SIGN('p'),
};

let ding: DingTalkContract | undefined;
let service: RunningServer | undefined;
after(async () => {
  await service?.close();
  await ding?.close();
  removeTempDirs();
});

function topology(url: string, receivers: Record<string, keyof typeof ROBOTS>): string {
  const list = Object.entries(receivers).map(
    ([name, robot]) => `        - name: ${name}
          dingtalk:
            mentionOnCall: false
            robots: [{ tokenSecret: { name: dingtalk, key: ${robot}-token }, signSecret: { name: dingtalk, key: ${robot}-sign }, url: '${url}' }]`,
  );
  return `${topologyHead('reload-test')}routing:
  teams:
    - name: sre
      members: [{ name: Li Lei, mobile: '13800000001' }]
      receivers:
${list.join('\n')}
`;
}

it('a ConfigMap update under a running burst: the backlog follows the new routing, nothing lost or shown twice', async () => {
  ding = await startDingTalkContract({ robots: ROBOTS, windowMs: 1_000, limit: 20 });
  const dir = tempDir('reload');
  const secrets = path.join(dir, 'secrets');
  mkdirSync(path.join(secrets, 'dingtalk'), { recursive: true });
  mkdirSync(path.join(secrets, 'fedstack-alert-bridge'));
  writeFileSync(path.join(secrets, 'fedstack-alert-bridge', 'token'), WEBHOOK_TOKEN);
  for (const [token, sign] of Object.entries(ROBOTS)) {
    writeFileSync(path.join(secrets, 'dingtalk', `${token}-token`), token);
    writeFileSync(path.join(secrets, 'dingtalk', `${token}-sign`), sign);
  }
  const v1 = topology(ding.url, { 'sre-dingtalk': 'old-robot', 'legacy-dingtalk': 'legacy-robot' });
  const v2 = topology(ding.url, { 'sre-dingtalk': 'new-robot', 'ops-dingtalk': 'ops-robot' });
  const broken = v2.replace('name: sre\n', 'name: SRE_TEAM\n');
  const volume = projectedVolume(path.join(dir, 'config'), { 'topology.yaml': v1 });
  service = await startServer({
    topologyFile: volume.path('topology.yaml'),
    port: 0,
    pollIntervalMs: 50,
    logger: pino({ level: 'silent' }),
    bridge: {
      outboxDir: path.join(dir, 'outbox'),
      secretsDir: secrets,
      options: { dingtalk: { windowMs: 1_000 } },
    },
  });

  const summary = 'etcd leader changes in the last 10 minutes '.repeat(8);
  const post = async (receiver: string, n: number) => {
    const res = await fetch(`${service!.url}/v1/alerts/dingtalk/${receiver}`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', Authorization: `Bearer ${WEBHOOK_TOKEN}` },
      // 26 alerts: more than half a message, so each group is a message and a backlog builds up.
      body: JSON.stringify(payload(n, { alerts: 26, summary })),
    });
    await res.arrayBuffer();
    return res.status;
  };
  const burst = async (receiver: string, from: number, count: number) => {
    const statuses = await Promise.all(Array.from({ length: count }, (_, i) => post(receiver, from + i)));
    assert.deepEqual(new Set(statuses), new Set([202]), `${receiver} ${from}..${from + count - 1}`);
  };

  // Revision 1: sre (old robot) and legacy; ops does not exist yet, so Alertmanager is told to retry.
  assert.equal(await post('ops-dingtalk', 9_000), 503);
  await burst('sre-dingtalk', 0, 40);
  await burst('legacy-dingtalk', 1_000, 12);
  await waitFor(() => ding!.messages.length >= 5, 10_000, 'the burst under way');
  const sentBeforeSwap = ding.messages.length;

  // kubelet swaps the ConfigMap: sre moves to the new robot, legacy goes, ops arrives.
  volume.update({ 'topology.yaml': v2 });
  const swappedAt = Date.now();
  // Alertmanager retries the 503s; once the bridge has the new revision, the retry is accepted.
  for (let status = 0; status !== 202;) {
    status = await post('ops-dingtalk', 2_000);
    assert.ok([202, 503].includes(status), `ops-dingtalk answered ${status}`);
    assert.ok(Date.now() - swappedAt < 10_000, 'the new receiver accepted within 10 s');
    if (status === 503) await new Promise((r) => setTimeout(r, 50));
  }
  await burst('ops-dingtalk', 2_001, 9);
  await burst('sre-dingtalk', 40, 15);
  assert.equal(await post('legacy-dingtalk', 1_999), 503, 'a removed receiver takes nothing new');

  // A broken edit: refused, revision 2 keeps serving, and so does the bridge.
  volume.update({ 'topology.yaml': broken });
  for (let status = 200; status !== 503;) {
    const res = await fetch(`${service.url}/readyz`);
    status = res.status;
    const body = (await res.json()) as { reason?: string; revision?: number };
    if (status === 503) assert.match(body.reason!, /serving revision 2: .*invalid name "SRE_TEAM"/);
    assert.ok(Date.now() - swappedAt < 10_000, 'readyz reports the broken edit within 10 s');
    await new Promise((r) => setTimeout(r, 50));
  }
  await burst('sre-dingtalk', 55, 5);
  await burst('ops-dingtalk', 2_010, 5);

  const shown = new Map<string, { count: number; tokens: Set<string>; first: number }>();
  const count = () => {
    shown.clear();
    for (const m of ding!.messages)
      for (const name of new Set(m.body.markdown!.text.match(/BurstAlert\d{4}/g) ?? [])) {
        const s = shown.get(name) ?? { count: 0, tokens: new Set<string>(), first: m.at };
        s.count++;
        s.tokens.add(m.token);
        shown.set(name, s);
      }
    return shown.size;
  };
  const expected = 60 + 12 + 15;
  await waitFor(() => count() >= expected, 30_000, `all ${expected} groups delivered`);
  await new Promise((r) => setTimeout(r, 300));
  count();

  const group = (n: number) => shown.get(`BurstAlert${String(n).padStart(4, '0')}`);
  const missing = [
    ...Array.from({ length: 60 }, (_, i) => i),
    ...Array.from({ length: 12 }, (_, i) => 1_000 + i),
    ...Array.from({ length: 15 }, (_, i) => 2_000 + i),
  ].filter((n) => group(n) === undefined);
  assert.deepEqual(missing, [], 'no page lost');
  assert.deepEqual(
    [...shown].filter(([, s]) => s.count > 1).map(([n]) => n),
    [],
    'no page shown twice',
  );
  assert.deepEqual(ding.errors, []);
  for (let i = 1_000; i < 1_012; i++)
    assert.deepEqual([...group(i)!.tokens], ['legacy-robot'], 'legacy drains on its last definition');
  for (let i = 2_000; i < 2_015; i++) assert.deepEqual([...group(i)!.tokens], ['ops-robot']);
  const sre = Array.from({ length: 60 }, (_, i) => group(i)!);
  assert.ok(sentBeforeSwap < 40, 'part of the sre backlog was still queued at the swap');
  const moved = sre.filter((s) => s.tokens.has('new-robot'));
  assert.ok(moved.length >= 20, `the queued sre backlog moved to the new robot (${moved.length} of 60)`);
  assert.ok(
    ding.messages.filter((m) => m.token === 'old-robot').every((m) => m.at <= swappedAt + 1_000),
    'nothing went to the old robot once the new revision was loaded',
  );
  const metrics = await (await fetch(`${service.url}/metrics`)).text();
  assert.match(
    metrics,
    /fedstack_alert_bridge_received_total\{channel="dingtalk",outcome="unknown_receiver"\} [1-9]/,
  );
});
