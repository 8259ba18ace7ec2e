import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { FILE } from '../../common/conventions.ts';
import { externalDestinations, localizeTopology, type LocalPorts } from '../../deploy/local/localize.ts';
import { createEmitter } from '../../render/emit.ts';
import { createPlan } from '../../render/plan.ts';
import type { Topology } from '../../topology/model.ts';
import { metaClusters } from '../../topology/model.ts';
import { crossCheck } from '../../topology/validate.ts';
import { defaultTopology, topologyFrom } from '../server/helpers.ts';

const example = defaultTopology();

const bareText = `apiVersion: fedstack/v1
kind: Topology
metadata: { name: bare }
central: { replicas: [{ name: central-a, zone: z }] }
alertmanager: { replicas: [{ name: am-0, zone: z }] }
bigRegions:
  - name: br
    cascade: { endpoint: 10.0.0.9:9090 }
    regions: [{ name: r, metaClusters: [{ name: mc, endpoint: 10.0.0.1:9090 }] }]
`;

function portsOf(t: Topology): LocalPorts {
  let next = 42000;
  const each = (names: string[]) => Object.fromEntries(names.map((n) => [n, next++]));
  return {
    edges: each(metaClusters(t).map((p) => p.metaCluster.name)),
    cascades: each(t.bigRegions.map((b) => b.name)),
    centrals: each(t.central.replicas.map((r) => r.name)),
    alertmanagers: Object.fromEntries(
      t.alertmanager.replicas.map((r) => [r.name, { web: next++, cluster: next++ }]),
    ),
    service: next++,
  };
}

const STAND_INS = {
  dingtalkUrl: 'http://127.0.0.1:41801/robot/send',
  smsEndpoint: '127.0.0.1:41802',
  smarthost: '127.0.0.1:41803',
};

const alertmanagerYaml = (t: Topology) =>
  createEmitter(createPlan(t, 'local')).file(`alerting/${FILE.alertmanager}`)!;

describe('the local stack never dials out', () => {
  it('finds every outside destination of the example as production renders it (the check can fail)', () => {
    const localEndpointsOnly = localizeTopology(example, { ports: portsOf(example) });
    const outside = externalDestinations(localEndpointsOnly, alertmanagerYaml(localEndpointsOnly));
    assert.ok(
      outside.some((d) => d.includes('smtp.example.com:587')),
      outside.join('\n'),
    );
    assert.ok(
      outside.some((d) => d.startsWith('receiver sre-china-dingtalk DingTalk robot: oapi.dingtalk.com:443')),
    );
    assert.ok(
      outside.some((d) => d.startsWith('receiver sre-china-sms SMS endpoint: dysmsapi.aliyuncs.com')),
    );
    assert.ok(outside.some((d) => d.startsWith('receiver sre-asia-dingtalk DingTalk robot')));
  });

  it('points every notification of the example at the stand-ins: nothing left outside loopback', () => {
    const local = localizeTopology(example, { ports: portsOf(example), integrations: STAND_INS });
    assert.deepEqual(externalDestinations(local, alertmanagerYaml(local)), []);
    const routing = local.routing!;
    assert.equal(routing.email?.smarthost, STAND_INS.smarthost);
    assert.equal(routing.email?.requireTls, false);
    for (const team of routing.teams)
      for (const r of team.receivers) {
        for (const robot of r.dingtalk?.robots ?? []) assert.equal(robot.url, STAND_INS.dingtalkUrl);
        if (r.sms) assert.deepEqual([r.sms.endpoint, r.sms.protocol], [STAND_INS.smsEndpoint, 'http']);
      }
    assert.deepEqual(crossCheck(local, { profile: 'local' }), []);
  });

  it('reports any webhook or smarthost of a given alertmanager.yml that is not on loopback', () => {
    const yaml = [
      'global: { smtp_smarthost: "mail.example.org:25" }',
      'route: { receiver: a }',
      'receivers:',
      '  - name: a',
      '    webhook_configs: [{ url: "http://127.0.0.1:9/x" }, { url: "https://hooks.example.org/y" }]',
      '    email_configs: [{ to: x@example.org, smarthost: "localhost:25" }]',
      '',
    ].join('\n');
    assert.deepEqual(externalDestinations({ routing: undefined }, yaml), [
      'alertmanager.yml global.smtp_smarthost: mail.example.org:25',
      'alertmanager.yml receivers[0].webhook_configs[1].url: hooks.example.org:443',
    ]);
  });
});

describe('the local stack runs the secure path', () => {
  it("adds fedstack's federation section to a topology that has none", () => {
    const bare = topologyFrom(bareText);
    const local = localizeTopology(bare, { ports: portsOf(bare) });
    const fed = local.security!.federation;
    assert.equal(fed.tls?.serverCertSecret, 'fedstack-federation-tls');
    assert.equal(fed.basicAuth?.username, 'federate');
    const cascade = createEmitter(createPlan(local, 'local')).file('cascade/br/prometheus.yml')!;
    assert.match(cascade, /scheme: https/);
    assert.match(cascade, /ca_file: \.\.\/\.\.\/secrets\/federation\/ca\.crt/);
    assert.match(cascade, /password_file: \.\.\/\.\.\/secrets\/federation\/password/);
  });

  it("keeps an explicit opt-out, and the topology's own section (mutual TLS, serverName) as it is", () => {
    const optOut = topologyFrom(`${bareText}security: { federation: { insecure: true } }\n`);
    assert.deepEqual(localizeTopology(optOut, { ports: portsOf(optOut) }).security, optOut.security);
    assert.deepEqual(localizeTopology(example, { ports: portsOf(example) }).security, example.security);
  });

  it('renders for the local profile the federation client and web config the kubernetes profile renders, with local paths', () => {
    const local = localizeTopology(example, { ports: portsOf(example), integrations: STAND_INS });
    const k8s = createEmitter(createPlan(local, 'kubernetes'));
    const loc = createEmitter(createPlan(local, 'local'));
    const toLocal = (text: string) => text.replaceAll('/etc/prometheus/secrets/', '../../secrets/');
    const federation = (text: string) => {
      const job = text.slice(text.indexOf('- job_name: fedstack-federate'));
      return job.slice(job.indexOf('    scheme:'), job.search(/\n {4}(static_configs|http_sd_configs):/));
    };
    for (const path of ['cascade/china/prometheus.yml', 'central/central-a/prometheus.yml']) {
      const want = federation(toLocal(k8s.file(path)!));
      assert.match(
        want,
        /scheme: https\n {4}tls_config:\n {6}ca_file: .*\n {6}server_name: .*\n {4}basic_auth:/,
      );
      assert.equal(federation(loc.file(path)!), want, path);
    }
    for (const path of ['edge/mc-hz-01/web-config.yml', 'cascade/china/web-config.yml'])
      assert.equal(loc.file(path), toLocal(k8s.file(path)!), path);
  });

  it('shortens group_wait to the interval when it shortens every interval, and never lengthens it', () => {
    const local = localizeTopology(example, {
      ports: portsOf(example),
      intervals: { scrape: '5s', evaluation: '5s' },
    });
    assert.equal(example.routing!.groupWait, '30s');
    assert.equal(local.routing!.groupWait, '5s');
    const slow = localizeTopology(example, {
      ports: portsOf(example),
      intervals: { scrape: '2m', evaluation: '2m' },
    });
    assert.equal(slow.routing!.groupWait, '30s');
  });
});
