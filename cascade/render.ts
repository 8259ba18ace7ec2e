/**
 * The cascade: one Prometheus per big region. It federates its edges' /federate with the
 * cascade allow-list, labels every series with big_region/region/meta_cluster, drops noise
 * labels, applies the topology's cascade label rewrites, and evaluates the regional recording rules that central federates.
 */
import { JOB, LABEL, MOUNT, PORT, SYSTEM_SELECTORS, type Profile } from '../common/conventions.ts';
import type { PrometheusBundle, RemoteWriteConfig, ScrapeConfig } from '../common/prometheus.ts';
import {
  dropFederationJobLabel,
  dropLabelsConfig,
  federationJob,
  matchParams,
  recordingGroup,
  selfScrapeJob,
  sidecarScrapeJob,
} from '../common/scrape.ts';
import { edgeTargetGroups } from '../topology/facts.ts';
import type { BigRegion, Topology } from '../topology/model.ts';
import { federationClientConfig, selfScrapeClientConfig } from '../topology/security.ts';
import { compileRelabel } from '../topology/relabel-compile.ts';

/**
 * `remoteWrite`: where this cascade ships what central keeps, when central is not a
 * Prometheus that federates it (backend victoriametrics: central/victoriametrics.ts makes it).
 */
export function renderCascade(
  topo: Topology,
  bigRegion: BigRegion,
  profile: Profile,
  remoteWrite?: readonly RemoteWriteConfig[],
): PrometheusBundle {
  const tier = topo.global.cascade;
  const relabel = compileRelabel(topo, 'cascade', bigRegion);

  const federate: ScrapeConfig = {
    ...federationJob(JOB.federateEdge, tier, matchParams(SYSTEM_SELECTORS.cascade, topo.allowLists.cascade)),
    ...federationClientConfig(topo.security, profile),
    // Production discovers edges through the fedstack service, which merges the topology with
    // live sidecar registrations (LoadBalancer addresses change); the local stack lists them.
    // The service answers discovery only with the read token: it reveals the fleet's layout.
    ...(profile === 'kubernetes'
      ? {
          http_sd_configs: [
            {
              url: `${topo.global.serviceUrl}/v1/sd/cascade/${bigRegion.name}`,
              refresh_interval: '30s',
              authorization: { type: 'Bearer', credentials_file: MOUNT.readTokenFile },
            },
          ],
        }
      : { static_configs: edgeTargetGroups(bigRegion) }),
    relabel_configs: relabel.target.length > 0 ? [...relabel.target] : undefined,
    // fedstack's own first (no federation-job `job`, no noise labels), then the topology's rewrites.
    metric_relabel_configs: [
      dropFederationJobLabel(JOB.federateEdge),
      ...dropLabelsConfig(topo.dropLabels),
      ...relabel.metric,
    ],
  };

  return {
    config: {
      global: {
        scrape_interval: tier.scrapeInterval,
        evaluation_interval: tier.evaluationInterval,
        external_labels: { [LABEL.bigRegion]: bigRegion.name },
      },
      rule_files: ['rules.yml'],
      scrape_configs: [
        selfScrapeJob(
          profile === 'local' ? bigRegion.cascade.endpoint : `localhost:${PORT.prometheus}`,
          selfScrapeClientConfig(topo.security, profile),
        ),
        // Its config sidecar, in the same pod: its config_valid reaches central like the edges'.
        ...(profile === 'kubernetes' ? [sidecarScrapeJob()] : []),
        federate,
      ],
      remote_write: remoteWrite === undefined ? undefined : [...remoteWrite],
    },
    rules: {
      groups: [recordingGroup('fedstack-cascade', tier.evaluationInterval, topo.recordingRules.cascade)],
    },
  };
}
