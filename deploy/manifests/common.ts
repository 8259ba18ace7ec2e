/**
 * What every fedstack workload shares in Kubernetes: images, names, labels, hardened security
 * contexts, and the references to Secrets that operators create (fedstack never renders
 * secret data; it only points at Secrets by name and key).
 */
import type { IIoK8sApiAppsV1StatefulSetSpec } from 'kubernetes-models/apps/v1';
import type {
  IIoK8sApiCoreV1PodSecurityContext,
  IIoK8sApiCoreV1SecurityContext,
} from 'kubernetes-models/v1';
import { Namespace, ServiceAccount, type INamespace, type IServiceAccount } from 'kubernetes-models/v1';

/**
 * Default images, pinned to the versions fedstack is tested against (Debian's 2.42 / 0.25);
 * the topology's `global.images` overrides each (see `images`).
 */
const IMAGE = {
  prometheus: 'quay.io/prometheus/prometheus:v2.42.0',
  alertmanager: 'quay.io/prometheus/alertmanager:v0.25.0',
  /** The fedstack CLI (serve, sidecar); carries promtool for the sidecar's checks. */
  fedstack: 'ghcr.io/fedstack/fedstack:0.1.0',
  /**
   * The VictoriaMetrics backend at Debian's 1.79.5, the version the tests run (cluster
   * components carry upstream's `-cluster` tag suffix). Never v1.117.0, v1.110.7 or v1.102.20:
   * they skip -remoteWrite.relabelConfig (VictoriaMetrics issue 8941).
   */
  vmstorage: 'victoriametrics/vmstorage:v1.79.5-cluster',
  vminsert: 'victoriametrics/vminsert:v1.79.5-cluster',
  vmselect: 'victoriametrics/vmselect:v1.79.5-cluster',
  vmalert: 'victoriametrics/vmalert:v1.79.5',
  vmagent: 'victoriametrics/vmagent:v1.79.5',
  vmauth: 'victoriametrics/vmauth:v1.79.5',
} as const;

/** Secrets fedstack refers to but never renders; operators create them (see docs in index.ts). */
export const SECRET = {
  /** Bearer token shared by the service and the edge sidecars (key `token`). */
  sidecarToken: { name: 'fedstack-sidecar-token', key: 'token' },
  /**
   * Bearer token for the service's read routes (/v1/sd, /v1/config): cascades present it to
   * http_sd, operators to fetch rendered files (key `token`).
   */
  readToken: { name: 'fedstack-read-token', key: 'token' },
  /** Bearer token for operator actions (rollouts, the console's buttons); only operators hold it. */
  operatorToken: { name: 'fedstack-operator-token', key: 'token' },
  /** etcd client certificate for the edge's etcd job (keys ca.crt, client.crt, client.key); optional. */
  etcdClient: 'fedstack-etcd-client',
} as const;

/** Paths inside fedstack containers. */
export const PATH = {
  /** The mounted ConfigMap the sidecar checks before anything goes live. */
  mountedConfig: '/etc/fedstack/config',
  sidecarToken: '/var/run/fedstack/token',
  readToken: '/var/run/fedstack/read-token',
  operatorToken: '/var/run/fedstack/operator-token',
  topology: '/etc/fedstack/topology',
  /** The alert bridge's durable outbox (a PersistentVolumeClaim per service replica). */
  outbox: '/var/lib/fedstack/outbox',
  /** Staged rollouts' durable state (serve --data-dir; a PersistentVolumeClaim). */
  rolloutState: '/var/lib/fedstack/rollouts',
  /** Receivers' Secrets, one folder per Secret: <bridgeSecrets>/<name>/<key> (serve --secrets-dir). */
  bridgeSecrets: '/etc/fedstack/secrets',
  promtool: '/bin/promtool',
  prometheusData: '/prometheus',
  alertmanagerData: '/alertmanager',
} as const;

export type Tier = 'edge' | 'cascade' | 'central' | 'alertmanager' | 'service';

export function labels(tier: Tier, instance: string): Record<string, string> {
  return {
    'app.kubernetes.io/name':
      tier === 'alertmanager' ? 'alertmanager' : tier === 'service' ? 'fedstack' : 'prometheus',
    'app.kubernetes.io/component': tier,
    'app.kubernetes.io/instance': instance,
    'app.kubernetes.io/part-of': 'fedstack',
    'app.kubernetes.io/managed-by': 'fedstack',
  };
}

/** The labels a selector uses: stable across fedstack versions (selectors are immutable). */
export function selectorLabels(tier: Tier, instance: string): Record<string, string> {
  const l = labels(tier, instance);
  return {
    'app.kubernetes.io/name': l['app.kubernetes.io/name']!,
    'app.kubernetes.io/component': tier,
    'app.kubernetes.io/instance': instance,
  };
}

/** nobody:nogroup, as the upstream Prometheus image runs. */
export const POD_SECURITY: IIoK8sApiCoreV1PodSecurityContext = {
  runAsNonRoot: true,
  runAsUser: 65534,
  runAsGroup: 65534,
  fsGroup: 65534,
  seccompProfile: { type: 'RuntimeDefault' },
};

