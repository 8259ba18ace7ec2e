/**
 * Strict webhook input, on the real service (startServer with the bridge, as `fedstack serve`
 * mounts it), with raw HTTP requests so that nothing normalises the path or the bytes:
 * Alertmanager always sends application/json in UTF-8 to a receiver name that is a DNS label.
 * Each rule is tested over its class (fast-check), not one example.
 */
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import fc from 'fast-check';
import pino from 'pino';
import { mediaTypeProblem, receiverNameOf } from '../../alerting/bridge/router.ts';
import { startServer, type RunningServer } from '../../server/main.ts';
import { NAME_RE } from '../../topology/schema.ts';
import { startDingTalkContract, type DingTalkContract } from './support/dingtalk-contract.ts';
import {
  WEBHOOK_TOKEN,
  ROBOTS,
  payload,
  removeTempDirs,
  tempDir,
  topologyText,
  waitFor,
  writeSecrets,
} from './support/fixtures.ts';

let ding: DingTalkContract;
let service: RunningServer;
let port = 0;

before(async () => {
  ding = await startDingTalkContract({ robots: ROBOTS, windowMs: 1_000 });
  const dir = tempDir('input');
  writeSecrets(path.join(dir, 'secrets'));
  writeFileSync(path.join(dir, 'topology.yaml'), topologyText({ dingtalkUrl: ding.url }));
  const outboxDir = path.join(dir, 'outbox');
  service = await startServer({
    topologyFile: path.join(dir, 'topology.yaml'),
    port: 0,
    logger: pino({ level: 'silent' }),
    bridge: { outboxDir, secretsDir: path.join(dir, 'secrets'), options: { dingtalk: { windowMs: 1_000 } } },
  });
  port = Number(new URL(service.url).port);
});
after(async () => {
  await service?.close();
  await ding?.close();
  removeTempDirs();
});

