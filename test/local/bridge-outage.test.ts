/**
 * A DingTalk outage still pages someone (issue 17). The stack runs as `fedstack up` runs it,
 * with the bridge in the service; the DingTalk stand-in then answers 503 to every send. The
 * page an edge failure raises cannot get through, so the bridge's own AlertBridgeProviderErrors
 * fires at central (which scrapes the service), reaches Alertmanager, and goes out by email
 * through Alertmanager's own SMTP to the stack's smtp-server stand-in. When DingTalk is back,
 * the page that waited in the outbox is delivered: nothing was lost.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startLocalService } from '../../deploy/local/service.ts';
import { startLocalStack, type LocalStack } from '../../deploy/local/stack.ts';
import { topologyFrom } from '../server/helpers.ts';
import { waitFor } from '../support/index.ts';

const TOPOLOGY = `apiVersion: fedstack/v1
kind: Topology
metadata: { name: dingtalk-outage }
central: { replicas: [{ name: central-a, zone: z1 }] }
alertmanager: { replicas: [{ name: am-0, zone: z1 }] }
bigRegions:
  - name: china
    cascade: { endpoint: cascade.example.com:9090 }
    regions: [{ name: cn-hangzhou, metaClusters: [{ name: mc-hz-01, endpoint: 10.0.0.1:9090 }] }]
routing:
  defaultReceiver: sre-dingtalk
  groupWait: 1s
  groupInterval: 2s
  email:
    smarthost: smtp.example.com:587
    from: alerts@example.com
    authUsername: alerts@example.com
    authPassword: { name: fedstack-smtp, key: password }
  teams:
    - name: sre
      members: [{ name: Li Lei, mobile: '13800000001', email: li.lei@example.com }]
      receivers:
        - name: sre-dingtalk
          dingtalk:
            robots: [{ tokenSecret: { name: dingtalk-sre, key: token }, signSecret: { name: dingtalk-sre, key: sign } }]
        - name: sre-email
          email: { to: team }
`;

interface AmAlert {
  readonly labels: Record<string, string>;
}

describe('a DingTalk outage under the local stack', () => {
  let stack: LocalStack;

  before(async () => {
    stack = await startLocalStack({
      topology: topologyFrom(TOPOLOGY),
      intervals: { scrape: '1s', evaluation: '1s' },
      simulate: { maxGuestClusters: 1 },
      waitForData: true,
      startService: startLocalService,
      log: () => {},
    });
  });

  after(async () => {
    await stack?.stop();
  });

  it('pages by email through Alertmanager, and delivers the waiting page once DingTalk is back', async () => {
    const dingtalk = () => stack.standIns.deliveries().filter((d) => d.channel === 'dingtalk');
    stack.standIns.dingtalkOutage({ status: 503, errcode: 503, errmsg: 'service unavailable' });
    const before = dingtalk().length;
    // A new page: the edge dies, EdgeDown fires and goes to DingTalk, which refuses it.
    await stack.stopEdge('mc-hz-01');

    const mailed = () =>
      stack.standIns
        .deliveries()
        .filter((d) => d.channel === 'email' && d.what.includes('AlertBridgeProviderErrors'));
    // Alertmanager holds the alert, with what the route and the reader need, before it mails
    // it. Read while it is active: on loaded cores the bridge's error rate can fall back under
    // the threshold soon after the email, and a resolved alert leaves the API's answer.
    const am = Object.values(stack.urls.alertmanagers)[0]!;
    const alerts = await waitFor(
      async () => {
        const held = (await (
          await fetch(`${am}/api/v2/alerts?filter=alertname%3D%22AlertBridgeProviderErrors%22`)
        ).json()) as AmAlert[];
        return held.length > 0 ? held : undefined;
      },
      { timeoutMs: 120_000, what: 'Alertmanager to hold AlertBridgeProviderErrors' },
    );
    await waitFor(async () => mailed().length > 0, {
      timeoutMs: 120_000,
      what: 'the AlertBridgeProviderErrors email',
    });
    assert.equal(mailed()[0]!.to, 'li.lei@example.com');
    assert.equal(dingtalk().length, before, 'DingTalk showed nothing during its outage');
    assert.equal(alerts.length, 1);
    assert.equal(alerts[0]!.labels['component'], 'alert-bridge');
    assert.equal(alerts[0]!.labels['channel'], 'dingtalk');
    assert.equal(alerts[0]!.labels['code'], 'http:503');

    // DingTalk is back: the bridge's retry delivers the EdgeDown page it kept.
    stack.standIns.dingtalkOutage(undefined);
    await waitFor(async () => dingtalk().length > before, {
      timeoutMs: 150_000,
      what: 'the waiting page to reach DingTalk after the outage',
    });
    assert.ok(
      stack.standIns.problems().every((p) => p.includes('errcode 503')),
      stack.standIns.problems().join('\n'),
    );
  });
});
