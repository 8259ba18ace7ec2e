/**
 * Every Secret the `routing` section refers to, with who reads it: the Alertmanager pods mount
 * theirs, `secrets init` lists the ones only their owner can supply (robot tokens, SMS keys, the
 * SMTP password), and the local stack makes throwaway values for all of them.
 */
import type { SecretRef } from '../common/secret.ts';
import type { Topology } from './model.ts';
import { receiversOf, type Routing } from './routing.ts';

export type SecretReader = 'alertmanager' | 'bridge';

export interface ReceiverSecret {
  readonly ref: SecretRef;
  /** What the value is, for people: "DingTalk robot access token (receiver sre-china-dingtalk)". */
  readonly what: string;
  readonly readers: readonly SecretReader[];
  /**
   * fedstack can make the value itself (a random token shared by two of its own components);
   * otherwise it comes from an outside service (DingTalk, Aliyun, the SMTP relay).
   */
  readonly generated: boolean;
}

/** In file order, each Secret key once. */
export function receiverSecrets(topo: Pick<Topology, 'routing'>): ReceiverSecret[] {
  const routing = topo.routing as Routing | undefined;
  if (routing === undefined) return [];
  const out = new Map<string, ReceiverSecret>();
  const add = (s: ReceiverSecret) => {
    const key = `${s.ref.name}/${s.ref.key}`;
    if (!out.has(key)) out.set(key, s);
  };
  add({
    ref: routing.webhookToken,
    what: 'bearer token Alertmanager presents to the alert bridge',
    readers: ['alertmanager', 'bridge'],
    generated: true,
  });
  if (routing.email?.authPassword !== undefined)
    add({
      ref: routing.email.authPassword,
      what: `SMTP password of ${routing.email.authUsername ?? 'the relay'} at ${routing.email.smarthost}`,
      readers: ['alertmanager'],
      generated: false,
    });
  for (const { receiver } of receiversOf(routing)) {
    const of = `(receiver ${receiver.name})`;
    for (const robot of receiver.dingtalk?.robots ?? []) {
      add({
        ref: robot.tokenSecret,
        what: `DingTalk robot access token ${of}`,
        readers: ['bridge'],
        generated: false,
      });
      add({
        ref: robot.signSecret,
        what: `DingTalk robot signing secret ${of}`,
        readers: ['bridge'],
        generated: false,
      });
    }
    if (receiver.sms !== undefined) {
      add({
        ref: receiver.sms.accessKeyId,
        what: `Aliyun AccessKeyId ${of}`,
        readers: ['bridge'],
        generated: false,
      });
      add({
        ref: receiver.sms.accessKeySecret,
        what: `Aliyun AccessKeySecret ${of}`,
        readers: ['bridge'],
        generated: false,
      });
    }
  }
  return [...out.values()];
}
