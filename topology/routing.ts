/**
 * The topology's `routing` section: teams, on-call rotations, receivers, routes, inhibition,
 * time intervals. Owned by alerting/ (issue: alert routing for on-call).
 *
 * Shape only here (strict zod objects); `checkRouting` does the cross-field checks (unique
 * names, references that resolve, time zones, label names). Secrets are always SecretRefs
 * ({name, key} of a Kubernetes Secret), never literal values.
 */
import { z } from 'zod';
import { secretRefSchema } from './secret-ref.ts';
import type { PathSegment, TopologyIssue } from './errors.ts';
import { editDistance } from './suggest.ts';
// Alertmanager parses durations as Prometheus does (model.ParseDuration).
import { durationSchema } from './fields.ts';

const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;
const ROUTING_NAME = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const HHMM = /^([01]\d|2[0-3]):[0-5]\d$/;
const DATE = /^\d{4}-\d{2}-\d{2}$/;
/** An override's bounds: local wall time in the rotation's time zone. */
const LOCAL_DATETIME = /^\d{4}-\d{2}-\d{2}[T ]([01]\d|2[0-3]):[0-5]\d$/;

const nameSchema = z
  .string()
  .max(63, { error: 'must be at most 63 characters' })
  .refine((s) => ROUTING_NAME.test(s), {
    error: (iss) => `invalid name ${JSON.stringify(iss.input)} (lower-case letters, digits and '-')`,
  });
const hhmmSchema = z.string().refine((s) => HHMM.test(s) || s === '24:00', {
  error: (iss) => `invalid time ${JSON.stringify(iss.input)} (want HH:MM, 24-hour clock)`,
});

const memberSchema = z.strictObject({
  name: z.string().min(1),
  /** Digits, optionally with a leading '+' country code; used for SMS and DingTalk @mentions. */
  mobile: z
    .string()
    .refine((s) => /^\+?\d{6,15}$/.test(s), {
      error: (iss) => `invalid mobile ${JSON.stringify(iss.input)} (digits, optional leading +)`,
    })
    .optional(),
  email: z.email({ error: (iss) => `invalid email ${JSON.stringify(iss.input)}` }).optional(),
  dingtalkUserId: z.string().min(1).optional(),
});

const overrideSchema = z.strictObject({
  /** Member name (of this team) on call instead of the rotation between start and end. */
  member: z.string().min(1),
  /** Local wall time in the rotation's time zone, `YYYY-MM-DD HH:MM`; start inclusive, end exclusive. */
  start: z.string().refine((s) => LOCAL_DATETIME.test(s), {
    error: (iss) => `invalid date-time ${JSON.stringify(iss.input)} (want YYYY-MM-DD HH:MM)`,
  }),
  end: z.string().refine((s) => LOCAL_DATETIME.test(s), {
    error: (iss) => `invalid date-time ${JSON.stringify(iss.input)} (want YYYY-MM-DD HH:MM)`,
  }),
});

const rotationSchema = z.strictObject({
  /** daily: handover every day at `handover`; weekly: every 7 days, on the weekday of `start`. */
  type: z.enum(['daily', 'weekly']),
  /** Local wall time of the handover, HH:MM. */
  handover: hhmmSchema,
  /** IANA time zone the handover time, start date and overrides are read in. */
  timeZone: z.string().min(1),
  /** Date (in timeZone) of the first handover, to `members[0]`; the anchor of the rotation. */
  start: z.string().refine((s) => DATE.test(s), {
    error: (iss) => `invalid date ${JSON.stringify(iss.input)} (want YYYY-MM-DD)`,
  }),
  /** Member names in rotation order; default: every team member in file order. */
  members: z.array(z.string().min(1)).min(1).optional(),
  overrides: z.array(overrideSchema).default([]),
});

const dingtalkRobotSchema = z.strictObject({
  /** The robot's access_token. */
  tokenSecret: secretRefSchema,
  /** The robot's signing secret (加签, `SEC...`). */
  signSecret: secretRefSchema,
  /** Override of https://oapi.dingtalk.com/robot/send (tests, proxies). */
  url: z.url().optional(),
});

