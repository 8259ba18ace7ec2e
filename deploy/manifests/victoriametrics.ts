/**
 * The VictoriaMetrics backend of the global tier in Kubernetes (`central.backend:
 * victoriametrics`): one vmalert per central replica (central/<replica>/), and the storage
 * side (victoriametrics/): a vmstorage StatefulSet with PersistentVolumeClaims per central
 * replica's zone, vminsert and vmselect Deployments spread over those zones, vmagent for the
 * backend's own metrics, and vmauth (the cascades' authenticated write entry) when federation
 * is secured. Flags come from the plan (central/victoriametrics.ts) through common/vmflags.ts,
 * the same argument builders the local stack runs.
 *
 * Operators create, besides the federation Secrets: nothing new. vmauth serves with
 * security.federation.tls.serverCertSecret and reads the password of basicAuth.password from
 * its environment (auth.yml carries only `%{FEDSTACK_FEDERATION_PASSWORD}`).
 */
import { Deployment, StatefulSet } from 'kubernetes-models/apps/v1';
import { PodDisruptionBudget } from 'kubernetes-models/policy/v1';
import type { IIoK8sApiCoreV1Container, IIoK8sApiCoreV1Volume } from 'kubernetes-models/v1';
import { Service } from 'kubernetes-models/v1';
import { PORT, SERVICE, VM_DIR, VM_MOUNT, VMAUTH_PASSWORD_ENV } from '../../common/conventions.ts';
import {
  vmagentArgs,
  vmalertArgs,
  vmauthArgs,
  vminsertArgs,
  vmselectArgs,
  vmstorageArgs,
} from '../../common/vmflags.ts';
import type { VictoriaMetricsBundle, VmalertBundle } from '../../central/victoriametrics.ts';
import type { CentralReplica, Topology } from '../../topology/model.ts';
import {
  CONTAINER_SECURITY,
  images,
  k8s,
  namespace,
  POD_SECURITY,
  RESOURCES,
  volumeClaim,
} from './common.ts';
import { bundle, type ConfigMapGenerator, type KubeObject, type ManifestBundle } from './index.ts';

/** The manifests' view of the plan with the victoriametrics backend. */
export interface VmManifestSource {
  readonly topology: Topology;
  vmalert(replica: string): VmalertBundle | undefined;
  victoriaMetrics(): VictoriaMetricsBundle | undefined;
}

type Component = 'vmstorage' | 'vminsert' | 'vmselect' | 'vmalert' | 'vmagent' | 'vmauth';

const ZONE_KEY = 'topology.kubernetes.io/zone';
const CONFIG_MAP = 'victoriametrics-config';

function vmLabels(component: Component, instance: string): Record<string, string> {
  return {
    'app.kubernetes.io/name': component,
    'app.kubernetes.io/component': 'central',
    'app.kubernetes.io/instance': instance,
    'app.kubernetes.io/part-of': 'fedstack',
    'app.kubernetes.io/managed-by': 'fedstack',
  };
}
const vmSelector = (component: Component, instance: string) => {
  const l = vmLabels(component, instance);
  return {
    'app.kubernetes.io/name': component,
    'app.kubernetes.io/instance': l['app.kubernetes.io/instance']!,
  };
};
const serviceName = (dns: string) => dns.split('.')[0]!;

/** Pods of one component spread evenly over zones (and hosts), never all in one. */
function spread(component: Component) {
  const labelSelector = { matchLabels: { 'app.kubernetes.io/name': component } };
  return {
    topologySpreadConstraints: [
      { maxSkew: 1, topologyKey: ZONE_KEY, whenUnsatisfiable: 'DoNotSchedule' as const, labelSelector },
      {
        maxSkew: 1,
        topologyKey: 'kubernetes.io/hostname',
        whenUnsatisfiable: 'ScheduleAnyway' as const,
        labelSelector,
      },
    ],
  };
}

