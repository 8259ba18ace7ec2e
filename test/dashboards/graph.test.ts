import { test } from 'node:test';
import assert from 'node:assert/strict';
import { renderGraphMermaid, renderGraphSvg } from '../../cli/graph.ts';
import { metaClusters } from '../../topology/model.ts';
import { defaultTopology, defaultWith } from './helpers.ts';

const topo = defaultTopology();

test('the Mermaid graph has every replica, cascade and edge, and an arrow for each federation link', () => {
  const m = renderGraphMermaid(topo);
  assert.match(m, /^flowchart BT\n/);
  for (const r of topo.central.replicas) assert.ok(m.includes(`central_${r.name.replace(/-/g, '_')}["${r.name}<br/>zone ${r.zone}"]`), r.name);
  for (const br of topo.bigRegions) {
    assert.ok(m.includes(`cascade_${br.name}["cascade ${br.name}<br/>allow-list: 2 selectors + 2 system"]`), br.name);
    for (const r of topo.central.replicas) assert.ok(m.includes(`  cascade_${br.name} --> central_${r.name.replace(/-/g, '_')}\n`));
  }
  for (const p of metaClusters(topo)) {
    const edge = `edge_${p.metaCluster.name.replace(/-/g, '_')}`;
    assert.ok(m.includes(`${edge}["${p.metaCluster.name}<br/>${p.metaCluster.guestClusters} guest clusters"]`));
    assert.ok(m.includes(`  ${edge} --> cascade_${p.bigRegion.name}\n`), `${edge} links to its cascade`);
  }
  const arrows = m.split('\n').filter((l) => l.includes('-->'));
  assert.equal(arrows.length, metaClusters(topo).length + topo.bigRegions.length * topo.central.replicas.length);
  assert.match(m, /subgraph central\["central \(allow-list: 3 selectors \+ 3 system\)"\]/);
});

test('allow-list sizes follow the topology', () => {
  const t = defaultWith(`allowLists:\n  cascade: ['a', 'b', 'c', 'd']\n  central: ['a']`);
  const m = renderGraphMermaid(t);
  assert.ok(m.includes('allow-list: 4 selectors + 2 system'));
  assert.ok(m.includes('central (allow-list: 1 selector + 3 system)'));
  assert.ok(renderGraphSvg(t).includes('allow-list: 4 selectors + 2 system'));
});

test('the SVG draws one box per node and one line per link, in three rows', () => {
  const svg = renderGraphSvg(topo);
  assert.match(svg, /^<svg xmlns="http:\/\/www.w3.org\/2000\/svg" width="\d+" height="\d+"/);
  assert.ok(svg.trimEnd().endsWith('</svg>'));
  const edges = metaClusters(topo).length;
  const rects = [...svg.matchAll(/<rect x="([\d.]+)" y="(\d+)"/g)];
  assert.equal(rects.length, topo.central.replicas.length + topo.bigRegions.length + edges);
  assert.deepEqual([...new Set(rects.map((r) => r[2]))], ['40', '190', '340']);
  assert.equal([...svg.matchAll(/<line /g)].length, edges + topo.bigRegions.length * topo.central.replicas.length);
  for (const p of metaClusters(topo)) assert.ok(svg.includes(`>${p.metaCluster.name}</text>`), p.metaCluster.name);
  for (const br of topo.bigRegions) assert.ok(svg.includes(`>cascade ${br.name}</text>`));
  for (const r of topo.central.replicas) assert.ok(svg.includes(`>${r.name}</text>`));
  // Tags balance (a cheap well-formedness check; no XML parser in the dependencies).
  for (const tag of ['svg', 'g', 'text', 'defs', 'marker', 'style', 'title']) {
    const open = svg.match(new RegExp(`<${tag}[ >]`, 'g'))?.length ?? 0;
    const close = svg.match(new RegExp(`</${tag}>`, 'g'))?.length ?? 0;
    assert.equal(open, close, tag);
  }
});

test('each cascade box sits above its own edges, and text is XML-escaped', () => {
  const svg = renderGraphSvg(topo);
  const boxCentre = (label: string) => {
    const i = svg.indexOf(`>${label}</text>`);
    const g = svg.lastIndexOf('<g class=', i);
    const m = /<rect x="([\d.]+)" y="\d+" width="(\d+)"/.exec(svg.slice(g))!;
    return Number(m[1]) + Number(m[2]) / 2;
  };
  for (const br of topo.bigRegions) {
    const xs = br.regions.flatMap((r) => r.metaClusters.map((mc) => boxCentre(mc.name)));
    const c = boxCentre(`cascade ${br.name}`);
    assert.ok(c >= Math.min(...xs) && c <= Math.max(...xs), `cascade ${br.name} above its edges`);
  }
  // Zones are free text in the schema.
  const odd: typeof topo = { ...topo, central: { ...topo.central, replicas: [{ ...topo.central.replicas[0]!, zone: 'a<b & "c"' }] } };
  assert.ok(renderGraphSvg(odd).includes('zone a&lt;b &amp; &quot;c&quot;'));
  assert.ok(renderGraphMermaid(odd).includes('zone a#lt;b & #quot;c#quot;'));
});

test('rendering is deterministic', () => {
  assert.equal(renderGraphMermaid(topo), renderGraphMermaid(defaultTopology()));
  assert.equal(renderGraphSvg(topo), renderGraphSvg(defaultTopology()));
});
