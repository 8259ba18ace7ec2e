/**
 * Kubernetes manifests for every tier, from typed kubernetes-models objects, each validated
 * against the Kubernetes OpenAPI schema. One bundle per cluster an operator applies to; the
 * render emitter (render/emit.ts) decides where each bundle goes and writes it.
 *
 * Manifests reference the render plan's entries, never render a config again: a Prometheus'
 * ConfigMap is a kustomize `configMapGenerator` over the config files the emitter writes next
 * to the manifests (prometheus.yml, rules.yml, web-config.yml), without a name hash, so kubelet
 * updates the mounted files in place and the config sidecar reloads Prometheus (no restart).
 *
 * Secrets: rendered files never hold a secret value. Pods mount Secrets by reference (names
 * and keys from the topology's `security` section, plus SECRET in common.ts). The edge web
 * config needs the bcrypt hash inline, so the rendered web-config.yml carries a placeholder and
 * the sidecar fills it from the mounted hash when it copies the config live (sidecar/web-config.ts).
 * Operators create, in the namespace of each cluster (`fedstack secrets init` writes all but
 * the etcd client and the receivers' credentials, deploy/secrets/init.ts):
 *   - security.federation.tls.serverCertSecret (kubernetes.io/tls) on edges and cascades;
 *   - the Secret(s) named by tls.ca, basicAuth.password and basicAuth.passwordHash;
 *   - tls.clientCertSecret (kubernetes.io/tls) on every Prometheus, under mutual TLS;
 *   - fedstack-sidecar-token (key `token`) on edges and next to the service;
 *   - fedstack-read-token (key `token`) on cascades (http_sd) and next to the service;
 *   - fedstack-operator-token (key `token`) next to the service (rollout actions, console buttons);
 *   - fedstack-etcd-client (ca.crt, client.crt, client.key) on edges (the etcd scrape job);
 *   - the routing's Secrets (bridge token, SMTP password, robots, SMS keys) next to Alertmanager
 *     and the service.
 *
 * The manifests always describe the kubernetes profile: the plan they are built from must be one.
 */
import { StatefulSet } from 'kubernetes-models/apps/v1';
import { NetworkPolicy } from 'kubernetes-models/networking.k8s.io/v1';
import { PodDisruptionBudget } from 'kubernetes-models/policy/v1';
import { ClusterRole, ClusterRoleBinding } from 'kubernetes-models/rbac.authorization.k8s.io/v1';
import { Service } from 'kubernetes-models/v1';
import { FILE, MOUNT, PORT, SERVICE } from '../../common/conventions.ts';
import { serveArgs } from '../../common/flags.ts';
import { ALERTMANAGER_MOUNT } from '../../alerting/render.ts';
import { routingSecrets, type Routing } from '../../topology/routing.ts';
import type { BigRegion, CentralReplica, PlacedMetaCluster, Topology } from '../../topology/model.ts';
import {
  CONTAINER_SECURITY,
  images,
  k8s,
  labels,
  namespace,
  PATH,
  POD_SECURITY,
  RESOURCES,
  SECRET,
  selectorLabels,
  serviceAccount,
  STORAGE,
  volumeClaim,
} from './common.ts';
import { prometheusObjects } from './prometheus.ts';

/** A Kubernetes object as plain data, already checked against its schema (common.ts `k8s`). */
export interface KubeObject {
  readonly apiVersion: string;
  readonly kind: string;
}

/** kustomize's Kustomization (the subset fedstack writes). */
export interface Kustomization {
  readonly apiVersion: 'kustomize.config.k8s.io/v1beta1';
  readonly kind: 'Kustomization';
  readonly namespace: string;
  readonly resources: readonly string[];
  readonly configMapGenerator?: readonly ConfigMapGenerator[];
}

export interface ConfigMapGenerator {
  readonly name: string;
  readonly files: readonly string[];
  readonly options?: {
    readonly labels?: Readonly<Record<string, string>>;
    readonly disableNameSuffixHash?: boolean;
  };
}

/** What one cluster applies: its objects and the kustomization that packs them with its files. */
export interface ManifestBundle {
  readonly objects: readonly KubeObject[];
  readonly kustomization: Kustomization;
}

/** The manifests' view of the plan: the topology and which config files a bundle carries. */
export interface ManifestSource {
  readonly topology: Topology;
}

