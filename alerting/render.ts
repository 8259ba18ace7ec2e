/**
 * renderAlertmanager: the topology's `routing` section → Alertmanager 0.25 config + templates.
 * Pure (no clock, env or files). Email goes out through Alertmanager's own email_configs;
 * DingTalk and SMS through webhooks to the fedstack bridge, authenticated with a bearer token
 * read from a file (never inline).
 */
import type { Profile } from '../common/conventions.ts';
import { FILE, LABEL } from '../common/conventions.ts';
import type { SecretRef } from '../common/secret.ts';
import { toYaml } from '../common/serialize.ts';
import type { Topology } from '../topology/model.ts';
import {
  BRIDGE_ALERT_LABEL,
  bridgeAlertsReceiverName,
  defaultReceiverName,
  receiversOf,
  type Routing,
} from '../topology/routing.ts';
import type {
  AlertmanagerConfig,
  EmailConfig,
  InhibitRule,
  ReceiverConfig,
  Route,
  TimeInterval,
  WebhookConfig,
} from './types.ts';
import { EMAIL_TEMPLATE_FILE, TEMPLATE, emailTemplates } from './templates.ts';

export type { AlertmanagerConfig } from './types.ts';

/** Where the Alertmanager pod mounts its files (kubernetes profile). */
export const ALERTMANAGER_MOUNT = {
  config: '/etc/alertmanager',
  secrets: '/etc/alertmanager/secrets',
} as const;

/** The templates' folder, next to alertmanager.yml. */
export const TEMPLATES_DIR = 'templates';

/** The receiver of a topology without a routing section: alerts stay visible in Alertmanager's UI/API. */
export const DEFAULT_RECEIVER = 'fedstack-default';

/** Alert fedstack's meta-alerts raise when an edge cannot be federated; it silences its meta-cluster. */
export const EDGE_DOWN_ALERT = 'EdgeDown';

/** Bridge paths, relative to the service's base URL (the service mounts the router at /v1/alerts). */
export const BRIDGE_BASE_PATH = '/v1/alerts';
export type BridgeChannel = 'dingtalk' | 'sms';
export function bridgeUrl(serviceUrl: string, channel: BridgeChannel, receiver: string): string {
  return `${serviceUrl.replace(/\/+$/, '')}${BRIDGE_BASE_PATH}/${channel}/${encodeURIComponent(receiver)}`;
}

export interface RenderedAlertmanager {
  readonly config: AlertmanagerConfig;
  /** Template file name (inside templates/) → text. */
  readonly templates: ReadonlyMap<string, string>;
}

/**
 * Secret file path as the Alertmanager process sees it. The local profile's paths are relative:
 * Alertmanager 0.25 resolves http_config files against alertmanager.yml's directory but
 * smtp_auth_password_file against its working directory, so the local stack runs it with
 * cwd = the bundle's alerting/ folder (then both agree).
 */
export function secretFile(ref: SecretRef, profile: Profile): string {
  return profile === 'kubernetes'
    ? `${ALERTMANAGER_MOUNT.secrets}/${ref.name}/${ref.key}`
    : `secrets/${ref.name}/${ref.key}`;
}

const DEFAULT_GROUP_BY = ['alertname', LABEL.bigRegion, LABEL.region, LABEL.metaCluster];

/** fedstack's default inhibition: critical silences warning in the same meta-cluster; EdgeDown silences its meta-cluster. */
export function defaultInhibitRules(): InhibitRule[] {
  return [
    {
      source_matchers: ['severity="critical"'],
      target_matchers: ['severity="warning"'],
      equal: [LABEL.metaCluster],
    },
    {
      source_matchers: [`alertname="${EDGE_DOWN_ALERT}"`],
      // meta_cluster=~".+": with `equal`, two alerts both lacking the label would count as equal.
      target_matchers: [`alertname!="${EDGE_DOWN_ALERT}"`, `${LABEL.metaCluster}=~".+"`],
      equal: [LABEL.metaCluster],
    },
  ];
}

export function renderAlertmanager(topo: Topology, profile: Profile): RenderedAlertmanager {
  const templates = new Map([[EMAIL_TEMPLATE_FILE, emailTemplates({ grafanaUrl: topo.global.grafanaUrl })]]);
  // Relative to alertmanager.yml in both profiles: Alertmanager resolves it against the config's
  // directory (/etc/alertmanager in a pod), and so does amtool check-config in tests, which then
  // reads the very templates production reads (an absolute glob matching nothing is no error).
  const templateGlob = `${TEMPLATES_DIR}/*.tmpl`;
  const routing = topo.routing as Routing | undefined;
  if (routing === undefined) {
    return {
      config: {
        route: {
          receiver: DEFAULT_RECEIVER,
          group_by: DEFAULT_GROUP_BY,
          group_wait: '30s',
          group_interval: '5m',
          repeat_interval: '4h',
        },
        inhibit_rules: defaultInhibitRules(),
        receivers: [{ name: DEFAULT_RECEIVER }],
        templates: [templateGlob],
      },
      templates,
    };
  }

  const email = routing.email;
  const config: AlertmanagerConfig = {
    global: email
      ? {
          smtp_smarthost: email.smarthost,
          smtp_from: email.from,
          smtp_auth_username: email.authUsername,
          smtp_auth_password_file: email.authPassword ? secretFile(email.authPassword, profile) : undefined,
          smtp_require_tls: email.requireTls,
        }
      : undefined,
    route: {
      receiver: defaultReceiverName(routing) ?? DEFAULT_RECEIVER,
      group_by: routing.groupBy,
      group_wait: routing.groupWait,
      group_interval: routing.groupInterval,
      repeat_interval: routing.repeatInterval,
      routes: [
        ...bridgeAlertsRoutes(routing).first,
        ...routing.routes.map((r): Route => ({
          receiver: r.receiver,
          matchers: matchers(r.match),
          continue: r.continue ? true : undefined,
          group_by: r.groupBy,
          group_wait: r.groupWait,
          group_interval: r.groupInterval,
          repeat_interval: r.repeatInterval,
          active_time_intervals: r.activeTimeIntervals,
          mute_time_intervals: r.muteTimeIntervals,
        })),
        ...bridgeAlertsRoutes(routing).last,
      ],
    },
    inhibit_rules: [
      ...(routing.defaultInhibition ? defaultInhibitRules() : []),
      ...routing.inhibit.map((r) => ({
        source_matchers: matchers(r.sourceMatch),
        target_matchers: matchers(r.targetMatch),
        equal: r.equal.length > 0 ? r.equal : undefined,
      })),
    ],
    receivers: renderReceivers(topo, routing, profile),
    templates: [templateGlob],
    time_intervals:
      routing.timeIntervals.length > 0 ? routing.timeIntervals.map(renderTimeInterval) : undefined,
  };
  return { config, templates };
}

