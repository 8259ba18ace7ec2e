/**
 * One Prometheus workload (edge, cascade or a central replica): its ConfigMap, StatefulSet
 * (Prometheus + the config sidecar + its init run), Services, NetworkPolicy and PDB.
 *
 * Config flow in the pod: the ConfigMap is mounted at PATH.mountedConfig; the sidecar checks
 * each change with promtool in a staging copy and only then moves it into the `live` emptyDir
 * that Prometheus reads (MOUNT.config) and calls /-/reload. An init container does the first
 * checked copy, so a pod that restarts on a bad ConfigMap still fails loudly rather than
 * running half-configured.
 */
import { StatefulSet } from 'kubernetes-models/apps/v1';
import { NetworkPolicy } from 'kubernetes-models/networking.k8s.io/v1';
import { PodDisruptionBudget } from 'kubernetes-models/policy/v1';
import type {
  IIoK8sApiCoreV1Probe,
  IIoK8sApiCoreV1Volume,
  IIoK8sApiCoreV1VolumeMount,
  IIoK8sApiCoreV1VolumeProjection,
} from 'kubernetes-models/v1';
import { ConfigMap, Service } from 'kubernetes-models/v1';
import { FILE, MOUNT, PORT } from '../../common/conventions.ts';
import { sidecarArgs } from '../../sidecar/args.ts';
import type { SidecarOptions } from '../../sidecar/sidecar.ts';
import { PASSWORD_HASH_FILE, type SecurityView } from '../../topology/security.ts';
import {
  CONTAINER_SECURITY,
  IMAGE,
  labels,
  PATH,
  POD_SECURITY,
  RESOURCES,
  SECRET,
  selectorLabels,
  STORAGE,
} from './common.ts';

export type PrometheusTier = 'edge' | 'cascade' | 'central';

export interface PrometheusWorkload {
  readonly tier: PrometheusTier;
  /** Meta-cluster, big region or central replica name. */
  readonly instance: string;
  /** Object name of the StatefulSet and its Services. */
  readonly name: string;
  readonly namespace: string;
  /** File name → text, put in the ConfigMap (prometheus.yml, rules.yml, web-config.yml). */
  readonly files: ReadonlyMap<string, string>;
  readonly retention: string;
  readonly replicas: number;
  readonly security: SecurityView | undefined;
  /** This tier serves its /federate behind TLS + basic auth (edge, cascade). */
  readonly serves: boolean;
  /** This tier scrapes a protected tier below (cascade, central). */
  readonly scrapes: boolean;
  /**
   * Sources admitted to the federation port from outside the cluster. undefined: no
   * LoadBalancer (central); empty: none admitted, so the Service stays ClusterIP.
   */
  readonly federationSources?: readonly string[];
  /** Heartbeat settings for edges. */
  readonly heartbeat?: {
    readonly serviceUrl: string;
    readonly metaCluster: string;
    readonly endpoint: string;
  };
  /** Pin to one zone (central replicas). */
  readonly zone?: string;
  /** A service account with discovery RBAC (edge) or none at all. */
  readonly serviceAccountName: string;
  readonly automountToken: boolean;
  /** Extra Secret volumes (edge etcd client certs). */
  readonly extraSecretMounts?: readonly {
    readonly name: string;
    readonly secretName: string;
    readonly mountPath: string;
    readonly optional: boolean;
  }[];
}

const ZONE_KEY = 'topology.kubernetes.io/zone';

