/**
 * Bench: the operator console's federation tree for 10,000 meta-clusters, in Debian's
 * headless Chromium. The service serves the generated fleet; central is a real Prometheus
 * federating one `/federate` answer per big region, shaped as a cascade gives it (the
 * edges' `up`, `scrape_samples_post_metric_relabeling` and heartbeat, 1% of the edges
 * down), so the console's five queries return 10,000 series each, as they would at ACK scale.
 *
 * Measured in the browser: from navigation start to the tree rendered with its data (the
 * page's `fedstack:tree-rendered` mark), each load asking central afresh; then, on the
 * loaded page, expanding all 10,000 rows, a filter keystroke and a scroll to the bottom.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { HEARTBEAT_METRIC, JOB } from '../common/conventions.ts';
import { toYaml } from '../common/serialize.ts';
import { freePort, queryNumber, startPrometheus } from './support/prometheus.ts';
import { ACK_SCALE, generateFleetInput, type FleetSize } from './topology-gen.ts';
import type { Bench, Row } from './types.ts';

const BENCH = 'console-render';
/**
 * Central's scrape interval: the page refreshes every half of it, and the service keeps a
 * reading for half a refresh, so a load after a quarter of it reads central again. 6 s leaves
 * a warm load 1.5 s to reach the service, enough on a busy machine.
 */
const CENTRAL_INTERVAL_S = 6;
const CENTRAL_INTERVAL = `${CENTRAL_INTERVAL_S}s`;
const PAST_THE_CACHE_MS = (CENTRAL_INTERVAL_S * 1000) / 4 + 100;

interface Edge {
  readonly name: string;
  readonly region: string;
  readonly endpoint: string;
}

/** One big region's answer to central's `/federate`: what its cascade holds of its edges. */
function federateText(bigRegion: string, edges: readonly Edge[], nowSeconds: number): string {
  const lines: string[] = [];
  edges.forEach((e, i) => {
    const labels = `big_region="${bigRegion}",region="${e.region}",meta_cluster="${e.name}",instance="${e.endpoint}"`;
    const down = i % 100 === 37;
    lines.push(`up{job="${JOB.federateEdge}",${labels}} ${down ? 0 : 1}`);
    lines.push(
      `scrape_samples_post_metric_relabeling{job="${JOB.federateEdge}",${labels}} ${down ? 0 : 1500 + (i % 700)}`,
    );
    lines.push(`${HEARTBEAT_METRIC}{${labels}} ${(nowSeconds - 3 - (i % 11)).toFixed(3)}`);
  });
  return `${lines.join('\n')}\n`;
}

async function listen(server: Server): Promise<number> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return (server.address() as AddressInfo).port;
}

