/** The bridge's Prometheus metrics (prom-client), registered in the registry the caller gives. */
import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import type { Channel } from './outbox.ts';

export const CHANNELS: readonly Channel[] = ['dingtalk', 'sms'];

/**
 * Outcomes of `received_total`: 2xx accepted / duplicate / skipped; 400 and 413 invalid; 401
 * unauthorized; 404 invalid_receiver (a name that can never be a receiver); 415
 * unsupported_media_type; 503 unknown_receiver (a well-formed name the loaded routing lacks:
 * Alertmanager retries) and unavailable (outbox, token, shutdown).
 */
export const RECEIVED_OUTCOMES = [
  'accepted',
  'duplicate',
  'skipped',
  'invalid',
  'unauthorized',
  'invalid_receiver',
  'unsupported_media_type',
  'unknown_receiver',
  'unavailable',
] as const;
export type ReceivedOutcome = (typeof RECEIVED_OUTCOMES)[number];

export interface BridgeMetrics {
  readonly received: Counter<'channel' | 'outcome'>;
  readonly delivered: Counter<'channel'>;
  readonly messages: Counter<'channel'>;
  readonly retried: Counter<'channel'>;
  readonly dropped: Counter<'channel'>;
  readonly deadLetters: Counter<'channel'>;
  readonly inDoubt: Counter;
  readonly queueDepth: Gauge<'channel'>;
  readonly oldestPending: Gauge<'channel'>;
  /** Failed sends by what the provider (or the network) said: `errcode:130101`, `http:503`, an SMS code. */
  readonly providerErrors: Counter<'channel' | 'code'>;
  readonly latency: Histogram<'channel'>;
}

export function createBridgeMetrics(
  registry: Registry,
  queueDepth: (channel: Channel) => number,
  /** Seconds since the oldest undelivered notification was accepted (0 when none). */
  oldestPendingSeconds: (channel: Channel) => number,
): BridgeMetrics {
  const registers = [registry];
  const m: BridgeMetrics = {
    received: new Counter({
      name: 'fedstack_alert_bridge_received_total',
      help: 'Webhook notifications received, by outcome (accepted, duplicate, skipped, invalid, unauthorized, invalid_receiver, unsupported_media_type, unknown_receiver, unavailable).',
      labelNames: ['channel', 'outcome'],
      registers,
    }),
    delivered: new Counter({
      name: 'fedstack_alert_bridge_delivered_total',
      help: 'Notification units delivered (one per notification and target).',
      labelNames: ['channel'],
      registers,
    }),
    messages: new Counter({
      name: 'fedstack_alert_bridge_messages_sent_total',
      help: 'Messages (DingTalk posts, SMS) the providers accepted; merging makes it lower than delivered.',
      labelNames: ['channel'],
      registers,
    }),
    retried: new Counter({
      name: 'fedstack_alert_bridge_retried_total',
      help: 'Failed send attempts that will be retried.',
      labelNames: ['channel'],
      registers,
    }),
    dropped: new Counter({
      name: 'fedstack_alert_bridge_dropped_total',
      help: 'Accepted notifications lost without a dead letter. Must stay 0.',
      labelNames: ['channel'],
      registers,
    }),
    deadLetters: new Counter({
      name: 'fedstack_alert_bridge_dead_letters_total',
      help: 'Notification units given up on after the retry budget (kept in the outbox dead/ folder).',
      labelNames: ['channel'],
      registers,
    }),
    inDoubt: new Counter({
      name: 'fedstack_alert_bridge_sends_in_doubt_total',
      help: 'Messages left unanswered by a crash and sent again at the restart: each may have been shown twice.',
      registers,
    }),
    queueDepth: new Gauge({
      name: 'fedstack_alert_bridge_queue_depth',
      help: 'Accepted notification units not yet delivered.',
      labelNames: ['channel'],
      registers,
      collect() {
        for (const c of CHANNELS) this.set({ channel: c }, queueDepth(c));
      },
    }),
    oldestPending: new Gauge({
      name: 'fedstack_alert_bridge_oldest_pending_seconds',
      help: 'Age of the oldest accepted notification not yet delivered (0 when the outbox is empty).',
      labelNames: ['channel'],
      registers,
      collect() {
        for (const c of CHANNELS) this.set({ channel: c }, oldestPendingSeconds(c));
      },
    }),
    providerErrors: new Counter({
      name: 'fedstack_alert_bridge_provider_errors_total',
      help: 'Failed sends by the answer: errcode:<DingTalk errcode>, http:<status>, an Aliyun SMS code, or network.',
      labelNames: ['channel', 'code'],
      registers,
    }),
    latency: new Histogram({
      name: 'fedstack_alert_bridge_delivery_latency_seconds',
      help: 'From acceptance to confirmed delivery.',
      labelNames: ['channel'],
      buckets: [0.1, 0.5, 1, 2, 5, 10, 30, 60, 120, 300, 900, 3600],
      registers,
    }),
  };
  // Present from the start, so "dropped must stay 0" and rate() queries see a series.
  for (const c of CHANNELS) {
    for (const outcome of RECEIVED_OUTCOMES) m.received.inc({ channel: c, outcome }, 0);
    m.dropped.inc({ channel: c }, 0);
    m.deadLetters.inc({ channel: c }, 0);
    m.delivered.inc({ channel: c }, 0);
    m.retried.inc({ channel: c }, 0);
  }
  return m;
}