/** `objects` builds (and so schema-checks) the objects; a failure names the bundle too. */
export function bundle(
  where: string,
  ns: string,
  resources: readonly string[],
  objects: () => readonly KubeObject[],
  configMapGenerator?: readonly ConfigMapGenerator[],
): ManifestBundle {
  let built: readonly KubeObject[];
  try {
    built = objects();
  } catch (e) {
    throw new Error(`${where}: ${(e as Error).message}`);
  }
  return {
    objects: built,
    kustomization: {
      apiVersion: 'kustomize.config.k8s.io/v1beta1',
      kind: 'Kustomization',
      namespace: ns,
      resources,
      configMapGenerator,
    },
  };
}

/** The ConfigMap a Prometheus pod mounts (`<name>-config`), packed from its config files. */
function prometheusConfig(
  name: string,
  tier: 'edge' | 'cascade' | 'central',
  instance: string,
  files: readonly string[],
): ConfigMapGenerator {
  return {
    name: `${name}-config`,
    files,
    // A stable name: kubelet swaps the mounted files and the sidecar reloads Prometheus.
    options: { labels: labels(tier, instance), disableNameSuffixHash: true },
  };
}

/**
 * One edge: its Prometheus with the config sidecar, discovery RBAC, the federation
 * LoadBalancer. `configFiles` are the config files next to the manifests (file names, which
 * become the ConfigMap's keys and so the names under the pod's config mount).
 */
export function edgeManifests(
  src: ManifestSource,
  placed: PlacedMetaCluster,
  configFiles: readonly string[],
  manifestsFile: string,
): ManifestBundle {
  const topo = src.topology;
  const ns = topo.global.namespace;
  const mc = placed.metaCluster.name;
  const name = 'prometheus-edge';
  return bundle(
    `edge/${mc}`,
    ns,
    [manifestsFile],
    () => [
      namespace(ns),
      serviceAccount(name, ns, 'edge', mc, true),
      ...edgeRbac(`fedstack-edge-${ns}`, name, ns, mc),
      ...prometheusObjects({
        tier: 'edge',
        instance: mc,
        name,
        namespace: ns,
        configMapName: `${name}-config`,
        retention: topo.global.edge.retention,
        images: images(topo),
        replicas: 2,
        security: topo.security,
        serves: true,
        webConfig: configFiles.includes(FILE.webConfig),
        scrapes: false,
        federationSources: placed.bigRegion.cascade.egressCidrs,
        heartbeat: {
          serviceUrl: topo.global.serviceUrl,
          metaCluster: mc,
          endpoint: placed.metaCluster.endpoint,
        },
        pulls: pulls(topo),
        serviceAccountName: name,
        automountToken: true,
        extraSecretMounts: [
          {
            name: 'etcd-client',
            secretName: SECRET.etcdClient,
            mountPath: dirOf(MOUNT.etcdCa),
            optional: false,
          },
        ],
      }),
    ],
    [prometheusConfig(name, 'edge', mc, configFiles)],
  );
}

export function cascadeManifests(
  src: ManifestSource,
  bigRegion: BigRegion,
  configFiles: readonly string[],
  manifestsFile: string,
): ManifestBundle {
  const topo = src.topology;
  const ns = topo.global.namespace;
  const name = 'prometheus-cascade';
  return bundle(
    `cascade/${bigRegion.name}`,
    ns,
    [manifestsFile],
    () => [
      namespace(ns),
      serviceAccount(name, ns, 'cascade', bigRegion.name, false),
      ...prometheusObjects({
        tier: 'cascade',
        instance: bigRegion.name,
        name,
        namespace: ns,
        configMapName: `${name}-config`,
        retention: topo.global.cascade.retention,
        images: images(topo),
        replicas: 2,
        security: topo.security,
        serves: true,
        webConfig: configFiles.includes(FILE.webConfig),
        scrapes: true,
        discovers: true,
        pulls: pulls(topo),
        federationSources: topo.security?.federation.centralEgressCidrs ?? [],
        serviceAccountName: name,
        automountToken: false,
      }),
    ],
    [prometheusConfig(name, 'cascade', bigRegion.name, configFiles)],
  );
}

