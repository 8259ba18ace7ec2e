/**
 * The shape of a topology file (apiVersion fedstack/v1). Shape only: every object is strict
 * (an unknown key is an error, as Prometheus' UnmarshalStrict), defaults are applied here, and
 * cross-field rules (unique names, subset of allow-lists, PromQL) live in validate.ts.
 */
import { z } from 'zod';
import { routingSchema } from './routing.ts';
import { securitySchema } from './security.ts';
import { promqlSyntaxMessage } from './promql-syntax.ts';
import { LABEL_NAME_RE } from './names.ts';
import { relabelSectionSchema } from './relabel-schema.ts';
import { durationSchema, hostPortSchema, intSchema } from './fields.ts';
import { CENTRAL_BACKENDS, victoriaMetricsSchema } from './backend.ts';

export { LABEL_NAME_RE, hostPortSchema };
export const METRIC_NAME_RE = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
/** Names become directory names, Kubernetes object names and label values: DNS-1123 labels. */
export const NAME_RE = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;

/**
 * Ranges of the whole-number fields: wide enough for any real fleet, narrow enough that a typo
 * (an extra zero run, 1e309) is caught here rather than by a pod that never fits.
 */
export const INT_RANGES = {
  /** Per-target samples of a federation scrape; 0 = no limit. A billion is far past one Prometheus. */
  sampleLimit: { min: 0, max: 1_000_000_000 },
  /** ACK meta-clusters host ~100 guest control planes; a thousand times that is no real fleet. */
  guestClusters: { min: 0, max: 100_000 },
  /** Kubernetes supports 5,000 nodes per cluster (ACK up to 15,000). */
  nodes: { min: 0, max: 100_000 },
} as const;

export const nameSchema = z
  .string()
  .max(63, { error: 'must be at most 63 characters (it becomes a Kubernetes name)' })
  .refine((s) => NAME_RE.test(s), {
    error: (iss) =>
      `invalid name ${JSON.stringify(iss.input)} (lower-case letters, digits and '-', starting and ending with a letter or digit)`,
  });

/** Marks a custom issue about a mapping key, so its position is the key's. */
export const AT_KEY = { atKey: true } as const;

/** A label set: every key a valid label name not reserved by Prometheus (`__`). */
const labelsSchema = z.record(z.string(), z.string()).superRefine((labels, ctx) => {
  for (const name of Object.keys(labels)) {
    if (!LABEL_NAME_RE.test(name)) ctx.addIssue({ code: 'custom', path: [name], params: AT_KEY, message: `invalid label name ${JSON.stringify(name)}` });
    else if (name.startsWith('__')) ctx.addIssue({ code: 'custom', path: [name], params: AT_KEY, message: `label ${JSON.stringify(name)}: names starting with "__" are reserved by Prometheus` });
  }
});
/** Annotation keys follow label-name syntax too. */
const annotationsSchema = z.record(z.string(), z.string()).superRefine((annotations, ctx) => {
  for (const name of Object.keys(annotations)) {
    if (!LABEL_NAME_RE.test(name)) ctx.addIssue({ code: 'custom', path: [name], params: AT_KEY, message: `invalid annotation name ${JSON.stringify(name)}` });
  }
});
const promqlSchema = z.string().min(1).superRefine((expr, ctx) => {
  const problem = promqlSyntaxMessage(expr);
  if (problem) ctx.addIssue({ code: 'custom', message: problem });
});
/** A container image reference: [registry/]repository[:tag][@sha256:digest]. */
const IMAGE_RE = /^[a-z0-9]+(?:[._-][a-z0-9]+)*(?::\d+)?(?:\/[a-z0-9]+(?:[._-][a-z0-9]+)*)*(?::[\w][\w.-]{0,127})?(?:@sha256:[a-f0-9]{64})?$/;
const imageSchema = z.string().refine((s) => IMAGE_RE.test(s), {
  error: (iss) => `invalid image ${JSON.stringify(iss.input)} (want registry/repository:tag, e.g. ghcr.io/acme/fedstack:0.2.0)`,
});
const httpUrl = z.url({ protocol: /^https?$/, error: (iss) => `invalid URL ${JSON.stringify(iss.input)} (want http:// or https://)` });

