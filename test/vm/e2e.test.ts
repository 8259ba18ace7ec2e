/**
 * The VictoriaMetrics backend for real: simulators → 3 edge Prometheus → 2 cascades, which
 * remote_write their allow-listed series to a single-node victoria-metrics → 2 vmalerts
 * evaluating central's rules → a 2-node Alertmanager cluster → a webhook receiver that counts.
 * One stack for the suite; the cases run in order and the last one stops VictoriaMetrics.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { LABEL, SYSTEM_SELECTORS, VM_JOB } from '../../common/conventions.ts';
import { describeProblems, runPanelQueries } from '../../dashboards/check.ts';
import { startLocalStack, type LocalStack } from '../../deploy/local/stack.ts';
import { httpGet, type ClientCredentials } from '../../deploy/local/http.ts';
import { SIMULATOR_JOB } from '../../deploy/local/localize.ts';
import { parseTopology } from '../../topology/load.ts';
import type { Topology } from '../../topology/model.ts';
import { parseSeriesSelector, selectorAcceptsName } from '../../topology/promql.ts';
import {
  promAlerts,
  promQuery,
  startWebhookReceiver,
  waitFor,
  type WebhookReceiver,
  webhookAlertmanagerConfig,
} from '../support/index.ts';

const FIXTURE = new URL('./fixtures/e2e.good.yaml', import.meta.url);
const PEER_TIMEOUT_S = 2;
/** How long VictoriaMetrics stays down in the outage case (the 30 s). */
const OUTAGE_MS = 30_000;

