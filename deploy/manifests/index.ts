/**
 * renderManifests: Kubernetes manifests for every tier, from typed kubernetes-models objects,
 * each validated against the Kubernetes OpenAPI schema before it is serialized.
 *
 * Bundles (one per cluster you apply to), relative to the bundle root:
 *   edge/<meta-cluster>/{manifests.yaml,web-config.yml,kustomization.yaml}
 *   cascade/<big-region>/{manifests.yaml,kustomization.yaml} (+ web-config.yml when secured)
 *   central/<replica>/{manifests.yaml,kustomization.yaml}
 *   alerting/{manifests.yaml,kustomization.yaml}
 *   service/{manifests.yaml,kustomization.yaml}
 *
 * Secrets: rendered files never hold a secret value. Pods mount Secrets by reference (names
 * and keys from the topology's `security` section, plus SECRET in common.ts). The edge web
 * config needs the bcrypt hash inline, so the rendered web-config.yml carries a placeholder and
 * the sidecar fills it from the mounted hash when it copies the config live (sidecar/web-config.ts).
 * Operators create, in the namespace of each cluster:
 *   - security.federation.tls.serverCertSecret (kubernetes.io/tls) on edges and cascades;
 *   - the Secret(s) named by tls.ca, basicAuth.password and basicAuth.passwordHash;
 *   - fedstack-sidecar-token (key `token`) on edges and next to the service;
 *   - fedstack-etcd-client (ca.crt, client.crt, client.key) on edges (the etcd scrape job).
 *
 * The manifests always describe the kubernetes profile (that is what runs in a cluster), so
 * the ConfigMaps embed the kubernetes-profile Prometheus configs whatever `profile` says; the
 * profile only changes the paths in the standalone web-config.yml next to them.
 */
import { Deployment, StatefulSet } from 'kubernetes-models/apps/v1';
import { NetworkPolicy } from 'kubernetes-models/networking.k8s.io/v1';
import { PodDisruptionBudget } from 'kubernetes-models/policy/v1';
import { ClusterRole, ClusterRoleBinding } from 'kubernetes-models/rbac.authorization.k8s.io/v1';
import { ConfigMap, Service } from 'kubernetes-models/v1';
import { FILE, MOUNT, PORT, SERVICE, type Profile } from '../../common/conventions.ts';
import type { PrometheusBundle } from '../../common/prometheus.ts';
import { toYaml, toYamlStream } from '../../common/serialize.ts';
import { renderCascade } from '../../cascade/render.ts';
import { renderCentral } from '../../central/render.ts';
import { renderEdge } from '../../edge/render.ts';
import { serveArgs } from '../../server/args.ts';
import { metaClusters, type Topology } from '../../topology/model.ts';
import { federationWebConfig } from '../../topology/security.ts';
import {
  CONTAINER_SECURITY,
  IMAGE,
  labels,
  namespace,
  PATH,
  POD_SECURITY,
  RESOURCES,
  SECRET,
  selectorLabels,
  serviceAccount,
  STORAGE,
} from './common.ts';
import { prometheusObjects } from './prometheus.ts';

export interface ManifestOptions {
  /**
   * Files of the alerting bundle (relative to alerting/, e.g. alertmanager.yml,
   * templates/fedstack.tmpl): kustomize turns them into the Alertmanager ConfigMap, since
   * their text is rendered by alerting/, not here. Default: alertmanager.yml alone.
   */
  readonly alertingFiles?: readonly string[];
}

interface Validatable {
  validate(): void;
  toJSON(): unknown;
}