/** Who receives an SMS: the team's current on-call, the whole team, or explicit numbers. */
const smsToSchema = z.union([
  z.enum(['oncall', 'team']),
  z.array(z.string().regex(/^\+?\d{6,15}$/, { error: 'invalid mobile (digits, optional leading +)' })).min(1),
]);

const smsSchema = z.strictObject({
  provider: z.literal('aliyun'),
  /** Approved SMS signature (签名). */
  signName: z.string().min(1),
  /**
   * Approved template code. The template must use the variables ${status}, ${alert},
   * ${where} and ${count} (each at most 35 characters, Aliyun's default variable limit).
   */
  templateCode: z.string().min(1),
  accessKeyId: secretRefSchema,
  accessKeySecret: secretRefSchema,
  /** SDK endpoint override (host[:port]), e.g. a VPC endpoint; default dysmsapi.aliyuncs.com. */
  endpoint: z.string().min(1).optional(),
  protocol: z.enum(['https', 'http']).default('https'),
  to: smsToSchema.default('oncall'),
  /** SMS for resolved notifications too (default: firing only — SMS is for waking people). */
  sendResolved: z.boolean().default(false),
});

const receiverSchema = z
  .strictObject({
    name: nameSchema,
    dingtalk: z
      .strictObject({
        /** Several robots in one group are used round-robin: 20 messages/minute each. */
        robots: z.array(dingtalkRobotSchema).min(1),
        /** @mention the team's current on-call in every firing message. */
        mentionOnCall: z.boolean().default(true),
        sendResolved: z.boolean().default(true),
      })
      .optional(),
    email: z
      .strictObject({
        /** Addresses, or 'team' for every member's email (rendered; on-call changes too often for a config). */
        to: z.union([
          z.enum(['team']),
          z.array(z.email({ error: (iss) => `invalid email ${JSON.stringify(iss.input)}` })).min(1),
        ]),
        sendResolved: z.boolean().default(true),
      })
      .optional(),
    sms: smsSchema.optional(),
  })
  .refine((r) => r.dingtalk !== undefined || r.email !== undefined || r.sms !== undefined, {
    error: 'a receiver needs at least one of dingtalk, email, sms',
  });

const teamSchema = z.strictObject({
  name: nameSchema,
  members: z.array(memberSchema).min(1),
  rotation: rotationSchema.optional(),
  receivers: z.array(receiverSchema).default([]),
});

/** Label matchers: value, or a list of values (any of them). */
const matchSchema = z.record(z.string(), z.union([z.string(), z.array(z.string()).min(1)]));

const routeSchema = z.strictObject({
  receiver: z.string().min(1),
  /** Equality on labels, e.g. {severity: critical, big_region: [china, asia]}. */
  match: matchSchema.default({}),
  /** Keep evaluating the following routes after this one matched. */
  continue: z.boolean().default(false),
  groupBy: z.array(z.string()).optional(),
  groupWait: durationSchema.optional(),
  groupInterval: durationSchema.optional(),
  repeatInterval: durationSchema.optional(),
  /** Send only inside these time intervals (e.g. SMS out of hours: an `out-of-hours` interval). */
  activeTimeIntervals: z.array(z.string()).optional(),
  muteTimeIntervals: z.array(z.string()).optional(),
});

const inhibitSchema = z.strictObject({
  sourceMatch: matchSchema,
  targetMatch: matchSchema,
  equal: z.array(z.string()).default([]),
});

const WEEKDAY = '(sunday|monday|tuesday|wednesday|thursday|friday|saturday)';
const weekdayRange = new RegExp(`^${WEEKDAY}(:${WEEKDAY})?$`);

const timeIntervalSchema = z.strictObject({
  name: nameSchema,
  /** IANA time zone the times and weekdays are read in (Alertmanager `location`). */
  timeZone: z.string().min(1).default('UTC'),
  intervals: z
    .array(
      z.strictObject({
        weekdays: z
          .array(
            z.string().refine((s) => weekdayRange.test(s), {
              error: (iss) => `invalid weekday range ${JSON.stringify(iss.input)} (e.g. monday:friday)`,
            }),
          )
          .optional(),
        times: z.array(z.strictObject({ start: hhmmSchema, end: hhmmSchema })).optional(),
      }),
    )
    .min(1),
});

