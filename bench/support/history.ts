/**
 * Synthetic history for the central-backend bench: the series a central holds (captured from a
 * live chain as label sets and current values), copied over a larger fleet of big regions,
 * regions and meta-clusters, then played back as OpenMetrics text, one promtool block window at
 * a time. Pure and seeded: the same templates, options and seed give the same bytes.
 */
import { LABEL } from '../../common/conventions.ts';
import { rng, type Rng } from '../../simulator/random.ts';

/** One series as a central holds it: every label (`__name__` included) and its value now. */
export interface SeriesTemplate {
  readonly labels: Readonly<Record<string, string>>;
  readonly value: number;
}

export interface FleetShape {
  readonly bigRegions: number;
  readonly regionsPerBigRegion: number;
  readonly metaClustersPerRegion: number;
}

/** The i-th copy of a name: the first keeps it, so queries naming the live fleet still select. */
const copyName = (name: string, i: number) => (i === 0 ? name : `${name}-${i + 1}`);

/**
 * The templates copied over `shape`: a series with a meta_cluster label once per meta-cluster,
 * one with a region (and no meta_cluster) once per region, one with only a big_region once per
 * big region, the rest (central's own, e.g. ALERTS of fleet-wide alerts) once. The live chain
 * has one of each, so every copy gets fresh names in all three labels.
 */
export function copyOverFleet(templates: readonly SeriesTemplate[], shape: FleetShape): SeriesTemplate[] {
  const out: SeriesTemplate[] = [];
  for (const t of templates) {
    const l = t.labels;
    const has = (k: string) => (l[k] ?? '') !== '';
    const perRegion = has(LABEL.metaCluster) ? shape.metaClustersPerRegion : 1;
    const regions = has(LABEL.region) || has(LABEL.metaCluster) ? shape.regionsPerBigRegion : 1;
    const bigRegions = has(LABEL.bigRegion) || regions > 1 ? shape.bigRegions : 1;
    for (let b = 0; b < bigRegions; b++)
      for (let r = 0; r < regions; r++)
        for (let m = 0; m < perRegion; m++) {
          const labels = { ...l };
          const region = b * shape.regionsPerBigRegion + r;
          if (has(LABEL.bigRegion)) labels[LABEL.bigRegion] = copyName(l[LABEL.bigRegion]!, b);
          if (has(LABEL.region)) labels[LABEL.region] = copyName(l[LABEL.region]!, region);
          if (has(LABEL.metaCluster))
            labels[LABEL.metaCluster] = copyName(
              l[LABEL.metaCluster]!,
              region * shape.metaClustersPerRegion + m,
            );
          out.push({ labels, value: t.value });
        }
  }
  return out;
}

/** promtool 2.42 writes one block per 2 h (aligned to 2 h); the history is fed a window each. */
export const BLOCK_MS = 2 * 3600_000;

/** `name{a="x",b="y"}` with sorted labels, values escaped as the text formats require. */
export function seriesText(labels: Readonly<Record<string, string>>): string {
  const name = labels['__name__'] ?? '';
  const pairs = Object.keys(labels)
    .filter((k) => k !== '__name__' && labels[k] !== '')
    .sort()
    .map((k) => `${k}="${labels[k]!.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n')}"`);
  return pairs.length === 0 ? name : `${name}{${pairs.join(',')}}`;
}

type Kind = 'counter' | 'timestamp' | 'steady' | 'gauge';
function kindOf(name: string, value: number): Kind {
  if (/_(total|count|sum|bucket)$/.test(name)) return 'counter';
  if (name.endsWith('timestamp_seconds')) return 'timestamp';
  // up, counts, 0/1 health: a healthy fleet's stay put.
  if (Number.isInteger(value)) return 'steady';
  return 'gauge';
}

interface State {
  readonly text: string;
  readonly kind: Kind;
  readonly rng: Rng;
  value: number;
}

/**
 * A fleet's history from `startMs` (inclusive) to `endMs` (inclusive) at `intervalMs`, walked
 * forward window by window: counters grow by a seeded rate, rates and ratios wander within ±1%
 * per sample, integers (up, counts) hold, timestamps trail the sample time by under an interval.
 */
export class History {
  readonly series: number;
  readonly samplesPerSeries: number;
  private readonly states: State[];

  constructor(
    templates: readonly SeriesTemplate[],
    readonly opts: {
      readonly startMs: number;
      readonly endMs: number;
      readonly intervalMs: number;
      readonly seed: string;
    },
  ) {
    const texts = templates.map((t) => ({ t, text: seriesText(t.labels) }));
    texts.sort((a, b) => (a.text < b.text ? -1 : a.text > b.text ? 1 : 0));
    this.states = texts.map(({ t, text }) => ({
      text,
      kind: kindOf(t.labels['__name__'] ?? '', t.value),
      rng: rng(`${opts.seed}/${text}`),
      value: Number.isFinite(t.value) ? t.value : 0,
    }));
    this.series = this.states.length;
    this.samplesPerSeries = Math.floor((opts.endMs - opts.startMs) / opts.intervalMs) + 1;
  }

  get samples(): number {
    return this.series * this.samplesPerSeries;
  }

  /** The block windows the history spans, `[from, to)`, 2 h aligned. */
  windows(): Array<{ fromMs: number; toMs: number }> {
    const out = [];
    for (let w = Math.floor(this.opts.startMs / BLOCK_MS) * BLOCK_MS; w <= this.opts.endMs; w += BLOCK_MS)
      out.push({ fromMs: w, toMs: w + BLOCK_MS });
    return out;
  }

  /**
   * The next window's samples as OpenMetrics text (timestamps in seconds, `# EOF` last), in
   * chunks of about `chunkLines` lines. Windows must be taken in order: each series' value
   * carries over from the previous one.
   */
  *window(w: { fromMs: number; toMs: number }, chunkLines = 20_000): Generator<string> {
    const { intervalMs, startMs, endMs } = this.opts;
    const first = startMs + Math.ceil(Math.max(0, w.fromMs - startMs) / intervalMs) * intervalMs;
    const last = Math.min(endMs, w.toMs - 1);
    let buf: string[] = [];
    for (const s of this.states)
      for (let t = first; t <= last; t += intervalMs) {
        buf.push(`${s.text} ${step(s, t, intervalMs)} ${t / 1000}\n`);
        if (buf.length >= chunkLines) {
          yield buf.join('');
          buf = [];
        }
      }
    buf.push('# EOF\n');
    yield buf.join('');
  }
}

function step(s: State, tMs: number, intervalMs: number): number {
  switch (s.kind) {
    case 'counter':
      s.value += Math.floor(s.rng.next() * 100);
      return s.value;
    case 'timestamp':
      return Math.floor(tMs - s.rng.next() * intervalMs) / 1000;
    case 'steady':
      return s.value;
    case 'gauge':
      s.value *= 1 + (s.rng.next() - 0.5) / 50;
      return s.value;
  }
}