export function centralManifests(
  src: ManifestSource,
  replica: CentralReplica,
  configFiles: readonly string[],
  manifestsFile: string,
): ManifestBundle {
  const topo = src.topology;
  const ns = topo.global.namespace;
  const name = serviceName(SERVICE.centralPrometheus(replica.name, ns));
  return bundle(
    `central/${replica.name}`,
    ns,
    [manifestsFile],
    () => [
      namespace(ns),
      serviceAccount(name, ns, 'central', replica.name, false),
      ...prometheusObjects({
        tier: 'central',
        instance: replica.name,
        name,
        namespace: ns,
        configMapName: `${name}-config`,
        retention: topo.global.central.retention,
        images: images(topo),
        replicas: 1,
        security: topo.security,
        serves: false,
        webConfig: configFiles.includes(FILE.webConfig),
        scrapes: true,
        pulls: pulls(topo),
        zone: replica.zone,
        serviceAccountName: name,
        automountToken: false,
      }),
    ],
    [prometheusConfig(name, 'central', replica.name, configFiles)],
  );
}

/**
 * The Alertmanager cluster. Its config is rendered by alerting/; kustomize packs `configFiles`
 * (alertmanager.yml and the templates). The name hash rolls the StatefulSets when it changes
 * (Alertmanager has no config sidecar).
 */
export function alertingManifests(
  src: ManifestSource,
  configFiles: readonly string[],
  manifestsFile: string,
): ManifestBundle {
  const ns = src.topology.global.namespace;
  return bundle('alerting', ns, [manifestsFile], () => alertingObjects(src.topology, configFiles), [
    { name: 'alertmanager-config', files: configFiles },
  ]);
}

interface SecretVolume {
  readonly name: string;
  readonly secret: { secretName: string; items: { key: string; path: string }[]; defaultMode: number };
}

/**
 * Secret volumes for a set of Secret keys: one volume per Secret, mounted at `<dir>/<name>`,
 * holding exactly the keys referenced (so `<dir>/<name>/<key>` is each file a config reads).
 */
function secretVolumes(
  refs: readonly { name: string; key: string }[],
  dir: string,
  prefix: string,
): { volumes: SecretVolume[]; mounts: { name: string; mountPath: string; readOnly: true }[] } {
  const byName = new Map<string, string[]>();
  for (const r of refs) byName.set(r.name, [...(byName.get(r.name) ?? []), r.key]);
  const names = [...byName.keys()];
  return {
    volumes: names.map((name, i) => ({
      name: `${prefix}-${i}`,
      secret: {
        secretName: name,
        items: byName.get(name)!.map((key) => ({ key, path: key })),
        defaultMode: 0o440,
      },
    })),
    mounts: names.map((name, i) => ({ name: `${prefix}-${i}`, mountPath: `${dir}/${name}`, readOnly: true })),
  };
}

/** The fedstack service; `topologyFile` is the topology file the emitter writes next to it. */
export function serviceManifests(
  src: ManifestSource,
  topologyFile: string,
  manifestsFile: string,
): ManifestBundle {
  const ns = src.topology.global.namespace;
  return bundle('service', ns, [manifestsFile], () => serviceObjects(src.topology, topologyFile), [
    {
      name: 'fedstack-topology',
      files: [topologyFile],
      // A stable name: the service watches the mounted file and serves each new revision.
      options: { labels: labels('service', 'fedstack'), disableNameSuffixHash: true },
    },
  ]);
}

const dirOf = (path: string) => path.slice(0, path.lastIndexOf('/'));

/** Staged rollouts in the bundle (topology `rollouts.enabled`). */
const rolloutsEnabled = (topo: Topology) => topo.rollouts?.enabled === true;

/** With staged rollouts, every Prometheus' sidecar pulls its config from the service. */
const pulls = (topo: Topology) =>
  rolloutsEnabled(topo) ? { serviceUrl: topo.global.serviceUrl } : undefined;
/** `prometheus-central-a.ns.svc` → `prometheus-central-a`: the names come from conventions. */
const serviceName = (dns: string) => dns.split('.')[0]!;