const emailSettingsSchema = z.strictObject({
  /** host:port of the SMTP relay. */
  smarthost: z.string().regex(/^[^:\s]+:\d{1,5}$/, { error: 'invalid smarthost (want host:port)' }),
  from: z.email(),
  authUsername: z.string().min(1).optional(),
  /** Rendered as auth_password_file: the password never enters alertmanager.yml. */
  authPassword: secretRefSchema.optional(),
  requireTls: z.boolean().default(true),
});

export const routingSchema = z.strictObject({
  /** Receiver of everything no route matches. Default: the first team's first receiver. */
  defaultReceiver: z.string().min(1).optional(),
  /**
   * Also receives the alert bridge's own alerts (a DingTalk outage, a stuck outbox), ahead of
   * the routes: an email receiver, so they do not depend on the bridge. Default: the first
   * email receiver, if there is one.
   */
  bridgeAlertsReceiver: z.string().min(1).optional(),
  groupBy: z.array(z.string()).default(['alertname', 'big_region', 'region', 'meta_cluster']),
  groupWait: durationSchema.default('30s'),
  groupInterval: durationSchema.default('5m'),
  repeatInterval: durationSchema.default('4h'),
  /** Bearer token Alertmanager presents to the bridge (http_config credentials_file). */
  webhookToken: secretRefSchema.default({ name: 'fedstack-alert-bridge', key: 'token' }),
  email: emailSettingsSchema.optional(),
  teams: z.array(teamSchema).min(1),
  routes: z.array(routeSchema).default([]),
  /** fedstack's default inhibition (critical ⊃ warning per meta_cluster; EdgeDown ⊃ its meta_cluster). */
  defaultInhibition: z.boolean().default(true),
  inhibit: z.array(inhibitSchema).default([]),
  timeIntervals: z.array(timeIntervalSchema).default([]),
});
export type Routing = z.output<typeof routingSchema>;
export type Team = Routing['teams'][number];
export type TeamMember = Team['members'][number];
export type Receiver = Team['receivers'][number];

/** Every receiver with its team, in file order. */
export function receiversOf(
  routing: Routing | DeepRO<Routing>,
): { team: Team; receiver: Receiver; teamIndex: number; receiverIndex: number }[] {
  return (routing as Routing).teams.flatMap((team, teamIndex) =>
    team.receivers.map((receiver, receiverIndex) => ({ team, receiver, teamIndex, receiverIndex })),
  );
}

type DeepRO<T> = T extends (infer U)[]
  ? readonly DeepRO<U>[]
  : T extends object
    ? { readonly [K in keyof T]: DeepRO<T[K]> }
    : T;

/** A Secret key, as the routing section references it. */
interface SecretKey {
  readonly name: string;
  readonly key: string;
}

/**
 * Every Secret key the alert path reads, by who reads it: the bridge (Alertmanager's bearer
 * token to check, DingTalk robots' tokens and signing secrets, SMS access keys) and
 * Alertmanager (the bearer token it presents, the SMTP password). Deduplicated, in file order.
 */
export function routingSecrets(routing: Routing | DeepRO<Routing>): {
  readonly bridge: readonly SecretKey[];
  readonly alertmanager: readonly SecretKey[];
} {
  const uniq = (refs: readonly SecretKey[]) =>
    refs.filter((r, i) => refs.findIndex((o) => o.name === r.name && o.key === r.key) === i);
  const bridge: SecretKey[] = [routing.webhookToken];
  for (const { receiver } of receiversOf(routing)) {
    for (const robot of receiver.dingtalk?.robots ?? []) bridge.push(robot.tokenSecret, robot.signSecret);
    if (receiver.sms) bridge.push(receiver.sms.accessKeyId, receiver.sms.accessKeySecret);
  }
  const alertmanager: SecretKey[] = [routing.webhookToken];
  if (routing.email?.authPassword) alertmanager.push(routing.email.authPassword);
  return { bridge: uniq(bridge), alertmanager: uniq(alertmanager) };
}

/** The receiver everything unmatched goes to. */
/** The label every alert about the bridge carries (alerting/rules.ts), matched by its route. */
export const BRIDGE_ALERT_LABEL = { name: 'component', value: 'alert-bridge' } as const;