/** POST with the exact path, headers and bytes given (fetch would normalise the URL and encode the body). */
function rawPost(
  pathname: string,
  body: Buffer | string,
  headers: Record<string, string> = { 'content-type': 'application/json' },
): Promise<{ status: number; body: { status?: string; reason?: string } }> {
  return new Promise((resolve, reject) => {
    const req = http.request(
      {
        host: '127.0.0.1',
        port,
        // A connection per request: no keep-alive socket the server may be closing at that moment.
        agent: false,
        method: 'POST',
        path: pathname,
        headers: {
          authorization: `Bearer ${WEBHOOK_TOKEN}`,
          'content-length': String(Buffer.byteLength(body)),
          ...headers,
        },
      },
      (res) => {
        let text = '';
        res.on('data', (d: Buffer) => (text += d.toString()));
        res.on('end', () => {
          let parsed = {};
          try {
            parsed = JSON.parse(text) as object;
          } catch {
            parsed = { reason: text };
          }
          resolve({ status: res.statusCode ?? 0, body: parsed });
        });
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

const received = async (outcome: string) => {
  const text = await (await fetch(`${service.url}/metrics`)).text();
  return [
    ...text.matchAll(
      new RegExp(
        `fedstack_alert_bridge_received_total\\{channel="(?:dingtalk|sms)",outcome="${outcome}"\\} (\\d+)`,
        'g',
      ),
    ),
  ].reduce((n, m) => n + Number(m[1]), 0);
};
const good = JSON.stringify(payload(1));

describe('receiver names', () => {
  it('names that can never be a receiver are answered 404 at once, whatever their encoding', async () => {
    const before = await received('invalid_receiver');
    const acceptedBefore = await received('accepted');
    const cases = [
      '..%2F..%2Ftmp%2Fpwned',
      '%2e%2e%2f%2e%2e%2fetc%2fpasswd',
      '..%5C..%5Cwindows',
      '%2E%2E',
      '..',
      'a/b',
      '',
      '%zz',
      '%E0%A4%A',
      'SRE-DINGTALK',
      'sre_dingtalk',
      '-sre',
      'x'.repeat(64),
      'sre-dingtalk%00',
      'sre-dingtalk%20',
    ];
    for (const name of cases) {
      const res = await rawPost(`/v1/alerts/dingtalk/${name}`, good);
      assert.equal(res.status, 404, `${name}: ${JSON.stringify(res.body)}`);
      assert.match(res.body.reason!, /can never be a receiver/);
    }
    assert.equal((await received('invalid_receiver')) - before, cases.length, 'each one counted');
    assert.equal(await received('accepted'), acceptedBefore, 'nothing accepted');
  });

  it('any path segment is 404 when it is not a DNS label, 503 when it is one the routing lacks, 2xx for a receiver (fuzzed)', async () => {
    const known = new Set(['sre-dingtalk']);
    const segment = fc.oneof(
      fc.string({ unit: 'binary', maxLength: 20 }).map((s) => encodeURIComponent(s)),
      fc.stringMatching(/^[a-z0-9-]{1,70}$/),
      fc
        .array(
          fc.constantFrom(
            '..',
            '.',
            '%2e',
            '%2E',
            '%2f',
            '%2F',
            '%5c',
            '/',
            '\\',
            'tmp',
            'sre-dingtalk',
            '%00',
            '%',
          ),
          {
            minLength: 1,
            maxLength: 6,
          },
        )
        .map((parts) => parts.join('')),
    );
    let n = 0;
    await fc.assert(
      fc.asyncProperty(segment, async (seg) => {
        const name = receiverNameOf(seg);
        const res = await rawPost(
          `/v1/alerts/dingtalk/${seg.replace(/\\/g, '%5C')}`,
          JSON.stringify(payload(10_000 + n++)),
        );
        if (name === undefined) assert.equal(res.status, 404, seg);
        else if (known.has(name)) assert.ok([200, 202].includes(res.status), seg);
        else assert.equal(res.status, 503, seg);
      }),
      { numRuns: 100 },
    );
  });

  it('the name rule is exactly "a DNS label of at most 63 characters"', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 70 }), (s) => {
        const ok = s.length <= 63 && NAME_RE.test(s);
        assert.equal(receiverNameOf(encodeURIComponent(s)), ok ? s : undefined);
      }),
    );
  });

  it('a well-formed name the loaded routing does not have is 503 (Alertmanager retries) and counted apart', async () => {
    const before = await received('unknown_receiver');
    const res = await rawPost('/v1/alerts/sms/not-yet-there', good);
    assert.equal(res.status, 503);
    assert.match(res.body.reason!, /no sms receiver "not-yet-there"/);
    assert.equal((await received('unknown_receiver')) - before, 1);
  });
});

