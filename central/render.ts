/**
 * Central: an active-active pair (or N) in different zones. The replicas are identical but for
 * `replica` in external_labels; alerts drop it so the Alertmanager cluster sees one alert and
 * pages once. Each federates every cascade with the central allow-list.
 */
import { JOB, LABEL, PORT, SERVICE, SYSTEM_SELECTORS, type Profile } from '../common/conventions.ts';
import type { AlertingRuleSpec, PrometheusBundle, RuleFile, ScrapeConfig } from '../common/prometheus.ts';
import {
  dropFederationJobLabel,
  federationJob,
  matchParams,
  recordingGroup,
  selfScrapeJob,
  sidecarScrapeJob,
} from '../common/scrape.ts';
import { cascadeTargetGroups } from '../topology/facts.ts';
import type { AlertRule, CentralReplica, Topology } from '../topology/model.ts';
import { federationClientConfig } from '../topology/security.ts';
import { compileRelabel } from '../topology/relabel-compile.ts';

/** The alert rules central evaluates besides the topology's own, each list computed once per plan. */
export interface CentralAlerts {
  /** central/alerts.ts `metaAlertRules` (the closure check reads the same list). */
  readonly meta: readonly AlertRule[];
  /** fedstack's own parts: the service, the sidecars, the alert bridge. */
  readonly selfMonitoring: readonly AlertRule[];
}

/** One central replica. */
export function renderCentral(
  topo: Topology,
  replica: CentralReplica,
  profile: Profile,
  alerts: CentralAlerts,
): PrometheusBundle {
  const tier = topo.global.central;
  const relabel = compileRelabel(topo, 'central');

  // Cascades are few and stable (one per big region): listed from the topology, so the top
  // tier does not depend on the fedstack service to find them.
  const federate: ScrapeConfig = {
    ...federationJob(
      JOB.federateCascade,
      tier,
      matchParams(SYSTEM_SELECTORS.central, topo.allowLists.central),
    ),
    ...federationClientConfig(topo.security, profile),
    static_configs: cascadeTargetGroups(topo),
    relabel_configs: relabel.target.length > 0 ? [...relabel.target] : undefined,
    metric_relabel_configs: [dropFederationJobLabel(JOB.federateCascade), ...relabel.metric],
  };

  const alertmanagers = alertmanagerAddresses(topo, profile);
  const self =
    profile === 'local'
      ? requireEndpoint(replica.endpoint, `central replica "${replica.name}"`)
      : `localhost:${PORT.prometheus}`;

  return {
    config: {
      global: {
        scrape_interval: tier.scrapeInterval,
        evaluation_interval: tier.evaluationInterval,
        external_labels: { [LABEL.replica]: replica.name },
      },
      rule_files: ['rules.yml'],
      alerting: {
        // Without this the two replicas' alerts differ by `replica` and every page comes twice.
        alert_relabel_configs: [{ regex: LABEL.replica, action: 'labeldrop' }],
        // Every replica sends to every Alertmanager, never through a load balancer (HA contract).
        alertmanagers: [{ api_version: 'v2', static_configs: [{ targets: alertmanagers }] }],
      },
      scrape_configs: [
        selfScrapeJob(self),
        federate,
        serviceScrapeJob(topo, profile),
        // Its own config sidecar (cascades' and edges' arrive by federation); `central` tells
        // the replicas' apart once the alert drops `replica`.
        ...(profile === 'kubernetes' ? [sidecarScrapeJob({ central: replica.name })] : []),
      ],
    },
    rules: centralRules(topo, alerts),
  };
}

/**
 * What central evaluates, whatever runs it (the Prometheus pair, or the vmalert pair against
 * VictoriaMetrics): the central recording rules, the global alerts, the meta-alerts and the self-monitoring alerts.
 */
export function centralRules(topo: Topology, alerts: CentralAlerts): RuleFile {
  const interval = topo.global.central.evaluationInterval;
  return {
    groups: [
      recordingGroup('fedstack-central', interval, topo.recordingRules.central),
      { name: 'fedstack-global-alerts', interval, rules: topo.alertRules.map(alertSpec) },
      { name: 'fedstack-meta-alerts', interval, rules: alerts.meta.map(alertSpec) },
      { name: 'fedstack-self-monitoring', interval, rules: alerts.selfMonitoring.map(alertSpec) },
    ],
  };
}

function alertSpec(r: AlertRule): AlertingRuleSpec {
  return {
    alert: r.alert,
    expr: r.expr,
    for: r.for,
    labels: Object.keys(r.labels).length > 0 ? { ...r.labels } : undefined,
    annotations: Object.keys(r.annotations).length > 0 ? { ...r.annotations } : undefined,
  };
}

/**
 * The fedstack service (and the alert bridge in it): every replica, by the headless Service's
 * A records in a cluster; the topology's serviceUrl on loopback.
 */
export function serviceScrapeJob(topo: Topology, profile: Profile): ScrapeConfig {
  if (profile === 'kubernetes') {
    return {
      job_name: JOB.fedstack,
      dns_sd_configs: [{ names: [SERVICE.fedstack(topo.global.namespace)], type: 'A', port: PORT.fedstack }],
    };
  }
  const url = new URL(topo.global.serviceUrl);
  return {
    job_name: JOB.fedstack,
    scheme: url.protocol === 'https:' ? 'https' : 'http',
    static_configs: [{ targets: [url.host] }],
  };
}

/** host:port of every Alertmanager replica: each is sent to on its own, never through a load balancer. */
export function alertmanagerAddresses(topo: Topology, profile: Profile): string[] {
  return topo.alertmanager.replicas.map((am) =>
    profile === 'local'
      ? requireEndpoint(am.endpoint, `alertmanager replica "${am.name}"`)
      : `${SERVICE.alertmanager(am.name, topo.global.namespace)}:${PORT.alertmanager}`,
  );
}

/** The local profile runs everything on loopback, so it needs every address spelled out. */
export function requireEndpoint(endpoint: string | undefined, what: string): string {
  if (endpoint === undefined) throw new Error(`${what} has no endpoint, which the local profile needs`);
  return endpoint;
}
