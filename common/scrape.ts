/**
 * Scrape-job pieces every tier builds the same way: the self-scrape job, extra static targets,
 * the rule group of a tier, and the match[] list of a federation job.
 */
import { JOB, PORT, RESERVED_LABELS } from './conventions.ts';
import { formatDuration, parseDuration } from './duration.ts';
import type { RecordingRuleSpec, RelabelConfig, RuleGroup, ScrapeConfig } from './prometheus.ts';

/** The self-scrape job; `client` carries TLS/basic auth when the Prometheus serves behind them. */
export function selfScrapeJob(target: string, client: Partial<ScrapeConfig> = {}): ScrapeConfig {
  return { job_name: JOB.self, ...client, static_configs: [{ targets: [target] }] };
}

/**
 * The config sidecar next to every Prometheus of the kubernetes profile (same pod, plain HTTP
 * on localhost): whether it refused the mounted config, when it last reloaded Prometheus.
 */
export function sidecarScrapeJob(labels?: Readonly<Record<string, string>>): ScrapeConfig {
  return { job_name: JOB.sidecar, static_configs: [{ targets: [`localhost:${PORT.sidecar}`], labels }] };
}

/**
 * Renames any scraped label that fedstack owns (big_region, region, meta_cluster, replica) to
 * `exported_<name>`. Federation runs with honor_labels, where a label on the series beats the
 * cascade's target label, so an exporter's own `region` would otherwise break the hierarchy.
 */
export function protectReservedLabels(): RelabelConfig[] {
  return RESERVED_LABELS.flatMap((label): RelabelConfig[] => [
    {
      source_labels: [label],
      regex: '(.+)',
      target_label: `exported_${label}`,
      replacement: '$1',
      action: 'replace',
    },
    { regex: label, action: 'labeldrop' },
  ]);
}

/** One recording-rule group, in the given order. */
export function recordingGroup(
  name: string,
  interval: string,
  rules: readonly { record: string; expr: string; labels: Readonly<Record<string, string>> }[],
): RuleGroup {
  return {
    name,
    interval,
    rules: rules.map((r): RecordingRuleSpec => ({
      record: r.record,
      expr: r.expr,
      labels: Object.keys(r.labels).length > 0 ? { ...r.labels } : undefined,
    })),
  };
}

/** System selectors first, then the allow-list; duplicates removed, order kept. */
export function matchParams(system: readonly string[], allowList: readonly string[]): string[] {
  return [...new Set([...system, ...allowList])];
}

/** A federation scrape_timeout: the configured one, else 80% of the interval (never above it). */
export function federationTimeout(intervalMs: number, configured: number | undefined): number {
  return configured ?? Math.max(1000, Math.floor((intervalMs * 0.8) / 1000) * 1000);
}

/** The settings of a tier that shape its federation job (a subset of the topology's tier settings). */
export interface FederationTierSettings {
  readonly scrapeInterval: string;
  readonly scrapeTimeout?: string | undefined;
  readonly sampleLimit: number;
  readonly honorTimestamps: boolean;
}

/**
 * With honor_labels, a federated series keeps its own `job`; one that has none (a recording
 * rule's aggregate) would get the federation job's name, which says nothing to the on-call
 * ("fedstack-federate-cascade" on every page). This removes exactly that: `job` where its value
 * is the federation job's own name. Metric relabelling never touches the job's own `up` and
 * `scrape_*` series, so the meta-alerts that key on `up{job="fedstack-federate-..."}` still see it.
 */
export function dropFederationJobLabel(job: string): RelabelConfig {
  return {
    source_labels: ['job'],
    regex: escapeRegex(job),
    target_label: 'job',
    replacement: '',
    action: 'replace',
  };
}

/** The cascade's removal of the topology's noise labels (dropLabels). */
export function dropLabelsConfig(labels: readonly string[]): RelabelConfig[] {
  return labels.length === 0 ? [] : [{ regex: labels.join('|'), action: 'labeldrop' }];
}

/** A literal string as an RE2 regex that matches exactly it. */
export function escapeRegex(s: string): string {
  return s.replace(/[\\.+*?()|[\]{}^$]/g, '\\$&');
}

/**
 * What every federation job has in common, cascade's and central's alike: /federate with the
 * given match[], honor_labels (the source's labels are the truth), the tier's timestamps
 * choice, timeout and sample_limit. Callers add the client config, the targets and the metric
 * relabelling, which starts with dropFederationJobLabel.
 */
export function federationJob(job: string, tier: FederationTierSettings, match: string[]): ScrapeConfig {
  const timeout = federationTimeout(
    parseDuration(tier.scrapeInterval),
    tier.scrapeTimeout === undefined ? undefined : parseDuration(tier.scrapeTimeout),
  );
  return {
    job_name: job,
    scrape_interval: tier.scrapeInterval,
    scrape_timeout: formatDuration(timeout),
    metrics_path: '/federate',
    params: { 'match[]': match },
    honor_labels: true,
    honor_timestamps: tier.honorTimestamps,
    sample_limit: tier.sampleLimit > 0 ? tier.sampleLimit : undefined,
  };
}
