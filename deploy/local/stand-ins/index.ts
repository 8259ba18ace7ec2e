/**
 * What `fedstack up` runs instead of the outside world: a DingTalk robot server, an Aliyun
 * SendSms endpoint and an SMTP relay, each on a loopback port, each as strict as the real one
 * (signatures, rate limits, template rules, login). The receivers' Secrets get throwaway values
 * that these stand-ins accept, so every notification path runs end to end and none leaves the
 * machine.
 */
import { randomBytes } from 'node:crypto';
import { Secret, type SecretRef } from '../../../common/secret.ts';
import type { Topology } from '../../../topology/model.ts';
import { receiverSecrets } from '../../../topology/receiver-secrets.ts';
import { receiversOf, type Routing } from '../../../topology/routing.ts';
import { startSmsContract, type SmsContract } from './aliyun-sms.ts';
import { startDingTalkContract, type DingTalkContract, type ScriptedAnswer } from './dingtalk.ts';
import { startSmtpSink, type SmtpSink } from './smtp.ts';

const refKey = (ref: SecretRef) => `${ref.name}/${ref.key}`;

/** Throwaway values for every Secret the routing names, keyed `name/key`. */
export type ReceiverValues = ReadonlyMap<string, Secret>;

export function throwawayReceiverValues(topo: Pick<Topology, 'routing'>): ReceiverValues {
  const routing = topo.routing as Routing | undefined;
  const signing = new Set(
    routing === undefined
      ? []
      : receiversOf(routing).flatMap(({ receiver }) =>
          (receiver.dingtalk?.robots ?? []).map((r) => refKey(r.signSecret)),
        ),
  );
  return new Map(
    receiverSecrets(topo).map((s) => {
      const key = refKey(s.ref);
      // DingTalk signing secrets look like the real ones ("SEC" + 64 hex digits).
      const value = signing.has(key)
        ? `SEC${randomBytes(32).toString('hex')}`
        : randomBytes(24).toString('base64url');
      return [key, new Secret(value)] as const;
    }),
  );
}

export function receiverValue(values: ReceiverValues, ref: SecretRef): Secret {
  const v = values.get(refKey(ref));
  if (v === undefined) throw new Error(`no value for Secret ${ref.name}/${ref.key}`);
  return v;
}

/** A notification a stand-in accepted. */
export interface Delivery {
  readonly channel: 'dingtalk' | 'sms' | 'email';
  /** Receiver (DingTalk), phone numbers (SMS) or addresses (email). */
  readonly to: string;
  /** Message title, SMS alert name, or mail subject. */
  readonly what: string;
}

export interface StandIns {
  /** What localizeTopology points the routing at. */
  readonly endpoints: {
    readonly dingtalkUrl?: string;
    readonly smsEndpoint?: string;
    readonly smarthost?: string;
  };
  deliveries(): Delivery[];
  /** Makes the DingTalk stand-in answer every request with `answer` until called with undefined. */
  dingtalkOutage(answer: ScriptedAnswer | undefined): void;
  /** What the stand-ins refused, as lines (errcodes, SMS codes, SMTP logins). */
  problems(): string[];
  close(): Promise<void>;
}

/** Starts the stand-ins the routing needs (none without a routing section). */
export async function startStandIns(
  topo: Pick<Topology, 'routing'>,
  values: ReceiverValues,
  mailDir: string,
): Promise<StandIns> {
  const routing = topo.routing as Routing | undefined;
  const receivers = routing === undefined ? [] : receiversOf(routing).map((r) => r.receiver);
  const robots = receivers.flatMap((r) =>
    (r.dingtalk?.robots ?? []).map((robot) => ({
      receiver: r.name,
      token: receiverValue(values, robot.tokenSecret).reveal(),
      sign: receiverValue(values, robot.signSecret).reveal(),
    })),
  );
  const sms = receivers.flatMap((r) => (r.sms ? [r.sms] : []));
  const started: { close(): Promise<void> }[] = [];
  try {
    const ding: DingTalkContract | undefined =
      robots.length === 0
        ? undefined
        : await startDingTalkContract({ robots: Object.fromEntries(robots.map((r) => [r.token, r.sign])) });
    if (ding) started.push(ding);
    const smsServer: SmsContract | undefined =
      sms.length === 0
        ? undefined
        : await startSmsContract({
            accessKeys: Object.fromEntries(
              sms.map((s) => [
                receiverValue(values, s.accessKeyId).reveal(),
                receiverValue(values, s.accessKeySecret).reveal(),
              ]),
            ),
            signNames: [...new Set(sms.map((s) => s.signName))],
            // fedstack's SMS template variables (topology/routing.ts smsSchema).
            templates: Object.fromEntries(
              sms.map((s) => [s.templateCode, ['status', 'alert', 'where', 'count']]),
            ),
          });
    if (smsServer) started.push(smsServer);
    const email = routing?.email;
    const smtp: SmtpSink | undefined =
      email === undefined
        ? undefined
        : await startSmtpSink({
            username: email.authUsername,
            password: email.authPassword ? receiverValue(values, email.authPassword) : undefined,
            mailDir,
          });
    if (smtp) started.push(smtp);
    const receiverOf = new Map(robots.map((r) => [r.token, r.receiver]));
    return {
      endpoints: { dingtalkUrl: ding?.url, smsEndpoint: smsServer?.endpoint, smarthost: smtp?.smarthost },
      dingtalkOutage: (answer) => ding?.outage(answer),
      deliveries: () => [
        ...(ding?.messages ?? []).map((m): Delivery => ({
          channel: 'dingtalk',
          to: receiverOf.get(m.token) ?? '?',
          what: m.body.markdown?.title ?? m.body.msgtype,
        })),
        ...(smsServer?.sent ?? []).map((s): Delivery => ({
          channel: 'sms',
          to: s.phone,
          what: s.params.alert ?? s.templateCode,
        })),
        ...(smtp?.mails ?? []).map((m): Delivery => ({
          channel: 'email',
          to: m.to.join(', '),
          what: m.subject,
        })),
      ],
      problems: () => [
        ...(ding?.errors ?? []).map(
          (e) =>
            `DingTalk stand-in answered errcode ${e.errcode} (${e.errmsg}) to robot of ${receiverOf.get(e.token) ?? 'an unknown token'}`,
        ),
        ...(smsServer?.answers ?? [])
          .filter((a) => a.code !== 'OK')
          .map((a) => `SMS stand-in answered ${a.code}${a.phone === '' ? '' : ` for ${a.phone}`}`),
        ...(smtp?.refused ?? []).map((u) => `SMTP stand-in refused the login of ${JSON.stringify(u)}`),
      ],
      close: async () => {
        await Promise.all(started.map((s) => s.close()));
      },
    };
  } catch (e) {
    await Promise.all(started.map((s) => s.close()));
    throw e;
  }
}