/** Read-only discovery RBAC for the edge's kubernetes_sd jobs and the kubelet/cAdvisor scrapes. */
function edgeRbac(name: string, sa: string, ns: string, mc: string): KubeObject[] {
  const meta = { name, labels: labels('edge', mc) };
  return [
    k8s(ClusterRole, {
      metadata: meta,
      rules: [
        {
          apiGroups: [''],
          resources: ['nodes', 'nodes/metrics', 'services', 'endpoints', 'pods'],
          verbs: ['get', 'list', 'watch'],
        },
        { apiGroups: ['discovery.k8s.io'], resources: ['endpointslices'], verbs: ['get', 'list', 'watch'] },
        { nonResourceURLs: ['/metrics', '/metrics/cadvisor'], verbs: ['get'] },
      ],
    }),
    k8s(ClusterRoleBinding, {
      metadata: meta,
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name },
      subjects: [{ kind: 'ServiceAccount', name: sa, namespace: ns }],
    }),
  ];
}

/**
 * One single-replica StatefulSet per Alertmanager replica, pinned to its zone, each behind a
 * headless Service of its own (SERVICE.alertmanager): Prometheus must send to every instance
 * directly, never through a load balancer, and the peers gossip to each other by those names.
 */
function alertingObjects(topo: Topology, configFiles: readonly string[]): KubeObject[] {
  const ns = topo.global.namespace;
  // kustomize keys each file by its base name (templates/x.tmpl → x.tmpl); items put every
  // key back at the path alertmanager.yml reads it from (its `templates:` glob is relative).
  const configItems = configFiles.map((f) => ({ key: f.slice(f.lastIndexOf('/') + 1), path: f }));
  const secrets = secretVolumes(
    topo.routing === undefined ? [] : routingSecrets(topo.routing as Routing).alertmanager,
    ALERTMANAGER_MOUNT.secrets,
    'secret',
  );
  const names = topo.alertmanager.replicas.map((r) => ({
    replica: r,
    dns: SERVICE.alertmanager(r.name, ns),
  }));
  const objects: KubeObject[] = [
    namespace(ns),
    serviceAccount('alertmanager', ns, 'alertmanager', 'alertmanager', false),
  ];
  for (const { replica, dns } of names) {
    const name = serviceName(dns);
    const selector = selectorLabels('alertmanager', replica.name);
    const meta = { name, namespace: ns, labels: labels('alertmanager', replica.name) };
    const peers = names
      .filter((n) => n.replica.name !== replica.name)
      .map((n) => `--cluster.peer=${n.dns}:${PORT.alertmanagerCluster}`);
    objects.push(
      k8s(Service, {
        metadata: meta,
        spec: {
          clusterIP: 'None',
          // Peers must find each other before they are ready, or the cluster never forms.
          publishNotReadyAddresses: true,
          selector,
          ports: [
            { name: 'web', port: PORT.alertmanager, targetPort: 'web', protocol: 'TCP' },
            {
              name: 'cluster-tcp',
              port: PORT.alertmanagerCluster,
              targetPort: 'cluster-tcp',
              protocol: 'TCP',
            },
            {
              name: 'cluster-udp',
              port: PORT.alertmanagerCluster,
              targetPort: 'cluster-udp',
              protocol: 'UDP',
            },
          ],
        },
      }),
      k8s(StatefulSet, {
        metadata: meta,
        spec: {
          serviceName: name,
          replicas: 1,
          selector: { matchLabels: selector },
          template: {
            metadata: { labels: labels('alertmanager', replica.name) },
            spec: {
              serviceAccountName: 'alertmanager',
              automountServiceAccountToken: false,
              securityContext: POD_SECURITY,
              nodeSelector: { 'topology.kubernetes.io/zone': replica.zone },
              containers: [
                {
                  name: 'alertmanager',
                  image: images(topo).alertmanager,
                  args: [
                    `--config.file=${ALERTMANAGER_MOUNT.config}/${FILE.alertmanager}`,
                    `--storage.path=${PATH.alertmanagerData}`,
                    `--web.listen-address=:${PORT.alertmanager}`,
                    `--cluster.listen-address=0.0.0.0:${PORT.alertmanagerCluster}`,
                    ...peers,
                  ],
                  ports: [
                    { name: 'web', containerPort: PORT.alertmanager, protocol: 'TCP' },
                    { name: 'cluster-tcp', containerPort: PORT.alertmanagerCluster, protocol: 'TCP' },
                    { name: 'cluster-udp', containerPort: PORT.alertmanagerCluster, protocol: 'UDP' },
                  ],
                  volumeMounts: [
                    { name: 'config', mountPath: ALERTMANAGER_MOUNT.config, readOnly: true },
                    { name: 'data', mountPath: PATH.alertmanagerData },
                    ...secrets.mounts,
                  ],
                  readinessProbe: { httpGet: { path: '/-/ready', port: 'web' }, periodSeconds: 10 },
                  livenessProbe: {
                    httpGet: { path: '/-/healthy', port: 'web' },
                    periodSeconds: 30,
                    initialDelaySeconds: 30,
                  },
                  securityContext: CONTAINER_SECURITY,
                  resources: RESOURCES.alertmanager,
                },
              ],
              volumes: [
                { name: 'config', configMap: { name: 'alertmanager-config', items: configItems } },
                ...secrets.volumes,
              ],
            },
          },
          volumeClaimTemplates: [volumeClaim('data', STORAGE.alertmanager)],
        },
      }),
    );
  }
  const all = { 'app.kubernetes.io/name': 'alertmanager', 'app.kubernetes.io/component': 'alertmanager' };
  objects.push(
    k8s(NetworkPolicy, {
      metadata: { name: 'alertmanager', namespace: ns, labels: labels('alertmanager', 'alertmanager') },
      spec: {
        podSelector: { matchLabels: all },
        policyTypes: ['Ingress'],
        ingress: [
          { from: [{ podSelector: {} }], ports: [{ port: PORT.alertmanager, protocol: 'TCP' }] },
          {
            from: [{ podSelector: { matchLabels: all } }],
            ports: [
              { port: PORT.alertmanagerCluster, protocol: 'TCP' },
              { port: PORT.alertmanagerCluster, protocol: 'UDP' },
            ],
          },
        ],
      },
    }),
    k8s(PodDisruptionBudget, {
      metadata: { name: 'alertmanager', namespace: ns, labels: labels('alertmanager', 'alertmanager') },
      spec: { selector: { matchLabels: all }, maxUnavailable: 1 },
    }),
  );
  return objects;
}