export const CONTAINER_SECURITY: IIoK8sApiCoreV1SecurityContext = {
  allowPrivilegeEscalation: false,
  readOnlyRootFilesystem: true,
  capabilities: { drop: ['ALL'] },
};

export function namespace(name: string): INamespace {
  return k8s(Namespace, { metadata: { name, labels: { 'app.kubernetes.io/part-of': 'fedstack' } } });
}

export function serviceAccount(
  name: string,
  ns: string,
  tier: Tier,
  instance: string,
  automount: boolean,
): IServiceAccount {
  return k8s(ServiceAccount, {
    metadata: { name, namespace: ns, labels: labels(tier, instance) },
    automountServiceAccountToken: automount,
  });
}

/** Resources per tier: a starting point sized for the ACK-like example fleet; overlays adjust. */
export const RESOURCES = {
  edge: { requests: { cpu: '500m', memory: '2Gi' }, limits: { memory: '4Gi' } },
  cascade: { requests: { cpu: '1', memory: '4Gi' }, limits: { memory: '8Gi' } },
  central: { requests: { cpu: '2', memory: '8Gi' }, limits: { memory: '16Gi' } },
  alertmanager: { requests: { cpu: '100m', memory: '128Mi' }, limits: { memory: '512Mi' } },
  service: { requests: { cpu: '200m', memory: '256Mi' }, limits: { memory: '512Mi' } },
  sidecar: { requests: { cpu: '50m', memory: '96Mi' }, limits: { memory: '256Mi' } },
  // backend victoriametrics: `fedstack capacity` sizes vmstorage for the fleet; overlays adjust.
  vmstorage: { requests: { cpu: '1', memory: '4Gi' }, limits: { memory: '8Gi' } },
  vminsert: { requests: { cpu: '500m', memory: '512Mi' }, limits: { memory: '1Gi' } },
  vmselect: { requests: { cpu: '500m', memory: '1Gi' }, limits: { memory: '2Gi' } },
  vmalert: { requests: { cpu: '200m', memory: '256Mi' }, limits: { memory: '512Mi' } },
  vmagent: { requests: { cpu: '100m', memory: '128Mi' }, limits: { memory: '256Mi' } },
  vmauth: { requests: { cpu: '100m', memory: '64Mi' }, limits: { memory: '256Mi' } },
} as const;

export const STORAGE = {
  edge: '50Gi',
  cascade: '200Gi',
  central: '500Gi',
  alertmanager: '2Gi',
  outbox: '1Gi',
  rolloutState: '1Gi',
} as const;

/** A StatefulSet's volume claim template: one ReadWriteOnce volume per pod. */
export function volumeClaim(
  name: string,
  storage: string,
  labels?: Record<string, string>,
): NonNullable<IIoK8sApiAppsV1StatefulSetSpec['volumeClaimTemplates']>[number] {
  return {
    metadata: { name, labels },
    spec: { accessModes: ['ReadWriteOnce'], resources: { requests: { storage } } },
  };
}

/** A kubernetes-models class: its type meta, its schema check, and what its constructor takes. */
interface ModelClass {
  readonly apiVersion: string;
  readonly kind: string;
  readonly prototype: { validate(): void };
  new (data?: never): unknown;
}
type DataOf<C> = C extends new (data?: infer D) => unknown ? NonNullable<D> : never;
/** The object a model class describes, as plain data: its data plus apiVersion and kind. */
export type ObjectOf<C extends ModelClass> = DataOf<C> & {
  readonly apiVersion: C['apiVersion'];
  readonly kind: C['kind'];
};

/**
 * A Kubernetes object as plain data, typed by and checked against the schema of its
 * kubernetes-models class. Plain data, not a model instance: a model copies its input on
 * construction and again in toJSON, which a 10,000-edge render pays 20,000 times per kind.
 * Throws `Kind "name" is not a valid Kubernetes object: ...`.
 */
export function k8s<C extends ModelClass>(Model: C, data: DataOf<C>): ObjectOf<C> {
  const obj = { apiVersion: Model.apiVersion, kind: Model.kind, ...data } as ObjectOf<C>;
  try {
    Model.prototype.validate.call(obj);
  } catch (e) {
    const name = (obj as { metadata?: { name?: string } }).metadata?.name ?? '?';
    throw new Error(`${obj.kind} "${name}" is not a valid Kubernetes object: ${(e as Error).message}`);
  }
  return obj;
}

/** The images a topology deploys: its `global.images`, else fedstack's defaults. */
export function images(topo: {
  readonly global: { readonly images?: Partial<Record<keyof typeof IMAGE, string>> | undefined };
}): Record<keyof typeof IMAGE, string> {
  const given = topo.global.images ?? {};
  return Object.fromEntries(
    (Object.keys(IMAGE) as (keyof typeof IMAGE)[]).map((k) => [k, given[k] ?? IMAGE[k]]),
  ) as Record<keyof typeof IMAGE, string>;
}
