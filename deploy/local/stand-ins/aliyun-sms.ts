/**
 * A local Aliyun dysmsapi (2017-05-25) endpoint that verifies what the official SDK sends:
 * the V3 signature (ACS3-HMAC-SHA256 over the canonical request, as @alicloud/openapi-core
 * builds it), the content hash, a fresh nonce and date; then SendSms' own rules: known sign
 * and template, every template variable present and at most 35 characters, valid numbers,
 * and per-number frequency limits (isv.BUSINESS_LIMIT_CONTROL). Answers like Aliyun: HTTP 200
 * with Code "OK" or an isv.* code; HTTP 400 for signature errors (the SDK throws those).
 */
import { createHash, createHmac, randomUUID } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';

export interface SmsContractOptions {
  /** AccessKeyId → AccessKeySecret. */
  readonly accessKeys: Readonly<Record<string, string>>;
  readonly signNames: readonly string[];
  /** Template code → variable names it uses. */
  readonly templates: Readonly<Record<string, readonly string[]>>;
  /** Per-number limits (Aliyun defaults 1/min, 5/h, 10/day). */
  readonly limits?: readonly { limit: number; windowMs: number }[];
  readonly now?: () => number;
}

export interface SentSms {
  readonly phone: string;
  readonly signName: string;
  readonly templateCode: string;
  readonly params: Record<string, string>;
  readonly at: number;
}

export interface SmsContract {
  readonly endpoint: string;
  readonly sent: SentSms[];
  readonly answers: { code: string; phone: string }[];
  close(): Promise<void>;
}

