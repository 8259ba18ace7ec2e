/**
 * The bridge's own alert rules (BRIDGE_ALERT_RULES, rendered into central's rules by the render
 * plan): promtool accepts them, and `promtool test rules` shows each one firing on the series
 * the bridge exports, and staying quiet on a healthy bridge. The series names and labels are
 * taken from a live registry, so a renamed metric or outcome fails here.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, it } from 'node:test';
import { Registry } from 'prom-client';
import { createBridgeMetrics } from '../../alerting/bridge/metrics.ts';
import { BRIDGE_ALERT_RULES } from '../../alerting/rules.ts';
import { toYaml } from '../../common/serialize.ts';
import { checkRules, testRules } from '../support/promcheck.ts';

const dir = mkdtempSync(path.join(tmpdir(), 'fedstack-bridge-rules-'));
after(() => rmSync(dir, { recursive: true, force: true }));

const rulesYaml = toYaml({ groups: [{ name: 'fedstack-alert-bridge', rules: BRIDGE_ALERT_RULES }] });

it('promtool accepts the bridge rules', async () => {
  const result = await checkRules(rulesYaml);
  assert.ok(result.ok, result.output);
});

it('every refusal outcome the rules watch is a series the bridge exports from the start', async () => {
  const registry = new Registry();
  createBridgeMetrics(
    registry,
    () => 0,
    () => 0,
  );
  const text = await registry.metrics();
  for (const outcome of ['invalid_receiver', 'unknown_receiver', 'invalid', 'unsupported_media_type'])
    for (const channel of ['dingtalk', 'sms'])
      assert.match(
        text,
        new RegExp(`fedstack_alert_bridge_received_total\\{channel="${channel}",outcome="${outcome}"\\} 0`),
      );
});

it('promtool test rules: each refusal alert fires on its outcome and only then', async () => {
  const received = (outcome: string, values: string) => ({
    series: `fedstack_alert_bridge_received_total{channel="dingtalk",outcome="${outcome}"}`,
    values,
  });
  const tests = {
    rule_files: ['rules.yml'],
    evaluation_interval: '1m',
    tests: [
      {
        interval: '1m',
        input_series: [
          // A path that can never be a receiver, once at 2m.
          received('invalid_receiver', '0 0 1x20'),
          // Alertmanager retrying a receiver the routing lacks, every minute from 1m.
          received('unknown_receiver', '0 1+1x20'),
          received('unsupported_media_type', '0x3 1x20'),
          received('accepted', '0+10x20'),
          {
            series: 'fedstack_alert_bridge_received_total{channel="sms",outcome="invalid_receiver"}',
            values: '0x20',
          },
        ],
        alert_rule_test: [
          { eval_time: '1m', alertname: 'AlertBridgeInvalidReceiver', exp_alerts: [] },
          {
            eval_time: '3m',
            alertname: 'AlertBridgeInvalidReceiver',
            exp_alerts: [
              {
                exp_labels: { severity: 'critical', component: 'alert-bridge', channel: 'dingtalk' },
                exp_annotations: {
                  summary:
                    'The alert bridge refused 1 dingtalk notification(s) for a name that can never be a receiver',
                  description: BRIDGE_ALERT_RULES.find((r) => r.alert === 'AlertBridgeInvalidReceiver')!
                    .annotations.description,
                },
              },
            ],
          },
          { eval_time: '4m', alertname: 'AlertBridgeUnknownReceiver', exp_alerts: [] },
          {
            eval_time: '8m',
            alertname: 'AlertBridgeUnknownReceiver',
            exp_alerts: [
              {
                exp_labels: { severity: 'critical', component: 'alert-bridge', channel: 'dingtalk' },
                exp_annotations: {
                  summary:
                    'Alertmanager keeps posting dingtalk notifications for a receiver the alert bridge does not know',
                  description: BRIDGE_ALERT_RULES.find((r) => r.alert === 'AlertBridgeUnknownReceiver')!
                    .annotations.description,
                },
              },
            ],
          },
          {
            eval_time: '5m',
            alertname: 'AlertBridgeRejectedPayloads',
            exp_alerts: [
              {
                exp_labels: {
                  severity: 'warning',
                  component: 'alert-bridge',
                  channel: 'dingtalk',
                  outcome: 'unsupported_media_type',
                },
                exp_annotations: {
                  summary: 'The alert bridge refused 1 dingtalk notification(s): unsupported_media_type',
                  description: BRIDGE_ALERT_RULES.find((r) => r.alert === 'AlertBridgeRejectedPayloads')!
                    .annotations.description,
                },
              },
            ],
          },
        ],
      },
      {
        // A healthy bridge: accepting, nothing refused. No alert at all.
        interval: '1m',
        input_series: [
          received('accepted', '0+10x30'),
          received('invalid_receiver', '0x30'),
          received('unknown_receiver', '0x30'),
          received('invalid', '0x30'),
          received('unsupported_media_type', '0x30'),
        ],
        alert_rule_test: [
          'AlertBridgeInvalidReceiver',
          'AlertBridgeUnknownReceiver',
          'AlertBridgeRejectedPayloads',
        ].map((alertname) => ({ eval_time: '25m', alertname, exp_alerts: [] })),
      },
    ],
  };
  writeFileSync(path.join(dir, 'rules.yml'), rulesYaml);
  writeFileSync(path.join(dir, 'rules.test.yml'), toYaml(tests));
  const result = await testRules('rules.test.yml', dir);
  assert.ok(result.ok, result.output);
  assert.match(result.output, /SUCCESS/);
});
