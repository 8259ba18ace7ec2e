/**
 * The Secrets the `routing` section refers to (routing.ts `routingSecrets` decides which),
 * described for people and marked by where a value can come from: `secrets init` lists the
 * ones only their owner can supply (robot tokens, SMS keys, the SMTP password), and the local
 * stack makes throwaway values for all of them.
 */
import type { SecretRef } from '../common/secret.ts';
import type { Topology } from './model.ts';
import { receiversOf, routingSecrets, type Routing } from './routing.ts';

export type SecretReader = 'alertmanager' | 'bridge';

export interface ReceiverSecret {
  readonly ref: SecretRef;
  /** What the value is, for people: "DingTalk robot access token (receiver sre-china-dingtalk)". */
  readonly what: string;
  readonly readers: readonly SecretReader[];
  /**
   * fedstack can make the value itself (a random token two of its own components share);
   * otherwise it comes from an outside service (DingTalk, Aliyun, the SMTP relay).
   */
  readonly generated: boolean;
}

const keyOf = (ref: SecretRef) => `${ref.name}/${ref.key}`;

/** Every Secret key of the routing, Alertmanager's first, each once. */
export function receiverSecrets(topo: Pick<Topology, 'routing'>): ReceiverSecret[] {
  const routing = topo.routing as Routing | undefined;
  if (routing === undefined) return [];
  const { bridge, alertmanager } = routingSecrets(routing);
  const what = descriptions(routing);
  const readers = (ref: SecretRef): SecretReader[] => [
    ...(alertmanager.some((r) => keyOf(r) === keyOf(ref)) ? ['alertmanager' as const] : []),
    ...(bridge.some((r) => keyOf(r) === keyOf(ref)) ? ['bridge' as const] : []),
  ];
  const refs = [...alertmanager, ...bridge].filter(
    (r, i, all) => all.findIndex((o) => keyOf(o) === keyOf(r)) === i,
  );
  return refs.map((ref) => ({
    ref,
    what: what.get(keyOf(ref)) ?? 'Secret of the routing section',
    readers: readers(ref),
    generated: keyOf(ref) === keyOf(routing.webhookToken),
  }));
}

/** What each Secret key of the routing holds, first description wins. */
function descriptions(routing: Routing): Map<string, string> {
  const out = new Map<string, string>();
  const say = (ref: SecretRef, what: string) => {
    if (!out.has(keyOf(ref))) out.set(keyOf(ref), what);
  };
  say(routing.webhookToken, 'bearer token Alertmanager presents to the alert bridge');
  if (routing.email?.authPassword)
    say(
      routing.email.authPassword,
      `SMTP password of ${routing.email.authUsername ?? 'the relay'} at ${routing.email.smarthost}`,
    );
  for (const { receiver } of receiversOf(routing)) {
    const of = `(receiver ${receiver.name})`;
    for (const robot of receiver.dingtalk?.robots ?? []) {
      say(robot.tokenSecret, `DingTalk robot access token ${of}`);
      say(robot.signSecret, `DingTalk robot signing secret ${of}`);
    }
    if (receiver.sms) {
      say(receiver.sms.accessKeyId, `Aliyun AccessKeyId ${of}`);
      say(receiver.sms.accessKeySecret, `Aliyun AccessKeySecret ${of}`);
    }
  }
  return out;
}
