import { test } from 'node:test';
import assert from 'node:assert/strict';
import YAML from 'yaml';
import { Deployment, StatefulSet } from 'kubernetes-models/apps/v1';
import { NetworkPolicy } from 'kubernetes-models/networking.k8s.io/v1';
import { PodDisruptionBudget } from 'kubernetes-models/policy/v1';
import { ClusterRole, ClusterRoleBinding } from 'kubernetes-models/rbac.authorization.k8s.io/v1';
import { Namespace, Service, ServiceAccount } from 'kubernetes-models/v1';
import { FILE, GENERATED_HEADER, MOUNT, PORT, SERVICE } from '../../common/conventions.ts';
import { parseServeArgs, parseSidecarArgs, sidecarArgs } from '../../common/flags.ts';
import { bridgeOptions, DEFAULT_BRIDGE_OPTIONS } from '../../alerting/bridge/engine.ts';
import { renderTree } from '../../render/emit.ts';
import { createPlan } from '../../render/plan.ts';
import { WEB_CONFIG_HASH_PLACEHOLDER } from '../../topology/security.ts';
import { metaClusters, type Topology } from '../../topology/model.ts';
import { defaultTopology, topologyFrom } from '../server/helpers.ts';
import { defaultTopologyText } from '../../examples/index.ts';
import { securedTopologyText } from '../server/fixture-topology.ts';

/** The kubernetes profile's rendered tree: manifests, kustomizations and the files they pack. */
const renderManifests = (t: Topology) => renderTree(createPlan(t, 'kubernetes'));

/** Every kind fedstack emits, so each serialized document is validated again from its text. */
const MODELS: Record<string, new (data: never) => { validate(): void }> = {
  Namespace,
  ServiceAccount,
  Service,
  StatefulSet,
  Deployment,
  NetworkPolicy,
  PodDisruptionBudget,
  ClusterRole,
  ClusterRoleBinding,
};

type Doc = {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string };
  // Manifests are walked freely in assertions; the schema check above is what types them.
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  spec?: any;
  data?: Record<string, string>;
};

function docs(text: string): Doc[] {
  return YAML.parseAllDocuments(text).map((d) => d.toJS() as Doc);
}

const example = defaultTopology();
const securedText = securedTopologyText({
  serviceUrl: 'http://fedstack.fedstack-system.svc:8080',
  edgeEndpoint: '10.0.0.1:9090',
});
/** No centralEgressCidrs: the cascade stays inside its cluster. */
const unexposed = topologyFrom(securedText);
const secured = topologyFrom(
  securedText.replace(
    '      passwordHash: { name: fed-auth, key: password.bcrypt }\n',
    '      passwordHash: { name: fed-auth, key: password.bcrypt }\n    centralEgressCidrs: [203.0.113.8/32]\n',
  ),
);

for (const [name, topo] of [
  ['the example topology', example],
  ['a secured topology', secured],
] as const) {
  test(`every manifest of ${name} parses back and validates against the Kubernetes schema`, () => {
    const files = renderManifests(topo);
    let count = 0;
    for (const [path, text] of files) {
      if (!path.endsWith(FILE.manifests)) continue;
      assert.ok(text.startsWith(GENERATED_HEADER), `${path} has the generated header`);
      for (const d of docs(text)) {
        const Model = MODELS[d.kind];
        assert.ok(Model, `${path}: unexpected kind ${d.kind}`);
        assert.doesNotThrow(() => new Model(d as never).validate(), `${path}: ${d.kind} ${d.metadata.name}`);
        count++;
      }
    }
    assert.ok(count > 40, `validated ${count} objects`);
  });
}

test('rendering twice gives identical bytes', () => {
  assert.deepEqual(renderManifests(secured), renderManifests(secured));
});

