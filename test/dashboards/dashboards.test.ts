import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import YAML from 'yaml';
import type { Dashboard, Panel, RowPanel, VariableModel } from '@grafana/grafana-foundation-sdk/dashboard';
import type { Dataquery } from '@grafana/grafana-foundation-sdk/prometheus';
import { normalize } from '../../common/serialize.ts';
import {
  ALL_VALUES,
  exampleVariableValues,
  interpolate,
  panelQueries,
  renderDashboardFiles,
  renderDashboards,
  DASHBOARD_UID,
} from '../../dashboards/index.ts';
import { parsePromQL } from '../../topology/promql.ts';
import { defaultTopology, defaultWith, topologyFromText } from './helpers.ts';
import { defaultTopologyText } from '../../examples/index.ts';

const topo = defaultTopology();
const UIDS = ['fedstack-global', 'fedstack-region', 'fedstack-meta-cluster', 'fedstack-federation'];

function withoutFunctions(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(withoutFunctions);
  if (v !== null && typeof v === 'object') {
    return Object.fromEntries(Object.entries(v).filter(([, x]) => typeof x !== 'function').map(([k, x]) => [k, withoutFunctions(x)]));
  }
  return v;
}

function panelsOf(d: Dashboard): Panel[] {
  return (d.panels ?? []).filter((p): p is Panel => p.type !== 'row');
}
function rowsOf(d: Dashboard): RowPanel[] {
  return (d.panels ?? []).filter((p): p is RowPanel => p.type === 'row');
}
function targetsOf(p: Panel): Dataquery[] {
  return (p.targets ?? []) as Dataquery[];
}

test('the bundle has one JSON file per dashboard and the two provisioning files', () => {
  const files = renderDashboardFiles(topo);
  assert.deepEqual([...files.keys()], [
    ...UIDS.map((u) => `${u}.json`),
    'provisioning/dashboards/fedstack.yaml',
    'provisioning/datasources/fedstack.yaml',
  ]);
  assert.deepEqual(Object.values(DASHBOARD_UID), UIDS);
});

test('rendering twice gives identical bytes, and rendering another topology in between changes nothing', () => {
  const first = renderDashboardFiles(topo);
  const other = defaultWith('dashboards: { victoriaMetricsUrl: "http://vm.example:8428/" }');
  renderDashboardFiles(other);
  const again = renderDashboardFiles(topo);
  assert.deepEqual([...again], [...first]);
  // No clock, random id or per-process counter leaks into the output.
  for (const text of first.values()) assert.doesNotMatch(text, /20\d\d-\d\d-\d\dT|"id": \d{5,}/);
});

test('each dashboard JSON reads back as the object the SDK built (type-checked round trip)', () => {
  const { dashboards } = renderDashboards(topo);
  const files = renderDashboardFiles(topo);
  for (const [uid, built] of dashboards) {
    const back = JSON.parse(files.get(`${uid}.json`)!) as Dashboard;
    // Only the SDK's variant-marker methods (functions) are lost on the way through JSON.
    assert.deepEqual(back, withoutFunctions(normalize(built)));
    // Fields the SDK's Dashboard type requires are there with the right types.
    assert.equal(typeof back.schemaVersion, 'number');
    assert.equal(back.uid, uid);
    assert.ok(Array.isArray(back.templating.list));
    assert.equal(typeof back.annotations, 'object');
    assert.ok(uid.length <= 40, 'Grafana uids are at most 40 characters');
  }
});

test('panels have unique ids, known types, and grid positions that fit 24 columns without overlapping', () => {
  for (const d of renderDashboards(topo).dashboards.values()) {
    const all = d.panels ?? [];
    const ids = all.map((p) => p.id);
    assert.equal(new Set(ids).size, ids.length, `${d.uid}: duplicate panel id`);
    const cells = new Set<string>();
    for (const p of all) {
      assert.ok(['row', 'timeseries', 'stat', 'table'].includes(p.type), p.type);
      const g = p.gridPos!;
      assert.ok(g.x >= 0 && g.x + g.w <= 24, `${d.uid} "${p.title}" overflows the grid`);
      for (let x = g.x; x < g.x + g.w; x++) {
        for (let y = g.y; y < g.y + g.h; y++) {
          const key = `${x},${y}`;
          assert.ok(!cells.has(key), `${d.uid} "${p.title}" overlaps another panel at ${key}`);
          cells.add(key);
        }
      }
    }
    assert.ok(rowsOf(d).length >= 2, `${d.uid} has rows`);
  }
});

