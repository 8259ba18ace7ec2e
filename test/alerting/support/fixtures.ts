/** Shared test fixtures: a topology with routing aimed at local contract servers, secrets on disk, payloads. */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { parseTopology } from '../../../topology/load.ts';
import type { Topology } from '../../../topology/model.ts';
import type { WebhookPayload } from '../../../alerting/bridge/webhook.ts';

export const WEBHOOK_TOKEN = 'test-webhook-token';
export const ROBOTS = {
  'robot-token-1': 'SEC' + '1'.repeat(64),
  'robot-token-2': 'SEC' + '2'.repeat(64),
} as const;
export const ACCESS_KEY = { id: 'LTAI-test-id', secret: 'test-access-key-secret' } as const;
export const SMS_TEMPLATE = { code: 'SMS_4242', vars: ['status', 'alert', 'where', 'count'] } as const;

/** Everything of a minimal one-meta-cluster topology but its `routing:` section. */
export function topologyHead(name: string): string {
  return `apiVersion: fedstack/v1
kind: Topology
metadata: { name: ${name} }
global: { serviceUrl: 'http://127.0.0.1:1', grafanaUrl: 'https://grafana.test' }
central: { replicas: [{ name: central-a, zone: z1 }] }
alertmanager: { replicas: [{ name: am-0, zone: z1 }] }
bigRegions:
  - name: china
    cascade: { endpoint: 127.0.0.1:19090 }
    regions:
      - name: cn-hangzhou
        metaClusters: [{ name: mc-hz-01, endpoint: 127.0.0.1:19091 }]
`;
}

/** A minimal topology whose routing points DingTalk robots and the SMS SDK at local servers. */
export function topologyText(opts: {
  dingtalkUrl: string;
  smsEndpoint?: string;
  robots?: 1 | 2;
  smsTo?: string;
}): string {
  const robots = [1, 2]
    .slice(0, opts.robots ?? 1)
    .map(
      (i) =>
        `              - { tokenSecret: { name: dingtalk, key: token-${i} }, signSecret: { name: dingtalk, key: sign-${i} }, url: '${opts.dingtalkUrl}' }`,
    );
  return `${topologyHead('bridge-test')}routing:
  teams:
    - name: sre
      members:
        - { name: Li Lei, mobile: '13800000001', email: li@example.com, dingtalkUserId: lilei }
        - { name: Han Meimei, mobile: '13800000002', email: han@example.com }
      rotation: { type: daily, handover: '10:00', timeZone: Asia/Shanghai, start: '2026-01-01' }
      receivers:
        - name: sre-dingtalk
          dingtalk:
            robots:
${robots.join('\n')}
        - name: sre-sms
          sms:
            provider: aliyun
            signName: Fedstack
            templateCode: ${SMS_TEMPLATE.code}
            accessKeyId: { name: aliyun-sms, key: id }
            accessKeySecret: { name: aliyun-sms, key: secret }
            endpoint: '${opts.smsEndpoint ?? '127.0.0.1:1'}'
            protocol: http
            to: ${opts.smsTo ?? 'oncall'}
`;
}

export function loadTestTopology(text: string): Topology {
  const r = parseTopology(text, 'test-topology.yaml');
  if (!r.ok) throw new Error(r.errors.map((e) => `${e.path}: ${e.message}`).join('\n'));
  return r.topology;
}

/** A Kubernetes-Secret-volume layout with every secret the test topology references. */
export function writeSecrets(dir: string): void {
  const put = (name: string, key: string, value: string) => {
    mkdirSync(path.join(dir, name), { recursive: true });
    writeFileSync(path.join(dir, name, key), `${value}\n`);
  };
  put('fedstack-alert-bridge', 'token', WEBHOOK_TOKEN);
  put('dingtalk', 'token-1', 'robot-token-1');
  put('dingtalk', 'sign-1', ROBOTS['robot-token-1']);
  put('dingtalk', 'token-2', 'robot-token-2');
  put('dingtalk', 'sign-2', ROBOTS['robot-token-2']);
  put('aliyun-sms', 'id', ACCESS_KEY.id);
  put('aliyun-sms', 'secret', ACCESS_KEY.secret);
}

const created: string[] = [];

/** A fresh temp dir, removed by removeTempDirs() (call it in an after() hook). */
export function tempDir(prefix: string): string {
  const dir = mkdtempSync(path.join(tmpdir(), `fedstack-${prefix}-`));
  created.push(dir);
  return dir;
}

export function removeTempDirs(): void {
  for (const d of created.splice(0)) rmSync(d, { recursive: true, force: true });
}

/** An Alertmanager webhook v4 payload for one group; `n` distinguishes groups. */
export function payload(
  n: number,
  opts: { status?: 'firing' | 'resolved'; alerts?: number; alertname?: string; summary?: string } = {},
): WebhookPayload {
  const status = opts.status ?? 'firing';
  const alertname = opts.alertname ?? `BurstAlert${String(n).padStart(4, '0')}`;
  const alerts = Array.from({ length: opts.alerts ?? 1 }, (_, i) => ({
    status,
    labels: {
      alertname,
      severity: 'critical',
      big_region: 'china',
      region: 'cn-hangzhou',
      meta_cluster: `mc-hz-${String(i % 3).padStart(2, '0')}`,
    },
    annotations: { summary: opts.summary ?? `apiserver errors in group ${n}` },
    startsAt: '2026-11-23T09:00:00Z',
    endsAt: status === 'firing' ? '0001-01-01T00:00:00Z' : '2026-11-23T09:30:00Z',
    generatorURL: 'http://central-a:9090/graph?g0.expr=up',
    fingerprint: `${n.toString(16).padStart(8, '0')}${i.toString(16).padStart(8, '0')}`,
  }));
  return {
    version: '4',
    groupKey: `{}:{alertname="${alertname}"}`,
    truncatedAlerts: 0,
    status,
    receiver: 'sre-dingtalk',
    groupLabels: { alertname },
    commonLabels: { alertname, severity: 'critical', big_region: 'china', region: 'cn-hangzhou' },
    commonAnnotations: {},
    externalURL: 'http://127.0.0.1:9093',
    alerts,
  };
}

/** Polls until `check` is true (or fails after `ms`). */
export async function waitFor(check: () => boolean, ms: number, what: string): Promise<void> {
  const end = Date.now() + ms;
  while (!check()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

export const silentLogger = { info() {}, warn() {}, error() {} };
