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
  readonly latency: Histogram<'channel'>;
}

export function createBridgeMetrics(
  registry: Registry,
  queueDepth: (channel: Channel) => number,
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

/** Alert rules for the central tier: the bridge's failures page someone by the other channels. */
export const BRIDGE_ALERT_RULES = [
  {
    alert: 'AlertBridgeDeadLetters',
    expr: 'increase(fedstack_alert_bridge_dead_letters_total[15m]) > 0',
    labels: { severity: 'critical' },
    annotations: {
      summary: 'The alert bridge gave up on {{ $value }} {{ $labels.channel }} notification(s)',
      description: 'See the outbox dead/ folder of the fedstack service.',
    },
  },
  {
    alert: 'AlertBridgeDropped',
    expr: 'fedstack_alert_bridge_dropped_total > 0',
    labels: { severity: 'critical' },
    annotations: {
      summary: 'The alert bridge lost {{ $labels.channel }} notifications',
      description: 'dropped must stay 0: a bug.',
    },
  },
  {
    // A 404 is final: Alertmanager drops the notification. The name can never be a receiver.
    alert: 'AlertBridgeInvalidReceiver',
    expr: 'sum by (channel) (increase(fedstack_alert_bridge_received_total{outcome="invalid_receiver"}[15m])) > 0',
    labels: { severity: 'critical' },
    annotations: {
      summary:
        'The alert bridge refused {{ printf "%.0f" $value }} {{ $labels.channel }} notification(s) for a name that can never be a receiver',
      description:
        'A webhook_config posts to a path whose receiver name is not a DNS label (answered 404, dropped by Alertmanager). Fix the URL in alertmanager.yml.',
    },
  },
  {
    // A 503 makes Alertmanager retry: these pages are stuck, not lost, until the routings agree.
    alert: 'AlertBridgeUnknownReceiver',
    expr: 'sum by (channel) (increase(fedstack_alert_bridge_received_total{outcome="unknown_receiver"}[10m])) > 0',
    for: '5m',
    labels: { severity: 'critical' },
    annotations: {
      summary:
        'Alertmanager keeps posting {{ $labels.channel }} notifications for a receiver the alert bridge does not know',
      description:
        "Answered 503 and retried: alertmanager.yml names a receiver that the service's topology lacks (an edit not loaded yet, or refused: see /readyz).",
    },
  },
  {
    alert: 'AlertBridgeRejectedPayloads',
    expr: 'sum by (channel, outcome) (increase(fedstack_alert_bridge_received_total{outcome=~"invalid|unsupported_media_type"}[15m])) > 0',
    labels: { severity: 'warning' },
    annotations: {
      summary:
        'The alert bridge refused {{ printf "%.0f" $value }} {{ $labels.channel }} notification(s): {{ $labels.outcome }}',
      description:
        'Alertmanager always sends application/json in UTF-8: a 4xx means a client that is not Alertmanager, or a proxy that rewrites the body. Refused notifications are not retried.',
    },
  },
  {
    alert: 'AlertBridgeBacklog',
    expr: 'fedstack_alert_bridge_queue_depth > 100',
    for: '15m',
    labels: { severity: 'warning' },
    annotations: {
      summary: 'The alert bridge has {{ $value }} undelivered {{ $labels.channel }} notifications',
      description: 'Providers failing or rate limited.',
    },
  },
] as const;
