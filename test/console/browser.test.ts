/**
 * The operator console in headless Chromium, against the running local stack: three edges,
 * two cascades, the central pair, two Alertmanagers and the fedstack service started the way
 * `fedstack up` starts it (TLS and basic auth on every hop, its token files), at 1 s intervals;
 * the stack's DingTalk stand-in behind the bridge. One stack for the suite; the cases run in order and later ones stop an
 * edge on purpose. Screenshots of every view go to test-artifacts/console/.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import pino from 'pino';
import type { Page } from 'playwright-core';
import { Registry } from 'prom-client';
import { renderGraphSvg } from '../../cli/graph.ts';
import { consoleRouter } from '../../console/router.ts';
import type { Rollout, RolloutSource } from '../../console/types.ts';
import { startLocalService } from '../../deploy/local/service.ts';
import { startLocalStack, type LocalStack } from '../../deploy/local/stack.ts';
import { createApp } from '../../server/app.ts';
import { RegistrationStore } from '../../server/registrations.ts';
import { staticTopologySource } from '../../server/topology-watch.ts';
import { deepFreeze, type Topology } from '../../topology/model.ts';
import { parseTopology } from '../../topology/load.ts';
import { axeViolations, launchBrowser, screenshot, type Browser } from './support/browser.ts';

const FIXTURE = new URL('./fixtures/console.good.yaml', import.meta.url);
const INTERVAL_MS = 1000;
const HTML_MC = '<img src=x id=mc-xss>mc-evil';

function loadFixture(): Topology {
  const text = readFileSync(FIXTURE, 'utf8');
  const parsed = parseTopology(text, FIXTURE.pathname);
  if (!parsed.ok) throw new Error(parsed.errors.map((e) => `${e.path}: ${e.message}`).join('\n'));
  return parsed.topology;
}

/** A rollout that went wrong, as staged rollout (issue 13) will hand it to the console. */
const ROLLED_BACK: Rollout = {
  id: 'r-7',
  state: 'rolled-back',
  fromRevision: 'a1b2c3',
  toRevision: 'd4e5f6',
  startedAt: Date.UTC(2026, 10, 23, 9, 0),
  endedAt: Date.UTC(2026, 10, 23, 9, 4),
  waves: [
    {
      name: 'canary',
      state: 'rolled-back',
      instances: { 'rolled back': 2 },
      gates: [
        {
          name: 'series drop',
          expr: 'sum(scrape_samples_scraped) / sum(scrape_samples_scraped offset 10m)',
          value: 0.41,
          threshold: '>= 0.8',
          ok: false,
        },
      ],
    },
  ],
  rollbackReason: 'series fell to 41% at the canary edges',
  failingGate: 'series drop',
};

const token = (file: string) => readFileSync(file, 'utf8').trim();
const rowText = (page: Page, key: string) => page.locator(`[role=treeitem][data-key="${key}"]`).innerText();
/** data-key of every element the selector finds, in document order. */
const keysOf = (page: Page, selector: string) =>
  page.locator(selector).evaluateAll((els) => els.map((e) => e.getAttribute('data-key')));
/** True when markup in some text became an element. */
const exists = async (page: Page, id: string) => (await page.locator(`[id="${id}"]`).count()) > 0;

