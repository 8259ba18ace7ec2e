/**
 * The whole pipeline for real: simulators and node_exporter → 3 edge Prometheus → 2 cascades →
 * 2 central replicas → a 2-node Alertmanager cluster → a webhook receiver that counts.
 * One stack for the suite (startup is the expensive part); the cases run in order and the
 * later ones stop components on purpose.
 */
import { after, before, describe, it } from 'node:test';
import { describeProblems, runPanelQueries } from '../../dashboards/check.ts';
import { panelQueries } from '../../dashboards/index.ts';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { JOB, LABEL } from '../../common/conventions.ts';
import { startLocalStack, type LocalStack } from '../../deploy/local/stack.ts';
import { SIMULATOR_JOB } from '../../deploy/local/localize.ts';
import { parseTopology } from '../../topology/load.ts';
import type { Topology } from '../../topology/model.ts';
import {
  promAlerts,
  promQuery,
  startNodeExporter,
  startWebhookReceiver,
  waitFor,
  webhookAlertmanagerConfig,
  type PromSample,
  type WebhookReceiver,
} from '../support/index.ts';

const FIXTURE = new URL('./fixtures/e2e.good.yaml', import.meta.url);
const NODE_EXPORTER_PLACEHOLDER = '127.0.0.1:9100';
/** Alertmanager member N waits N × this before sending what a peer may have sent. */
const PEER_TIMEOUT_S = 2;

function loadFixture(nodeExporterTarget: string): Topology {
  const text = readFileSync(FIXTURE, 'utf8').replaceAll(NODE_EXPORTER_PLACEHOLDER, nodeExporterTarget);
  const parsed = parseTopology(text, FIXTURE.pathname);
  if (!parsed.ok) throw new Error(parsed.errors.map((e) => `${e.path}: ${e.message}`).join('\n'));
  return parsed.topology;
}

