/**
 * `fedstack up` tells the truth when alerts reach nobody: here the service runs without its
 * alert bridge (a deployment that forgot --outbox-dir/--secrets-dir), so every webhook
 * Alertmanager sends is refused. up must not say that alerts reach Alertmanager and notify
 * anyone; it prints the failure instead, with what Alertmanager reports.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import pino from 'pino';
import { startLocalStack, type LocalStack } from '../../deploy/local/stack.ts';
import { startServer } from '../../server/main.ts';
import { topologyFrom } from '../server/helpers.ts';

const TOPOLOGY = `apiVersion: fedstack/v1
kind: Topology
metadata: { name: no-bridge }
central: { replicas: [{ name: central-a, zone: z1 }] }
alertmanager: { replicas: [{ name: am-0, zone: z1 }] }
bigRegions:
  - name: china
    cascade: { endpoint: cascade.example.com:9090 }
    regions: [{ name: cn-hangzhou, metaClusters: [{ name: mc-hz-01, endpoint: 10.0.0.1:9090 }] }]
routing:
  teams:
    - name: sre
      members: [{ name: Li Lei, mobile: '13800000001' }]
      receivers:
        - name: sre-dingtalk
          dingtalk:
            robots: [{ tokenSecret: { name: dingtalk-sre, key: token }, signSecret: { name: dingtalk-sre, key: sign } }]
`;

describe('fedstack up when no notification gets through', () => {
  let stack: LocalStack;
  const output: string[] = [];

  before(async () => {
    stack = await startLocalStack({
      topology: topologyFrom(TOPOLOGY),
      intervals: { scrape: '1s', evaluation: '1s' },
      simulate: { maxGuestClusters: 1 },
      startService: async (ctx) => {
        const server = await startServer({
          topologyFile: ctx.topologyFile,
          port: ctx.port,
          heartbeatTokenFile: ctx.secrets.sidecarToken,
          readTokenFile: ctx.secrets.readToken,
          logger: pino({ level: 'silent' }),
        });
        return { url: server.url, stop: () => server.close() };
      },
      log: (line) => output.push(line),
    });
  });

  after(async () => {
    await stack?.stop();
  });

  it('does not claim that alerts reach anyone, and prints why not', () => {
    const text = output.join('\n');
    assert.doesNotMatch(text, /notifications are delivered/);
    assert.match(
      text,
      /NO notification was delivered: Alertmanager's notifications fail, alerts reach nobody/,
    );
    assert.match(text, /alertmanager am-0: failed notifications: webhook: [1-9]/);
    assert.match(text, /alertmanager am-0: .*level=error.*404/);
    assert.deepEqual(stack.standIns.deliveries(), []);
  });
});
