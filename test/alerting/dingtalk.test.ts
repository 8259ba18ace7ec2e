import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Secret } from '../../common/secret.ts';
import {
  buildMessage,
  dingtalkSign,
  messageBytes,
  notificationLines,
  packMessages,
  sendDingTalk,
  signedUrl,
} from '../../alerting/bridge/dingtalk.ts';
import { fetchHttpClient, type HttpClient } from '../../alerting/bridge/http.ts';
import { startDingTalkContract, type DingTalkContract } from './support/dingtalk-contract.ts';
import { payload } from './support/fixtures.ts';

describe('DingTalk signing', () => {
  it('matches the published test vector', () => {
    assert.equal(
      dingtalkSign(1577262236757, 'SEC' + 'a'.repeat(64)),
      'DpyADaHXxPzbytTlxzdxuIqe0Gl/PojbAUVwg2jS6QM=',
    );
  });
  it('URL-encodes the signature exactly once', () => {
    const url = signedUrl(
      'https://oapi.dingtalk.com/robot/send',
      'tok',
      'SEC' + 'a'.repeat(64),
      1577262236757,
    );
    assert.equal(
      url,
      'https://oapi.dingtalk.com/robot/send?access_token=tok&timestamp=1577262236757&sign=DpyADaHXxPzbytTlxzdxuIqe0Gl%2FPojbAUVwg2jS6QM%3D',
    );
  });
});

describe('DingTalk errcode answers', () => {
  const answering =
    (status: number, body: string): HttpClient =>
    async () => ({ status, body });
  const send = (http: HttpClient) =>
    sendDingTalk({
      http,
      url: 'http://127.0.0.1:1/robot/send',
      token: new Secret('t'),
      secret: new Secret('s'),
      timestampMs: 1,
      message: buildMessage(
        { ids: [], text: 'x', title: 'x', mention: false },
        { mobiles: [], userIds: [] },
        'u',
      ),
      timeoutMs: 1000,
    });
  const cases: [string, number, string, boolean, boolean, string | undefined][] = [
    ['errcode 0 is a success', 200, '{"errcode":0,"errmsg":"ok"}', true, false, undefined],
    [
      '130101 (too fast) is a throttled failure',
      200,
      '{"errcode":130101,"errmsg":"send too fast"}',
      false,
      true,
      'errcode:130101',
    ],
    [
      '90030 (webhook over limit) is a throttled failure',
      200,
      '{"errcode":90030,"errmsg":"webhook over limit"}',
      false,
      true,
      'errcode:90030',
    ],
    [
      '310000 (sign not match) is a failure',
      200,
      '{"errcode":310000,"errmsg":"sign not match"}',
      false,
      false,
      'errcode:310000',
    ],
    [
      'an unknown non-zero errcode is a failure, never a success',
      200,
      '{"errcode":123456,"errmsg":"new"}',
      false,
      false,
      'errcode:123456',
    ],
    ['an answer without errcode is a failure', 200, '{"ok":true}', false, false, 'invalid_answer'],
    ['a non-JSON answer is a failure', 200, '<html>', false, false, 'invalid_answer'],
    ['HTTP 502 is a failure', 502, '', false, false, 'http:502'],
  ];
  for (const [name, status, body, ok, throttled, code] of cases) {
    it(`${name}, coded ${code ?? 'ok'} for the error metric`, async () => {
      const r = await send(answering(status, body));
      assert.equal(r.ok, ok);
      if (!r.ok) {
        assert.equal(r.throttled, throttled);
        assert.equal(r.code, code);
      }
    });
  }
  it('a network error is a failure whose reason does not leak the token', async () => {
    const r = await send(async (req) => {
      throw new Error(`connect ECONNREFUSED ${req.url}`);
    });
    assert.equal(r.ok, false);
    if (!r.ok) assert.doesNotMatch(r.reason, /access_token=t\b/);
  });
});

