import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { nextHandover, parseLocalDateTime, resolveOnCall, type TeamLike } from '../../alerting/oncall.ts';

const members = [{ name: 'A', mobile: '13800000001' }, { name: 'B', mobile: '13800000002' }, { name: 'C' }];
const weekly: TeamLike = {
  name: 'sre',
  members,
  receivers: [],
  rotation: {
    type: 'weekly',
    handover: '10:00',
    timeZone: 'Asia/Shanghai',
    start: '2026-01-05', // a Monday
    overrides: [{ member: 'C', start: '2026-01-14 18:00', end: '2026-01-15 09:00' }],
  },
};
const at = (iso: string) => Date.parse(iso);
const who = (team: TeamLike, iso: string) => resolveOnCall(team, at(iso)).map((m) => m.name);

describe('on-call resolution', () => {
  const cases: [string, TeamLike, string, string[]][] = [
    ['the first member is on call from the first handover', weekly, '2026-01-05T02:00:00Z', ['A']],
    [
      'one minute before the weekly handover (09:59 Shanghai) it is still the first member',
      weekly,
      '2026-01-12T01:59:00Z',
      ['A'],
    ],
    [
      'at the weekly handover (10:00 Shanghai = 02:00 UTC) it is the second member',
      weekly,
      '2026-01-12T02:00:00Z',
      ['B'],
    ],
    ['inside an override, the override member is on call', weekly, '2026-01-14T12:00:00Z', ['C']],
    ['when the override ends (09:00 Shanghai) the rotation resumes', weekly, '2026-01-15T01:00:00Z', ['B']],
    ['the rotation wraps around after the last member', weekly, '2026-01-26T02:00:00Z', ['A']],
    ['before the start date the rotation counts backwards', weekly, '2026-01-04T00:00:00Z', ['C']],
    [
      'a team without rotation has nobody on call',
      { name: 'x', members, receivers: [] },
      '2026-01-05T02:00:00Z',
      [],
    ],
  ];
  for (const [name, team, iso, expected] of cases) it(name, () => assert.deepEqual(who(team, iso), expected));

  it('a daily rotation hands over at local wall time across a DST change (Europe/Berlin)', () => {
    const daily: TeamLike = {
      name: 'eu',
      members,
      receivers: [],
      rotation: {
        type: 'daily',
        handover: '09:00',
        timeZone: 'Europe/Berlin',
        start: '2026-03-27',
        overrides: [],
      },
    };
    // 2026-03-29 is the spring-forward day: 09:00 Berlin is 08:00 UTC before, 07:00 UTC after.
    assert.deepEqual(who(daily, '2026-03-28T07:59:00Z'), ['A']);
    assert.deepEqual(who(daily, '2026-03-28T08:00:00Z'), ['B']);
    assert.deepEqual(who(daily, '2026-03-29T06:59:00Z'), ['B']);
    assert.deepEqual(who(daily, '2026-03-29T07:00:00Z'), ['C']);
    assert.equal(nextHandover(daily, at('2026-03-29T06:00:00Z')), at('2026-03-29T07:00:00Z'));
  });

  it('the next handover of the weekly rotation is the following Monday 10:00 Shanghai', () => {
    assert.equal(nextHandover(weekly, at('2026-01-07T00:00:00Z')), at('2026-01-12T02:00:00Z'));
  });

  it('reads override bounds in the rotation time zone', () => {
    assert.equal(parseLocalDateTime('2026-01-14 18:00', 'Asia/Shanghai'), at('2026-01-14T10:00:00Z'));
    assert.equal(parseLocalDateTime('2026-07-01T12:00', 'America/Los_Angeles'), at('2026-07-01T19:00:00Z'));
  });
});
