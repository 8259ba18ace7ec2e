/**
 * Alertmanager webhook payload, version 4 (alertmanager notify/webhook). Parsed with zod so
 * every malformed payload gets a precise `path: problem` reason in the 4xx answer. Unknown
 * extra fields are tolerated (Alertmanager may add some); missing or mistyped ones are not.
 */
import { createHash } from 'node:crypto';
import { z } from 'zod';

const labels = z.record(z.string(), z.string());

export const alertSchema = z.object({
  status: z.enum(['firing', 'resolved']),
  labels,
  annotations: labels,
  startsAt: z.string().min(1),
  endsAt: z.string(),
  generatorURL: z.string(),
  fingerprint: z.string().min(1),
});

export const webhookPayloadSchema = z.object({
  version: z.literal('4', { error: (iss) => `unsupported version ${JSON.stringify(iss.input)} (want "4")` }),
  groupKey: z.string().min(1),
  truncatedAlerts: z.number().int().min(0).default(0),
  status: z.enum(['firing', 'resolved']),
  receiver: z.string(),
  groupLabels: labels,
  commonLabels: labels,
  commonAnnotations: labels,
  externalURL: z.string(),
  alerts: z.array(alertSchema).min(1),
});

export type WebhookPayload = z.output<typeof webhookPayloadSchema>;
export type WebhookAlert = WebhookPayload['alerts'][number];

export type ParseResult = { ok: true; payload: WebhookPayload } | { ok: false; reason: string };

/** Every problem, `path: problem`, joined by '; ' (one line, fit for a 4xx body and a log). */
export function parseWebhook(body: unknown): ParseResult {
  if (body === undefined || body === null || typeof body !== 'object' || Array.isArray(body)) {
    return { ok: false, reason: '(body): expected a JSON object (Content-Type: application/json)' };
  }
  const r = webhookPayloadSchema.safeParse(body);
  if (r.success) return { ok: true, payload: r.data };
  const reasons = r.error.issues.map((i) => {
    const path =
      i.path.length === 0
        ? '(body)'
        : i.path
            .map((p) => (typeof p === 'number' ? `[${p}]` : `.${String(p)}`))
            .join('')
            .replace(/^\./, '');
    const message = i.code === 'invalid_type' && i.input === undefined ? 'is required' : i.message;
    return `${path}: ${message}`;
  });
  return { ok: false, reason: reasons.join('; ') };
}

/**
 * The dedup key of a notification: the same group, status and set of alerts is the same
 * notification, whether Alertmanager retried it or the bridge crashed before answering.
 */
export function dedupKey(channel: string, receiver: string, p: WebhookPayload): string {
  const fingerprints = p.alerts.map((a) => `${a.fingerprint}:${a.status}`).sort();
  return createHash('sha256')
    .update([channel, receiver, p.groupKey, p.status, ...fingerprints].join('\n'))
    .digest('hex')
    .slice(0, 32);
}