export const tierSettingsSchema = (d: {
  scrapeInterval: string;
  evaluationInterval: string;
  retention: string;
  sampleLimit: number;
}) =>
  z.strictObject({
    scrapeInterval: durationSchema.default(d.scrapeInterval),
    evaluationInterval: durationSchema.default(d.evaluationInterval),
    /** Federation scrape timeout; defaults to 80% of scrapeInterval (must not exceed it). */
    scrapeTimeout: durationSchema.optional(),
    retention: durationSchema.default(d.retention),
    /** Per-target sample limit of this tier's federation job (all-or-nothing: over it, up=0). */
    sampleLimit: intSchema(INT_RANGES.sampleLimit).default(d.sampleLimit),
    /**
     * honor_timestamps of this tier's federation job. true (default): the source's timestamps are
     * kept, so rate() is exact, but a dead source's series linger ~5m upstream (no staleness
     * markers); meta-alerts key on the federation job's `up`, which drops at once.
     */
    honorTimestamps: z.boolean().default(true),
  });

const TIER_DEFAULTS = {
  edge: { scrapeInterval: '30s', evaluationInterval: '30s', retention: '2d', sampleLimit: 0 },
  cascade: { scrapeInterval: '30s', evaluationInterval: '30s', retention: '7d', sampleLimit: 200000 },
  central: { scrapeInterval: '60s', evaluationInterval: '30s', retention: '30d', sampleLimit: 500000 },
} as const;

const extraScrapeTargetSchema = z.strictObject({
  job: z.string().min(1),
  targets: z.array(hostPortSchema).min(1),
  labels: labelsSchema.default({}),
  metricsPath: z.string().startsWith('/').default('/metrics'),
  scheme: z.enum(['http', 'https']).default('http'),
});

const metaClusterSchema = z.strictObject({
  name: nameSchema,
  /** The LoadBalancer address (host:port) its edge Prometheus is federated through. */
  endpoint: hostPortSchema,
  /** Guest clusters whose control planes this meta-cluster hosts (capacity planning, dashboards). */
  guestClusters: intSchema(INT_RANGES.guestClusters).default(0),
  /** Worker nodes of the meta-cluster (capacity planning). */
  nodes: intSchema(INT_RANGES.nodes).default(3),
  extraScrapeTargets: z.array(extraScrapeTargetSchema).default([]),
  /** Label rewrites for this meta-cluster's series, after the region's. */
  relabel: relabelSectionSchema.optional(),
});

const regionSchema = z.strictObject({
  name: nameSchema,
  metaClusters: z.array(metaClusterSchema).min(1),
  /** Label rewrites for this region's series, after the big region's. */
  relabel: relabelSectionSchema.optional(),
});

const bigRegionSchema = z.strictObject({
  name: nameSchema,
  cascade: z
    .strictObject({
      /** Where central reaches this cascade's /federate (its LoadBalancer), host:port. */
      endpoint: hostPortSchema,
      /** Egress CIDRs of the cascade: the only sources an edge LoadBalancer admits. */
      egressCidrs: z.array(z.string()).default([]),
    }),
  regions: z.array(regionSchema).min(1),
  /** Label rewrites for this big region's series, after the fleet-wide ones. */
  relabel: relabelSectionSchema.optional(),
});

const replicaSchema = z.strictObject({
  name: nameSchema,
  zone: z.string().min(1),
  /** host:port where this replica answers (used by the local profile, Grafana datasources). */
  endpoint: hostPortSchema.optional(),
});

const alertmanagerReplicaSchema = z.strictObject({
  name: nameSchema,
  zone: z.string().min(1),
  /** host:port of its HTTP API. */
  endpoint: hostPortSchema.optional(),
  /** host:port of its gossip listener (--cluster.listen-address). */
  clusterEndpoint: hostPortSchema.optional(),
});

const recordingRuleSchema = z.strictObject({
  record: z.string().refine((s) => METRIC_NAME_RE.test(s), { error: (iss) => `invalid metric name ${JSON.stringify(iss.input)}` }),
  expr: promqlSchema,
  labels: labelsSchema.default({}),
});

const alertRuleSchema = z.strictObject({
  alert: z.string().refine((s) => LABEL_NAME_RE.test(s), { error: (iss) => `invalid alert name ${JSON.stringify(iss.input)}` }),
  expr: promqlSchema,
  for: durationSchema.optional(),
  labels: labelsSchema.default({}),
  annotations: annotationsSchema.default({}),
});

