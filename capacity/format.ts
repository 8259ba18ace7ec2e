/** The capacity report as the table `fedstack capacity` prints. */
import type { CapacityReport, Resources } from './plan.ts';

const n = (v: number) => Math.round(v).toLocaleString('en-US');
const mem = (b: number) =>
  b >= 2 ** 30 ? `${(b / 2 ** 30).toFixed(1)} GiB` : `${Math.round(b / 2 ** 20)} MiB`;
const res = (r: Resources) => `${r.cpuCores} CPU / ${mem(r.memoryBytes)}`;

function table(header: string[], rows: string[][]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: string[]) =>
    cells
      .map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!)))
      .join('  ')
      .trimEnd();
  return [line(header), line(widths.map((w) => '-'.repeat(w))), ...rows.map(line)].join('\n');
}

export function formatCapacity(report: CapacityReport): string {
  const { edges, cascades, central, totals, factors } = report;
  const maxEdge = edges.reduce((a, b) => (b.series > a.series ? b : a), edges[0]!);
  const edgeSeries = edges.reduce((s, e) => s + e.series, 0);
  const rows: string[][] = [
    [
      `edge (largest: ${maxEdge.name})`,
      n(maxEdge.series),
      n(maxEdge.samplesPerSecond),
      mem(maxEdge.memoryBytes),
      n(maxEdge.federatedSeries),
      '',
      res(maxEdge.recommended),
    ],
    [
      `edges, all ${edges.length}`,
      n(edgeSeries),
      n(edges.reduce((s, e) => s + e.samplesPerSecond, 0)),
      mem(edges.reduce((s, e) => s + e.memoryBytes, 0)),
      '',
      '',
      '',
    ],
    ...cascades.map((c) => [
      `cascade/${c.name} (${c.edges} edge${c.edges === 1 ? '' : 's'})`,
      n(c.series),
      n(c.samplesPerSecond),
      mem(c.memoryBytes),
      n(c.federatedSeries),
      String(c.shards),
      c.shards > 1 ? `${c.shards} x ${res(c.perShard)}` : res(c.recommended),
    ]),
    [
      `central (x${central.replicas} replicas)`,
      n(central.series),
      n(central.samplesPerSecond),
      mem(central.memoryBytes),
      '',
      '',
      res(central.recommended),
    ],
  ];
  const out = [
    `${totals.metaClusters} meta-clusters, ${n(totals.guestClusters)} guest clusters, ${n(totals.nodes)} nodes; factors: ${factors.source}; ${Math.round(factors.headroom * 100)}% headroom kept`,
    table(['tier', 'series', 'samples/s', 'memory', 'sent upstream', 'shards', 'recommended pod'], rows),
  ];
  const vm = report.victoriaMetrics;
  out.push(
    `central on VictoriaMetrics (replicationFactor ${vm.replicationFactor}): ${vm.vmstorage} vmstorage x ${mem(vm.memoryPerNodeBytes)} memory, ${mem(vm.storagePerNodeBytes)} volume each (limited by ${vm.limitedBy}); ${vm.vminsert} vminsert, ${vm.vmselect} vmselect; ${mem(vm.memoryBytes)} memory and ${mem(vm.diskBytes)} disk for the retention, all copies`,
  );
  if (report.warnings.length === 0) out.push('no warnings');
  else out.push(...report.warnings.map((w) => `${w.level}: ${w.at}: ${w.message}`));
  return `${out.join('\n')}\n`;
}