/** One VictoriaMetrics container: its args, its HTTP port (probed on /health), its mounts. */
function container(
  name: Component,
  image: string,
  args: readonly string[],
  port: number,
  extra: Partial<IIoK8sApiCoreV1Container> = {},
  scheme: 'HTTP' | 'HTTPS' = 'HTTP',
): IIoK8sApiCoreV1Container {
  return {
    name,
    image,
    args: [...args],
    ports: [{ name: 'http', containerPort: port, protocol: 'TCP' }],
    readinessProbe: { httpGet: { path: '/health', port: 'http', scheme }, periodSeconds: 10 },
    livenessProbe: {
      httpGet: { path: '/health', port: 'http', scheme },
      periodSeconds: 30,
      failureThreshold: 6,
      initialDelaySeconds: 30,
    },
    securityContext: CONTAINER_SECURITY,
    resources: RESOURCES[name],
    ...extra,
  };
}

function pdb(name: string, ns: string, component: Component, instance: string, replicas: number): KubeObject {
  return k8s(PodDisruptionBudget, {
    metadata: { name, namespace: ns, labels: vmLabels(component, instance) },
    spec: {
      selector: { matchLabels: vmSelector(component, instance) },
      ...(replicas > 1 ? { minAvailable: 1 } : { maxUnavailable: 1 }),
    },
  });
}

/** A stable ConfigMap name: kubelet swaps the files and vmalert/vmagent re-read them (-configCheckInterval). */
const configMap = (name: string, files: readonly string[]): ConfigMapGenerator => ({
  name,
  files,
  options: { labels: { 'app.kubernetes.io/part-of': 'fedstack' }, disableNameSuffixHash: true },
});

/** One vmalert replica, pinned to its central replica's zone: the rules ConfigMap, a Deployment, a Service. */
export function vmalertManifests(
  src: VmManifestSource,
  replica: CentralReplica,
  configFiles: readonly string[],
  manifestsFile: string,
): ManifestBundle {
  const topo = src.topology;
  const ns = topo.global.namespace;
  const name = serviceName(SERVICE.vmalert(replica.name, ns));
  const entry = src.vmalert(replica.name);
  if (entry === undefined) throw new Error(`central replica ${replica.name} has no vmalert`);
  const selector = vmSelector('vmalert', replica.name);
  const meta = { name, namespace: ns, labels: vmLabels('vmalert', replica.name) };
  return bundle(
    `central/${replica.name}`,
    ns,
    [manifestsFile],
    () => [
      namespace(ns),
      k8s(Deployment, {
        metadata: meta,
        spec: {
          replicas: 1,
          selector: { matchLabels: selector },
          template: {
            metadata: { labels: vmLabels('vmalert', replica.name) },
            spec: {
              automountServiceAccountToken: false,
              securityContext: POD_SECURITY,
              nodeSelector: { [ZONE_KEY]: replica.zone },
              containers: [
                container('vmalert', images(topo).vmalert, vmalertArgs(entry.flags), PORT.vmalert, {
                  volumeMounts: [{ name: 'rules', mountPath: VM_MOUNT.rules, readOnly: true }],
                }),
              ],
              volumes: [{ name: 'rules', configMap: { name: `${name}-rules` } }],
            },
          },
        },
      }),
      k8s(Service, {
        metadata: meta,
        spec: {
          selector,
          ports: [{ name: 'http', port: PORT.vmalert, targetPort: 'http', protocol: 'TCP' }],
        },
      }),
    ],
    [configMap(`${name}-rules`, configFiles)],
  );
}

