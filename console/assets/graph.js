// @ts-check
/**
 * The graph: the same drawing as `fedstack graph --format svg` (served by the service, shown
 * as an image: it runs no script), for the whole fleet or one big region when it is large.
 */
import { getJson } from './api.js';
import { fmtInt, h, replace } from './dom.js';

/** @typedef {import('../types.ts').GraphView} GraphView */

export class GraphUi {
  /** @param {HTMLElement} section */
  constructor(section) {
    this.select = h('select', { id: 'graph-region' });
    this.select.addEventListener('change', () => this.draw());
    this.figure = h('figure', { class: 'graph', tabindex: 0, 'aria-labelledby': 'graph-caption' });
    this.links = h('p', { class: 'help' });
    replace(
      section,
      h('h2', { id: 'h-graph' }, 'Graph'),
      h('div', { class: 'toolbar' }, h('label', { for: 'graph-region' }, 'Show'), this.select),
      this.links,
      this.figure,
    );
    /** @type {GraphView | undefined} */
    this.data = undefined;
  }

  async shown() {
    const data = /** @type {GraphView} */ (await getJson('graph'));
    const total = data.bigRegions.reduce((n, b) => n + b.metaClusters, 0);
    const keep = this.select.value;
    replace(
      this.select,
      total <= data.maxMetaClusters
        ? h('option', { value: '' }, `the whole fleet (${fmtInt(total)} meta-clusters)`)
        : null,
      data.bigRegions.map((b) =>
        h('option', { value: b.name }, `big region ${b.name} (${fmtInt(b.metaClusters)} meta-clusters)`),
      ),
    );
    if (keep !== '' && data.bigRegions.some((b) => b.name === keep)) this.select.value = keep;
    this.data = data;
    this.draw();
  }

  draw() {
    if (this.data === undefined) return;
    const br = this.select.value;
    const q = br === '' ? '' : `?bigRegion=${encodeURIComponent(br)}`;
    const what =
      br === '' ? `the whole fleet of ${this.data.topology}` : `big region ${br} of ${this.data.topology}`;
    replace(
      this.figure,
      h('img', {
        src: `console/api/graph.svg${q}`,
        alt: `Federation graph of ${what}: central replicas at the top, cascades in the middle, edges at the bottom; arrows follow the data upwards.`,
        id: 'graph-image',
      }),
      h('figcaption', { id: 'graph-caption' }, `Federation graph of ${what}, as fedstack graph draws it`),
    );
    replace(
      this.links,
      'Also as ',
      h('a', { href: `console/api/graph.svg${q}`, download: 'fedstack-graph.svg' }, 'SVG'),
      ' or ',
      h('a', { href: `console/api/graph.mmd${q}`, download: 'fedstack-graph.mmd' }, 'Mermaid'),
      '.',
    );
  }
}