test('every panel target reads through $datasource, has a refId and valid PromQL once variables are set', () => {
  for (const d of renderDashboards(topo).dashboards.values()) {
    for (const p of panelsOf(d)) {
      assert.ok(p.title && p.description, `${d.uid}: panel without title/description`);
      assert.deepEqual(p.datasource, { type: 'prometheus', uid: '${datasource}' });
      const targets = targetsOf(p);
      assert.ok(targets.length > 0, `${d.uid} "${p.title}" has no query`);
      assert.equal(new Set(targets.map((t) => t.refId)).size, targets.length);
      for (const t of targets) {
        assert.deepEqual(t.datasource, { type: 'prometheus', uid: '${datasource}' });
        const parsed = parsePromQL(interpolate(t.expr, exampleVariableValues(topo)));
        assert.ok(parsed.ok, `${d.uid} "${p.title}": ${t.expr}`);
      }
    }
  }
});

test('variables chain $datasource → $big_region → $region → $meta_cluster, multi-valued with All', () => {
  for (const d of renderDashboards(topo).dashboards.values()) {
    const vars = d.templating.list as VariableModel[];
    assert.deepEqual(vars.map((v) => v.name), ['datasource', 'big_region', 'region', 'meta_cluster']);
    assert.equal(vars[0]!.type, 'datasource');
    assert.equal(vars[0]!.query, 'prometheus');
    const chain = ['big_region', 'region', 'meta_cluster'];
    vars.slice(1).forEach((v, i) => {
      assert.equal(v.type, 'query');
      assert.deepEqual(v.datasource, { type: 'prometheus', uid: '${datasource}' });
      assert.equal(v.multi, true);
      assert.equal(v.includeAll, true);
      assert.equal(v.allValue, '.*');
      const q = v.query as string;
      assert.match(q, new RegExp(`^label_values\\(.*, ${chain[i]}\\)$`));
      // Filtered by every variable before it, with =~ (multi/All), and by none after it.
      for (const before of chain.slice(0, i)) assert.ok(q.includes(`${before}=~"$${before}"`), `${v.name}: ${q}`);
      for (const after of chain.slice(i)) assert.ok(!q.includes(`$${after}`), `${v.name}: ${q}`);
    });
  }
});

