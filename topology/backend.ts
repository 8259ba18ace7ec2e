/**
 * The global tier's storage (`central.backend`): the Prometheus pair (default), or
 * VictoriaMetrics fed by every cascade's remote_write and evaluated by a vmalert pair.
 *
 * ```yaml
 * central:
 *   backend: victoriametrics
 *   replicas:                    # the vmalert pair (one per zone); vmstorage spreads over these zones
 *     - { name: central-a, zone: cn-hangzhou-h }
 *     - { name: central-b, zone: cn-hangzhou-i }
 *   victoriaMetrics:
 *     endpoint: vm-write.example.com:8427   # where the cascades' remote_write reach it
 *     replicationFactor: 2                 # copies of each sample (vminsert -replicationFactor)
 *     vmstorage: 4                         # nodes, alternating zones
 *     vminsert: 2
 *     vmselect: 2
 *     storageSize: 500Gi                   # PVC per vmstorage node
 * ```
 *
 * Shape here; the rules that tie it to the rest of the topology (a section only with its
 * backend, enough nodes for the replication factor and the zones) are `checkBackend`.
 */
import { z } from 'zod';
import type { Profile } from '../common/conventions.ts';
import type { PathSegment, TopologyIssue } from './errors.ts';
import { hostPortSchema, intSchema } from './fields.ts';

export const CENTRAL_BACKENDS = ['prometheus', 'victoriametrics'] as const;
export type CentralBackend = (typeof CENTRAL_BACKENDS)[number];

/** A Kubernetes quantity for a volume size (500Gi, 1Ti, 200G). */
const QUANTITY_RE = /^\d+(?:\.\d+)?(?:Ki|Mi|Gi|Ti|Pi|Ei|k|M|G|T|P|E)?$/;

export const BACKEND_RANGES = {
  /** vminsert refuses a factor above the number of vmstorage nodes; 5 copies is past any need. */
  replicationFactor: { min: 1, max: 5 },
  vmstorage: { min: 1, max: 1000 },
  vminsert: { min: 1, max: 100 },
  vmselect: { min: 1, max: 100 },
} as const;

export const victoriaMetricsSchema = z.strictObject({
  /**
   * Where the cascades' remote_write reaches VictoriaMetrics, host:port: vmauth's LoadBalancer
   * when federation is secured (TLS + basic auth), else vminsert's (kubernetes); the write
   * entry on loopback (local).
   */
  endpoint: hostPortSchema,
  /**
   * Local profile: where the single-node victoria-metrics answers (vmalert, Grafana). Defaults
   * to `endpoint`; required when federation is secured, since vmauth then holds `endpoint`.
   */
  queryEndpoint: hostPortSchema.optional(),
  /** Copies of every sample on distinct vmstorage nodes (vminsert -replicationFactor). */
  replicationFactor: intSchema(BACKEND_RANGES.replicationFactor).default(2),
  /** vmstorage nodes, spread over the central replicas' zones in turn. */
  vmstorage: intSchema(BACKEND_RANGES.vmstorage).default(4),
  vminsert: intSchema(BACKEND_RANGES.vminsert).default(2),
  vmselect: intSchema(BACKEND_RANGES.vmselect).default(2),
  /** The PersistentVolumeClaim of each vmstorage node. */
  storageSize: z
    .string()
    .refine((s) => QUANTITY_RE.test(s), {
      error: (iss) => `invalid size ${JSON.stringify(iss.input)} (want a Kubernetes quantity, e.g. 500Gi)`,
    })
    .default('500Gi'),
});
export type VictoriaMetricsSettings = z.output<typeof victoriaMetricsSchema>;

interface CentralView {
  readonly backend: CentralBackend;
  readonly replicas: readonly { readonly zone: string }[];
  readonly victoriaMetrics?: Readonly<VictoriaMetricsSettings> | undefined;
}

/**
 * Cross-field rules of the backend choice. `secured`: federation has TLS or basic auth;
 * `basicAuth`: it has basic auth.
 */
export function checkBackend(
  central: CentralView,
  opts: { readonly profile?: Profile; readonly secured: boolean; readonly basicAuth: boolean },
): TopologyIssue[] {
  const vm = central.victoriaMetrics;
  const at = (...p: PathSegment[]): PathSegment[] => ['central', 'victoriaMetrics', ...p];
  if (central.backend === 'prometheus') {
    return vm === undefined
      ? []
      : [
          {
            path: at(),
            atKey: true,
            message:
              'only used with backend: victoriametrics (set central.backend: victoriametrics, or remove this section)',
          },
        ];
  }
  if (vm === undefined)
    return [
      {
        path: ['central', 'backend'],
        message:
          "victoriametrics needs central.victoriaMetrics with an endpoint (where the cascades' remote_write reaches it)",
      },
    ];
  const issues: TopologyIssue[] = [];
  if (opts.secured && !opts.basicAuth)
    issues.push({
      path: ['central', 'backend'],
      message:
        "victoriametrics with secured federation needs security.federation.basicAuth: vmauth 1.79, the cascades' write entry, authenticates writers by it and cannot check client certificates (with TLS alone, or mutual TLS it cannot check, anyone in the source ranges could write)",
    });
  if (vm.replicationFactor > vm.vmstorage)
    issues.push({
      path: at('replicationFactor'),
      message: `${vm.replicationFactor} copies need at least ${vm.replicationFactor} vmstorage nodes, got ${vm.vmstorage}`,
    });
  const zones = new Set(central.replicas.map((r) => r.zone)).size;
  if (vm.vmstorage < zones)
    issues.push({
      path: at('vmstorage'),
      message: `${vm.vmstorage} vmstorage node(s) cannot cover the ${zones} zones of central.replicas; use at least ${zones}`,
    });
  if (opts.profile === 'local' && opts.secured && vm.queryEndpoint === undefined)
    issues.push({
      path: at('endpoint'),
      message:
        'with secured federation the local profile puts vmauth on endpoint: give queryEndpoint too (where victoria-metrics itself answers)',
    });
  if (vm.queryEndpoint !== undefined && vm.queryEndpoint === vm.endpoint && opts.secured)
    issues.push({
      path: at('queryEndpoint'),
      message: 'must differ from endpoint: with secured federation vmauth listens on endpoint',
    });
  return issues;
}