/**
 * Service replicas. Each runs a bridge and Alertmanager's webhooks are spread over them, so
 * each bridge takes this share of every robot's and number's budget (--bridge-replicas).
 * With staged rollouts, one: a rollout has one controller, whose state (--data-dir) is on a
 * volume. While it restarts, Prometheus keeps its last http_sd targets, the sidecars their live
 * config, and Alertmanager retries the bridge's webhooks.
 */
const serviceReplicas = (topo: Topology) => (rolloutsEnabled(topo) ? 1 : 2);

/** The fedstack service behind one headless Service, watching the topology ConfigMap. */
const nonEmpty = <T>(a: T[]): T[] | undefined => (a.length > 0 ? a : undefined);

function serviceObjects(topo: Topology, topologyFile: string): KubeObject[] {
  const replicas = serviceReplicas(topo);
  const rollouts = rolloutsEnabled(topo);
  const ns = topo.global.namespace;
  const name = 'fedstack';
  const selector = selectorLabels('service', name);
  const meta = { name, namespace: ns, labels: labels('service', name) };
  // The alert bridge runs in the service when the topology routes alerts: its outbox on a
  // volume that outlives the pod, every Secret key it reads at <secrets dir>/<name>/<key>.
  const bridge = topo.routing === undefined ? undefined : routingSecrets(topo.routing as Routing).bridge;
  const secrets = secretVolumes(bridge ?? [], PATH.bridgeSecrets, 'secret');
  return [
    namespace(ns),
    serviceAccount(name, ns, 'service', name, false),
    k8s(StatefulSet, {
      metadata: meta,
      spec: {
        serviceName: name,
        replicas,
        podManagementPolicy: 'Parallel',
        selector: { matchLabels: selector },
        template: {
          metadata: { labels: labels('service', name) },
          spec: {
            serviceAccountName: name,
            automountServiceAccountToken: false,
            securityContext: POD_SECURITY,
            affinity: {
              podAntiAffinity: {
                preferredDuringSchedulingIgnoredDuringExecution: [
                  {
                    weight: 100,
                    podAffinityTerm: {
                      labelSelector: { matchLabels: selector },
                      topologyKey: 'topology.kubernetes.io/zone',
                    },
                  },
                ],
              },
            },
            containers: [
              {
                name: 'fedstack',
                image: images(topo).fedstack,
                args: [
                  'serve',
                  ...serveArgs({
                    topologyFile: `${PATH.topology}/${topologyFile}`,
                    port: PORT.fedstack,
                    host: '0.0.0.0',
                    heartbeatTokenFile: `${PATH.sidecarToken}/token`,
                    ...(bridge !== undefined
                      ? {
                          outboxDir: PATH.outbox,
                          secretsDir: PATH.bridgeSecrets,
                          bridgeReplicas: replicas,
                        }
                      : {}),
                    readTokenFile: `${PATH.readToken}/token`,
                    operatorTokenFile: `${PATH.operatorToken}/token`,
                    dataDir: rollouts ? PATH.rolloutState : undefined,
                  }),
                ],
                ports: [{ name: 'http', containerPort: PORT.fedstack, protocol: 'TCP' }],
                volumeMounts: [
                  { name: 'topology', mountPath: PATH.topology, readOnly: true },
                  { name: 'sidecar-token', mountPath: PATH.sidecarToken, readOnly: true },
                  { name: 'read-token', mountPath: PATH.readToken, readOnly: true },
                  { name: 'operator-token', mountPath: PATH.operatorToken, readOnly: true },
                  { name: 'tmp', mountPath: '/tmp' },
                  ...(bridge !== undefined ? [{ name: 'outbox', mountPath: PATH.outbox }] : []),
                  ...(rollouts ? [{ name: 'rollout-state', mountPath: PATH.rolloutState }] : []),
                  ...secrets.mounts,
                ],
                readinessProbe: { httpGet: { path: '/readyz', port: 'http' }, periodSeconds: 10 },
                livenessProbe: { httpGet: { path: '/healthz', port: 'http' }, periodSeconds: 30 },
                securityContext: CONTAINER_SECURITY,
                resources: RESOURCES.service,
              },
            ],
            volumes: [
              { name: 'topology', configMap: { name: 'fedstack-topology' } },
              {
                name: 'sidecar-token',
                secret: {
                  secretName: SECRET.sidecarToken.name,
                  items: [{ key: SECRET.sidecarToken.key, path: 'token' }],
                  defaultMode: 0o440,
                },
              },
              {
                name: 'read-token',
                secret: {
                  secretName: SECRET.readToken.name,
                  items: [{ key: SECRET.readToken.key, path: 'token' }],
                  defaultMode: 0o440,
                },
              },
              {
                name: 'operator-token',
                secret: {
                  secretName: SECRET.operatorToken.name,
                  items: [{ key: SECRET.operatorToken.key, path: 'token' }],
                  defaultMode: 0o440,
                },
              },
              { name: 'tmp', emptyDir: {} },
              ...secrets.volumes,
            ],
          },
        },
        // The outbox: accepted notifications are fsync'd here before the bridge answers 2xx, so
        // a pod restart delivers them instead of losing them. The rollout state: revisions and
        // the rollout in progress, so a restart resumes it mid-wave.
        volumeClaimTemplates: nonEmpty([
          ...(bridge !== undefined ? [volumeClaim('outbox', STORAGE.outbox, meta.labels)] : []),
          ...(rollouts ? [volumeClaim('rollout-state', STORAGE.rolloutState, meta.labels)] : []),
        ]),
      },
    }),
    k8s(Service, {
      metadata: meta,
      spec: {
        // Headless: the name resolves to every replica. Registrations live in each replica's
        // memory, so sidecars heartbeat every address (sidecar.ts) and any replica answers SD.
        clusterIP: 'None',
        // /readyz fails while the topology ConfigMap is invalid, on every replica at once; the
        // replicas still serve the last good revision, so they stay in DNS. Not-ready is a
        // signal (kubectl, kube-state-metrics), not a reason to black out SD for the fleet.
        publishNotReadyAddresses: true,
        selector,
        ports: [{ name: 'http', port: PORT.fedstack, targetPort: 'http', protocol: 'TCP' }],
      },
    }),
    k8s(NetworkPolicy, {
      metadata: meta,
      spec: {
        podSelector: { matchLabels: selector },
        policyTypes: ['Ingress'],
        ingress: [{ ports: [{ port: PORT.fedstack, protocol: 'TCP' }] }],
      },
    }),
    k8s(PodDisruptionBudget, {
      metadata: meta,
      spec: { selector: { matchLabels: selector }, minAvailable: 1 },
    }),
  ];
}