test('panel queries use =~ for every chained variable, never =', () => {
  for (const q of panelQueries(topo)) {
    assert.doesNotMatch(q.expr, /[^=!]="\$/, `${q.dashboard} ${q.panel}: ${q.expr}`);
    for (const m of q.expr.matchAll(/(\w+)(=~|!~|=|!=)"\$(\w+)"/g)) assert.equal(m[2], '=~', q.expr);
  }
});

test('the dashboards link to each other, keeping variables and time, and drill down with data links', () => {
  const { dashboards } = renderDashboards(topo);
  for (const d of dashboards.values()) {
    assert.deepEqual(
      d.links?.map((l) => ({ type: l.type, tags: l.tags, includeVars: l.includeVars, keepTime: l.keepTime })),
      [{ type: 'dashboards', tags: ['fedstack'], includeVars: true, keepTime: true }],
    );
    assert.deepEqual(d.tags, ['fedstack']);
  }
  const dataLinks = (uid: string) =>
    panelsOf(dashboards.get(uid)!).flatMap((p) => (p.fieldConfig?.defaults?.links ?? []).map((l) => (l as { url: string }).url));
  assert.ok(dataLinks('fedstack-global').some((u) => u.startsWith('/d/fedstack-region?') && u.includes('var-region=${__field.labels.region}')));
  assert.ok(dataLinks('fedstack-region').some((u) => u.startsWith('/d/fedstack-meta-cluster?') && u.includes('var-meta_cluster=${__field.labels.meta_cluster}')));
  for (const u of [...dataLinks('fedstack-global'), ...dataLinks('fedstack-region')]) assert.ok(u.includes('${datasource:queryparam}') && u.includes('${__url_time_range}'));
});

test('provisioning follows Grafana\'s file shapes: one file provider, one datasource per central replica', () => {
  const files = renderDashboardFiles(topo);
  const dash = YAML.parse(files.get('provisioning/dashboards/fedstack.yaml')!);
  assert.equal(dash.apiVersion, 1);
  assert.equal(dash.providers.length, 1);
  assert.equal(dash.providers[0].type, 'file');
  assert.equal(typeof dash.providers[0].name, 'string');
  assert.match(dash.providers[0].options.path, /^\//);
  const ds = YAML.parse(files.get('provisioning/datasources/fedstack.yaml')!);
  assert.equal(ds.apiVersion, 1);
  assert.deepEqual(
    ds.datasources.map((d: Record<string, unknown>) => [d.name, d.uid, d.type, d.access, d.url, d.isDefault]),
    [
      ['fedstack central-a', 'fedstack-central-a', 'prometheus', 'proxy', 'http://prometheus-central-a.fedstack-system.svc:9090', true],
      ['fedstack central-b', 'fedstack-central-b', 'prometheus', 'proxy', 'http://prometheus-central-b.fedstack-system.svc:9090', false],
    ],
  );
  // The $datasource picker opens on the default datasource.
  const current = (renderDashboards(topo).dashboards.get('fedstack-global')!.templating.list![0]!.current as { value: string });
  assert.equal(current.value, 'fedstack-central-a');
});

test('a replica endpoint becomes its datasource URL, and VictoriaMetrics becomes the default datasource when configured', () => {
  const datasourcesOf = (t: ReturnType<typeof defaultTopology>) =>
    (renderDashboards(t).provisioning.get('provisioning/datasources/fedstack.yaml') as { datasources: Array<Record<string, unknown>> }).datasources;
  const withVm = datasourcesOf(defaultWith('dashboards: { victoriaMetricsUrl: "http://vm.example:8428/" }'));
  assert.deepEqual(withVm.map((d) => [d.uid, d.url, d.isDefault]), [
    ['fedstack-victoriametrics', 'http://vm.example:8428', true],
    ['fedstack-central-a', 'http://prometheus-central-a.fedstack-system.svc:9090', false],
    ['fedstack-central-b', 'http://prometheus-central-b.fedstack-system.svc:9090', false],
  ]);
  const text = defaultTopologyText().replace('{ name: central-a, zone: cn-hangzhou-h }', '{ name: central-a, zone: cn-hangzhou-h, endpoint: "127.0.0.1:19190" }');
  assert.notEqual(text, defaultTopologyText());
  assert.deepEqual(datasourcesOf(topologyFromText(text)).map((d) => d.url), [
    'http://127.0.0.1:19190',
    'http://prometheus-central-b.fedstack-system.svc:9090',
  ]);
});

test('panelQueries lists every panel target and every variable of every dashboard', () => {
  const { dashboards } = renderDashboards(topo);
  const queries = panelQueries(topo);
  for (const d of dashboards.values()) {
    const fromJson = panelsOf(d).flatMap((p) => targetsOf(p).map((t) => `${p.title}|${t.refId}|${t.expr}`));
    const listed = queries.filter((q) => q.dashboard === d.uid && q.kind === 'panel').map((q) => `${q.panel}|${q.refId}|${q.expr}`);
    assert.deepEqual(listed, fromJson);
    assert.deepEqual(
      queries.filter((q) => q.dashboard === d.uid && q.kind === 'variable').map((q) => q.grafanaQuery),
      (d.templating.list ?? []).filter((v) => v.type === 'query').map((v) => v.query),
    );
  }
  for (const q of queries) assert.equal(q.instant || q.kind === 'panel', true);
  // Only "nothing is wrong" answers may be empty.
  assert.deepEqual([...new Set(queries.flatMap((q) => (q.mayBeEmpty ? [q.mayBeEmpty] : [])))].sort(), [
    'every edge is fresh',
    'every edge is reachable',
    'no alert is firing',
  ]);
});

test('variables interpolate like Grafana\'s Prometheus datasource: escaped, joined with |, All as .*', () => {
  const expr = 'x{a=~"$big_region", b=~"${region}", c=~"[[meta_cluster]]"}[$__rate_interval]';
  assert.equal(interpolate(expr, exampleVariableValues(topo)), 'x{a=~"china", b=~"cn-hangzhou", c=~"mc-hz-01"}[2m]');
  assert.equal(interpolate(expr, ALL_VALUES), 'x{a=~".*", b=~".*", c=~".*"}[2m]');
  assert.equal(interpolate('x{a=~"$region"}', { region: ['cn-hangzhou', 'cn-beijing'] }), 'x{a=~"(cn-hangzhou|cn-beijing)"}');
  assert.equal(interpolate('x{a=~"$region"}', { region: 'a.b' }), 'x{a=~"a\\\\.b"}');
  assert.ok(parsePromQL(interpolate('x{a=~"$region"}', { region: 'a.b(c)' })).ok);
  assert.equal(interpolate('x{a=~"$unknown"}', {}), 'x{a=~"$unknown"}');
});

test('Prometheus 2.42 parses every query as interpolated for the e2e run (promtool check rules)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'fedstack-dash-'));
  try {
    const values = exampleVariableValues(topo);
    const rules = panelQueries(topo).map((q, i) => ({ record: `fedstack_dashboard_query_${i}`, expr: interpolate(q.expr, values) }));
    const file = join(dir, 'rules.yml');
    writeFileSync(file, YAML.stringify({ groups: [{ name: 'dashboard-queries', rules }] }));
    const out = execFileSync('promtool', ['check', 'rules', file], { encoding: 'utf8' });
    assert.match(out, new RegExp(`SUCCESS: ${rules.length} rules found`));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