describe('packing messages under 20,000 bytes', () => {
  const none = { mobiles: [], userIds: [] };
  it('merges many small notifications into one message under the limit', () => {
    const inputs = Array.from({ length: 500 }, (_, i) => ({
      id: `u${i}`,
      lines: notificationLines(payload(i)),
      firing: true,
    }));
    const { parts, taken } = packMessages(inputs, { mobiles: ['13800000001'], userIds: ['lilei'] }, 20_000);
    assert.equal(parts.length, 1);
    assert.ok(taken > 10 && taken < 500, `took ${taken}`);
    const msg = buildMessage(parts[0]!, { mobiles: ['13800000001'], userIds: ['lilei'] }, 'uuid-0');
    assert.ok(messageBytes(msg) <= 20_000, `${messageBytes(msg)} bytes`);
    assert.ok(msg.markdown.text.includes('@13800000001'));
  });
  it('splits one notification too large for a message into parts, each under the limit, losing no alert', () => {
    const big = payload(1, { alerts: 400, summary: '很长的中文摘要'.repeat(30) });
    const { parts, taken } = packMessages(
      [{ id: 'big', lines: notificationLines(big), firing: true }],
      none,
      20_000,
    );
    assert.equal(taken, 1);
    assert.ok(parts.length > 1);
    for (const p of parts) assert.ok(messageBytes(buildMessage(p, none, 'x'.repeat(40))) <= 20_000);
    const lines = parts.flatMap((p) => p.text.split('\n\n')).filter((l) => l.startsWith('- '));
    assert.equal(lines.length, 400);
  });
  it('groups the alerts of a notification by big region, region and meta-cluster', () => {
    const lines = notificationLines(payload(1, { alerts: 4 }));
    assert.deepEqual(
      lines.filter((l) => l.startsWith('####')),
      [
        '#### china / cn-hangzhou / mc-hz-00',
        '#### china / cn-hangzhou / mc-hz-01',
        '#### china / cn-hangzhou / mc-hz-02',
      ],
    );
  });
});

describe('the DingTalk contract server', () => {
  let ding: DingTalkContract;
  const secret = 'SEC' + 'b'.repeat(64);
  before(async () => {
    ding = await startDingTalkContract({ robots: { tok: secret }, windowMs: 60_000, limit: 2 });
  });
  after(() => ding.close());
  const post = (url: string, body: unknown) =>
    fetchHttpClient({
      url,
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify(body),
      timeoutMs: 5000,
    });
  const msg = (uuid: string) =>
    buildMessage({ ids: [], text: 'hello', title: 't', mention: false }, { mobiles: [], userIds: [] }, uuid);

  it('refuses a doubly encoded signature with 310000', async () => {
    const ts = Date.now();
    const sig = encodeURIComponent(encodeURIComponent(dingtalkSign(ts, secret)));
    const res = await post(`${ding.url}?access_token=tok&timestamp=${ts}&sign=${sig}`, msg('a'));
    assert.equal(JSON.parse(res.body).errcode, 310000);
  });
  it('refuses a timestamp over an hour old with 310000', async () => {
    const ts = Date.now() - 3_700_000;
    const res = await post(signedUrl(ding.url, 'tok', secret, ts), msg('b'));
    assert.equal(JSON.parse(res.body).errcode, 310000);
  });
  it('refuses a body over 20,000 bytes with 460101', async () => {
    const res = await post(signedUrl(ding.url, 'tok', secret, Date.now()), {
      ...msg('c'),
      markdown: { title: 't', text: 'x'.repeat(20_001) },
    });
    assert.equal(JSON.parse(res.body).errcode, 460101);
  });
  it('answers 130101 past the per-window limit', async () => {
    const codes = [];
    for (let i = 0; i < 3; i++)
      codes.push(
        JSON.parse((await post(signedUrl(ding.url, 'tok', secret, Date.now()), msg(`d${i}`))).body).errcode,
      );
    assert.deepEqual(codes.slice(-1), [130101]);
    assert.ok(ding.errors.some((e) => e.errcode === 130101));
  });
});