/** Email only: Alertmanager sends it itself, not through the bridge. */
const bypassesBridge = (r: Receiver | DeepRO<Receiver>) =>
  r.email !== undefined && r.dingtalk === undefined && r.sms === undefined;

/** Where the bridge's own alerts also go (see bridgeAlertsReceiver), or undefined: nowhere extra. */
export function bridgeAlertsReceiverName(routing: Routing | DeepRO<Routing>): string | undefined {
  return (
    routing.bridgeAlertsReceiver ??
    receiversOf(routing).find((r) => bypassesBridge(r.receiver))?.receiver.name
  );
}

export function defaultReceiverName(routing: Routing | DeepRO<Routing>): string | undefined {
  return routing.defaultReceiver ?? receiversOf(routing)[0]?.receiver.name;
}

export function isValidTimeZone(tz: string): boolean {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: tz });
    return true;
  } catch {
    return false;
  }
}

/** Cross-checks of the routing section (topology/validate.ts runs them). */
export function checkRouting(section: DeepRO<Routing> | undefined): TopologyIssue[] {
  const routing = section as Routing | undefined;
  if (routing === undefined) return [];
  const issues: TopologyIssue[] = [];
  const at = (path: PathSegment[], message: string) => issues.push({ path: ['routing', ...path], message });

  const teamNames = new Map<string, number>();
  const receiverNames = new Set<string>();
  routing.teams.forEach((team, ti) => {
    if (teamNames.has(team.name)) at(['teams', ti, 'name'], `duplicate team ${JSON.stringify(team.name)}`);
    teamNames.set(team.name, ti);
    const memberNames = new Set<string>();
    team.members.forEach((m, mi) => {
      if (memberNames.has(m.name))
        at(['teams', ti, 'members', mi, 'name'], `duplicate member ${JSON.stringify(m.name)}`);
      memberNames.add(m.name);
    });
    const rot = team.rotation;
    if (rot) {
      if (!isValidTimeZone(rot.timeZone))
        at(
          ['teams', ti, 'rotation', 'timeZone'],
          `unknown time zone ${JSON.stringify(rot.timeZone)} (want an IANA name such as "Asia/Shanghai")`,
        );
      if (!isRealDate(rot.start))
        at(['teams', ti, 'rotation', 'start'], `invalid date ${JSON.stringify(rot.start)}`);
      rot.members?.forEach((name, i) => {
        if (!memberNames.has(name))
          at(
            ['teams', ti, 'rotation', 'members', i],
            `unknown member ${JSON.stringify(name)} of team ${JSON.stringify(team.name)}`,
          );
      });
      rot.overrides.forEach((o, i) => {
        if (!memberNames.has(o.member))
          at(
            ['teams', ti, 'rotation', 'overrides', i, 'member'],
            `unknown member ${JSON.stringify(o.member)} of team ${JSON.stringify(team.name)}`,
          );
        if (o.end.replace(' ', 'T') <= o.start.replace(' ', 'T'))
          at(
            ['teams', ti, 'rotation', 'overrides', i, 'end'],
            `end ${JSON.stringify(o.end)} is not after start ${JSON.stringify(o.start)}`,
          );
      });
    }
    team.receivers.forEach((r, ri) => {
      const p: PathSegment[] = ['teams', ti, 'receivers', ri];
      if (receiverNames.has(r.name)) at([...p, 'name'], `duplicate receiver ${JSON.stringify(r.name)}`);
      receiverNames.add(r.name);
      if (r.sms && r.sms.to === 'oncall' && !rot)
        at([...p, 'sms', 'to'], `"oncall" needs a rotation in team ${JSON.stringify(team.name)}`);
      if (r.sms && (r.sms.to === 'oncall' || r.sms.to === 'team') && !team.members.some((m) => m.mobile)) {
        at([...p, 'sms', 'to'], `no member of team ${JSON.stringify(team.name)} has a mobile`);
      }
      if (r.email && r.email.to === 'team' && !team.members.some((m) => m.email))
        at([...p, 'email', 'to'], `no member of team ${JSON.stringify(team.name)} has an email`);
      if (r.email && routing.email === undefined)
        at([...p, 'email'], 'email receivers need routing.email (smarthost, from)');
    });
  });

  const knownReceiver = (name: string) => receiverNames.has(name);
  const suggestion = (name: string) => {
    let best: string | undefined;
    let bestDistance = Infinity;
    for (const n of receiverNames) {
      const d = editDistance(name, n);
      if (d < bestDistance) [best, bestDistance] = [n, d];
    }
    return best !== undefined && bestDistance <= Math.max(2, Math.floor(name.length / 3))
      ? ` (did you mean ${JSON.stringify(best)}?)`
      : '';
  };
  if (routing.defaultReceiver !== undefined && !knownReceiver(routing.defaultReceiver)) {
    at(
      ['defaultReceiver'],
      `unknown receiver ${JSON.stringify(routing.defaultReceiver)}${suggestion(routing.defaultReceiver)}`,
    );
  }
  if (routing.bridgeAlertsReceiver !== undefined) {
    const name = routing.bridgeAlertsReceiver;
    const found = receiversOf(routing).find((r) => r.receiver.name === name);
    if (found === undefined)
      at(['bridgeAlertsReceiver'], `unknown receiver ${JSON.stringify(name)}${suggestion(name)}`);
    else if (!bypassesBridge(found.receiver))
      at(
        ['bridgeAlertsReceiver'],
        `receiver ${JSON.stringify(name)} goes through the alert bridge (DingTalk or SMS): the bridge's own alerts need an email receiver`,
      );
  }
  if (receiverNames.size === 0) at(['teams'], 'no team declares a receiver');

  const intervalNames = new Set<string>();
  routing.timeIntervals.forEach((ti, i) => {
    if (intervalNames.has(ti.name))
      at(['timeIntervals', i, 'name'], `duplicate time interval ${JSON.stringify(ti.name)}`);
    intervalNames.add(ti.name);
    if (!isValidTimeZone(ti.timeZone))
      at(
        ['timeIntervals', i, 'timeZone'],
        `unknown time zone ${JSON.stringify(ti.timeZone)} (want an IANA name such as "Asia/Shanghai")`,
      );
    ti.intervals.forEach((iv, j) =>
      iv.times?.forEach((t, k) => {
        if (t.end <= t.start)
          at(
            ['timeIntervals', i, 'intervals', j, 'times', k, 'end'],
            `end ${JSON.stringify(t.end)} is not after start ${JSON.stringify(t.start)}`,
          );
      }),
    );
  });

  const checkLabels = (names: readonly string[], path: PathSegment[]) =>
    names.forEach((n, i) => {
      if (!LABEL_NAME.test(n) && n !== '...') at([...path, i], `invalid label name ${JSON.stringify(n)}`);
    });
  const checkMatch = (match: Readonly<Record<string, string | readonly string[]>>, path: PathSegment[]) => {
    for (const k of Object.keys(match))
      if (!LABEL_NAME.test(k)) at([...path, k], `invalid label name ${JSON.stringify(k)}`);
  };
  checkLabels(routing.groupBy, ['groupBy']);
  routing.routes.forEach((r, i) => {
    if (!knownReceiver(r.receiver))
      at(
        ['routes', i, 'receiver'],
        `unknown receiver ${JSON.stringify(r.receiver)}${suggestion(r.receiver)}`,
      );
    checkMatch(r.match, ['routes', i, 'match']);
    if (r.groupBy) checkLabels(r.groupBy, ['routes', i, 'groupBy']);
    for (const key of ['activeTimeIntervals', 'muteTimeIntervals'] as const) {
      r[key]?.forEach((n, j) => {
        if (!intervalNames.has(n)) at(['routes', i, key, j], `unknown time interval ${JSON.stringify(n)}`);
      });
    }
  });
  routing.inhibit.forEach((r, i) => {
    checkMatch(r.sourceMatch, ['inhibit', i, 'sourceMatch']);
    checkMatch(r.targetMatch, ['inhibit', i, 'targetMatch']);
    checkLabels(r.equal, ['inhibit', i, 'equal']);
  });
  return issues;
}

function isRealDate(s: string): boolean {
  const [y, m, d] = s.split('-').map(Number) as [number, number, number];
  const t = new Date(Date.UTC(y, m - 1, d));
  return t.getUTCFullYear() === y && t.getUTCMonth() === m - 1 && t.getUTCDate() === d;
}