/** The storage side: vmstorage per zone, vminsert, vmselect, vmagent, and vmauth when secured. */
export function victoriaMetricsManifests(
  src: VmManifestSource,
  configFiles: readonly string[],
  manifestsFile: string,
): ManifestBundle {
  const topo = src.topology;
  const ns = topo.global.namespace;
  const b = src.victoriaMetrics();
  if (b?.cluster === undefined)
    throw new Error('victoriametrics: the plan has no cluster (kubernetes profile only)');
  const cluster = b.cluster;
  const img = images(topo);
  const configVolume: IIoK8sApiCoreV1Volume = { name: 'config', configMap: { name: CONFIG_MAP } };
  const configMount = { name: 'config', mountPath: VM_MOUNT.config, readOnly: true };

  const objects = (): KubeObject[] => {
    const out: KubeObject[] = [namespace(ns)];
    for (const slice of cluster.vmstorage) {
      if (slice.nodes === 0) continue;
      const name = `vmstorage-${slice.replica.name}`;
      const selector = vmSelector('vmstorage', slice.replica.name);
      const meta = { name, namespace: ns, labels: vmLabels('vmstorage', slice.replica.name) };
      out.push(
        k8s(Service, {
          metadata: meta,
          spec: {
            clusterIP: 'None',
            // vminsert and vmselect address each node by name; a starting node must resolve.
            publishNotReadyAddresses: true,
            selector,
            ports: [
              { name: 'http', port: PORT.vmstorage, targetPort: 'http', protocol: 'TCP' },
              { name: 'vminsert', port: PORT.vmstorageInsert, targetPort: 'vminsert', protocol: 'TCP' },
              { name: 'vmselect', port: PORT.vmstorageSelect, targetPort: 'vmselect', protocol: 'TCP' },
            ],
          },
        }),
        k8s(StatefulSet, {
          metadata: meta,
          spec: {
            serviceName: name,
            replicas: slice.nodes,
            podManagementPolicy: 'Parallel',
            selector: { matchLabels: selector },
            template: {
              metadata: { labels: vmLabels('vmstorage', slice.replica.name) },
              spec: {
                automountServiceAccountToken: false,
                securityContext: POD_SECURITY,
                // Its zone: vminsert's consecutive copies of a sample then sit in different zones.
                nodeSelector: { [ZONE_KEY]: slice.replica.zone },
                // vmstorage flushes its in-memory parts on SIGTERM.
                terminationGracePeriodSeconds: 120,
                containers: [
                  container('vmstorage', img.vmstorage, vmstorageArgs(slice.flags), PORT.vmstorage, {
                    ports: [
                      { name: 'http', containerPort: PORT.vmstorage, protocol: 'TCP' },
                      { name: 'vminsert', containerPort: PORT.vmstorageInsert, protocol: 'TCP' },
                      { name: 'vmselect', containerPort: PORT.vmstorageSelect, protocol: 'TCP' },
                    ],
                    volumeMounts: [{ name: 'storage', mountPath: VM_MOUNT.storage }],
                  }),
                ],
              },
            },
            volumeClaimTemplates: [
              volumeClaim('storage', cluster.storageSize, vmLabels('vmstorage', slice.replica.name)),
            ],
          },
        }),
        pdb(name, ns, 'vmstorage', slice.replica.name, slice.nodes),
      );
    }

    const stateless = (
      component: 'vminsert' | 'vmselect' | 'vmagent' | 'vmauth',
      replicas: number,
      c: IIoK8sApiCoreV1Container,
      volumes: IIoK8sApiCoreV1Volume[],
    ) => {
      const selector = vmSelector(component, component);
      const meta = { name: component, namespace: ns, labels: vmLabels(component, component) };
      out.push(
        k8s(Deployment, {
          metadata: meta,
          spec: {
            replicas,
            selector: { matchLabels: selector },
            template: {
              metadata: { labels: vmLabels(component, component) },
              spec: {
                automountServiceAccountToken: false,
                securityContext: POD_SECURITY,
                ...spread(component),
                containers: [c],
                volumes: volumes.length > 0 ? volumes : undefined,
              },
            },
          },
        }),
        pdb(component, ns, component, component, replicas),
      );
      return { selector, meta };
    };

    for (const component of ['vminsert', 'vmselect'] as const) {
      const spec = cluster[component];
      const args =
        component === 'vminsert'
          ? vminsertArgs(cluster.vminsert.flags)
          : vmselectArgs(cluster.vmselect.flags);
      const port = component === 'vminsert' ? PORT.vminsert : PORT.vmselect;
      const { selector, meta } = stateless(
        component,
        spec.replicas,
        container(component, img[component], args, port, {
          // vmselect keeps its query cache here (the root filesystem is read-only).
          ...(component === 'vmselect' ? { volumeMounts: [{ name: 'cache', mountPath: '/cache' }] } : {}),
          ...(component === 'vmselect' ? { args: [...args, '-cacheDataPath=/cache'] } : {}),
        }),
        component === 'vmselect' ? [{ name: 'cache', emptyDir: {} }] : [],
      );
      const ports = [{ name: 'http', port, targetPort: 'http', protocol: 'TCP' as const }];
      out.push(
        // In-cluster: vmalert, vmagent and Grafana (vmselect), vmauth and vmalert (vminsert).
        k8s(Service, { metadata: meta, spec: { selector, ports } }),
        // Without vmauth the cascades write to vminsert itself: a LoadBalancer of its own,
        // open to their egress only (none declared: not exposed at all).
        ...(component === 'vminsert' && b.vmauth === undefined && cascadeEgress(topo).length > 0
          ? [
              k8s(Service, {
                metadata: { ...meta, name: 'vminsert-write' },
                spec: {
                  type: 'LoadBalancer' as const,
                  selector,
                  ports: writePorts(topo),
                  externalTrafficPolicy: 'Local',
                  loadBalancerSourceRanges: cascadeEgress(topo),
                },
              }),
            ]
          : []),
        // Every pod by DNS, for the self-monitoring scrape.
        k8s(Service, {
          metadata: {
            ...meta,
            name: serviceName(component === 'vminsert' ? SERVICE.vminsertPods(ns) : SERVICE.vmselectPods(ns)),
          },
          spec: { clusterIP: 'None', selector, ports },
        }),
      );
    }

    stateless(
      'vmagent',
      1,
      container('vmagent', img.vmagent, vmagentArgs(cluster.vmagent.flags), PORT.vmagent, {
        volumeMounts: [configMount, { name: 'queue', mountPath: VM_MOUNT.queue }],
      }),
      [configVolume, { name: 'queue', emptyDir: {} }],
    );

    const fed = topo.security?.federation;
    if (b.vmauth !== undefined && fed?.basicAuth !== undefined) {
      const tls = fed.tls;
      const tlsDir = VM_MOUNT.tlsCertFile.slice(0, VM_MOUNT.tlsCertFile.lastIndexOf('/'));
      const { selector, meta } = stateless(
        'vmauth',
        2,
        container(
          'vmauth',
          img.vmauth,
          vmauthArgs(b.vmauth),
          PORT.vmauth,
          {
            env: [
              {
                name: VMAUTH_PASSWORD_ENV,
                valueFrom: {
                  secretKeyRef: { name: fed.basicAuth.password.name, key: fed.basicAuth.password.key },
                },
              },
            ],
            volumeMounts: [configMount, ...(tls ? [{ name: 'tls', mountPath: tlsDir, readOnly: true }] : [])],
          },
          tls ? 'HTTPS' : 'HTTP',
        ),
        [
          configVolume,
          ...(tls ? [{ name: 'tls', secret: { secretName: tls.serverCertSecret, defaultMode: 0o440 } }] : []),
        ],
      );
      const ports = [{ name: 'http', port: PORT.vmauth, targetPort: 'http', protocol: 'TCP' as const }];
      const sources = cascadeEgress(topo);
      out.push(
        // The cascades' write entry: admits only their big regions' egressCidrs; with none
        // declared it stays ClusterIP, never opened to the internet by default.
        k8s(Service, {
          metadata: meta,
          spec:
            sources.length > 0
              ? {
                  type: 'LoadBalancer',
                  selector,
                  ports: writePorts(topo),
                  externalTrafficPolicy: 'Local',
                  loadBalancerSourceRanges: sources,
                }
              : { selector, ports },
        }),
        k8s(Service, {
          metadata: { ...meta, name: serviceName(SERVICE.vmauthPods(ns)) },
          spec: { clusterIP: 'None', selector, ports },
        }),
      );
    }
    return out;
  };

  return bundle(VM_DIR, ns, [manifestsFile], objects, [configMap(CONFIG_MAP, configFiles)]);
}

/** The write LoadBalancer listens on the port of central.victoriaMetrics.endpoint, where the cascades write. */
function writePorts(topo: Topology) {
  const port = Number(/:(\d+)$/.exec(topo.central.victoriaMetrics!.endpoint)![1]);
  return [{ name: 'http', port, targetPort: 'http', protocol: 'TCP' as const }];
}

/** Where cascades write from: every big region's declared egress CIDRs. */
function cascadeEgress(topo: Topology): string[] {
  return [...new Set(topo.bigRegions.flatMap((b) => b.cascade.egressCidrs ?? []))].sort();
}