function loadFixture(): Topology {
  const parsed = parseTopology(readFileSync(FIXTURE, 'utf8'), FIXTURE.pathname);
  if (!parsed.ok) throw new Error(parsed.errors.map((e) => `${e.path}: ${e.message}`).join('\n'));
  return parsed.topology;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Raw samples of every series matching `selector` in [start, end] (Unix ms), by series. */
interface RawSeries {
  readonly metric: Record<string, string>;
  readonly samples: readonly string[];
}
async function promRaw(
  url: string,
  selector: string,
  startMs: number,
  endMs: number,
  creds: ClientCredentials | undefined,
): Promise<RawSeries[]> {
  const seconds = Math.ceil((endMs - startMs) / 1000);
  const q = new URLSearchParams({ query: `${selector}[${seconds}s]`, time: String(endMs / 1000) });
  // The cascade serves behind TLS and basic auth, asked the way central would ask it.
  const res = await httpGet(`${url}/api/v1/query?${q}`, creds);
  const answer = JSON.parse(res.text) as {
    data: { result: { metric: Record<string, string>; values: [number, string][] }[] };
  };
  return answer.data.result.map((r) => ({
    metric: r.metric,
    samples: r.values.filter(([t]) => t * 1000 > startMs).map(([t, v]) => `${Math.round(t * 1000)}=${v}`),
  }));
}
/** The same from VictoriaMetrics' export API: exactly what it stored, no query-time processing. */
async function vmRaw(url: string, selector: string, startMs: number, endMs: number): Promise<RawSeries[]> {
  const q = new URLSearchParams({
    'match[]': selector,
    start: String(startMs / 1000),
    end: String(endMs / 1000),
  });
  const text = await (await fetch(`${url}/api/v1/export?${q}`)).text();
  return text
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((l) => JSON.parse(l) as { metric: Record<string, string>; values: number[]; timestamps: number[] })
    .map((r) => ({
      metric: r.metric,
      samples: r.timestamps
        .map((t, i) => [t, r.values[i]!] as const)
        .filter(([t]) => t > startMs)
        .map(([t, v]) => `${t}=${v}`),
    }));
}
const seriesKey = (m: Record<string, string>) =>
  JSON.stringify(
    Object.entries(m)
      .filter(([k]) => k !== '__name__')
      .sort(),
  );

describe('the VictoriaMetrics backend on the local stack, end to end', () => {
  let stack: LocalStack;
  let hook: WebhookReceiver;
  let vm: string;
  let vmalerts: string[];

  before(async () => {
    hook = await startWebhookReceiver();
    const topology = loadFixture();
    stack = await startLocalStack({
      topology,
      simulate: { maxGuestClusters: 3 },
      alertmanagerConfig: webhookAlertmanagerConfig(topology, hook.url),
      alertmanagerPeerTimeout: `${PEER_TIMEOUT_S}s`,
      waitForData: true,
    });
    vm = stack.urls.victoriaMetrics!;
    vmalerts = Object.values(stack.urls.centrals);
  });

  after(async () => {
    await stack?.stop();
    await hook?.close();
  });

  const atVm = (expr: string, what = expr) =>
    waitFor(
      async () => {
        const v = await promQuery(vm, expr);
        return v.length > 0 ? v : undefined;
      },
      { timeoutMs: 30_000, what: `${what} at VictoriaMetrics` },
    );

  it("delivers every meta-cluster's series to VictoriaMetrics with big_region, region, meta_cluster and its own job", async () => {
    const heartbeats = await waitFor(
      async () => {
        const v = await promQuery(vm, 'fedstack:heartbeat:timestamp_seconds');
        return v.length === 3 ? v : undefined;
      },
      { what: 'the heartbeat of all 3 edges at VictoriaMetrics' },
    );
    assert.deepEqual(
      heartbeats
        .map((s) => `${s.metric[LABEL.bigRegion]}/${s.metric[LABEL.region]}/${s.metric[LABEL.metaCluster]}`)
        .sort(),
      ['china/cn-beijing/mc-bj-01', 'china/cn-hangzhou/mc-hz-01', 'europe/eu-central-1/mc-fra-01'],
    );
    const [raw] = await atVm(
      'kube_pod_status_phase{meta_cluster="mc-bj-01",phase="Running",namespace="kube-system",pod="etcd-0"}',
    );
    assert.equal(raw!.metric[LABEL.bigRegion], 'china');
    assert.equal(raw!.metric[LABEL.region], 'cn-beijing');
    assert.equal(raw!.metric.job, SIMULATOR_JOB);
    // The cascade's dropLabels applied on the way (uid is a noise label the edge keeps).
    assert.equal(raw!.metric.uid, undefined);
    // Regional recording rules of every region, evaluated at the cascades.
    const regions = await waitFor(async () => {
      const v = await promQuery(vm, 'region:apiserver_request_errors:ratio_rate5m');
      return v.length === 3 ? v : undefined;
    });
    assert.ok(regions.every((s) => s.value < 0.05));
  });

  it('holds only series central keeps: allow-listed names, system series, and the backend and vmalert own', async () => {
    const topo = stack.topology;
    const keeps = [...topo.allowLists.central, ...SYSTEM_SELECTORS.central].map((t) => {
      const r = parseSeriesSelector(t);
      assert.ok(r.ok, t);
      return r.selector;
    });
    const made = new Set([...topo.recordingRules.central.map((r) => r.record), 'ALERTS', 'ALERTS_FOR_STATE']);
    // Every series from the fleet (it carries meta_cluster) must be something central keeps.
    const names = (await promQuery(vm, 'count by (__name__) ({meta_cluster!=""})')).map(
      (s) => s.metric.__name__!,
    );
    assert.ok(names.length > 5, names.join());
    const strays = names.filter((n) => !made.has(n) && !keeps.some((k) => selectorAcceptsName(k, n)));
    assert.deepEqual(strays, []);
    // Kept at the cascade, not at central; and never past the edge.
    assert.ok(
      (
        await promQuery(
          stack.urls.cascades.china!,
          'count(cluster:apiserver_request:rate5m)',
          stack.secrets.credentials(),
        )
      ).length > 0,
    );
    assert.deepEqual(await promQuery(vm, 'count(cluster:apiserver_request:rate5m)'), []);
    assert.deepEqual(await promQuery(vm, 'count(node_cpu_seconds_total)'), []);
    // Each cascade's own health arrives (CascadeDown and RemoteWriteBehind read it).
    const up = await atVm('up{job="prometheus",meta_cluster=""}');
    assert.deepEqual(up.map((s) => s.metric[LABEL.bigRegion]).sort(), ['china', 'europe']);
    await atVm('prometheus_remote_storage_samples_total{job="prometheus",meta_cluster=""}');
    // The backend's self-monitoring: the single node and both vmalerts are up.
    const self = await waitFor(async () => {
      const v = await promQuery(vm, `up{job=~"${VM_JOB.single}|${VM_JOB.vmalert}"} == 1`);
      return v.length === 3 ? v : undefined;
    });
    assert.equal(self.length, 3);
  });

  it("stores the vmalert pair's identical recording results once per evaluation", async () => {
    // Both vmalerts evaluate and write (each is scraped, each counts its evaluations).
    const writers = await waitFor(async () => {
      const v = await promQuery(
        vm,
        `sum by (instance) (vmalert_iteration_total{job="${VM_JOB.vmalert}"}) > 0`,
      );
      return v.length === 2 ? v : undefined;
    });
    assert.equal(writers.length, 2);
    // Ten evaluations of a central recording rule, once its inputs have arrived.
    const stamps = await waitFor(async () => {
      const end = Date.now();
      const [series] = await vmRaw(vm, 'big_region:edge_up:ratio{big_region="china"}', end - 20_000, end);
      const t = (series?.samples ?? []).map((x) => Number(x.split('=')[0]));
      return t.length >= 10 ? t : undefined;
    });
    // One evaluation interval (1 s) apart: the two replicas' samples share timestamps and dedup merges them.
    const gaps = stamps.slice(1).map((t, i) => t - stamps[i]!);
    assert.deepEqual(
      gaps.filter((g) => g < 1000),
      [],
    );
  });

  it('takes writes only over TLS with the federation credentials, as federation itself (vmauth)', async () => {
    const creds = stack.secrets.credentials()!;
    const write = `https://${stack.topology.central.victoriaMetrics!.endpoint}/api/v1/write`;
    assert.equal((await httpGet(write, { ...creds, basicAuth: undefined })).status, 401);
    const wrong = await httpGet(write, {
      ...creds,
      basicAuth: { username: creds.basicAuth!.username, password: 'wrong' },
    });
    assert.match(wrong.text, /cannot find the provided auth token/);
    // The right credentials reach victoria-metrics' write handler (an empty body is no write).
    assert.match((await httpGet(write, creds)).text, /cannot decompress request|snappy/);
    // Plain HTTP and an unknown CA are refused before any request.
    await assert.rejects(
      httpGet(write.replace('https:', 'http:'), undefined).then((r) => {
        if (r.status === 400) throw new Error('plain HTTP refused');
        return r;
      }),
    );
    await assert.rejects(httpGet(write, { basicAuth: creds.basicAuth }));
  });

  it('answers every dashboard panel and variable query from VictoriaMetrics', async () => {
    // Rates need two samples of their window: wait until the slowest panel has data.
    const problems = await waitFor(
      async () => {
        const p = describeProblems(await runPanelQueries({ baseUrl: vm, topology: stack.topology }));
        return p.length === 0 ? p : undefined;
      },
      { timeoutMs: 60_000, intervalMs: 2000, what: 'every panel query answered' },
    ).catch(async () => describeProblems(await runPanelQueries({ baseUrl: vm, topology: stack.topology })));
    assert.deepEqual(problems, []);
  });

  it('notifies an injected apiserver error fault once through vmalert, although both vmalerts fire it', async () => {
    stack.setFault('mc-bj-01', { apiserverErrorRatio: 0.5 });
    await waitFor(
      async () => {
        const firing = await Promise.all(vmalerts.map((url) => promAlerts(url)));
        return firing.every((alerts) =>
          alerts.some(
            (a) =>
              a.state === 'firing' &&
              a.labels.alertname === 'ApiserverErrorRatioHigh' &&
              a.labels[LABEL.metaCluster] === 'mc-bj-01',
          ),
        );
      },
      { timeoutMs: 60_000, what: 'ApiserverErrorRatioHigh firing at both vmalerts' },
    );
    const labels = {
      alertname: 'ApiserverErrorRatioHigh',
      [LABEL.metaCluster]: 'mc-bj-01',
      [LABEL.region]: 'cn-beijing',
    };
    await waitFor(() => hook.firingCount('ApiserverErrorRatioHigh', labels) > 0, {
      timeoutMs: 30_000,
      what: 'ApiserverErrorRatioHigh at the webhook',
    });
    // Past a peer's dedup window: a second copy would have arrived by now.
    await sleep((2 * PEER_TIMEOUT_S + 1) * 1000);
    assert.equal(hook.firingCount('ApiserverErrorRatioHigh', labels), 1);
    stack.setFault('mc-bj-01', {});
  });

  it('loses no sample of a counter while VictoriaMetrics is down for 30 s: the cascades retry and catch up', async () => {
    const selector = 'workqueue_adds_total{meta_cluster="mc-bj-01"}';
    const cascade = stack.urls.cascades.china!;
    await atVm(selector);
    const start = Date.now();
    await stack.stopVictoriaMetrics();
    await sleep(OUTAGE_MS);
    await stack.restart('victoriametrics', 'single');
    const end = Date.now() + 5000;
    await sleep(5000);
    const expected = await promRaw(cascade, selector, start - 5000, end, stack.secrets.credentials());
    assert.ok(
      expected.length > 0 && expected.every((s) => s.samples.length >= OUTAGE_MS / 1000),
      'the cascade kept sampling',
    );
    // The queue drains at its own pace: wait until VictoriaMetrics holds as many samples, then compare them.
    const count = (s: RawSeries[]) => s.reduce((n, x) => n + x.samples.length, 0);
    const got = await waitFor(
      async () => {
        const v = await vmRaw(vm, selector, start - 5000, end);
        return count(v) >= count(expected) ? v : undefined;
      },
      { timeoutMs: 60_000, intervalMs: 1000, what: 'VictoriaMetrics to catch up after the outage' },
    ).catch(() => vmRaw(vm, selector, start - 5000, end));
    const byKey = (s: RawSeries[]) => new Map(s.map((x) => [seriesKey(x.metric), x.samples.join(' ')]));
    // Labels at VictoriaMetrics carry big_region from the cascade's external_labels; at the cascade
    // the query answer lacks external labels. Compare with it added.
    const want = byKey(expected.map((x) => ({ ...x, metric: { ...x.metric, [LABEL.bigRegion]: 'china' } })));
    assert.deepEqual(byKey(got), want);
  });
});
