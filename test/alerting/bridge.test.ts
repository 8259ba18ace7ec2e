import assert from 'node:assert/strict';
import { mkdirSync, readdirSync, rmSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import express from 'express';
import fc from 'fast-check';
import { Registry } from 'prom-client';
import request from 'supertest';
import type { BridgeHandle } from '../../alerting/bridge/router.ts';
import { startAlertBridge, type AlertBridgeConfig } from '../../alerting/bridge/wiring.ts';
import { staticTopologySource } from '../../server/topology-watch.ts';
import { startDingTalkContract, type DingTalkContract } from './support/dingtalk-contract.ts';
import { startSmsContract, type SmsContract } from './support/aliyun-sms-contract.ts';
import {
  ACCESS_KEY,
  ROBOTS,
  SMS_TEMPLATE,
  WEBHOOK_TOKEN,
  loadTestTopology,
  payload,
  removeTempDirs,
  silentLogger,
  tempDir,
  topologyText,
  waitFor,
  writeSecrets,
} from './support/fixtures.ts';

interface Harness {
  app: express.Express;
  bridge: BridgeHandle;
  registry: Registry;
  outbox: string;
  metric(name: string, labels?: Record<string, string>): Promise<number>;
}

const handles: BridgeHandle[] = [];

async function startBridge(opts: {
  dingtalkUrl: string;
  smsEndpoint?: string;
  robots?: 1 | 2;
  options?: AlertBridgeConfig['options'];
  now?: () => number;
}): Promise<Harness> {
  const secrets = tempDir('secrets');
  writeSecrets(secrets);
  const outbox = tempDir('outbox');
  const registry = new Registry();
  const bridge = startAlertBridge(
    {
      outboxDir: outbox,
      secretsDir: secrets,
      now: opts.now,
      options: opts.options ?? { retry: { baseMs: 20, maxMs: 100 } },
    },
    { topology: staticTopologySource(loadTestTopology(topologyText(opts))), registry, logger: silentLogger },
  );
  handles.push(bridge);
  await bridge.ready;
  const app = express();
  app.use('/v1/alerts', bridge.router);
  return {
    app,
    bridge,
    registry,
    outbox,
    async metric(name, labels = {}) {
      const m = await registry.getSingleMetric(name)!.get();
      return m.values
        .filter((v) => Object.entries(labels).every(([k, x]) => v.labels[k] === x))
        .reduce((n, v) => n + v.value, 0);
    },
  };
}

const auth = { Authorization: `Bearer ${WEBHOOK_TOKEN}` };

let ding: DingTalkContract;
let sms: SmsContract;
before(async () => {
  ding = await startDingTalkContract({ robots: ROBOTS, windowMs: 1_000 });
  sms = await startSmsContract({
    accessKeys: { [ACCESS_KEY.id]: ACCESS_KEY.secret },
    signNames: ['Fedstack'],
    templates: { [SMS_TEMPLATE.code]: SMS_TEMPLATE.vars },
    limits: [
      { limit: 1, windowMs: 500 },
      { limit: 3, windowMs: 5_000 },
    ],
  });
});
after(async () => {
  for (const h of handles) await h.close();
  await ding.close();
  await sms.close();
  removeTempDirs();
});

describe('bad payloads get a 4xx with a reason, and the bridge keeps serving', () => {
  const good = payload(1);
  const cases: [string, unknown, RegExp][] = [
    ['a body that is not JSON', '{"version": "4", ', /invalid JSON/],
    ['an empty body', undefined, /expected a JSON object/],
    ['a JSON array', [good], /expected a JSON object/],
    ['a payload of version 3', { ...good, version: '3' }, /version: unsupported version "3"/],
    ['a payload without groupKey', { ...good, groupKey: undefined }, /groupKey: is required/],
    ['a payload with an unknown status', { ...good, status: 'pending' }, /status: /],
    ['a payload without alerts', { ...good, alerts: [] }, /alerts: /],
    [
      'an alert without fingerprint',
      { ...good, alerts: [{ ...good.alerts[0], fingerprint: undefined }] },
      /alerts\[0\]\.fingerprint: is required/,
    ],
    [
      'an alert whose labels are not strings',
      { ...good, alerts: [{ ...good.alerts[0], labels: { a: 1 } }] },
      /alerts\[0\]\.labels\.a: /,
    ],
  ];
  let h: Harness;
  before(async () => {
    h = await startBridge({ dingtalkUrl: ding.url });
  });
  for (const [name, body, reason] of cases) {
    it(`${name} is answered 400 with the reason`, async () => {
      const req = request(h.app)
        .post('/v1/alerts/dingtalk/sre-dingtalk')
        .set(auth)
        .set('Content-Type', 'application/json');
      const res = await (body === undefined
        ? req
        : req.send(typeof body === 'string' ? body : JSON.stringify(body)));
      assert.equal(res.status, 400);
      assert.match(res.body.reason, reason);
    });
  }
  it('a body over the size limit is answered 413', async () => {
    const res = await request(h.app)
      .post('/v1/alerts/dingtalk/sre-dingtalk')
      .set(auth)
      .set('Content-Type', 'application/json')
      .send(JSON.stringify({ ...good, pad: 'x'.repeat(5_000_000) }));
    assert.equal(res.status, 413);
    assert.match(res.body.reason, /too large/);
  });
  it('a request without the bearer token is answered 401', async () => {
    const res = await request(h.app).post('/v1/alerts/dingtalk/sre-dingtalk').send(good);
    assert.equal(res.status, 401);
  });
  it('a well-formed receiver name the routing lacks is answered 503 so that Alertmanager retries after a config fix', async () => {
    const res = await request(h.app).post('/v1/alerts/dingtalk/nobody').set(auth).send(good);
    assert.equal(res.status, 503);
    assert.match(res.body.reason, /no dingtalk receiver "nobody"/);
  });
  it('any JSON that is not a v4 payload gets a 4xx with a reason, never a 5xx or a crash (fuzzed)', async () => {
    const mutated = fc
      .record({ key: fc.constantFrom(...Object.keys(good)), value: fc.jsonValue() })
      .map(({ key, value }) => ({ ...good, [key]: value }));
    await fc.assert(
      fc.asyncProperty(fc.oneof(fc.jsonValue(), mutated), async (body) => {
        const res = await request(h.app)
          .post('/v1/alerts/dingtalk/sre-dingtalk')
          .set(auth)
          .set('Content-Type', 'application/json')
          .send(JSON.stringify(body));
        // A mutation may leave the payload valid (e.g. a label map replaced by another one).
        if (res.status === 202 || res.status === 200) return;
        assert.ok(res.status >= 400 && res.status < 500, `status ${res.status}`);
        assert.equal(typeof res.body.reason, 'string');
        assert.ok(res.body.reason.length > 0);
      }),
      { numRuns: 150 },
    );
  });
  it('counts the rejections and nothing reaches the outbox', async () => {
    assert.ok(
      (await h.metric('fedstack_alert_bridge_received_total', { outcome: 'invalid' })) >= cases.length + 1,
    );
    assert.equal(
      await h.metric('fedstack_alert_bridge_received_total', { outcome: 'unknown_receiver' }),
      1,
      'only the unknown receiver',
    );
    assert.equal(await h.metric('fedstack_alert_bridge_received_total', { outcome: 'unavailable' }), 0);
    const res = await request(h.app).post('/v1/alerts/dingtalk/sre-dingtalk').set(auth).send(payload(9001));
    assert.equal(res.status, 202);
  });
});

describe('when the bridge cannot persist', () => {
  it('answers 503 (Alertmanager retries) and accepts again once the disk is back', async () => {
    const h = await startBridge({ dingtalkUrl: ding.url });
    rmSync(path.join(h.outbox, 'pending'), { recursive: true });
    const res = await request(h.app).post('/v1/alerts/dingtalk/sre-dingtalk').set(auth).send(payload(4242));
    assert.equal(res.status, 503);
    assert.match(res.body.reason, /cannot accept/);
    mkdirSync(path.join(h.outbox, 'pending'));
    await request(h.app).post('/v1/alerts/dingtalk/sre-dingtalk').set(auth).send(payload(4242)).expect(202);
    await waitFor(() => h.bridge.engine.idle(), 5_000, 'delivery');
    assert.equal(await h.metric('fedstack_alert_bridge_delivered_total', { channel: 'dingtalk' }), 1);
  });
});

describe('DingTalk delivery', () => {
  it('delivers a notification once, signed, grouped by region and meta-cluster, mentioning the on-call', async () => {
    const h = await startBridge({ dingtalkUrl: ding.url });
    const before = ding.messages.length;
    const p = payload(100, { alerts: 3, alertname: 'ApiserverErrorRatioHigh' });
    const res = await request(h.app).post('/v1/alerts/dingtalk/sre-dingtalk').set(auth).send(p);
    assert.equal(res.status, 202);
    assert.equal(
      (await request(h.app).post('/v1/alerts/dingtalk/sre-dingtalk').set(auth).send(p)).body.status,
      'duplicate',
    );
    await waitFor(() => h.bridge.engine.idle(), 5_000, 'delivery');
    const got = ding.messages
      .slice(before)
      .filter((m) => m.body.markdown!.text.includes('ApiserverErrorRatioHigh'));
    assert.equal(got.length, 1);
    const text = got[0]!.body.markdown!.text;
    assert.match(text, /#### china \/ cn-hangzhou \/ mc-hz-00/);
    assert.match(text, /#### china \/ cn-hangzhou \/ mc-hz-02/);
    const mobiles = got[0]!.body.at!.atMobiles!;
    assert.equal(mobiles.length, 1);
    assert.ok(text.includes(`@${mobiles[0]}`));
    assert.equal(await h.metric('fedstack_alert_bridge_delivered_total', { channel: 'dingtalk' }), 1);
    assert.equal(await h.metric('fedstack_alert_bridge_dropped_total'), 0);
  });

  it('retries a DingTalk failure (HTTP 500, an unknown errcode) and delivers after it', async () => {
    const h = await startBridge({ dingtalkUrl: ding.url });
    ding.script(
      { status: 500, errcode: -1, errmsg: 'system busy' },
      { errcode: 999999, errmsg: 'something new' },
    );
    const res = await request(h.app)
      .post('/v1/alerts/dingtalk/sre-dingtalk')
      .set(auth)
      .send(payload(200, { alertname: 'RetriedAlert' }));
    assert.equal(res.status, 202);
    await waitFor(() => h.bridge.engine.idle(), 5_000, 'delivery after retries');
    assert.equal(ding.messages.filter((m) => m.body.markdown!.text.includes('RetriedAlert')).length, 1);
    assert.equal(await h.metric('fedstack_alert_bridge_retried_total', { channel: 'dingtalk' }), 2);
  });

  it('turns a notification into a dead letter after the retry budget, with a metric', async () => {
    const h = await startBridge({
      dingtalkUrl: ding.url,
      options: { retry: { baseMs: 10, maxMs: 20, maxAttempts: 3 } },
    });
    ding.script(
      { errcode: 310000, errmsg: 'keywords not in content' },
      { errcode: 310000, errmsg: 'keywords not in content' },
      { errcode: 310000, errmsg: 'keywords not in content' },
    );
    await request(h.app)
      .post('/v1/alerts/dingtalk/sre-dingtalk')
      .set(auth)
      .send(payload(300, { alertname: 'DoomedAlert' }))
      .expect(202);
    await waitFor(() => h.bridge.engine.idle(), 5_000, 'dead letter');
    assert.equal(await h.metric('fedstack_alert_bridge_dead_letters_total', { channel: 'dingtalk' }), 1);
    assert.equal(await h.metric('fedstack_alert_bridge_dropped_total'), 0);
    const dead = readdirSync(path.join(h.outbox, 'dead'));
    assert.equal(dead.length, 1);
    assert.equal(ding.messages.filter((m) => m.body.markdown!.text.includes('DoomedAlert')).length, 0);
  });

  it('delivers a burst of 1,000 groups for one robot within its limit, nothing lost, by merging', async () => {
    const burst = await startDingTalkContract({ robots: ROBOTS, windowMs: 1_000, limit: 20 });
    try {
      const h = await startBridge({
        dingtalkUrl: burst.url,
        options: { dingtalk: { windowMs: 1_000 }, retry: { baseMs: 20, maxMs: 100 } },
      });
      const N = 1_000;
      for (let i = 0; i < N; i += 50) {
        await Promise.all(
          Array.from({ length: 50 }, (_, k) =>
            request(h.app)
              .post('/v1/alerts/dingtalk/sre-dingtalk')
              .set(auth)
              .send(payload(i + k))
              .expect(202),
          ),
        );
      }
      await waitFor(() => h.bridge.engine.idle(), 60_000, 'burst delivery');
      const seen = new Map<string, number>();
      for (const m of burst.messages) {
        assert.ok(m.bytes <= 20_000, `message of ${m.bytes} bytes`);
        // Each group's name appears in its heading and its alert line: count it once per message.
        for (const name of new Set(m.body.markdown!.text.match(/BurstAlert\d{4}/g) ?? []))
          seen.set(name, (seen.get(name) ?? 0) + 1);
      }
      assert.equal(seen.size, N, 'every group delivered');
      assert.ok(
        [...seen.values()].every((c) => c === 1),
        'no group twice',
      );
      assert.deepEqual(burst.errors, [], 'no errcode, in particular no 130101 throttling');
      assert.ok(burst.maxInWindow('robot-token-1') <= 20);
      assert.ok(burst.messages.length < N / 10, `merged into ${burst.messages.length} messages`);
      assert.equal(await h.metric('fedstack_alert_bridge_delivered_total', { channel: 'dingtalk' }), N);
      assert.equal(await h.metric('fedstack_alert_bridge_dropped_total'), 0);
    } finally {
      await burst.close();
    }
  });

  it('rotates over several robots of one receiver', async () => {
    const rr = await startDingTalkContract({ robots: ROBOTS, windowMs: 60_000, limit: 2 });
    try {
      const h = await startBridge({
        dingtalkUrl: rr.url,
        robots: 2,
        options: { dingtalk: { windowMs: 60_000, limit: 2 } },
      });
      for (let i = 0; i < 4; i++) {
        await request(h.app)
          .post('/v1/alerts/dingtalk/sre-dingtalk')
          .set(auth)
          .send(payload(500 + i))
          .expect(202);
        await waitFor(() => h.bridge.engine.idle(), 5_000, 'one delivery');
      }
      assert.deepEqual(rr.messages.map((m) => m.token).sort(), [
        'robot-token-1',
        'robot-token-1',
        'robot-token-2',
        'robot-token-2',
      ]);
      assert.deepEqual(rr.errors, []);
    } finally {
      await rr.close();
    }
  });
});

describe('SMS delivery through the Aliyun SDK', () => {
  it('texts the on-call with short template params, merges within the per-number limit, skips resolved', async () => {
    const h = await startBridge({
      dingtalkUrl: ding.url,
      smsEndpoint: sms.endpoint,
      // The contract server's per-number limits, shrunk from 1/minute and 5/hour: the bridge is told the same.
      options: {
        sms: {
          limits: [
            { limit: 1, windowMs: 500 },
            { limit: 3, windowMs: 5_000 },
          ],
        },
        retry: { baseMs: 20, maxMs: 100 },
      },
    });
    const before = sms.sent.length;
    for (let i = 0; i < 4; i++) {
      await request(h.app)
        .post('/v1/alerts/sms/sre-sms')
        .set(auth)
        .send(payload(700 + i, { alertname: `AVeryLongAlertNameThatDoesNotFitIntoThirtyFiveCharacters${i}` }))
        .expect(202);
    }
    const resolved = await request(h.app)
      .post('/v1/alerts/sms/sre-sms')
      .set(auth)
      .send(payload(799, { status: 'resolved' }));
    assert.equal(resolved.body.status, 'skipped');
    await waitFor(() => h.bridge.engine.idle(), 10_000, 'sms delivery');
    const got = sms.sent.slice(before);
    assert.ok(got.length >= 1 && got.length <= 2, `${got.length} SMS for 4 notifications`);
    for (const s of got) {
      assert.equal(s.phone.length, 11);
      for (const v of Object.values(s.params)) assert.ok([...v].length <= 35, v);
    }
    const total = got.reduce((n, s) => n + Number(s.params.count), 0);
    assert.equal(total, 4);
    assert.ok(
      !sms.answers.some((a) => a.code === 'isv.BUSINESS_LIMIT_CONTROL'),
      'the bridge kept the per-number limit itself',
    );
    assert.equal(await h.metric('fedstack_alert_bridge_delivered_total', { channel: 'sms' }), 4);
  });

  it('a wrong access key secret is refused by the contract server and retried, never reported delivered', async () => {
    const other = await startSmsContract({
      accessKeys: { [ACCESS_KEY.id]: 'another-secret' },
      signNames: ['Fedstack'],
      templates: { [SMS_TEMPLATE.code]: SMS_TEMPLATE.vars },
    });
    try {
      const h = await startBridge({
        dingtalkUrl: ding.url,
        smsEndpoint: other.endpoint,
        options: { retry: { baseMs: 10, maxMs: 20, maxAttempts: 2 } },
      });
      await request(h.app).post('/v1/alerts/sms/sre-sms').set(auth).send(payload(900)).expect(202);
      await waitFor(() => h.bridge.engine.idle(), 10_000, 'dead letter');
      assert.deepEqual(
        other.answers.map((a) => a.code),
        ['SignatureDoesNotMatch', 'SignatureDoesNotMatch'],
      );
      assert.equal(await h.metric('fedstack_alert_bridge_delivered_total', { channel: 'sms' }), 0);
      assert.equal(await h.metric('fedstack_alert_bridge_dead_letters_total', { channel: 'sms' }), 1);
    } finally {
      await other.close();
    }
  });
});