const plural = (n: number, what: string) => `${n} ${what}${n === 1 ? '' : 's'}`;
const median = (xs: readonly number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

export const consoleRenderBench: Bench = {
  name: BENCH,
  description:
    "the console's tree view, 10,000 meta-clusters, in headless Chromium (central: a real Prometheus)",
  async run({ smoke, log }) {
    const size: FleetSize = smoke
      ? { bigRegions: 2, regionsPerBigRegion: 2, metaClustersPerRegion: 25 }
      : ACK_SCALE;
    const loads = smoke ? 1 : 5;
    const dir = mkdtempSync(join(tmpdir(), 'fedstack-bench-console-'));
    const input = generateFleetInput(size);
    const fleet = {
      ...input,
      global: { central: { scrapeInterval: CENTRAL_INTERVAL, evaluationInterval: CENTRAL_INTERVAL } },
    };
    const total = size.bigRegions * size.regionsPerBigRegion * size.metaClustersPerRegion;
    const topologyFile = join(dir, 'topology.yaml');
    writeFileSync(topologyFile, toYaml(fleet, { header: false }));

    const edgesOf = new Map<string, Edge[]>(
      fleet.bigRegions.map((b) => [
        b.name,
        b.regions.flatMap((r) =>
          r.metaClusters.map((m) => ({ name: m.name, region: r.name, endpoint: m.endpoint })),
        ),
      ]),
    );
    // Made at most once a second per big region: this process also runs the service under test.
    const answers = new Map<string, { at: number; text: string }>();
    const cascades = createServer((req, res) => {
      const bigRegion = decodeURIComponent((req.url ?? '').replace(/^\/federate\//, ''));
      const edges = edgesOf.get(bigRegion);
      if (edges === undefined) return res.writeHead(404).end();
      let answer = answers.get(bigRegion);
      if (answer === undefined || Date.now() - answer.at > 1000) {
        answer = { at: Date.now(), text: federateText(bigRegion, edges, Date.now() / 1000) };
        answers.set(bigRegion, answer);
      }
      res.writeHead(200, { 'Content-Type': 'text/plain; version=0.0.4' });
      res.end(answer.text);
    });
    const cascadePort = await listen(cascades);

    const { startServer } = await import('../server/main.ts');
    const { consoleRouter } = await import('../console/router.ts');
    const { launchBrowser } = await import('../test/console/support/browser.ts');
    const pino = (await import('pino')).default;

    let central: Awaited<ReturnType<typeof startPrometheus>> | undefined;
    let service: Awaited<ReturnType<typeof startServer>> | undefined;
    let browser: Awaited<ReturnType<typeof launchBrowser>> | undefined;
    try {
      central = await startPrometheus({
        name: 'central',
        dir,
        address: `127.0.0.1:${await freePort()}`,
        config: toYaml({
          global: { scrape_interval: CENTRAL_INTERVAL, evaluation_interval: CENTRAL_INTERVAL },
          scrape_configs: [
            {
              job_name: JOB.federateCascade,
              honor_labels: true,
              static_configs: fleet.bigRegions.map((b) => ({
                targets: [`127.0.0.1:${cascadePort}`],
                labels: { big_region: b.name },
              })),
              relabel_configs: [
                {
                  source_labels: ['big_region'],
                  target_label: '__metrics_path__',
                  replacement: '/federate/$1',
                },
              ],
            },
          ],
        }),
        rules: 'groups: []\n',
      });
      const deadline = Date.now() + 60_000;
      while ((await queryNumber(central.url, `count(${HEARTBEAT_METRIC})`)) < total) {
        if (Date.now() > deadline)
          throw new Error(`central did not get the heartbeats of ${total} edges in 60 s`);
        await new Promise((r) => setTimeout(r, 250));
      }
      log(`${BENCH}: central holds ${total} edges' federated series`);

      service = await startServer({
        topologyFile,
        port: 0,
        logger: pino({ level: 'silent' }),
        extraRouters: [consoleRouter({ profile: 'kubernetes', centralUrls: [central.url] })],
      });
      browser = await launchBrowser();
      const page = await browser.newPage();

      /**
       * One page load, timed in the page: navigation start → the tree rendered with data. Cold:
       * past the service's cache (PAST_THE_CACHE_MS), so the load waits for central's five
       * queries. Warm: another viewer has just had the tree, so the service answers from memory.
       */
      const load = async (mode: 'cold' | 'warm') => {
        await new Promise((r) => setTimeout(r, PAST_THE_CACHE_MS));
        if (mode === 'warm') await (await fetch(`${service!.url}/console/api/tree`)).arrayBuffer();
        await page.goto(`${service!.url}/`);
        await page.locator('#fleet-tree[data-ready=true]').waitFor({ timeout: 30_000 });
        const t = (await page.evaluate(`(() => {
          const at = (name) => performance.getEntriesByName(name)[0].startTime;
          const trees = performance.getEntriesByType('resource').filter((e) => e.name.endsWith('/console/api/tree'));
          const tree = trees[0];
          return { rendered: at('fedstack:tree-rendered'), data: at('fedstack:tree-data'), app: at('fedstack:app-start'), treeStart: tree.startTime, treeEnd: tree.responseEnd, bytes: tree.decodedBodySize, requests: trees.length };
        })()`)) as {
          rendered: number;
          data: number;
          app: number;
          treeStart: number;
          treeEnd: number;
          bytes: number;
          requests: number;
        };
        log(
          `${BENCH}: ${mode} load: tree rendered at ${t.rendered.toFixed(0)} ms (code running at ${t.app.toFixed(0)} ms; JSON asked at ${t.treeStart.toFixed(0)} ms, in at ${t.treeEnd.toFixed(0)} ms, parsed at ${t.data.toFixed(0)} ms)`,
        );
        // The page's fetch takes over the preload's answer: one request, not two.
        if (t.requests !== 1)
          throw new Error(`the page asked for the tree ${t.requests} times while loading`);
        return t;
      };
      const cold = [];
      const warm = [];
      for (let i = 0; i < loads; i++) {
        cold.push(await load('cold'));
        warm.push(await load('warm'));
      }
      const rows = await page.locator('[role=treeitem][data-key^="mc:"]').count();
      if (rows !== 0) throw new Error(`the tree should load collapsed, ${rows} meta-cluster rows shown`);

      // Interactions on the loaded page, timed inside it (the work is synchronous).
      const timed = async (script: string) => (await page.evaluate(script)) as number;
      const expandMs = await timed(
        `(() => { const t = performance.now(); document.getElementById('tree-expand').click(); return performance.now() - t; })()`,
      );
      const filterMs = await timed(
        `(() => { const i = document.getElementById('tree-filter'); const t = performance.now(); i.value = 'mc-99'; i.dispatchEvent(new Event('input')); return performance.now() - t; })()`,
      );
      await page.fill('#tree-filter', '');
      const scrollMs = await timed(
        `new Promise((resolve) => { const tree = document.getElementById('fleet-tree'); const t = performance.now(); tree.scrollTop = tree.scrollHeight; requestAnimationFrame(() => requestAnimationFrame(() => resolve(performance.now() - t))); })`,
      );
      const lastShown = await page.locator('[role=treeitem]').last().getAttribute('data-key');
      if (lastShown !== `mc:mc-${total}`)
        throw new Error(`after scrolling to the end the last row is ${lastShown}, want mc:mc-${total}`);
      if (browser.problems.length > 0) throw new Error(`the page reported: ${browser.problems.join('; ')}`);

      const what = `${total.toLocaleString('en-US')} meta-clusters`;
      const json = median(cold.map((x) => x.bytes));
      const seconds = (xs: readonly number[]) => median(xs) / 1000;
      const out: Row[] = [
        {
          bench: BENCH,
          metric: `tree view rendered with live state, from navigation start, ${what}: the service's reading of central fresh (a viewer within half a refresh; median of ${plural(loads, 'load')})`,
          value: seconds(warm.map((x) => x.rendered)),
          unit: 's',
          target: { op: '<', bound: 1 },
          detail: { worst: Math.max(...warm.map((x) => x.rendered)) / 1000, loads },
        },
        {
          bench: BENCH,
          metric: `same, each load waiting for the service to read central (5 queries × ${what}; median of ${plural(loads, 'load')})`,
          value: seconds(cold.map((x) => x.rendered)),
          unit: 's',
          target: { op: '<', bound: 1 },
          detail: { worst: Math.max(...cold.map((x) => x.rendered)) / 1000, loads },
        },
        {
          bench: BENCH,
          metric: `of which the page's own work: the tree's JSON in → the tree rendered (parse, count, draw), warm loads`,
          value: median(warm.map((x) => x.rendered - x.treeEnd)),
          unit: 'ms',
        },
        {
          bench: BENCH,
          metric: `of which /console/api/tree reading central, asked → answered (${(json / 1024 / 1024).toFixed(1)} MiB of JSON)`,
          value: seconds(cold.map((x) => x.treeEnd - x.treeStart)),
          unit: 's',
          detail: { bytes: json },
        },
        {
          bench: BENCH,
          metric: `expand all: ${what} + their regions into rows`,
          value: expandMs,
          unit: 'ms',
        },
        { bench: BENCH, metric: `filter keystroke over ${what}`, value: filterMs, unit: 'ms' },
        {
          bench: BENCH,
          metric: 'scroll from the first row to the last, to the next painted frame',
          value: scrollMs,
          unit: 'ms',
        },
      ];
      return out;
    } finally {
      await browser?.close();
      await service?.close();
      await central?.stop();
      await new Promise((r) => cascades.close(r));
      rmSync(dir, { recursive: true, force: true });
    }
  },
};
