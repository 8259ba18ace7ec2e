/**
 * `fedstack graph -t FILE`: the federation tree (central pair ← cascades ← edges, with
 * allow-list sizes) as Mermaid for READMEs and runbooks, and as a self-contained SVG.
 * Both are deterministic (topology order, no ids from counters or clocks) so they can be
 * committed and diffed.
 */
import { SYSTEM_SELECTORS } from '../common/conventions.ts';
import { EXIT, type CliIo } from './io.ts';
import { loadTopologyArg } from './topology-arg.ts';
import type { Topology } from '../topology/model.ts';

function allowListSize(user: readonly string[], system: readonly string[]): string {
  return `${user.length} selector${user.length === 1 ? '' : 's'} + ${system.length} system`;
}

/** Mermaid node id: kind prefix + name with `-`/`.` turned into `_` (names are DNS labels, so no clash). */
function id(kind: string, name: string): string {
  return `${kind}_${name.replace(/[^A-Za-z0-9_]/g, '_')}`;
}

/** Text inside a Mermaid quoted label: quotes and angle brackets as entities. */
function mm(s: string): string {
  return s.replace(/"/g, '#quot;').replace(/</g, '#lt;').replace(/>/g, '#gt;');
}

/** Mermaid flowchart; arrows follow the data (each tier is scraped by the one above it). */
export function renderGraphMermaid(topo: Topology): string {
  const cascadeSize = allowListSize(topo.allowLists.cascade, SYSTEM_SELECTORS.cascade);
  const centralSize = allowListSize(topo.allowLists.central, SYSTEM_SELECTORS.central);
  const out: string[] = ['flowchart BT'];
  out.push(`  subgraph central["${mm(`central (allow-list: ${centralSize})`)}"]`);
  for (const r of topo.central.replicas)
    out.push(`    ${id('central', r.name)}["${mm(r.name)}<br/>${mm(`zone ${r.zone}`)}"]`);
  out.push('  end');
  for (const br of topo.bigRegions) {
    const cascade = id('cascade', br.name);
    out.push(`  subgraph ${id('big_region', br.name)}["${mm(`big region ${br.name}`)}"]`);
    out.push(`    ${cascade}["${mm(`cascade ${br.name}`)}<br/>${mm(`allow-list: ${cascadeSize}`)}"]`);
    for (const region of br.regions) {
      out.push(`    subgraph ${id('region', region.name)}["${mm(`region ${region.name}`)}"]`);
      for (const mc of region.metaClusters) {
        out.push(
          `      ${id('edge', mc.name)}["${mm(mc.name)}<br/>${mm(`${mc.guestClusters} guest clusters`)}"]`,
        );
      }
      out.push('    end');
    }
    out.push('  end');
  }
  for (const br of topo.bigRegions) {
    const cascade = id('cascade', br.name);
    for (const region of br.regions)
      for (const mc of region.metaClusters) out.push(`  ${id('edge', mc.name)} --> ${cascade}`);
    for (const r of topo.central.replicas) out.push(`  ${cascade} --> ${id('central', r.name)}`);
  }
  return `${out.join('\n')}\n`;
}

const COL = 170;
const BOX_W = 150;
const BOX_H = 58;
const MARGIN = 20;
const ROW_Y = { central: 40, cascade: 190, edge: 340 } as const;
const LINE = 15;

function x(s: string): string {
  return s
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;')
    .replace(/'/g, '&apos;');
}

function box(cx: number, y: number, lines: readonly string[], cls: string): string {
  const left = cx - BOX_W / 2;
  const texts = lines
    .map(
      (l, i) => `<text x="${cx}" y="${y + 18 + i * LINE}"${i === 0 ? ' class="title"' : ''}>${x(l)}</text>`,
    )
    .join('');
  return `<g class="${cls}"><rect x="${left}" y="${y}" width="${BOX_W}" height="${BOX_H}" rx="6"/>${texts}</g>`;
}

function line(x1: number, y1: number, x2: number, y2: number): string {
  return `<line x1="${x1}" y1="${y1}" x2="${x2}" y2="${y2}" marker-end="url(#arrow)"/>`;
}

/** Three rows (central replicas, cascades, edges), each cascade above its own edges. */
export function renderGraphSvg(topo: Topology): string {
  const edgeCount = topo.bigRegions.reduce(
    (n, br) => n + br.regions.reduce((m, r) => m + r.metaClusters.length, 0),
    0,
  );
  const columns = Math.max(edgeCount, topo.central.replicas.length, topo.bigRegions.length);
  const width = columns * COL + 2 * MARGIN;
  const height = ROW_Y.edge + BOX_H + MARGIN;
  const cascadeSize = allowListSize(topo.allowLists.cascade, SYSTEM_SELECTORS.cascade);
  const centralSize = allowListSize(topo.allowLists.central, SYSTEM_SELECTORS.central);

  const nodes: string[] = [];
  const links: string[] = [];
  const centralX = topo.central.replicas.map(
    (_, i) => MARGIN + ((i + 0.5) * (width - 2 * MARGIN)) / topo.central.replicas.length,
  );
  topo.central.replicas.forEach((r, i) =>
    nodes.push(
      box(centralX[i]!, ROW_Y.central, [r.name, `zone ${r.zone}`, `allow-list: ${centralSize}`], 'central'),
    ),
  );

  let col = 0;
  for (const br of topo.bigRegions) {
    const mcs = br.regions.flatMap((region) => region.metaClusters.map((mc) => ({ region, mc })));
    // Centred over its own edges (the schema gives every big region at least one meta-cluster).
    const cx = MARGIN + (col + Math.max(mcs.length, 1) / 2) * COL;
    nodes.push(
      box(
        cx,
        ROW_Y.cascade,
        [`cascade ${br.name}`, `${mcs.length} meta-clusters`, `allow-list: ${cascadeSize}`],
        'cascade',
      ),
    );
    for (const rx of centralX) links.push(line(cx, ROW_Y.cascade, rx, ROW_Y.central + BOX_H));
    for (const { region, mc } of mcs) {
      const ex = MARGIN + (col + 0.5) * COL;
      nodes.push(box(ex, ROW_Y.edge, [mc.name, region.name, `${mc.guestClusters} guest clusters`], 'edge'));
      links.push(line(ex, ROW_Y.edge, cx, ROW_Y.cascade + BOX_H));
      col++;
    }
  }

  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif" font-size="11">`,
    `<title>${x(`fedstack federation tree: ${topo.metadata.name}`)}</title>`,
    '<defs><marker id="arrow" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="6" markerHeight="6" orient="auto-start-reverse"><path d="M 0 0 L 10 5 L 0 10 z" fill="#555"/></marker></defs>',
    '<style>rect{stroke:#333;stroke-width:1}.central rect{fill:#fde2c8}.cascade rect{fill:#d6e9f8}.edge rect{fill:#e3f4dc}text{text-anchor:middle;fill:#111}.title{font-weight:bold}line{stroke:#888;stroke-width:1}</style>',
    `<g class="links">${links.join('')}</g>`,
    `<g class="nodes">${nodes.join('')}</g>`,
    '</svg>',
    '',
  ].join('\n');
}

/** `fedstack graph`: cli/main.ts parses the flags, this draws (stdout). Returns the exit code. */
export function graphCommand(
  opts: { readonly topology?: string; readonly format: 'mermaid' | 'svg' },
  io: CliIo,
): number {
  const loaded = loadTopologyArg(opts.topology, io);
  if (!loaded.ok) return loaded.code;
  io.out(opts.format === 'svg' ? renderGraphSvg(loaded.topology) : renderGraphMermaid(loaded.topology));
  return EXIT.ok;
}
