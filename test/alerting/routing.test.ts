import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { defaultTopologyText } from '../../examples/index.ts';
import { formatPath } from '../../topology/errors.ts';
import { parseTopology } from '../../topology/load.ts';
import { checkRouting } from '../../topology/routing.ts';

const BASE = `apiVersion: fedstack/v1
kind: Topology
metadata: { name: t }
central: { replicas: [{ name: central-a, zone: z1 }] }
alertmanager: { replicas: [{ name: am-0, zone: z1 }] }
bigRegions:
  - name: china
    cascade: { endpoint: 127.0.0.1:19090 }
    regions: [{ name: cn-hangzhou, metaClusters: [{ name: mc-hz-01, endpoint: 127.0.0.1:19091 }] }]
`;

/** Schema errors (from parseTopology) or cross-check errors (checkRouting), as `path: message`. */
function problems(routing: string): string[] {
  const r = parseTopology(`${BASE}routing:\n${routing}`, 't.yaml');
  if (!r.ok) return r.errors.map((e) => `${e.path}: ${e.message}`);
  return checkRouting(r.topology.routing).map((i) => `${formatPath(i.path)}: ${i.message}`);
}

const TEAM = `  teams:
    - name: sre
      members: [{ name: A, mobile: '13800000001', email: a@example.com }, { name: B }]
      rotation: { type: weekly, handover: '10:00', timeZone: Asia/Shanghai, start: '2026-01-05' }
      receivers:
        - name: sre-ding
          dingtalk: { robots: [{ tokenSecret: { name: ding, key: token }, signSecret: { name: ding, key: sign } }] }
`;

describe('routing cross-checks', () => {
  it('the embedded default topology has a valid routing section', () => {
    const r = parseTopology(defaultTopologyText(), 'default-topology.yaml');
    assert.ok(r.ok, r.ok ? '' : r.errors.map((e) => e.message).join('\n'));
    assert.deepEqual(checkRouting(r.topology.routing), []);
    assert.equal(r.topology.routing?.teams.length, 4);
  });

  const cases: [string, string, string[]][] = [
    ['a minimal team with one DingTalk receiver is valid', TEAM, []],
    [
      'duplicate team and receiver names are reported at the duplicate',
      `${TEAM}    - name: sre
      members: [{ name: C }]
      receivers:
        - name: sre-ding
          email: { to: [c@example.com] }
`,
      [
        'routing.teams[1].name: duplicate team "sre"',
        'routing.teams[1].receivers[0].name: duplicate receiver "sre-ding"',
        'routing.teams[1].receivers[0].email: email receivers need routing.email (smarthost, from)',
      ],
    ],
    [
      'routes must name known receivers and time intervals, with valid label names',
      `${TEAM}  routes:
    - { receiver: sre-dong, match: { severity: critical } }
    - { receiver: sre-ding, match: { bad-label: x }, groupBy: [alertname, 'meta-cluster'], muteTimeIntervals: [office] }
`,
      [
        'routing.routes[0].receiver: unknown receiver "sre-dong" (did you mean "sre-ding"?)',
        'routing.routes[1].match["bad-label"]: invalid label name "bad-label"',
        'routing.routes[1].groupBy[1]: invalid label name "meta-cluster"',
        'routing.routes[1].muteTimeIntervals[0]: unknown time interval "office"',
      ],
    ],
    [
      "the bridge's own alerts need a known receiver that bypasses the bridge",
      `  bridgeAlertsReceiver: sre-ding
${TEAM}`,
      [
        'routing.bridgeAlertsReceiver: receiver "sre-ding" goes through the alert bridge (DingTalk or SMS): the bridge\'s own alerts need an email receiver',
      ],
    ],
    [
      'an unknown bridge-alerts receiver gets a suggestion',
      `  bridgeAlertsReceiver: sre-dong
${TEAM}`,
      ['routing.bridgeAlertsReceiver: unknown receiver "sre-dong" (did you mean "sre-ding"?)'],
    ],
    [
      'time zones must be IANA names and intervals must end after they start',
      `${TEAM}  timeIntervals:
    - { name: office, timeZone: Mars/Olympus, intervals: [{ weekdays: ['monday:friday'], times: [{ start: '18:00', end: '09:00' }] }] }
`,
      [
        'routing.timeIntervals[0].timeZone: unknown time zone "Mars/Olympus" (want an IANA name such as "Asia/Shanghai")',
        'routing.timeIntervals[0].intervals[0].times[0].end: end "09:00" is not after start "18:00"',
      ],
    ],
    [
      'rotations refer to members of their team, overrides end after they start',
      `  teams:
    - name: sre
      members: [{ name: A }]
      rotation:
        type: daily
        handover: '09:00'
        timeZone: Europe/Berlin
        start: '2026-02-30'
        members: [A, Z]
        overrides: [{ member: Y, start: '2026-03-02 10:00', end: '2026-03-01 10:00' }]
      receivers:
        - name: sre-sms
          sms: { provider: aliyun, signName: S, templateCode: T, accessKeyId: { name: a, key: id }, accessKeySecret: { name: a, key: secret } }
`,
      [
        'routing.teams[0].rotation.start: invalid date "2026-02-30"',
        'routing.teams[0].rotation.members[1]: unknown member "Z" of team "sre"',
        'routing.teams[0].rotation.overrides[0].member: unknown member "Y" of team "sre"',
        'routing.teams[0].rotation.overrides[0].end: end "2026-03-01 10:00" is not after start "2026-03-02 10:00"',
        'routing.teams[0].receivers[0].sms.to: no member of team "sre" has a mobile',
      ],
    ],
    [
      'a secret is a reference, never a literal value',
      `  teams:
    - name: sre
      members: [{ name: A }]
      receivers:
        - name: sre-ding
          dingtalk: { robots: [{ tokenSecret: abc123, signSecret: { name: ding, key: sign } }] }
`,
      ['routing.teams[0].receivers[0].dingtalk.robots[0].tokenSecret: expected object, got string "abc123"'],
    ],
    [
      'a bad handover time and an unknown key are schema errors',
      `  teams:
    - name: sre
      members: [{ name: A, phone: '1' }]
      rotation: { type: weekly, handover: '25:00', timeZone: UTC, start: '2026-01-05' }
`,
      [
        'routing.teams[0].members[0].phone: unknown key "phone"',
        'routing.teams[0].rotation.handover: invalid time "25:00" (want HH:MM, 24-hour clock)',
      ],
    ],
  ];
  for (const [name, routing, expected] of cases) {
    it(name, () => assert.deepEqual(problems(routing).sort(), [...expected].sort()));
  }
});