test('every cluster bundle has a kustomization listing its manifests', () => {
  const files = renderManifests(example);
  const dirs = [...files.keys()]
    .filter((p) => p.endsWith(FILE.manifests))
    .map((p) => p.slice(0, -FILE.manifests.length - 1));
  assert.equal(
    dirs.length,
    metaClusters(example).length + example.bigRegions.length + example.central.replicas.length + 2,
  );
  for (const dir of dirs) {
    const k = YAML.parse(files.get(`${dir}/kustomization.yaml`)!);
    assert.equal(k.kind, 'Kustomization');
    assert.ok(k.resources.includes(FILE.manifests), dir);
  }
  const alerting = YAML.parse(files.get('alerting/kustomization.yaml')!);
  assert.deepEqual(alerting.configMapGenerator, [
    { name: 'alertmanager-config', files: [FILE.alertmanager, 'templates/fedstack.tmpl'] },
  ]);
});

test('each Prometheus bundle packs the config files next to it into the ConfigMap its pod mounts', () => {
  const files = renderManifests(secured);
  for (const dir of ['edge/mc-lab-01', 'cascade/lab', 'central/central-a']) {
    const k = YAML.parse(files.get(`${dir}/kustomization.yaml`)!);
    const [gen] = k.configMapGenerator;
    for (const f of gen.files as string[])
      assert.ok(files.has(`${dir}/${f}`), `${dir}: ${f} is rendered next to the kustomization`);
    assert.equal(
      gen.options.disableNameSuffixHash,
      true,
      'a stable name: kubelet swaps the files, the sidecar reloads',
    );
    const sts = docs(files.get(`${dir}/manifests.yaml`)!).find((x) => x.kind === 'StatefulSet')!;
    const volume = sts.spec.template.spec.volumes.find((v: { name: string }) => v.name === 'config');
    assert.equal(volume.configMap.name, gen.name, dir);
  }
  assert.deepEqual(YAML.parse(files.get('edge/mc-lab-01/kustomization.yaml')!).configMapGenerator[0].files, [
    FILE.prometheus,
    FILE.rules,
    FILE.webConfig,
  ]);
  assert.deepEqual(
    YAML.parse(files.get('central/central-a/kustomization.yaml')!).configMapGenerator[0].files,
    [FILE.prometheus, FILE.rules],
  );
});

test('the edge LoadBalancer exposes only the federation port, to its cascade egress CIDRs', () => {
  const d = docs(renderManifests(example).get('edge/mc-hz-01/manifests.yaml')!);
  const lbs = d.filter((x) => x.kind === 'Service' && x.spec.type === 'LoadBalancer');
  assert.equal(lbs.length, 1);
  assert.deepEqual(lbs[0]!.spec.ports, [
    { name: 'federation', port: PORT.prometheus, targetPort: 'web', protocol: 'TCP' },
  ]);
  assert.deepEqual(lbs[0]!.spec.loadBalancerSourceRanges, ['47.96.0.10/32', '47.96.0.11/32']);
  const np = d.find((x) => x.kind === 'NetworkPolicy')!;
  assert.deepEqual(np.spec.ingress[1].from, [
    { ipBlock: { cidr: '47.96.0.10/32' } },
    { ipBlock: { cidr: '47.96.0.11/32' } },
  ]);
  const others = d.filter((x) => x.kind === 'Service' && x.spec.type !== 'LoadBalancer');
  assert.ok(
    others.every((s) => s.spec.type === undefined),
    'the other Service stays ClusterIP',
  );
  assert.deepEqual(d.map((x) => x.kind).sort(), [
    'ClusterRole',
    'ClusterRoleBinding',
    'Namespace',
    'NetworkPolicy',
    'PodDisruptionBudget',
    'Service',
    'Service',
    'ServiceAccount',
    'StatefulSet',
  ]);
});

test('a cascade is exposed only to the central egress CIDRs, and not at all without them', () => {
  const lb = (topo: typeof example, br: string) =>
    docs(renderManifests(topo).get(`cascade/${br}/manifests.yaml`)!).filter(
      (x) => x.kind === 'Service' && x.spec.type === 'LoadBalancer',
    );
  assert.deepEqual(lb(unexposed, 'lab'), []);
  assert.deepEqual(lb(secured, 'lab')[0]!.spec.loadBalancerSourceRanges, ['203.0.113.8/32']);
  assert.deepEqual(lb(example, 'china')[0]!.spec.loadBalancerSourceRanges, [
    '47.96.1.10/32',
    '47.96.1.11/32',
  ]);
});