export const topologySchema = z.strictObject({
  apiVersion: z.literal('fedstack/v1', { error: (iss) => `unsupported apiVersion ${JSON.stringify(iss.input)} (want "fedstack/v1")` }),
  kind: z.literal('Topology', { error: (iss) => `unsupported kind ${JSON.stringify(iss.input)} (want "Topology")` }),
  metadata: z.strictObject({ name: nameSchema }),
  global: z
    .strictObject({
      edge: tierSettingsSchema(TIER_DEFAULTS.edge).default(() => ({ ...TIER_DEFAULTS.edge, honorTimestamps: true })),
      cascade: tierSettingsSchema(TIER_DEFAULTS.cascade).default(() => ({ ...TIER_DEFAULTS.cascade, honorTimestamps: true })),
      central: tierSettingsSchema(TIER_DEFAULTS.central).default(() => ({ ...TIER_DEFAULTS.central, honorTimestamps: true })),
      /** Base URL of the fedstack service (http_sd, config, bridge), as Prometheus sees it. */
      serviceUrl: httpUrl.default('http://fedstack.fedstack-system.svc:8080'),
      /** Linked from alert emails and DingTalk messages. */
      grafanaUrl: httpUrl.optional(),
      /** Kubernetes namespace every tier is deployed to. */
      namespace: nameSchema.default('fedstack-system'),
      /** Container images of the kubernetes profile; each defaults to the version fedstack is tested with. */
      images: z
        .strictObject({
          fedstack: imageSchema.optional(),
          prometheus: imageSchema.optional(),
          alertmanager: imageSchema.optional(),
          // backend victoriametrics
          vmstorage: imageSchema.optional(),
          vminsert: imageSchema.optional(),
          vmselect: imageSchema.optional(),
          vmalert: imageSchema.optional(),
          vmagent: imageSchema.optional(),
          vmauth: imageSchema.optional(),
        })
        .optional(),
    })
    .default(() => ({
      edge: { ...TIER_DEFAULTS.edge, honorTimestamps: true },
      cascade: { ...TIER_DEFAULTS.cascade, honorTimestamps: true },
      central: { ...TIER_DEFAULTS.central, honorTimestamps: true },
      serviceUrl: 'http://fedstack.fedstack-system.svc:8080',
      namespace: 'fedstack-system',
    })),
  central: z.strictObject({
    /** Where the global tier stores and evaluates: the Prometheus pair, or VictoriaMetrics (backend.ts). */
    backend: z.enum(CENTRAL_BACKENDS).default('prometheus'),
    /** The Prometheus replicas, or with victoriametrics the vmalert replicas (one per zone). */
    replicas: z.array(replicaSchema).min(1),
    victoriaMetrics: victoriaMetricsSchema.optional(),
  }),
  alertmanager: z.strictObject({ replicas: z.array(alertmanagerReplicaSchema).min(1) }),
  bigRegions: z.array(bigRegionSchema).min(1),
  /** PromQL series selectors (a metric name is one) each tier federates; omitted → fedstack's defaults. */
  allowLists: z
    .strictObject({
      cascade: z.array(z.string().min(1)).optional(),
      central: z.array(z.string().min(1)).optional(),
    })
    .default({}),
  /** Label names dropped from every federated series at the cascade (noise, cardinality). */
  dropLabels: z.array(z.string()).optional(),
  /** Label rewrites per federation hop, fleet-wide (relabel-schema.ts). */
  relabel: relabelSectionSchema.optional(),
  /** Recording rules per tier; omitted → fedstack's defaults. */
  recordingRules: z
    .strictObject({
      edge: z.array(recordingRuleSchema).optional(),
      cascade: z.array(recordingRuleSchema).optional(),
      central: z.array(recordingRuleSchema).optional(),
    })
    .default({}),
  /** Global alert rules evaluated by both central replicas; omitted → fedstack's defaults. */
  alertRules: z.array(alertRuleSchema).optional(),
  /** Grafana: a VictoriaMetrics URL (with dedup of the replicas) becomes the default datasource. */
  dashboards: z.strictObject({ victoriaMetricsUrl: httpUrl.optional() }).optional(),
  routing: routingSchema.optional(),
  security: securitySchema.optional(),
  /**
   * Staged rollouts in the kubernetes profile: one service replica keeps the rollout state on a
   * volume, and every Prometheus' sidecar pulls its config from it. Off: sidecars apply the
   * mounted ConfigMaps, and the service runs two replicas. (`fedstack up` always runs rollouts.)
   */
  rollouts: z.strictObject({ enabled: z.boolean() }).optional(),
});

export type TopologyInput = z.input<typeof topologySchema>;
export type TopologyShape = z.output<typeof topologySchema>;