describe('the operator console in Chromium, against the local stack', () => {
  let stack: LocalStack;
  let browser: Browser;
  let page: Page;
  let service: string;
  let second: Server | undefined;

  before(async () => {
    stack = await startLocalStack({
      topology: loadFixture(),
      simulate: { maxGuestClusters: 2 },
      waitForData: true,
      startService: startLocalService,
    });
    service = stack.urls.service!;
    browser = await launchBrowser();
    page = await browser.newPage();
  });

  after(async () => {
    await browser?.close();
    await new Promise((r) => (second ? second.close(r) : r(undefined)));
    await stack?.stop();
  });

  const open = async (p: Page, base: string, view: string) => {
    await p.goto(`${base}/#${view}`);
    await p.locator(`#view-${view}`).waitFor({ state: 'visible' });
  };

  it('shows every meta-cluster of the topology in the tree, with its state read from central', async () => {
    await open(page, service, 'tree');
    await page.locator('#fleet-tree[data-ready=true]').waitFor();
    await page.click('#tree-expand');
    const names = stack.topology.bigRegions.flatMap((b) =>
      b.regions.flatMap((r) => r.metaClusters.map((m) => m.name)),
    );
    for (const n of names) await page.locator(`[data-key="mc:${n}"] .state-up`).waitFor({ timeout: 30_000 });
    const shown = await keysOf(page, '[role=treeitem][data-key^="mc:"]');
    assert.deepEqual(shown.sort(), names.map((n) => `mc:${n}`).sort());
    assert.match(await page.locator('#tree-summary').innerText(), /^3 meta-clusters: 3 up\./);
    for (const r of stack.topology.central.replicas)
      assert.match(await page.locator(`[data-key="central:${r.name}"]`).innerText(), /up .* series/);
    assert.match(await rowText(page, 'br:china'), /china[\s\S]*up[\s\S]*2 meta-clusters: 2 up/);
    await screenshot(page, 'tree');
  });

  it('moves through the tree with the keyboard: arrows open and close, Enter shows the details', async () => {
    await page.click('#tree-collapse');
    await page.focus('#fleet-tree');
    await page.keyboard.press('Home');
    const active = () => page.locator('#tree-active').getAttribute('data-key');
    assert.equal(await active(), 'br:china');
    await page.keyboard.press('ArrowRight');
    assert.equal(await page.locator('[data-key="br:china"]').getAttribute('aria-expanded'), 'true');
    await page.keyboard.press('ArrowRight');
    assert.equal(await active(), 'r:china/cn-hangzhou');
    await page.keyboard.press('ArrowRight');
    await page.keyboard.press('ArrowDown');
    assert.equal(await active(), 'mc:mc-hz-01');
    await page.keyboard.press('Enter');
    assert.match(await page.locator('.details').innerText(), /Meta-cluster mc-hz-01[\s\S]*Federation lag/);
    await page.keyboard.press('ArrowLeft');
    assert.equal(await active(), 'r:china/cn-hangzhou');
    await page.keyboard.press('ArrowLeft');
    assert.equal(
      await page.locator('[data-key="r:china/cn-hangzhou"]').getAttribute('aria-expanded'),
      'false',
    );
    assert.equal(await page.locator('#fleet-tree').getAttribute('aria-activedescendant'), 'tree-active');
  });

  it('filters the tree by name, region and state', async () => {
    await page.fill('#tree-filter', 'fra');
    assert.deepEqual(await keysOf(page, '[role=treeitem]'), [
      'br:europe',
      'r:europe/eu-central-1',
      'mc:mc-fra-01',
    ]);
    await page.fill('#tree-filter', '');
    await page.selectOption('#tree-place', 'r:china/cn-beijing');
    assert.deepEqual(await keysOf(page, '[role=treeitem][data-key^="mc:"]'), ['mc:mc-bj-01']);
    await page.selectOption('#tree-place', '');
    await page.selectOption('#tree-state', 'down');
    await page.locator('text=Nothing matches the filter.').waitFor();
    await page.selectOption('#tree-state', '');
  });

  it('shows text with HTML in it as text: a zone, an on-call name, a sidecar version, a meta-cluster name', async () => {
    await open(page, service, 'pages');
    await page.locator('#oncall table').waitFor();
    assert.match(await page.locator('#oncall').innerText(), /<b id=oncall-xss>Li<\/b> Lei/);
    assert.equal(await exists(page, 'oncall-xss'), false, '#oncall-xss became an element');

    // Names are DNS labels once validated, so this topology is built past the loader: the page
    // must not trust the schema to keep markup out.
    const topo = structuredClone(stack.topology) as unknown as {
      bigRegions: { regions: { metaClusters: { name: string }[] }[] }[];
      central: { replicas: { zone: string }[] };
    };
    topo.bigRegions[0]!.regions[0]!.metaClusters[0]!.name = HTML_MC;
    topo.central.replicas[0]!.zone = '<img src=x id=zone-xss>zone-a';
    const rollouts: RolloutSource = {
      current: () => undefined,
      history: () => [ROLLED_BACK],
      pause: async () => {},
      resume: async () => {},
      abort: async () => {},
    };
    // A sidecar version with markup: the stack's own sidecars heartbeat their real one, so this
    // service holds the registration itself.
    const registrations = new RegistrationStore({ ttlMs: 60_000 });
    const other = stack.topology.bigRegions.at(-1)!.regions.at(-1)!.metaClusters.at(-1)!;
    registrations.record(other.name, {
      endpoint: other.endpoint,
      version: '<img src=x id=version-xss>1.0',
      configHash: 'cfg-abc123',
      receivedAt: Date.now(),
    });
    const app = createApp({
      topologySource: staticTopologySource(deepFreeze(topo as unknown as Topology)),
      registrations,
      heartbeatToken: undefined,
      logger: pino({ level: 'silent' }),
      registry: new Registry(),
      now: Date.now,
      extraRouters: [consoleRouter({ profile: 'local', rollouts })],
    });
    second = await new Promise<Server>((resolve) => {
      const s = app.listen(0, '127.0.0.1', () => resolve(s));
    });
    const base = `http://127.0.0.1:${(second.address() as AddressInfo).port}`;
    const p2 = await browser.newPage();
    await open(p2, base, 'tree');
    await p2.locator('#fleet-tree[data-ready=true]').waitFor();
    await p2.click('#tree-expand');
    assert.match(await p2.locator(`[data-key="mc:${HTML_MC}"]`).innerText(), /<img src=x id=mc-xss>mc-evil/);
    await p2.fill('#tree-filter', 'evil');
    assert.equal(await p2.locator('[role=treeitem][data-key^="mc:"]').count(), 1);
    assert.match(
      await p2.locator('[data-key="central:central-a"]').innerText(),
      /zone <img src=x id=zone-xss>zone-a/,
    );
    assert.equal(await exists(p2, 'mc-xss'), false);
    assert.equal(await exists(p2, 'zone-xss'), false);
    await open(p2, base, 'rollouts');
    await p2.fill('#instance-filter', other.name);
    assert.match(
      await p2.locator(`[data-key="edge:${other.name}"]`).innerText(),
      /cfg-abc123[\s\S]*<img src=x id=version-xss>1\.0/,
    );
    assert.equal(await exists(p2, 'version-xss'), false, '#version-xss became an element');
    // The rollout view, as it will look once staged rollout reports a rolled-back rollout.
    await open(p2, base, 'rollouts');
    const history = await p2.locator('#view-rollouts table').filter({ hasText: 'Past rollouts' }).innerText();
    assert.match(
      history,
      /r-7\s+a1b2c3 → d4e5f6[\s\S]*rolled-back: series fell to 41% at the canary edges \(gate series drop\)/,
    );
    await p2.close();
  });

  it('explains a dropped metric: dropped at the cascade, by its allow-list', async () => {
    await open(page, service, 'explain');
    await page.fill('#explain-query', 'node_cpu_seconds_total mode=idle');
    await page.click('#explain-go');
    await page.locator('#explain-verdict').waitFor();
    assert.equal(
      await page.locator('#explain-verdict').innerText(),
      '■ does not reach central — dropped at the cascade by allowLists.cascade',
    );
    const hops = await page
      .locator('ol.hops > li')
      .evaluateAll((els) => els.map((e) => `${e.getAttribute('data-tier')} ${e.getAttribute('class')}`));
    assert.deepEqual(hops, [
      'edge hop hop-scraped',
      'cascade hop hop-dropped',
      'central hop hop-not-reached',
    ]);
    await screenshot(page, 'explain-dropped');

    // Kept at the cascade by an allow-list entry, with the labels it adds; dropped at central.
    await page.fill('#explain-query', 'cluster:apiserver_request:rate5m meta_cluster=mc-bj-01');
    await page.click('#explain-go');
    await page.locator('#explain-verdict:has-text("dropped at central by allowLists.central")').waitFor();
    const cascade = await page.locator('li[data-tier=cascade]').innerText();
    assert.match(
      cascade,
      /kept[\s\S]*allowLists\.cascade\[0\]: \{__name__=~"cluster:\.\+\|meta_cluster:\.\+"\}/,
    );
    assert.match(cascade, /big_region="china"[\s\S]*region="cn-beijing"/);
    assert.match(cascade, /Relabels\s+relabel\.cascade\[0\] .*: added env="e2e"/);
    assert.equal(
      new URL(page.url()).hash,
      `#explain?q=${encodeURIComponent('cluster:apiserver_request:rate5m meta_cluster=mc-bj-01')}`,
    );
    await screenshot(page, 'explain');
  });

  it('turns a killed edge red within two scrape intervals (and one page refresh)', async (t) => {
    await open(page, service, 'tree');
    await page.locator('#fleet-tree[data-ready=true]').waitFor();
    await page.click('#tree-expand');
    await page.locator('[data-key="mc:mc-fra-01"] .state-up').waitFor();
    const refreshMs = ((await (await fetch(`${service}/console/api/tree`)).json()) as { refreshMs: number })
      .refreshMs;
    await stack.stopEdge('mc-fra-01');
    const killed = Date.now();
    await page.locator('[data-key="mc:mc-fra-01"] .state-down').waitFor({ timeout: 20_000 });
    const elapsed = Date.now() - killed;
    t.diagnostic(`mc-fra-01 red ${elapsed} ms after its edge died (refresh every ${refreshMs} ms)`);
    // Cascade scrape + central scrape, then at most one refresh of the page (and its request).
    assert.ok(elapsed <= 2 * INTERVAL_MS + refreshMs + 500, `red after ${elapsed} ms`);
    assert.match(await rowText(page, 'mc:mc-fra-01'), /down/);
    assert.match(await rowText(page, 'br:europe'), /1 meta-cluster: 1 down/);
    await page.locator('[data-key="mc:mc-fra-01"]').click();
    assert.match(await page.locator('.details').innerText(), /the cascade cannot scrape its \/federate/);
    await screenshot(page, 'tree-edge-down');
  });

  it('shows the DingTalk message the fault sent, delivered, in the pages view', async () => {
    await open(page, service, 'pages');
    const sent = page.locator('table:has(caption:text("Latest sends")) tr', { hasText: 'EdgeDown' });
    await sent.filter({ hasText: 'delivered' }).first().waitFor({ timeout: 30_000 });
    assert.match(await sent.first().innerText(), /sre-dingtalk\s+dingtalk\s+● delivered\s+firing: EdgeDown/);
    const perReceiver = await page
      .locator('table:has(caption:text("Deliveries per receiver")) tbody tr')
      .innerText();
    assert.match(perReceiver, /^sre-dingtalk\s+dingtalk\s+sre\s+[1-9]\d*\s+[1-9]\d*\s+0\s+none/);
    assert.match(await page.locator('#outbox-summary').innerText(), /Dead letters: 0\./);
    // The stack's stand-in really got it (signed, within its limits); its title counts notifications.
    assert.ok(stack.standIns.deliveries().some((d) => d.channel === 'dingtalk' && d.to === 'sre-dingtalk'));
    assert.deepEqual(stack.standIns.problems(), []);
    await screenshot(page, 'pages');
  });

  it('shows the served revision and which config each instance reports; actions need the token', async () => {
    await open(page, service, 'rollouts');
    const ready = (await (await fetch(`${service}/readyz`)).json()) as { revision: number; hash: string };
    await page.locator('#topology-revision').waitFor();
    assert.equal(
      await page.locator('#topology-revision').innerText(),
      `${ready.revision} (sha256 ${ready.hash})`,
    );
    // Every pulling sidecar reports the hash it applied (the stack runs staged rollouts): the 3
    // edges in their heartbeat, the 2 cascades and 2 central replicas at /v1/instances.
    const table = page.locator('table:has(caption:text("Config hashes")) tbody');
    await page.waitForFunction(
      `[...document.querySelectorAll('caption')]
        .find((c) => c.textContent.startsWith('Config hashes'))
        ?.closest('table').querySelector('tbody').textContent.includes('not reported') === false`,
      undefined,
      { timeout: 20_000 },
    );
    const hashes = await table.innerText();
    const reported = [...hashes.matchAll(/^([0-9a-f]{16})\s+(\d+)$/gm)].reduce((n, m) => n + Number(m[2]), 0);
    assert.equal(reported, 7, hashes);
    assert.doesNotMatch(hashes, /not reported/);
    await page.locator('#view-rollouts h3:text("Current rollout")').waitFor();
    assert.match(await page.locator('#view-rollouts').innerText(), /No rollout is running\./);
    assert.equal(await page.locator('#rollout-pause').isDisabled(), true);
    const post = (token?: string) =>
      fetch(`${service}/console/api/rollouts/pause`, {
        method: 'POST',
        headers: token === undefined ? {} : { Authorization: `Bearer ${token}` },
      });
    assert.equal((await post()).status, 401);
    assert.equal((await post('wrong')).status, 401);
    assert.equal(
      (await post(token(stack.secrets.paths.sidecarToken))).status,
      401,
      "a sidecar's token acts on no rollout",
    );
    const ok = await post(token(stack.secrets.paths.operatorToken));
    assert.equal(ok.status, 409);
    assert.match(((await ok.json()) as { reason: string }).reason, /nothing to pause: no rollout is running/);
    await screenshot(page, 'rollouts');
  });

  it('draws the same graph as `fedstack graph`', async () => {
    await open(page, service, 'graph');
    await page.locator('#graph-image').waitFor();
    await page.waitForFunction('document.getElementById("graph-image")?.naturalWidth > 0');
    const svg = await (await fetch(`${service}/console/api/graph.svg`)).text();
    const served = parseTopology(readFileSync(join(stack.dir, 'topology.yaml'), 'utf8'), 'topology.yaml');
    assert.ok(served.ok);
    assert.equal(svg, renderGraphSvg(served.topology));
    await screenshot(page, 'graph');
  });

  it('has no serious or critical accessibility violation in any view (axe-core)', async () => {
    const found: Record<string, string[]> = {};
    for (const view of ['tree', 'rollouts', 'pages', 'explain', 'graph']) {
      await open(page, service, view);
      if (view === 'tree') {
        await page.locator('#fleet-tree[data-ready=true]').waitFor();
        await page.click('#tree-expand');
      }
      if (view === 'explain') {
        await page.fill('#explain-query', 'node_cpu_seconds_total');
        await page.click('#explain-go');
        await page.locator('#explain-verdict').waitFor();
      }
      if (view === 'pages') await page.locator('#outbox-summary').waitFor();
      if (view === 'rollouts') await page.locator('#topology-revision').waitFor();
      if (view === 'graph') await page.locator('#graph-image').waitFor();
      const bad = (await axeViolations(page)).filter(
        (v) => v.impact === 'serious' || v.impact === 'critical',
      );
      if (bad.length > 0)
        found[view] = bad.map((v) => `${v.id} (${v.impact}): ${v.help} at ${v.targets.join(', ')}`);
    }
    assert.deepEqual(found, {});
  });

  it('ran without a CSP violation, a script error or a request off loopback', () => {
    assert.deepEqual(browser.problems, []);
  });
});