/**
 * First, and continuing: the bridge's own alerts reach an email receiver whatever the routes
 * below do with them, since a DingTalk outage cannot be paged through DingTalk. Last: the ones
 * no route took still reach the default receiver (the root's receiver gets only alerts that no
 * child route matched, and the first route matched them all).
 */
function bridgeAlertsRoutes(routing: Routing): { first: Route[]; last: Route[] } {
  const receiver = bridgeAlertsReceiverName(routing);
  const fallback = defaultReceiverName(routing);
  if (receiver === undefined) return { first: [], last: [] };
  const route = (r: string, more: Partial<Route> = {}): Route => ({
    receiver: r,
    matchers: matchers({ [BRIDGE_ALERT_LABEL.name]: BRIDGE_ALERT_LABEL.value }),
    group_by: ['alertname', 'channel'],
    ...more,
  });
  return {
    first: [route(receiver, { continue: true })],
    last: fallback === undefined || fallback === receiver ? [] : [route(fallback)],
  };
}

function renderReceivers(topo: Topology, routing: Routing, profile: Profile): ReceiverConfig[] {
  const httpConfig = {
    authorization: { type: 'Bearer', credentials_file: secretFile(routing.webhookToken, profile) },
  };
  const out: ReceiverConfig[] = receiversOf(routing).map(({ team, receiver }) => {
    const webhooks: WebhookConfig[] = [];
    if (receiver.dingtalk) {
      webhooks.push({
        url: bridgeUrl(topo.global.serviceUrl, 'dingtalk', receiver.name),
        send_resolved: receiver.dingtalk.sendResolved,
        http_config: httpConfig,
      });
    }
    if (receiver.sms) {
      webhooks.push({
        url: bridgeUrl(topo.global.serviceUrl, 'sms', receiver.name),
        send_resolved: receiver.sms.sendResolved,
        http_config: httpConfig,
      });
    }
    let emails: EmailConfig[] | undefined;
    if (receiver.email) {
      const to =
        receiver.email.to === 'team'
          ? team.members.flatMap((m) => (m.email ? [m.email] : []))
          : receiver.email.to;
      emails = [
        {
          to: to.join(', '),
          send_resolved: receiver.email.sendResolved,
          headers: { Subject: `{{ template "${TEMPLATE.emailSubject}" . }}` },
          html: `{{ template "${TEMPLATE.emailHtml}" . }}`,
          text: `{{ template "${TEMPLATE.emailText}" . }}`,
        },
      ];
    }
    return {
      name: receiver.name,
      email_configs: emails,
      webhook_configs: webhooks.length > 0 ? webhooks : undefined,
    };
  });
  // The default route's receiver must exist even when no team declared one (checkRouting reports it).
  if (!out.some((r) => r.name === (defaultReceiverName(routing) ?? DEFAULT_RECEIVER)))
    out.push({ name: DEFAULT_RECEIVER });
  return out;
}

function renderTimeInterval(ti: Routing['timeIntervals'][number]): TimeInterval {
  return {
    name: ti.name,
    time_intervals: ti.intervals.map((iv) => ({
      weekdays: iv.weekdays,
      times: iv.times?.map((t) => ({ start_time: t.start, end_time: t.end })),
      location: ti.timeZone,
    })),
  };
}

/** {label: value | [values]} → Alertmanager matchers, sorted by label for stable output. */
export function matchers(match: Readonly<Record<string, string | readonly string[]>>): string[] {
  return Object.keys(match)
    .sort()
    .map((label) => {
      const v = match[label]!;
      if (typeof v === 'string') return `${label}=${JSON.stringify(v)}`;
      const alternatives = v.map((x) => x.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')).join('|');
      return `${label}=~${JSON.stringify(alternatives)}`;
    });
}

/**
 * The bundle's alerting files, relative to its `alerting/` folder: `alertmanager.yml` and
 * `templates/<name>.tmpl`. Text made by common/serialize.ts only.
 */
export function renderAlertingFiles(topo: Topology, profile: Profile): Map<string, string> {
  const { config, templates } = renderAlertmanager(topo, profile);
  const files = new Map<string, string>([[FILE.alertmanager, toYaml(config)]]);
  for (const [name, text] of [...templates].sort(([a], [b]) => a.localeCompare(b)))
    files.set(`templates/${name}`, text);
  return files;
}