export function prometheusObjects(
  w: PrometheusWorkload,
): (ConfigMap | StatefulSet | Service | NetworkPolicy | PodDisruptionBudget)[] {
  const meta = { namespace: w.namespace, labels: labels(w.tier, w.instance) };
  const selector = selectorLabels(w.tier, w.instance);
  const fed = w.security?.federation;
  const tls = w.serves ? fed?.tls : undefined;
  const auth = fed?.basicAuth;
  const configMapName = `${w.name}-config`;

  const configMap = new ConfigMap({
    metadata: { name: configMapName, ...meta },
    data: Object.fromEntries(w.files),
  });

  // Every file under /etc/prometheus/secrets/federation comes from a Secret reference.
  const projections: IIoK8sApiCoreV1VolumeProjection[] = [];
  if (auth && (w.scrapes || w.serves))
    projections.push({
      secret: { name: auth.password.name, items: [{ key: auth.password.key, path: 'password' }] },
    });
  if (auth && w.serves)
    projections.push({
      secret: {
        name: auth.passwordHash.name,
        items: [{ key: auth.passwordHash.key, path: 'password.bcrypt' }],
      },
    });
  if (fed?.tls && w.scrapes)
    projections.push({ secret: { name: fed.tls.ca.name, items: [{ key: fed.tls.ca.key, path: 'ca.crt' }] } });
  const federationDir = MOUNT.federationPasswordFile.slice(0, MOUNT.federationPasswordFile.lastIndexOf('/'));
  const tlsDir = MOUNT.tlsCertFile.slice(0, MOUNT.tlsCertFile.lastIndexOf('/'));

  const volumes: IIoK8sApiCoreV1Volume[] = [
    { name: 'config', configMap: { name: configMapName } },
    { name: 'live', emptyDir: {} },
    { name: 'tmp', emptyDir: {} },
    ...(projections.length
      ? [{ name: 'federation', projected: { sources: projections, defaultMode: 0o440 } }]
      : []),
    ...(tls ? [{ name: 'tls', secret: { secretName: tls.serverCertSecret, defaultMode: 0o440 } }] : []),
    ...(w.heartbeat
      ? [
          {
            name: 'sidecar-token',
            secret: {
              secretName: SECRET.sidecarToken.name,
              items: [{ key: SECRET.sidecarToken.key, path: 'token' }],
              defaultMode: 0o440,
            },
          },
        ]
      : []),
    ...(w.extraSecretMounts ?? []).map((m) => ({
      name: m.name,
      secret: { secretName: m.secretName, optional: m.optional, defaultMode: 0o440 },
    })),
  ];
  const secretMounts: IIoK8sApiCoreV1VolumeMount[] = [
    ...(projections.length ? [{ name: 'federation', mountPath: federationDir, readOnly: true }] : []),
    ...(tls ? [{ name: 'tls', mountPath: tlsDir, readOnly: true }] : []),
  ];

  const scheme = tls ? 'https' : 'http';
  const sidecar: Omit<SidecarOptions, 'logger'> = {
    ...(w.heartbeat ? { ...w.heartbeat, tokenFile: `${PATH.sidecarToken}/token` } : {}),
    configDir: PATH.mountedConfig,
    liveDir: MOUNT.config,
    prometheusUrl: `${scheme}://localhost:${PORT.prometheus}`,
    // The serving certificate names the LoadBalancer, not localhost: inside the pod only the
    // loopback hop skips verification; basic auth still applies.
    prometheusAuth:
      auth && w.serves
        ? {
            username: auth.username,
            passwordFile: MOUNT.federationPasswordFile,
            insecureSkipVerify: tls !== undefined,
          }
        : undefined,
    passwordHashFile: auth && w.serves ? PASSWORD_HASH_FILE : undefined,
    promtoolPath: PATH.promtool,
    interval: 30_000,
    metricsPort: PORT.sidecar,
    metricsHost: '0.0.0.0',
  };
  const extraMounts = (w.extraSecretMounts ?? []).map((m) => ({
    name: m.name,
    mountPath: m.mountPath,
    readOnly: true,
  }));
  // The sidecar sees every file Prometheus sees at the same path: promtool check config fails
  // on a missing client cert, so a check without them would reject every good config.
  const sidecarMounts: IIoK8sApiCoreV1VolumeMount[] = [
    { name: 'config', mountPath: PATH.mountedConfig, readOnly: true },
    { name: 'live', mountPath: MOUNT.config },
    { name: 'tmp', mountPath: '/tmp' },
    ...secretMounts,
    ...extraMounts,
    ...(w.heartbeat ? [{ name: 'sidecar-token', mountPath: PATH.sidecarToken, readOnly: true }] : []),
  ];

  // Kubelet probes cannot present basic auth without putting the password in the manifest,
  // so a protected Prometheus is probed on its TCP port instead.
  const probe = (path: string): IIoK8sApiCoreV1Probe =>
    w.serves && fed && (fed.tls || fed.basicAuth)
      ? { tcpSocket: { port: 'web' } }
      : { httpGet: { path, port: 'web', scheme: 'HTTP' } };

  const prometheusArgs = [
    `--config.file=${MOUNT.config}/${FILE.prometheus}`,
    `--storage.tsdb.path=${PATH.prometheusData}`,
    `--storage.tsdb.retention.time=${w.retention}`,
    `--web.listen-address=:${PORT.prometheus}`,
    // /-/reload for the sidecar; behind the web config's auth, and the LB admits only the upstream tier.
    '--web.enable-lifecycle',
    ...(w.serves ? [`--web.config.file=${MOUNT.config}/${FILE.webConfig}`] : []),
  ];

  const statefulSet = new StatefulSet({
    metadata: { name: w.name, ...meta },
    spec: {
      serviceName: w.name,
      replicas: w.replicas,
      podManagementPolicy: 'Parallel',
      selector: { matchLabels: selector },
      template: {
        metadata: { labels: labels(w.tier, w.instance) },
        spec: {
          serviceAccountName: w.serviceAccountName,
          automountServiceAccountToken: w.automountToken,
          securityContext: POD_SECURITY,
          terminationGracePeriodSeconds: 600,
          nodeSelector: w.zone ? { [ZONE_KEY]: w.zone } : undefined,
          affinity: {
            podAntiAffinity:
              w.tier === 'central'
                ? {
                    // Central replicas never share a zone: losing one zone must leave one replica.
                    requiredDuringSchedulingIgnoredDuringExecution: [
                      {
                        labelSelector: {
                          matchLabels: {
                            'app.kubernetes.io/name': 'prometheus',
                            'app.kubernetes.io/component': 'central',
                          },
                        },
                        topologyKey: ZONE_KEY,
                      },
                    ],
                  }
                : {
                    preferredDuringSchedulingIgnoredDuringExecution: [
                      {
                        weight: 100,
                        podAffinityTerm: {
                          labelSelector: { matchLabels: selector },
                          topologyKey: 'kubernetes.io/hostname',
                        },
                      },
                    ],
                  },
          },
          topologySpreadConstraints:
            w.tier === 'central'
              ? [
                  {
                    maxSkew: 1,
                    topologyKey: ZONE_KEY,
                    whenUnsatisfiable: 'DoNotSchedule',
                    labelSelector: {
                      matchLabels: {
                        'app.kubernetes.io/name': 'prometheus',
                        'app.kubernetes.io/component': 'central',
                      },
                    },
                  },
                ]
              : undefined,
          initContainers: [
            {
              name: 'config-init',
              image: IMAGE.fedstack,
              args: [
                'sidecar',
                ...sidecarArgs({ ...sidecar, once: true, metricsPort: undefined, metricsHost: undefined }),
              ],
              volumeMounts: sidecarMounts,
              securityContext: CONTAINER_SECURITY,
              resources: RESOURCES.sidecar,
            },
          ],
          containers: [
            {
              name: 'prometheus',
              image: IMAGE.prometheus,
              args: prometheusArgs,
              ports: [{ name: 'web', containerPort: PORT.prometheus, protocol: 'TCP' }],
              volumeMounts: [
                { name: 'live', mountPath: MOUNT.config, readOnly: true },
                { name: 'data', mountPath: PATH.prometheusData },
                ...secretMounts,
                ...extraMounts,
              ],
              readinessProbe: { ...probe('/-/ready'), periodSeconds: 10, failureThreshold: 3 },
              livenessProbe: {
                ...probe('/-/healthy'),
                periodSeconds: 30,
                failureThreshold: 6,
                initialDelaySeconds: 60,
              },
              securityContext: CONTAINER_SECURITY,
              resources: RESOURCES[w.tier],
            },
            {
              name: 'config-sidecar',
              image: IMAGE.fedstack,
              args: ['sidecar', ...sidecarArgs(sidecar)],
              ports: [{ name: 'sidecar-metrics', containerPort: PORT.sidecar, protocol: 'TCP' }],
              volumeMounts: sidecarMounts,
              readinessProbe: { httpGet: { path: '/healthz', port: 'sidecar-metrics' }, periodSeconds: 30 },
              securityContext: CONTAINER_SECURITY,
              resources: RESOURCES.sidecar,
            },
          ],
          volumes,
        },
      },
      volumeClaimTemplates: [
        {
          metadata: { name: 'data', labels: labels(w.tier, w.instance) },
          spec: { accessModes: ['ReadWriteOnce'], resources: { requests: { storage: STORAGE[w.tier] } } },
        },
      ],
    },
  });

  // The governing Service: in-cluster access (Grafana, the sidecar's metrics, central's DNS name).
  const inCluster = new Service({
    metadata: { name: w.name, ...meta },
    spec: {
      selector,
      ports: [
        { name: 'web', port: PORT.prometheus, targetPort: 'web', protocol: 'TCP' },
        { name: 'sidecar-metrics', port: PORT.sidecar, targetPort: 'sidecar-metrics', protocol: 'TCP' },
      ],
    },
  });

  const objects: (ConfigMap | StatefulSet | Service | NetworkPolicy | PodDisruptionBudget)[] = [
    configMap,
    statefulSet,
    inCluster,
  ];
  const sources = w.federationSources;
  if (sources !== undefined && sources.length > 0) {
    objects.push(
      new Service({
        metadata: { name: `${w.name}-federation`, ...meta },
        spec: {
          type: 'LoadBalancer',
          // Only the federation port leaves the cluster, and only to the upstream tier.
          ports: [{ name: 'federation', port: PORT.prometheus, targetPort: 'web', protocol: 'TCP' }],
          loadBalancerSourceRanges: [...sources],
          // Keep client source IPs, so the NetworkPolicy below sees the real upstream address.
          externalTrafficPolicy: 'Local',
          // One upstream scraper sticks to one replica: consistent series, no interleaving.
          sessionAffinity: 'ClientIP',
          selector,
        },
      }),
    );
  }

  objects.push(
    new NetworkPolicy({
      metadata: { name: w.name, ...meta },
      spec: {
        podSelector: { matchLabels: selector },
        policyTypes: ['Ingress'],
        ingress: [
          // In-namespace callers (Grafana, the service, monitoring) on both ports.
          {
            from: [{ podSelector: {} }],
            ports: [
              { port: PORT.prometheus, protocol: 'TCP' },
              { port: PORT.sidecar, protocol: 'TCP' },
            ],
          },
          ...(sources && sources.length > 0
            ? [
                {
                  from: sources.map((cidr) => ({ ipBlock: { cidr } })),
                  ports: [{ port: PORT.prometheus, protocol: 'TCP' as const }],
                },
              ]
            : []),
        ],
      },
    }),
    new PodDisruptionBudget({
      metadata: { name: w.name, ...meta },
      // With one replica this still lets a drain proceed (maxUnavailable 1) but never two at once.
      spec: {
        selector: { matchLabels: selector },
        ...(w.replicas > 1 ? { minAvailable: 1 } : { maxUnavailable: 1 }),
      },
    }),
  );
  return objects;
}