test('central replicas are pinned to their zones and never share one', () => {
  const files = renderManifests(example);
  const zones = example.central.replicas.map((r) => {
    const sts = docs(files.get(`central/${r.name}/manifests.yaml`)!).find((x) => x.kind === 'StatefulSet')!;
    assert.equal(
      sts.metadata.name,
      SERVICE.centralPrometheus(r.name, example.global.namespace).split('.')[0],
    );
    const spec = sts.spec.template.spec;
    assert.equal(
      spec.affinity.podAntiAffinity.requiredDuringSchedulingIgnoredDuringExecution[0].topologyKey,
      'topology.kubernetes.io/zone',
    );
    assert.equal(spec.topologySpreadConstraints[0].topologyKey, 'topology.kubernetes.io/zone');
    return spec.nodeSelector['topology.kubernetes.io/zone'];
  });
  assert.deepEqual(zones, ['cn-hangzhou-h', 'cn-hangzhou-i']);
});

test('each Alertmanager replica peers with the others by their Service names', () => {
  const d = docs(renderManifests(example).get('alerting/manifests.yaml')!);
  const sts = d.filter((x) => x.kind === 'StatefulSet');
  assert.deepEqual(
    sts.map((s) => s.metadata.name),
    ['alertmanager-am-0', 'alertmanager-am-1'],
  );
  const peers = sts.map((s) =>
    s.spec.template.spec.containers[0].args.filter((a: string) => a.startsWith('--cluster.peer=')),
  );
  assert.deepEqual(peers, [
    [`--cluster.peer=${SERVICE.alertmanager('am-1', 'fedstack-system')}:${PORT.alertmanagerCluster}`],
    [`--cluster.peer=${SERVICE.alertmanager('am-0', 'fedstack-system')}:${PORT.alertmanagerCluster}`],
  ]);
  const svcs = d.filter((x) => x.kind === 'Service');
  assert.ok(
    svcs.every((s) => s.spec.clusterIP === 'None'),
    'headless: Prometheus sends to each instance, not via a balancer',
  );
});

test('the fedstack service runs 2 replicas, with the alert bridge, from args its own CLI parser accepts', () => {
  const d = docs(renderManifests(example).get('service/manifests.yaml')!);
  const sts = d.find((x) => x.kind === 'StatefulSet')!;
  assert.equal(sts.spec.replicas, 2);
  assert.equal(sts.spec.serviceName, 'fedstack');
  const svc = d.find((x) => x.kind === 'Service')!;
  assert.equal(svc.metadata.name, 'fedstack', 'the name the default serviceUrl uses');
  assert.equal(svc.spec.clusterIP, 'None', 'headless, so sidecars can heartbeat every replica');
  assert.equal(svc.spec.publishNotReadyAddresses, true, 'a bad topology edit must not take SD offline');
  const [cmd, ...args] = sts.spec.template.spec.containers[0].args as string[];
  assert.equal(cmd, 'serve');
  assert.deepEqual(parseServeArgs(args), {
    topologyFile: '/etc/fedstack/topology/topology.yaml',
    port: PORT.fedstack,
    host: '0.0.0.0',
    heartbeatTokenFile: '/var/run/fedstack/token/token',
    readTokenFile: '/var/run/fedstack/read-token/token',
    operatorTokenFile: '/var/run/fedstack/operator-token/token',
    // The example routes alerts to DingTalk and SMS: the bridge runs, its outbox on a volume.
    outboxDir: '/var/lib/fedstack/outbox',
    secretsDir: '/etc/fedstack/secrets',
    bridgeReplicas: sts.spec.replicas,
  });
  assert.deepEqual(
    sts.spec.volumeClaimTemplates.map((c: { metadata: { name: string } }) => c.metadata.name),
    ['outbox'],
    'the outbox survives a pod restart',
  );
  const files = renderManifests(example);
  const k = YAML.parse(files.get('service/kustomization.yaml')!);
  assert.deepEqual(k.configMapGenerator[0].files, ['topology.yaml']);
  assert.equal(
    topologyFrom(files.get('service/topology.yaml')!).metadata.name,
    example.metadata.name,
    'the topology written next to the service loads again',
  );
});

