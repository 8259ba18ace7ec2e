/**
 * SMS: a provider interface (Aliyun today; Tencent Cloud or Twilio would be another
 * implementation) and the short template parameters an alert summary is squeezed into.
 */
import Dysmsapi from '@alicloud/dysmsapi20170525';
import { $OpenApiUtil } from '@alicloud/openapi-core';
import { LABEL } from '../../common/conventions.ts';
import type { Secret } from '../../common/secret.ts';
import type { WebhookPayload } from './webhook.ts';

export interface SmsRequest {
  readonly phoneNumbers: readonly string[];
  readonly signName: string;
  readonly templateCode: string;
  readonly templateParam: Readonly<Record<string, string>>;
}

export type SmsResult =
  | { readonly ok: true; readonly id: string }
  /** rateLimited: the provider's per-number frequency control; permanent: retrying cannot help. */
  | {
      readonly ok: false;
      readonly code: string;
      readonly message: string;
      readonly rateLimited: boolean;
      readonly permanent: boolean;
    };

export interface SmsProvider {
  send(req: SmsRequest): Promise<SmsResult>;
}

/** Aliyun's default limit for one template variable. */
export const SMS_PARAM_MAX = 35;

/** Codes after which a retry cannot succeed (the number or the template is wrong). */
const PERMANENT = new Set([
  'isv.MOBILE_NUMBER_ILLEGAL',
  'isv.TEMPLATE_MISSING_PARAMETERS',
  'isv.SMS_TEMPLATE_ILLEGAL',
  'isv.SMS_SIGNATURE_ILLEGAL',
  'isv.INVALID_PARAMETERS',
  'isv.PARAM_LENGTH_LIMIT',
  'isv.MOBILE_COUNT_OVER_LIMIT',
]);
const RATE_LIMITED = new Set([
  'isv.BUSINESS_LIMIT_CONTROL',
  'isv.DAY_LIMIT_CONTROL',
  'Throttling.User',
  'isp.RAM_PERMISSION_DENY_FOR_THROTTLING',
]);

export function classifyAliyunCode(code: string, message: string): SmsResult {
  return { ok: false, code, message, rateLimited: RATE_LIMITED.has(code), permanent: PERMANENT.has(code) };
}

export interface AliyunSmsOptions {
  readonly accessKeyId: Secret;
  readonly accessKeySecret: Secret;
  /** host[:port]; default dysmsapi.aliyuncs.com. */
  readonly endpoint?: string | undefined;
  readonly protocol?: 'https' | 'http';
  readonly timeoutMs?: number;
}

/**
 * Aliyun SendSms through the official SDK (V3 ACS3-HMAC-SHA256 signing, its default). HTTP 200
 * with a non-OK Code does not throw, so the Code is checked; 4xx/5xx throw and are classified.
 */
export function aliyunSmsProvider(opts: AliyunSmsOptions): SmsProvider {
  const Client = Dysmsapi.default;
  const client = new Client(
    new $OpenApiUtil.Config({
      accessKeyId: opts.accessKeyId.reveal(),
      accessKeySecret: opts.accessKeySecret.reveal(),
      endpoint: opts.endpoint ?? 'dysmsapi.aliyuncs.com',
      protocol: opts.protocol ?? 'https',
      readTimeout: opts.timeoutMs ?? 10_000,
      connectTimeout: opts.timeoutMs ?? 10_000,
    }),
  );
  return {
    async send(req) {
      try {
        const res = await client.sendSms(
          new Dysmsapi.SendSmsRequest({
            phoneNumbers: req.phoneNumbers.join(','),
            signName: req.signName,
            templateCode: req.templateCode,
            templateParam: JSON.stringify(req.templateParam),
          }),
        );
        const body = res.body;
        if (body?.code === 'OK') return { ok: true, id: body.bizId ?? '' };
        return classifyAliyunCode(body?.code ?? 'UNKNOWN', body?.message ?? '');
      } catch (e) {
        const err = e as { code?: string; message?: string; statusCode?: number };
        return classifyAliyunCode(err.code ?? 'REQUEST_FAILED', (err.message ?? String(e)).split('\n')[0]!);
      }
    },
  };
}

function short(s: string): string {
  const chars = [...s];
  return chars.length <= SMS_PARAM_MAX ? s : `${chars.slice(0, SMS_PARAM_MAX - 1).join('')}…`;
}

/**
 * The template variables for one SMS summarising one or more notifications: ${status},
 * ${alert}, ${where}, ${count}, each at most 35 characters.
 */
export function smsTemplateParams(payloads: readonly WebhookPayload[]): Record<string, string> {
  const alerts = payloads.flatMap((p) => p.alerts);
  const firing = alerts.filter((a) => a.status === 'firing');
  const shown = firing.length > 0 ? firing : alerts;
  const names = [...new Set(shown.map((a) => a.labels.alertname ?? '?'))];
  const places = [
    ...new Set(
      shown.map(
        (a) => a.labels[LABEL.metaCluster] ?? a.labels[LABEL.region] ?? a.labels[LABEL.bigRegion] ?? '?',
      ),
    ),
  ];
  const regions = [
    ...new Set(shown.map((a) => a.labels[LABEL.region]).filter((r): r is string => r !== undefined)),
  ];
  return {
    status: firing.length > 0 ? 'FIRING' : 'RESOLVED',
    alert: short(names.length === 1 ? names[0]! : `${names[0]} +${names.length - 1} more`),
    where: short(
      places.length === 1
        ? `${regions[0] ? `${regions[0]}/` : ''}${places[0]}`
        : `${places.length} meta-clusters`,
    ),
    count: String(shown.length),
  };
}