function encode(s: string): string {
  return encodeURIComponent(s)
    .replace(/!/g, '%21')
    .replace(/'/g, '%27')
    .replace(/\(/g, '%28')
    .replace(/\)/g, '%29');
}

export async function startSmsContract(opts: SmsContractOptions): Promise<SmsContract> {
  const now = opts.now ?? Date.now;
  const limits = opts.limits ?? [
    { limit: 1, windowMs: 60_000 },
    { limit: 5, windowMs: 3_600_000 },
    { limit: 10, windowMs: 86_400_000 },
  ];
  const sent: SentSms[] = [];
  const answers: { code: string; phone: string }[] = [];
  const nonces = new Set<string>();
  const perNumber = new Map<string, number[]>();

  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks);
      const reply = (status: number, code: string, message: string, phone = '') => {
        answers.push({ code, phone });
        res.writeHead(status, { 'content-type': 'application/json' });
        res.end(
          JSON.stringify({
            Code: code,
            Message: message,
            RequestId: randomUUID(),
            ...(code === 'OK' ? { BizId: randomUUID() } : {}),
          }),
        );
      };
      const h = req.headers;
      const auth = String(h.authorization ?? '');
      const m = /^ACS3-HMAC-SHA256 Credential=([^,]+),SignedHeaders=([^,]+),Signature=([0-9a-f]{64})$/.exec(
        auth,
      );
      if (!m)
        return reply(
          400,
          'IncompleteSignature',
          'The request signature does not conform to Aliyun standards.',
        );
      const [, akId, signedHeaders, signature] = m as unknown as [string, string, string, string];
      const secret = opts.accessKeys[akId];
      if (secret === undefined)
        return reply(404, 'InvalidAccessKeyId.NotFound', 'Specified access key is not found.');
      const bodyHash = createHash('sha256').update(body).digest('hex');
      if (h['x-acs-content-sha256'] !== bodyHash)
        return reply(400, 'SignatureDoesNotMatch', 'x-acs-content-sha256 does not match the body');
      const date = Date.parse(String(h['x-acs-date'] ?? ''));
      if (!Number.isFinite(date) || Math.abs(now() - date) > 15 * 60_000)
        return reply(400, 'InvalidTimeStamp.Expired', 'Specified time stamp or date value is expired.');
      const nonce = String(h['x-acs-signature-nonce'] ?? '');
      if (nonce === '' || nonces.has(nonce))
        return reply(400, 'SignatureNonceUsed', 'Specified signature nonce was used already.');
      const names = signedHeaders.split(';');
      for (const required of [
        'host',
        'x-acs-action',
        'x-acs-content-sha256',
        'x-acs-date',
        'x-acs-signature-nonce',
        'x-acs-version',
      ]) {
        if (!names.includes(required))
          return reply(400, 'SignatureDoesNotMatch', `${required} is not signed`);
      }
      const url = new URL(req.url ?? '/', 'http://x');
      const query = [...url.searchParams.keys()]
        .sort()
        .map((k) => `${k}=${encode(url.searchParams.get(k) ?? '')}`)
        .join('&');
      const canonicalHeaders = names.map((n) => `${n}:${String(h[n] ?? '').trim()}\n`).join('');
      const canonicalRequest = `${req.method}\n${url.pathname.replace(/\+/g, '%20').replace(/\*/g, '%2A').replace(/%7E/g, '~')}\n${query}\n${canonicalHeaders}\n${signedHeaders}\n${bodyHash}`;
      const stringToSign = `ACS3-HMAC-SHA256\n${createHash('sha256').update(canonicalRequest).digest('hex')}`;
      if (createHmac('sha256', secret).update(stringToSign).digest('hex') !== signature) {
        return reply(
          400,
          'SignatureDoesNotMatch',
          'Specified signature is not matched with our calculation.',
        );
      }
      nonces.add(nonce);
      if (h['x-acs-action'] !== 'SendSms' || h['x-acs-version'] !== '2017-05-25')
        return reply(400, 'InvalidAction.NotFound', 'Specified api is not found');

      const p = new URLSearchParams(url.search);
      for (const [k, v] of new URLSearchParams(body.toString('utf8'))) p.set(k, v);
      const phones = (p.get('PhoneNumbers') ?? '').split(',').filter((x) => x !== '');
      const signName = p.get('SignName') ?? '';
      const templateCode = p.get('TemplateCode') ?? '';
      if (phones.length === 0 || phones.some((x) => !/^\+?\d{6,15}$/.test(x)))
        return reply(200, 'isv.MOBILE_NUMBER_ILLEGAL', 'invalid mobile number', phones.join(','));
      if (!opts.signNames.includes(signName))
        return reply(200, 'isv.SMS_SIGNATURE_ILLEGAL', 'the signature is not approved');
      const vars = opts.templates[templateCode];
      if (vars === undefined) return reply(200, 'isv.SMS_TEMPLATE_ILLEGAL', 'the template is not approved');
      let params: Record<string, string>;
      try {
        params = JSON.parse(p.get('TemplateParam') ?? '{}') as Record<string, string>;
      } catch {
        return reply(200, 'isv.INVALID_JSON_PARAM', 'TemplateParam is not JSON');
      }
      if (vars.some((v) => typeof params[v] !== 'string' || params[v] === ''))
        return reply(200, 'isv.TEMPLATE_MISSING_PARAMETERS', 'template parameters missing');
      if (vars.some((v) => [...params[v]!].length > 35))
        return reply(200, 'isv.PARAM_LENGTH_LIMIT', 'parameter over 35 characters');
      const t = now();
      for (const phone of phones) {
        const times = perNumber.get(phone) ?? [];
        if (limits.some((l) => times.filter((x) => x > t - l.windowMs).length >= l.limit)) {
          return reply(200, 'isv.BUSINESS_LIMIT_CONTROL', 'frequency limit of this number reached', phone);
        }
      }
      for (const phone of phones) {
        perNumber.set(phone, [...(perNumber.get(phone) ?? []), t]);
        sent.push({ phone, signName, templateCode, params, at: t });
      }
      reply(200, 'OK', 'OK', phones.join(','));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    endpoint: `127.0.0.1:${port}`,
    sent,
    answers,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