test('without a routing section the service runs without the bridge and its outbox', () => {
  const noRouting = topologyFrom(defaultTopologyText().replace(/\nrouting:[\s\S]*$/, '\n'));
  const sts = docs(renderManifests(noRouting).get('service/manifests.yaml')!).find(
    (x) => x.kind === 'StatefulSet',
  )!;
  const flags = parseServeArgs((sts.spec.template.spec.containers[0].args as string[]).slice(1));
  assert.equal(flags.outboxDir, undefined);
  assert.equal(sts.spec.volumeClaimTemplates, undefined);
});

test('with staged rollouts, one service replica keeps the rollout state on a volume and every sidecar pulls its instance', () => {
  const staged = topologyFrom(`${defaultTopologyText()}\nrollouts: { enabled: true }\n`);
  const files = renderManifests(staged);
  const sts = docs(files.get('service/manifests.yaml')!).find((x) => x.kind === 'StatefulSet')!;
  assert.equal(sts.spec.replicas, 1, 'one rollout controller');
  const serve = parseServeArgs((sts.spec.template.spec.containers[0].args as string[]).slice(1));
  assert.equal(serve.dataDir, '/var/lib/fedstack/rollouts');
  assert.equal(serve.bridgeReplicas, 1, 'the one bridge has the whole budget');
  assert.deepEqual(
    sts.spec.volumeClaimTemplates.map((c: { metadata: { name: string } }) => c.metadata.name),
    ['outbox', 'rollout-state'],
  );
  assert.ok(
    sts.spec.template.spec.containers[0].volumeMounts.some(
      (m: { name: string; mountPath: string }) => m.name === 'rollout-state' && m.mountPath === serve.dataDir,
    ),
  );

  const sidecars = (t: Topology) => {
    const out: { tier: string; name: string; flags: ReturnType<typeof parseSidecarArgs>[] }[] = [];
    for (const [path, text] of renderManifests(t)) {
      const m = /^(edge|cascade|central)\/([^/]+)\/manifests\.yaml$/.exec(path);
      if (!m) continue;
      const pod = docs(text).find((x) => x.kind === 'StatefulSet')!.spec.template.spec;
      const run = [...pod.initContainers, ...pod.containers].filter((c: { args?: string[] }) => c.args?.[0] === 'sidecar');
      out.push({ tier: m[1]!, name: m[2]!, flags: run.map((c: { args: string[] }) => parseSidecarArgs(c.args.slice(1))) });
    }
    return out;
  };
  const pulling = sidecars(staged);
  assert.equal(pulling.length, 12 + 4 + 2, 'every edge, cascade and central replica');
  for (const { tier, name, flags } of pulling) {
    assert.equal(flags.length, 2, `${tier}/${name}: the init container and the sidecar`);
    for (const f of flags) {
      assert.equal(f.instance, `${tier}/${name}`);
      assert.equal(f.serviceUrl, staged.global.serviceUrl);
      assert.equal(f.readTokenFile, MOUNT.readTokenFile);
      assert.equal(f.tokenFile, '/var/run/fedstack/token/token', 'reports what it applied');
      assert.equal(f.configDir, '/etc/fedstack/config', 'the first start\'s fallback');
    }
  }
  for (const { tier, name, flags } of sidecars(example))
    for (const f of flags) assert.equal(f.instance, undefined, `${tier}/${name} applies its mounted ConfigMap`);
});

test('sidecar args in the manifests round-trip through the CLI parser', () => {
  const sts = docs(renderManifests(secured).get('edge/mc-lab-01/manifests.yaml')!).find(
    (x) => x.kind === 'StatefulSet',
  )!;
  const sidecar = sts.spec.template.spec.containers.find(
    (c: { name: string }) => c.name === 'config-sidecar',
  );
  const [cmd, ...args] = sidecar.args as string[];
  assert.equal(cmd, 'sidecar');
  const opts = parseSidecarArgs(args);
  assert.equal(opts.metaCluster, 'mc-lab-01');
  assert.equal(opts.prometheusUrl, `https://localhost:${PORT.prometheus}`);
  assert.equal(opts.prometheusUsername, 'federate');
  assert.equal(opts.prometheusPasswordFile, MOUNT.federationPasswordFile);
  assert.equal(opts.prometheusInsecureSkipVerify, true);
  assert.deepEqual(sidecarArgs(opts), args);
  const init = sts.spec.template.spec.initContainers[0];
  assert.equal(parseSidecarArgs(init.args.slice(1)).once, true);
});

