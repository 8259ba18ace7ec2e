/**
 * The alert bridge's alert rules: central evaluates them (the render plan adds them to central's
 * rules, and central scrapes the service the bridge runs in), so the bridge's own failures page
 * someone through the other channels (email goes through Alertmanager, not the bridge).
 * Kept apart from the bridge's runtime (alerting/bridge/metrics.ts defines the series) so the
 * renderer needs no runtime code; test/alerting/rules.test.ts joins the two.
 */
import type { AlertRule } from '../topology/model.ts';
import { BRIDGE_ALERT_LABEL } from '../topology/routing.ts';

/**
 * Each carries BRIDGE_ALERT_LABEL, which Alertmanager routes to the routing's bridge-free
 * receiver (email) as well: an alert about the bridge must not need the bridge to be seen.
 */
export const BRIDGE_ALERT_RULES: readonly AlertRule[] = (
  [
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
    {
      // Notifications waiting longer than a provider's worst throttle (DingTalk: ~10 minutes).
      alert: 'AlertBridgeOutboxStuck',
      expr: 'fedstack_alert_bridge_oldest_pending_seconds > 900',
      for: '5m',
      labels: { severity: 'critical' },
      annotations: {
        summary:
          'The oldest {{ $labels.channel }} notification has waited {{ $value | humanizeDuration }} in the alert bridge',
        description:
          'Pages are accepted but not going out: the provider fails, throttles or is unreachable. See AlertBridgeProviderErrors and the service log.',
      },
    },
    {
      alert: 'AlertBridgeProviderErrors',
      expr: 'sum by (channel, code) (increase(fedstack_alert_bridge_provider_errors_total[10m])) >= 3',
      labels: { severity: 'critical' },
      annotations: {
        summary:
          '{{ $labels.channel }} answers {{ $labels.code }} to the alert bridge ({{ printf "%.0f" $value }} in 10m)',
        description:
          'DingTalk errcode 130101/90030 is throttling, 310000 a keyword/sign/IP mismatch; an SMS isv.* code is Aliyun refusing. Pages retry, then become dead letters.',
      },
    },
  ] satisfies AlertRule[]
).map((r) => ({ ...r, labels: { ...r.labels, [BRIDGE_ALERT_LABEL.name]: BRIDGE_ALERT_LABEL.value } }));
