/**
 * The bridge's read-only status (what the console's pages view shows), from a real bridge in
 * front of the DingTalk contract server: deliveries, failures with their errcode, the queue,
 * dead letters with their receiver and reason.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import express from 'express';
import { Registry } from 'prom-client';
import request from 'supertest';
import type { BridgeHandle } from '../../alerting/bridge/router.ts';
import { reasonCode, SendLog, SEND_LOG_WINDOW_MS } from '../../alerting/bridge/status.ts';
import { startAlertBridge } from '../../alerting/bridge/wiring.ts';
import { staticTopologySource } from '../../server/topology-watch.ts';
import { pagesView } from '../../console/views.ts';
import { startDingTalkContract, type DingTalkContract } from './support/dingtalk-contract.ts';
import {
  ROBOTS,
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

describe('the bridge status', () => {
  let ding: DingTalkContract;
  let bridge: BridgeHandle;
  let app: express.Express;
  // Real time, shifted by the last test to jump past the send log's window.
  let offset = 0;
  const now = () => Date.now() + offset;

  before(async () => {
    ding = await startDingTalkContract({ robots: ROBOTS });
    const secrets = tempDir('status-secrets');
    writeSecrets(secrets);
    bridge = startAlertBridge(
      {
        outboxDir: tempDir('status-outbox'),
        secretsDir: secrets,
        now,
        options: { retry: { maxAttempts: 2, baseMs: 10, maxMs: 20 } },
      },
      {
        topology: staticTopologySource(loadTestTopology(topologyText({ dingtalkUrl: ding.url }))),
        registry: new Registry(),
        logger: silentLogger,
      },
    );
    await bridge.ready;
    app = express();
    app.use('/v1/alerts', bridge.router);
  });
  after(async () => {
    await bridge?.close();
    await ding?.close();
    removeTempDirs();
  });

  const send = (n: number) =>
    request(app)
      .post('/v1/alerts/dingtalk/sre-dingtalk')
      .set('Authorization', `Bearer ${WEBHOOK_TOKEN}`)
      .send(payload(n, { alertname: `StatusAlert${n}` }))
      .expect(202);

  it('reports a delivered message with its alerts, and an empty queue', async () => {
    await send(1);
    await waitFor(() => bridge.engine.idle(), 10_000, 'the first delivery');
    const s = await bridge.engine.status();
    assert.deepEqual(s.queue, []);
    assert.equal(s.sends.length, 1);
    assert.deepEqual(
      { ...s.sends[0], at: undefined },
      {
        at: undefined,
        channel: 'dingtalk',
        receiver: 'sre-dingtalk',
        ok: true,
        notifications: 1,
        alerts: ['StatusAlert1'],
        status: 'firing',
      },
    );
    assert.deepEqual(s.deadLetters, []);
  });

  it('reports each failed send with its errcode, and the dead letter with receiver and reason', async () => {
    ding.script(
      { errcode: 310000, errmsg: 'keywords not in content' },
      { errcode: 310000, errmsg: 'keywords not in content' },
    );
    await send(2);
    await waitFor(() => bridge.engine.idle(), 10_000, 'the retries to run out');
    const s = await bridge.engine.status();
    const failed = s.sends.filter((x) => !x.ok);
    assert.deepEqual(
      failed.map((x) => [x.code, x.reason, x.alerts]),
      [
        ['310000', 'errcode 310000: keywords not in content', ['StatusAlert2']],
        ['310000', 'errcode 310000: keywords not in content', ['StatusAlert2']],
      ],
    );
    assert.equal(s.deadLetters.length, 1);
    assert.deepEqual(
      { ...s.deadLetters[0], id: undefined, deadAt: undefined },
      {
        id: undefined,
        deadAt: undefined,
        channel: 'dingtalk',
        receiver: 'sre-dingtalk',
        reason: 'after 2 attempts: errcode 310000: keywords not in content',
      },
    );

    // What the console makes of it: one line per receiver, errcodes counted.
    const view = pagesView({
      topology: loadTestTopology(topologyText({ dingtalkUrl: ding.url })),
      bridge: s,
      now: now(),
    });
    assert.deepEqual(
      view.bridge?.receivers.map((r) => ({ ...r, lastDeliveredAt: undefined })),
      [
        {
          receiver: 'sre-dingtalk',
          channel: 'dingtalk',
          team: 'sre',
          delivered: 1,
          notifications: 1,
          failed: 2,
          errcodes: [{ code: '310000', count: 2, lastReason: 'errcode 310000: keywords not in content' }],
          lastDeliveredAt: undefined,
        },
      ],
    );
    assert.equal(view.bridge?.deadLetterCount, 1);
    assert.deepEqual(
      view.bridge?.recent.map((r) => [r.ok, r.alerts[0]]),
      [
        [false, 'StatusAlert2'],
        [false, 'StatusAlert2'],
        [true, 'StatusAlert1'],
      ],
    );
  });

  it('forgets sends older than an hour', async () => {
    offset += SEND_LOG_WINDOW_MS + 1;
    const s = await bridge.engine.status();
    assert.deepEqual(s.sends, []);
    assert.equal(s.deadLetters.length, 1, 'dead letters stay: they are on disk');
  });
});

describe('the code of a failure reason', () => {
  const cases: [string, string, string][] = [
    ['a DingTalk errcode', 'errcode 130101: send too fast', '130101'],
    ['an HTTP status', 'HTTP 503', 'HTTP 503'],
    ['a network failure', 'request failed: TypeError: fetch failed', 'request failed'],
    ['an Aliyun code', 'isv.BUSINESS_LIMIT_CONTROL: frequency', 'isv.BUSINESS_LIMIT_CONTROL'],
    [
      'a permanent Aliyun code',
      'permanent error isv.MOBILE_NUMBER_ILLEGAL: bad number',
      'isv.MOBILE_NUMBER_ILLEGAL',
    ],
    ['an answer that is not JSON', 'answer is not JSON', 'error'],
  ];
  for (const [name, reason, code] of cases) it(`reads ${name}`, () => assert.equal(reasonCode(reason), code));

  it('keeps the send log to the last hour', () => {
    const log = new SendLog();
    log.add(1_000, 'sms', 'r', undefined, []);
    log.add(2_000, 'sms', 'r', 'HTTP 500', []);
    assert.equal(log.recent(1_000 + SEND_LOG_WINDOW_MS - 1).length, 2);
    assert.deepEqual(
      log.recent(1_000 + SEND_LOG_WINDOW_MS).map((r) => r.code),
      ['HTTP 500'],
    );
  });
});