test("the service's bridges share each robot's budget: together they stay within DingTalk's limit", () => {
  const sts = docs(renderManifests(example).get('service/manifests.yaml')!).find(
    (x) => x.kind === 'StatefulSet',
  )!;
  const replicas = sts.spec.replicas as number;
  const { bridgeReplicas } = parseServeArgs((sts.spec.template.spec.containers[0].args as string[]).slice(1));
  assert.equal(bridgeReplicas, replicas);
  const each = bridgeOptions({ replicas: bridgeReplicas });
  assert.ok(
    each.dingtalk.limit * replicas <= DEFAULT_BRIDGE_OPTIONS.dingtalk.limit,
    `${replicas} × ${each.dingtalk.limit}`,
  );
  assert.equal(each.dingtalk.limit, 10);
  // SMS: the hourly and daily budgets divide; one per minute cannot, so each bridge keeps one
  // and Aliyun's own frequency control refuses a second (the bridge then waits and retries).
  assert.deepEqual(
    each.sms.limits.map((l) => l.limit),
    [1, 2, 5],
  );
  assert.throws(() => bridgeOptions({ replicas: 0 }), /bridge replicas: want a whole number >= 1, got 0/);
});

test('a secured edge mounts its secrets by reference and probes over TCP', () => {
  const d = docs(renderManifests(secured).get('edge/mc-lab-01/manifests.yaml')!);
  const spec = d.find((x) => x.kind === 'StatefulSet')!.spec.template.spec;
  const volumes = Object.fromEntries(spec.volumes.map((v: { name: string }) => [v.name, v]));
  assert.deepEqual(volumes.tls.secret, { secretName: 'fed-tls', defaultMode: 0o440 });
  assert.deepEqual(volumes.federation.projected.sources, [
    { secret: { name: 'fed-auth', items: [{ key: 'password', path: 'password' }] } },
    { secret: { name: 'fed-auth', items: [{ key: 'password.bcrypt', path: 'password.bcrypt' }] } },
  ]);
  const prom = spec.containers[0];
  assert.ok(prom.args.includes(`--web.config.file=${MOUNT.config}/${FILE.webConfig}`));
  assert.deepEqual(prom.readinessProbe.tcpSocket, { port: 'web' });
  const webConfig = renderManifests(secured).get(`edge/mc-lab-01/${FILE.webConfig}`)!;
  assert.ok(webConfig.includes(WEB_CONFIG_HASH_PLACEHOLDER));
  assert.ok(!d.some((x) => x.kind === 'Secret'), 'no Secret object is rendered');
});

test('global.images overrides the image of every workload, and a malformed image is refused', () => {
  const text = defaultTopologyText().replace(
    '  grafanaUrl: https://grafana.example.com\n',
    '  grafanaUrl: https://grafana.example.com\n  images: { fedstack: registry.example.com/ops/fedstack:1.2.3, prometheus: registry.example.com/prom/prometheus:v2.42.0 }\n',
  );
  assert.notEqual(text, defaultTopologyText(), 'the fixture edit applied');
  const files = renderManifests(topologyFrom(text));
  const images = new Set<string>();
  for (const [path, t] of files) {
    if (!path.endsWith(FILE.manifests)) continue;
    for (const d of docs(t))
      for (const c of [
        ...(d.spec?.template?.spec?.initContainers ?? []),
        ...(d.spec?.template?.spec?.containers ?? []),
      ])
        images.add(c.image);
  }
  assert.deepEqual([...images].sort(), [
    'quay.io/prometheus/alertmanager:v0.25.0',
    'registry.example.com/ops/fedstack:1.2.3',
    'registry.example.com/prom/prometheus:v2.42.0',
  ]);
  assert.throws(
    () => topologyFrom(text.replace('fedstack:1.2.3', 'Fedstack:latest!')),
    /global\.images\.fedstack: invalid image "registry\.example\.com\/ops\/Fedstack:latest!"/,
  );
});
