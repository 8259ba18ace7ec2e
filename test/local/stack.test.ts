import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { toYaml } from '../../common/serialize.ts';
import {
  isLoopbackTarget,
  localizeTopology,
  SIMULATOR_JOB,
  type LocalPorts,
} from '../../deploy/local/localize.ts';
import { parseTopology } from '../../topology/load.ts';
import { metaClusters, type Topology } from '../../topology/model.ts';
import { crossCheck } from '../../topology/validate.ts';

const TOPOLOGY = `
apiVersion: fedstack/v1
kind: Topology
metadata: { name: tiny }
global:
  edge: { scrapeInterval: 30s, evaluationInterval: 30s, scrapeTimeout: 20s }
central: { replicas: [{ name: central-a, zone: z1 }] }
alertmanager: { replicas: [{ name: am-0, zone: z1 }] }
bigRegions:
  - name: china
    cascade: { endpoint: cascade.example.com:9090 }
    regions:
      - name: cn-hangzhou
        metaClusters:
          - name: mc-a
            endpoint: 10.0.0.1:9090
            guestClusters: 1
            nodes: 1
            extraScrapeTargets:
              - { job: fleet-simulator, targets: [10.0.0.9:1] }
              - { job: gpu, targets: [10.0.0.2:9400] }
`;

function tiny(): Topology {
  const parsed = parseTopology(TOPOLOGY);
  if (!parsed.ok) throw new Error(JSON.stringify(parsed.errors));
  return parsed.topology;
}

const PORTS: LocalPorts = {
  edges: { 'mc-a': 41001 },
  cascades: { china: 41002 },
  centrals: { 'central-a': 41003 },
  alertmanagers: { 'am-0': { web: 41004, cluster: 41005 } },
  service: 41006,
};

describe('localizeTopology', () => {
  it('puts every component on the loopback port given, and the simulator first among the edge targets', () => {
    const topo = tiny();
    const local = localizeTopology(topo, {
      ports: PORTS,
      simulators: { 'mc-a': '127.0.0.1:41999' },
      remoteTargets: 'keep',
    });
    const mc = metaClusters(local)[0]!.metaCluster;
    assert.equal(mc.endpoint, '127.0.0.1:41001');
    assert.equal(local.bigRegions[0]!.cascade.endpoint, '127.0.0.1:41002');
    assert.equal(local.central.replicas[0]!.endpoint, '127.0.0.1:41003');
    assert.equal(local.alertmanager.replicas[0]!.endpoint, '127.0.0.1:41004');
    assert.equal(local.alertmanager.replicas[0]!.clusterEndpoint, '127.0.0.1:41005');
    assert.equal(local.global.serviceUrl, 'http://127.0.0.1:41006');
    // The topology's own simulator entry is replaced, other extra targets kept as they are.
    assert.deepEqual(
      mc.extraScrapeTargets.map((t) => [t.job, t.targets]),
      [
        [SIMULATOR_JOB, ['127.0.0.1:41999']],
        ['gpu', ['10.0.0.2:9400']],
      ],
    );
    assert.deepEqual(crossCheck(local, { profile: 'local' }), []);
  });

  it('leaves out extra targets that are not on loopback unless told to keep them, and says which', () => {
    const dropped: string[] = [];
    const local = localizeTopology(tiny(), {
      ports: PORTS,
      simulators: { 'mc-a': '127.0.0.1:41999' },
      onDrop: (mc, job, target) => dropped.push(`${mc} ${job} ${target}`),
    });
    assert.deepEqual(
      metaClusters(local)[0]!.metaCluster.extraScrapeTargets.map((t) => t.job),
      [SIMULATOR_JOB],
    );
    assert.deepEqual(dropped, ['mc-a gpu 10.0.0.2:9400']);
  });

  it('tells loopback targets from the others', () => {
    const cases: [string, boolean][] = [
      ['127.0.0.1:9100', true],
      ['127.8.9.10:1', true],
      ['localhost:9090', true],
      ['[::1]:9090', true],
      ['10.0.0.1:9100', false],
      ['127.example.com:80', false],
      ['exporter.local:9100', false],
    ];
    for (const [target, loopback] of cases) assert.equal(isLoopbackTarget(target), loopback, target);
  });

  it('overrides every tier interval and drops a configured timeout that the new interval could not hold', () => {
    const local = localizeTopology(tiny(), { ports: PORTS, intervals: { scrape: '1s', evaluation: '2s' } });
    for (const tier of [local.global.edge, local.global.cascade, local.global.central]) {
      assert.equal(tier.scrapeInterval, '1s');
      assert.equal(tier.evaluationInterval, '2s');
      assert.equal(tier.scrapeTimeout, undefined);
    }
  });

  it('leaves the input topology untouched and returns a frozen one', () => {
    const topo = tiny();
    const before = JSON.stringify(topo);
    const local = localizeTopology(topo, { ports: PORTS });
    assert.equal(JSON.stringify(topo), before);
    assert.ok(Object.isFrozen(local) && Object.isFrozen(local.bigRegions[0]!.cascade));
  });

  it('writes a topology file the loader reads back to the same model', () => {
    const local = localizeTopology(tiny(), { ports: PORTS, simulators: { 'mc-a': '127.0.0.1:41999' } });
    const again = parseTopology(toYaml(local), 'topology.yaml', { profile: 'local' });
    assert.ok(again.ok, JSON.stringify(!again.ok && again.errors));
    assert.deepEqual(again.topology, local);
  });

  it('names the component it has no port for', () => {
    assert.throws(() => localizeTopology(tiny(), { ports: { ...PORTS, edges: {} } }), {
      message: 'localize: no port for edge "mc-a"',
    });
  });
});