const labelsOf = (s: PromSample) => Object.keys(s.metric).sort();
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('the local federated stack, end to end', () => {
  let stack: LocalStack;
  let hook: WebhookReceiver;
  let nodeExporter: Awaited<ReturnType<typeof startNodeExporter>>;
  let central: string[];

  before(async () => {
    nodeExporter = await startNodeExporter();
    hook = await startWebhookReceiver();
    const topology = loadFixture(nodeExporter.target);
    stack = await startLocalStack({
      topology,
      simulate: { maxGuestClusters: 3 },
      alertmanagerConfig: webhookAlertmanagerConfig(topology, hook.url),
      alertmanagerPeerTimeout: `${PEER_TIMEOUT_S}s`,
      waitForData: true,
    });
    central = Object.values(stack.urls.centrals);
  });

  after(async () => {
    await stack?.stop();
    await hook?.close();
    await nodeExporter?.stop();
  });

  /** Waits until every central replica answers `expr` with at least one sample, and returns them. */
  const atEveryCentral = async (expr: string, timeoutMs = 30_000): Promise<PromSample[][]> =>
    waitFor(
      async () => {
        const all = await Promise.all(central.map((url) => promQuery(url, expr)));
        return all.every((v) => v.length > 0) ? all : undefined;
      },
      { timeoutMs, what: `${expr} at every central replica` },
    );

  /** Waits for the alert at the webhook, then past a peer's dedup window, and returns its count. */
  const deliveredCount = async (alertname: string, labels: Record<string, string>): Promise<number> => {
    await waitFor(() => hook.firingCount(alertname, labels) > 0, {
      timeoutMs: 60_000,
      what: `${alertname} ${JSON.stringify(labels)} at the webhook`,
    });
    await sleep((2 * PEER_TIMEOUT_S + 1) * 1000);
    return hook.firingCount(alertname, labels);
  };

  it('delivers a raw edge series to both central replicas with big_region, region, meta_cluster added and noise labels dropped', async () => {
    const edge = stack.urls.edges['mc-bj-01']!;
    const atEdge = await waitFor(async () => {
      const v = await promQuery(
        edge,
        `kube_pod_status_phase{phase="Running",namespace="kube-system",pod="etcd-0"}`,
        stack.secrets.credentials(),
      );
      return v.length === 1 ? v[0] : undefined;
    });
    assert.ok(atEdge.metric.uid, 'the edge keeps the noise label uid');
    const selector = `kube_pod_status_phase{meta_cluster="mc-bj-01",phase="Running",namespace="kube-system",pod="etcd-0"}`;
    const expected = [
      ...labelsOf(atEdge).filter((l) => !stack.topology.dropLabels.includes(l)),
      LABEL.bigRegion,
      LABEL.region,
      LABEL.metaCluster,
    ].sort();
    for (const samples of await atEveryCentral(selector)) {
      assert.equal(samples.length, 1);
      const s = samples[0]!;
      assert.deepEqual(labelsOf(s), expected);
      assert.equal(s.metric[LABEL.bigRegion], 'china');
      assert.equal(s.metric[LABEL.region], 'cn-beijing');
      assert.equal(s.metric[LABEL.metaCluster], 'mc-bj-01');
      assert.equal(s.metric.job, SIMULATOR_JOB);
    }
  });

  it('keeps metrics outside the cascade allow-list at the edge, and those outside the central allow-list at the cascade', async () => {
    const edge = stack.urls.edges['mc-hz-01']!;
    const cascade = stack.urls.cascades['china']!;
    // Edges and cascades serve behind TLS and basic auth: asked the way the tier above asks.
    const creds = stack.secrets.credentials();
    assert.ok((await promQuery(edge, 'count(node_cpu_seconds_total)', creds)).length > 0);
    assert.deepEqual(await promQuery(cascade, 'count(node_cpu_seconds_total)', creds), []);
    const atCascade = await waitFor(async () => {
      const v = await promQuery(cascade, 'cluster:apiserver_request:rate5m', creds);
      return v.length > 0 ? v : undefined;
    });
    // One series per guest cluster and code, each labelled with its place in the fleet.
    assert.ok(
      atCascade.every(
        (s) => s.metric[LABEL.bigRegion] === 'china' && s.metric[LABEL.clusterId] !== undefined,
      ),
    );
    for (const url of central)
      assert.deepEqual(await promQuery(url, 'count(cluster:apiserver_request:rate5m)'), []);
  });

  it('has the regional recording rules of every region at central', async () => {
    const regionsOf = (samples: PromSample[]) =>
      samples.map((s) => `${s.metric[LABEL.bigRegion]}/${s.metric[LABEL.region]}`).sort();
    const all = ['china/cn-beijing', 'china/cn-hangzhou', 'europe/eu-central-1'];
    // Each region's first value needs its own edge → cascade → central round: wait for all three.
    const errorRatios = await waitFor(
      async () => {
        const v = await Promise.all(
          central.map((url) => promQuery(url, 'region:apiserver_request_errors:ratio_rate5m')),
        );
        return v.every((samples) => regionsOf(samples).join() === all.join()) ? v : undefined;
      },
      { what: 'region:apiserver_request_errors:ratio_rate5m for every region at every central replica' },
    );
    for (const samples of errorRatios) {
      assert.ok(
        samples.every((s) => s.value < 0.05),
        'healthy fleet: error ratio under 5%',
      );
    }
    const edgesUp = await atEveryCentral('region:edge_up:ratio');
    for (const samples of edgesUp) {
      assert.deepEqual(regionsOf(samples), all);
      assert.ok(samples.every((s) => s.value === 1));
    }
  });

  it('answers every dashboard panel and variable query at both central replicas, with the variables set to real values', async () => {
    // Rates need a few samples at every tier: retry until every query answers, then assert.
    const problemsAt = async (url: string) =>
      describeProblems(await runPanelQueries({ baseUrl: url, topology: stack.topology }));
    const settled = await waitFor(
      async () => {
        const all = await Promise.all(central.map(problemsAt));
        return all.every((p) => p.length === 0) ? all : undefined;
      },
      { timeoutMs: 45_000, what: 'every panel query answering at every central replica' },
    ).catch(async () => Promise.all(central.map(problemsAt)));
    for (const problems of settled) assert.deepEqual(problems, []);
    assert.ok(panelQueries(stack.topology).length > 30, 'the four dashboards have their queries');
  });

  it('federates a real node_exporter through extraScrapeTargets to central', async () => {
    for (const samples of await atEveryCentral('node_load1')) {
      assert.equal(samples.length, 1);
      assert.deepEqual(samples[0]!.metric, {
        __name__: 'node_load1',
        job: 'node',
        instance: nodeExporter.target,
        team: 'sre',
        [LABEL.bigRegion]: 'china',
        [LABEL.region]: 'cn-hangzhou',
        [LABEL.metaCluster]: 'mc-hz-01',
      });
    }
  });

  it("keeps each series' own job, drops the federation jobs' job from aggregates, and keeps it on the federation jobs' up", async () => {
    // The stack's credentials: a cascade serves behind TLS and basic auth (central ignores them).
    const jobsOf = async (url: string, expr: string) =>
      (await promQuery(url, `count by (__name__, job) (${expr})`, stack.secrets.credentials()))
        .map((s) => `${s.metric.__name__} ${s.metric.job ?? '(no job)'}`)
        .sort();
    const aggregates =
      '{__name__=~"region:edge_up:ratio|cluster:etcd_server_has_leader:min|fedstack:heartbeat:timestamp_seconds"}';
    for (const url of central) {
      await waitFor(async () => (await jobsOf(url, aggregates)).length === 3, {
        what: 'the aggregates at central',
      });
      assert.deepEqual(await jobsOf(url, aggregates), [
        'cluster:etcd_server_has_leader:min (no job)',
        'fedstack:heartbeat:timestamp_seconds (no job)',
        'region:edge_up:ratio (no job)',
      ]);
      assert.deepEqual(await jobsOf(url, '{__name__=~"kube_pod_status_phase|node_load1|up"}'), [
        'kube_pod_status_phase fleet-simulator',
        'node_load1 node',
        // central's scrape of the fedstack service (self-monitoring)
        `up ${JOB.fedstack}`,
        `up ${JOB.federateCascade}`,
        `up ${JOB.federateEdge}`,
        // central's scrape of itself
        `up ${JOB.self}`,
      ]);
    }
    // The cascade's own aggregates of its edges: the same rule one hop down.
    assert.deepEqual(await jobsOf(stack.urls.cascades['china']!, 'cluster:etcd_server_has_leader:min'), [
      'cluster:etcd_server_has_leader:min (no job)',
    ]);
  });

  it('notifies an injected apiserver error fault once, although both central replicas fire it', async () => {
    stack.setFault('mc-bj-01', { apiserverErrorRatio: 0.5 });
    const labels = { [LABEL.metaCluster]: 'mc-bj-01', [LABEL.region]: 'cn-beijing' };
    await waitFor(
      async () => {
        const firing = await Promise.all(central.map((url) => promAlerts(url)));
        return firing.every((alerts) =>
          alerts.some(
            (a) =>
              a.state === 'firing' &&
              a.labels.alertname === 'ApiserverErrorRatioHigh' &&
              a.labels[LABEL.metaCluster] === 'mc-bj-01',
          ),
        );
      },
      { timeoutMs: 60_000, what: 'ApiserverErrorRatioHigh firing at both central replicas' },
    );
    assert.equal(await deliveredCount('ApiserverErrorRatioHigh', labels), 1);
  });

  it('fires EdgeDown with the meta_cluster and region of a stopped edge', async () => {
    await stack.stopEdge('mc-fra-01');
    const labels = {
      job: JOB.federateEdge,
      [LABEL.metaCluster]: 'mc-fra-01',
      [LABEL.region]: 'eu-central-1',
      [LABEL.bigRegion]: 'europe',
    };
    assert.equal(await deliveredCount('EdgeDown', labels), 1);
  });

  it('still delivers a new alert exactly once with one central replica stopped', async () => {
    await stack.stopCentral('central-a');
    stack.setFault('mc-hz-01', { etcdLeaderLoss: true });
    assert.equal(await deliveredCount('EtcdNoLeader', { [LABEL.metaCluster]: 'mc-hz-01' }), 1);
  });

  it('still delivers a new alert exactly once with one Alertmanager stopped', async () => {
    await stack.stopAlertmanager('am-0');
    // A critical alert: fedstack's default inhibition silences warnings where a critical fires.
    stack.setFault('mc-bj-01', { apiserverErrorRatio: 0.5, etcdLeaderLoss: true });
    assert.equal(await deliveredCount('EtcdNoLeader', { [LABEL.metaCluster]: 'mc-bj-01' }), 1);
  });

  it('federates a restarted edge again', async () => {
    await stack.restart('edge', 'mc-fra-01');
    const upAgain = `up{job="${JOB.federateEdge}",${LABEL.metaCluster}="mc-fra-01"} == 1`;
    await waitFor(async () => (await promQuery(central[1]!, upAgain)).length === 1, {
      what: 'the restarted edge to be federated again',
    });
  });

  it('delivered every alert of the run exactly once', () => {
    // One notification per receiver and firing episode (an alert that resolves and fires again
    // starts a new episode, with a new startsAt).
    const counts = new Map<string, number>();
    for (const n of hook.notifications) {
      for (const a of n.body.alerts.filter((x) => x.status === 'firing')) {
        const key = `${n.path} ${a.startsAt} ${JSON.stringify(Object.entries(a.labels).sort())}`;
        counts.set(key, (counts.get(key) ?? 0) + 1);
      }
    }
    assert.ok(counts.size >= 5, `${counts.size} distinct alerts`);
    assert.deepEqual(
      [...counts].filter(([, n]) => n !== 1),
      [],
    );
  });

  it('raised no alert but those the faults caused (a healthy simulated fleet is quiet)', () => {
    const expected = new Set([
      'Watchdog ',
      'ApiserverErrorRatioHigh mc-bj-01',
      'EdgeDown mc-fra-01',
      // The stopped edge's heartbeat stops advancing at central.
      'FederationStale mc-fra-01',
      'EtcdNoLeader mc-hz-01',
      'EtcdNoLeader mc-bj-01',
    ]);
    const delivered = new Set(
      hook.notifications.flatMap((n) =>
        n.body.alerts
          .filter((a) => a.status === 'firing')
          .map((a) => `${a.labels.alertname} ${a.labels[LABEL.metaCluster] ?? ''}`),
      ),
    );
    assert.deepEqual(
      [...delivered].filter((d) => !expected.has(d)),
      [],
    );
  });

  it('stops every process and removes its temp dir', async () => {
    const pids = stack.pids();
    // 3 edges, 2 cascades, 2 central replicas, 2 Alertmanagers, minus the 2 still stopped.
    assert.equal(pids.length, 7);
    await stack.stop();
    assert.deepEqual(stack.pids(), []);
    for (const pid of pids)
      assert.throws(() => process.kill(pid, 0), { code: 'ESRCH' }, `pid ${pid} survived`);
    assert.equal(existsSync(stack.dir), false, stack.dir);
  });
});