export function renderManifests(
  topo: Topology,
  profile: Profile,
  opts: ManifestOptions = {},
): Map<string, string> {
  const out = new Map<string, string>();
  const ns = topo.global.namespace;
  const add = (dir: string, objects: readonly Validatable[], extra: Record<string, string> = {}) => {
    for (const o of objects) validated(o, dir);
    out.set(`${dir}/${FILE.manifests}`, toYamlStream(objects.map((o) => o.toJSON())));
    for (const [name, text] of Object.entries(extra)) out.set(`${dir}/${name}`, text);
    out.set(`${dir}/kustomization.yaml`, toYaml(kustomization(ns, [FILE.manifests])));
  };
  const fed = topo.security?.federation;
  const secured = fed !== undefined && (fed.tls !== undefined || fed.basicAuth !== undefined);
  const webConfigK8s = toYaml(federationWebConfig(topo.security, 'kubernetes'));
  const webConfigOut = toYaml(federationWebConfig(topo.security, profile));

  for (const placed of metaClusters(topo)) {
    const mc = placed.metaCluster.name;
    const name = 'prometheus-edge';
    const rbacName = `fedstack-edge-${ns}`;
    add(
      `edge/${mc}`,
      [
        namespace(ns),
        serviceAccount(name, ns, 'edge', mc, true),
        ...edgeRbac(rbacName, name, ns, mc),
        ...prometheusObjects({
          tier: 'edge',
          instance: mc,
          name,
          namespace: ns,
          files: prometheusFiles(renderEdge(topo, placed, 'kubernetes'), webConfigK8s),
          retention: topo.global.edge.retention,
          replicas: 2,
          security: topo.security,
          serves: true,
          scrapes: false,
          federationSources: placed.bigRegion.cascade.egressCidrs,
          heartbeat: {
            serviceUrl: topo.global.serviceUrl,
            metaCluster: mc,
            endpoint: placed.metaCluster.endpoint,
          },
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
      { [FILE.webConfig]: webConfigOut },
    );
  }

  for (const br of topo.bigRegions) {
    const name = 'prometheus-cascade';
    add(
      `cascade/${br.name}`,
      [
        namespace(ns),
        serviceAccount(name, ns, 'cascade', br.name, false),
        ...prometheusObjects({
          tier: 'cascade',
          instance: br.name,
          name,
          namespace: ns,
          files: prometheusFiles(renderCascade(topo, br, 'kubernetes'), webConfigK8s),
          retention: topo.global.cascade.retention,
          replicas: 2,
          security: topo.security,
          serves: true,
          scrapes: true,
          federationSources: topo.security?.federation.centralEgressCidrs ?? [],
          serviceAccountName: name,
          automountToken: false,
        }),
      ],
      secured ? { [FILE.webConfig]: webConfigOut } : {},
    );
  }

  for (const replica of topo.central.replicas) {
    const name = serviceName(SERVICE.centralPrometheus(replica.name, ns));
    add(`central/${replica.name}`, [
      namespace(ns),
      serviceAccount(name, ns, 'central', replica.name, false),
      ...prometheusObjects({
        tier: 'central',
        instance: replica.name,
        name,
        namespace: ns,
        files: prometheusFiles(renderCentral(topo, replica, 'kubernetes')),
        retention: topo.global.central.retention,
        replicas: 1,
        security: topo.security,
        serves: false,
        scrapes: true,
        zone: replica.zone,
        serviceAccountName: name,
        automountToken: false,
      }),
    ]);
  }

  const alerting = alertingObjects(topo);
  for (const o of alerting) validated(o, 'alerting');
  out.set(`alerting/${FILE.manifests}`, toYamlStream(alerting.map((o) => o.toJSON())));
  out.set(
    'alerting/kustomization.yaml',
    toYaml({
      ...kustomization(ns, [FILE.manifests]),
      // The Alertmanager config is rendered by alerting/; kustomize packs it. The name hash
      // rolls the StatefulSets when it changes (Alertmanager has no config sidecar).
      configMapGenerator: [
        { name: 'alertmanager-config', files: [...(opts.alertingFiles ?? [FILE.alertmanager])] },
      ],
    }),
  );

  add('service', serviceObjects(topo));
  return new Map([...out.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}

function validated(o: Validatable, where: string): void {
  try {
    o.validate();
  } catch (e) {
    const kind = (o.toJSON() as { kind?: string; metadata?: { name?: string } }) ?? {};
    throw new Error(
      `${where}: ${kind.kind ?? 'object'} "${kind.metadata?.name ?? '?'}" is not a valid Kubernetes object: ${(e as Error).message}`,
    );
  }
}

function kustomization(ns: string, resources: string[]) {
  return { apiVersion: 'kustomize.config.k8s.io/v1beta1', kind: 'Kustomization', namespace: ns, resources };
}

function prometheusFiles(b: PrometheusBundle, webConfig?: string): Map<string, string> {
  const files = new Map<string, string>([
    [FILE.prometheus, toYaml(b.config)],
    [FILE.rules, toYaml(b.rules)],
  ]);
  if (webConfig !== undefined) files.set(FILE.webConfig, webConfig);
  return files;
}

const dirOf = (path: string) => path.slice(0, path.lastIndexOf('/'));
/** `prometheus-central-a.ns.svc` → `prometheus-central-a`: the names come from conventions. */
const serviceName = (dns: string) => dns.split('.')[0]!;

/** Read-only discovery RBAC for the edge's kubernetes_sd jobs and the kubelet/cAdvisor scrapes. */
function edgeRbac(name: string, sa: string, ns: string, mc: string): (ClusterRole | ClusterRoleBinding)[] {
  const meta = { name, labels: labels('edge', mc) };
  return [
    new ClusterRole({
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
    new ClusterRoleBinding({
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
function alertingObjects(topo: Topology): Validatable[] {
  const ns = topo.global.namespace;
  const names = topo.alertmanager.replicas.map((r) => ({
    replica: r,
    dns: SERVICE.alertmanager(r.name, ns),
  }));
  const objects: Validatable[] = [
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
      new Service({
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
      new StatefulSet({
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
                  image: IMAGE.alertmanager,
                  args: [
                    `--config.file=${PATH.alertmanagerConfig}/${FILE.alertmanager}`,
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
                    { name: 'config', mountPath: PATH.alertmanagerConfig, readOnly: true },
                    { name: 'data', mountPath: PATH.alertmanagerData },
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
              volumes: [{ name: 'config', configMap: { name: 'alertmanager-config' } }],
            },
          },
          volumeClaimTemplates: [
            {
              metadata: { name: 'data' },
              spec: {
                accessModes: ['ReadWriteOnce'],
                resources: { requests: { storage: STORAGE.alertmanager } },
              },
            },
          ],
        },
      }),
    );
  }
  const all = { 'app.kubernetes.io/name': 'alertmanager', 'app.kubernetes.io/component': 'alertmanager' };
  objects.push(
    new NetworkPolicy({
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
    new PodDisruptionBudget({
      metadata: { name: 'alertmanager', namespace: ns, labels: labels('alertmanager', 'alertmanager') },
      spec: { selector: { matchLabels: all }, maxUnavailable: 1 },
    }),
  );
  return objects;
}

/** The fedstack service: 2 replicas behind one Service, watching the topology ConfigMap. */
function serviceObjects(topo: Topology): Validatable[] {
  const ns = topo.global.namespace;
  const name = 'fedstack';
  const selector = selectorLabels('service', name);
  const meta = { name, namespace: ns, labels: labels('service', name) };
  return [
    namespace(ns),
    serviceAccount(name, ns, 'service', name, false),
    new ConfigMap({
      metadata: { name: 'fedstack-topology', namespace: ns, labels: labels('service', name) },
      // The validated model, written back: defaults made explicit. No secret can be in it
      // (the schema takes Secret references only).
      data: { 'topology.yaml': toYaml(topo) },
    }),
    new Deployment({
      metadata: meta,
      spec: {
        replicas: 2,
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
                image: IMAGE.fedstack,
                args: [
                  'serve',
                  ...serveArgs({
                    topologyFile: `${PATH.topology}/topology.yaml`,
                    port: PORT.fedstack,
                    host: '0.0.0.0',
                    heartbeatTokenFile: `${PATH.sidecarToken}/token`,
                  }),
                ],
                ports: [{ name: 'http', containerPort: PORT.fedstack, protocol: 'TCP' }],
                volumeMounts: [
                  { name: 'topology', mountPath: PATH.topology, readOnly: true },
                  { name: 'sidecar-token', mountPath: PATH.sidecarToken, readOnly: true },
                  { name: 'tmp', mountPath: '/tmp' },
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
              { name: 'tmp', emptyDir: {} },
            ],
          },
        },
      },
    }),
    new Service({
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
    new NetworkPolicy({
      metadata: meta,
      spec: {
        podSelector: { matchLabels: selector },
        policyTypes: ['Ingress'],
        ingress: [{ ports: [{ port: PORT.fedstack, protocol: 'TCP' }] }],
      },
    }),
    new PodDisruptionBudget({
      metadata: meta,
      spec: { selector: { matchLabels: selector }, minAvailable: 1 },
    }),
  ];
}