describe('content type', () => {
  it('anything but application/json (charset utf-8 if given) is answered 415, a valid JSON body notwithstanding', async () => {
    const refused = [
      'text/plain',
      'text/plain; charset=utf-8',
      'application/x-www-form-urlencoded',
      'multipart/form-data; boundary=x',
      'application/jsonx',
      'application/json-patch+json',
      'text/json',
      'application/json; charset=latin1',
      'application/json; charset=utf-16',
      '',
    ];
    const before = await received('unsupported_media_type');
    for (const type of refused) {
      const res = await rawPost(
        '/v1/alerts/dingtalk/sre-dingtalk',
        good,
        type === '' ? {} : { 'content-type': type },
      );
      assert.equal(res.status, 415, type);
    }
    assert.equal((await received('unsupported_media_type')) - before, refused.length);
    for (const type of [
      'application/json',
      'Application/JSON; charset=UTF-8',
      'application/json;charset="utf-8"',
    ]) {
      const res = await rawPost(
        '/v1/alerts/dingtalk/sre-dingtalk',
        JSON.stringify(payload(20_000 + type.length)),
        {
          'content-type': type,
        },
      );
      assert.ok([200, 202].includes(res.status), `${type}: ${res.status}`);
    }
  });

  it('the media-type rule holds for any type/subtype (fuzzed)', () => {
    const token = fc.stringMatching(/^[A-Za-z0-9!#$&^_.+-]{1,12}$/);
    fc.assert(
      fc.property(token, token, fc.option(token), (type, sub, charset) => {
        const header = `${type}/${sub}${charset === null ? '' : `; charset=${charset}`}`;
        const json = type.toLowerCase() === 'application' && sub.toLowerCase() === 'json';
        const utf8 = charset === null || charset.toLowerCase() === 'utf-8';
        assert.equal(mediaTypeProblem(header) === undefined, json && utf8, header);
      }),
    );
  });
});

describe('UTF-8', () => {
  const invalid = fc.constantFrom(
    [0x80], // a lone continuation byte
    [0xbf, 0x80],
    [0xc0, 0xaf], // overlong "/"
    [0xc1, 0xbf],
    [0xe0, 0x80, 0xaf], // overlong, 3 bytes
    [0xed, 0xa0, 0x80], // a UTF-16 surrogate encoded in UTF-8
    [0xf4, 0x90, 0x80, 0x80], // beyond U+10FFFF
    [0xf5, 0x80, 0x80, 0x80],
    [0xff],
    [0xfe],
    [0xe2, 0x82], // truncated sequence
    [0xf0, 0x9f, 0x98], // truncated emoji
  );

  it('invalid UTF-8 anywhere inside a string of the body is 400, never turned into U+FFFD (fuzzed)', async () => {
    const text = Buffer.from(good);
    const summary = text.indexOf('apiserver errors in group');
    const before = await received('invalid');
    const acceptedBefore = await received('accepted');
    let runs = 0;
    await fc.assert(
      fc.asyncProperty(invalid, fc.integer({ min: 0, max: 20 }), async (bytes, offset) => {
        runs++;
        const at = summary + offset;
        const body = Buffer.concat([text.subarray(0, at), Buffer.from(bytes), text.subarray(at)]);
        const res = await rawPost('/v1/alerts/dingtalk/sre-dingtalk', body);
        assert.equal(res.status, 400);
        assert.match(res.body.reason!, /not valid UTF-8/);
      }),
      { numRuns: 60 },
    );
    assert.equal((await received('invalid')) - before, runs);
    assert.equal(await received('accepted'), acceptedBefore, 'nothing accepted');
  });

  it('valid UTF-8 of every width reaches DingTalk byte for byte', async () => {
    const summary = '华东 apiserver 错误率 超过 5% — naïve ✓ 🔥 𝄞';
    const res = await rawPost(
      '/v1/alerts/dingtalk/sre-dingtalk',
      Buffer.from(JSON.stringify(payload(30_000, { summary, alertname: 'Utf8Alert' }))),
    );
    assert.equal(res.status, 202);
    await waitFor(
      () => ding.messages.some((m) => m.body.markdown!.text.includes('Utf8Alert')),
      10_000,
      'the message',
    );
    const msg = ding.messages.find((m) => m.body.markdown!.text.includes('Utf8Alert'))!;
    assert.ok(msg.body.markdown!.text.includes(summary));
    assert.ok(!msg.body.markdown!.text.includes('\uFFFD'));
  });
});

describe('numbers', () => {
  it('a count JSON cannot hold exactly (1e309 is Infinity, 2^53 + 1 rounds) is 400, never accepted', async () => {
    const acceptedBefore = await received('accepted');
    for (const n of ['1e309', '-1', '1.5', '9007199254740993']) {
      const body = good.replace(/"truncatedAlerts":\s*\d+/, `"truncatedAlerts":${n}`);
      assert.notEqual(body, good, 'the fixture has truncatedAlerts');
      const res = await rawPost('/v1/alerts/dingtalk/sre-dingtalk', body);
      assert.equal(res.status, 400, n);
      assert.match(res.body.reason!, /truncatedAlerts/, n);
    }
    assert.equal(await received('accepted'), acceptedBefore, 'nothing accepted');
  });
});
