/**
 * fedstack watching its own moving parts, evaluated at central: the service (central scrapes it,
 * job "fedstack": http_sd and configs for the fleet, the topology it serves, the edges'
 * heartbeats) and every Prometheus' config sidecar (its `config_valid` reaches central as the
 * heartbeat does). The alert bridge's rules (alerting/rules.ts) join these in central's rules.
 * The series are the service's and the sidecar's own (server/app.ts, sidecar/sidecar.ts);
 * test/server/self-monitoring.test.ts runs these rules on what a live service exports.
 */
import { JOB, ROLLOUT_ROLLED_BACK, SIDECAR_CONFIG_VALID } from '../common/conventions.ts';
import type { AlertRule } from '../topology/model.ts';
import { BRIDGE_ALERT_LABEL } from '../topology/routing.ts';

export const SELF_MONITORING_RULES: readonly AlertRule[] = [
  {
    alert: 'FedstackServiceDown',
    expr: `up{job="${JOB.fedstack}"} == 0`,
    for: '5m',
    // The bridge runs in the service: this one goes by email too (the bridge-free route).
    labels: { severity: 'critical', [BRIDGE_ALERT_LABEL.name]: BRIDGE_ALERT_LABEL.value },
    annotations: {
      summary: 'The fedstack service at {{ $labels.instance }} is down',
      description:
        'Cascades lose http_sd (they keep their last targets), sidecars their heartbeats and configs, and DingTalk/SMS pages stop at the bridge: Alertmanager retries them until it gives up.',
    },
  },
  {
    alert: 'FedstackTopologyRefused',
    expr: 'fedstack_topology_valid == 0',
    for: '5m',
    labels: { severity: 'warning' },
    annotations: {
      summary: 'The fedstack service refuses the current topology file ({{ $labels.instance }})',
      description:
        'The last change to the topology is invalid: the service keeps serving its last good revision. See GET /readyz for the errors at FILE:LINE:COL.',
    },
  },
  {
    alert: 'FedstackServiceErrors',
    expr: `sum by (instance, route) (rate(fedstack_http_requests_total{job="${JOB.fedstack}", route=~"/v1/(sd|config)/.*", code=~"5.."}[5m])) > 0`,
    for: '10m',
    labels: { severity: 'warning' },
    annotations: {
      summary: 'The fedstack service answers {{ $labels.route }} with errors ({{ $labels.instance }})',
      description:
        'Cascades keep their last http_sd targets and sidecars their last config, but changes no longer reach them. See the service log.',
    },
  },
  {
    alert: 'FedstackEdgesNotHeartbeating',
    expr: 'fedstack_topology_meta_clusters - fedstack_edge_registrations > 0',
    for: '15m',
    labels: { severity: 'warning' },
    annotations: {
      summary: '{{ $value }} edge sidecar(s) have not heartbeated to {{ $labels.instance }}',
      description:
        'The service answers http_sd for those edges with the topology\'s endpoints instead of their live LoadBalancer address. Check the edges\' config-sidecar containers and the sidecar token.',
    },
  },
  {
    alert: 'FedstackSidecarConfigRefused',
    expr: `${SIDECAR_CONFIG_VALID} == 0`,
    for: '10m',
    labels: { severity: 'warning' },
    annotations: {
      summary:
        'The config sidecar refuses the mounted config of {{ with $labels.meta_cluster }}meta-cluster {{ . }}{{ else }}{{ with $labels.big_region }}the {{ . }} cascade{{ else }}central replica {{ $labels.central }}{{ end }}{{ end }}',
      description:
        'promtool rejected the mounted config: Prometheus keeps running its last good one. Run promtool check config on the rendered files of that instance.',
    },
  },
];

/**
 * Staged rollouts (rollout/service.ts, when the service runs with --data-dir): a rollout that
 * rolled back pages the team that owns it (the plan's `owner`, by default the default
 * receiver's team), through a route matching `team`. It fires until the next rollout starts.
 */
export const ROLLOUT_ALERT_RULES: readonly AlertRule[] = [
  {
    alert: 'FedstackRolloutRolledBack',
    expr: `max by (team) (${ROLLOUT_ROLLED_BACK}{job="${JOB.fedstack}"}) == 1`,
    labels: { severity: 'warning' },
    annotations: {
      summary: 'A staged config rollout was rolled back{{ with $labels.team }} (owner {{ . }}){{ end }}',
      description:
        'A health gate failed past its wave\'s budget, or a wave missed its progress deadline, and every instance that got the new revision was put back on the last good one. `fedstack rollout status` names the gate, the instances and the numbers.',
    },
  },
];
