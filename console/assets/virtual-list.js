// @ts-check
/**
 * A virtualized list: of N rows of a fixed height, only those in view (plus a few) exist in
 * the DOM, so 10,000 meta-clusters scroll as smoothly as 10. Rows are positioned through the
 * CSSOM (element.style), which the Content-Security-Policy allows.
 */

export class VirtualList {
  /**
   * @param {HTMLElement} viewport scrolls; its height comes from the stylesheet
   * @param {{
   *   rowHeight: number,
   *   create: () => HTMLElement,
   *   render: (el: HTMLElement, index: number) => void,
   *   overscan?: number,
   * }} opts
   */
  constructor(viewport, opts) {
    this.viewport = viewport;
    this.rowHeight = opts.rowHeight;
    this.create = opts.create;
    this.renderRow = opts.render;
    this.overscan = opts.overscan ?? 8;
    this.count = 0;
    /** Index of the first rendered row. */
    this.first = 0;
    /** @type {HTMLElement[]} */
    this.pool = [];
    this.spacer = document.createElement('div');
    this.spacer.className = 'vl-spacer';
    viewport.append(this.spacer);
    this.scheduled = false;
    viewport.addEventListener('scroll', () => this.schedule(), { passive: true });
    new ResizeObserver(() => this.schedule()).observe(viewport);
  }

  /** @param {number} n */
  setCount(n) {
    this.count = n;
    this.spacer.style.height = `${n * this.rowHeight}px`;
    this.render();
  }

  schedule() {
    if (this.scheduled) return;
    this.scheduled = true;
    requestAnimationFrame(() => {
      this.scheduled = false;
      this.render();
    });
  }

  /** Renders the rows in view now (also after their data changed). */
  render() {
    const h = this.rowHeight;
    const top = this.viewport.scrollTop;
    const height = this.viewport.clientHeight || h * 20;
    const first = Math.max(0, Math.floor(top / h) - this.overscan);
    const last = Math.min(this.count, Math.ceil((top + height) / h) + this.overscan);
    const n = Math.max(0, last - first);
    this.first = first;
    while (this.pool.length < n) {
      const el = this.create();
      el.style.position = 'absolute';
      el.style.left = '0';
      el.style.right = '0';
      el.style.height = `${h}px`;
      this.spacer.append(el);
      this.pool.push(el);
    }
    while (this.pool.length > n) this.pool.pop()?.remove();
    for (let k = 0; k < n; k++) {
      const el = /** @type {HTMLElement} */ (this.pool[k]);
      el.style.transform = `translateY(${(first + k) * h}px)`;
      this.renderRow(el, first + k);
    }
  }

  /**
   * Scrolls just enough for row `i` to be in view, and renders it.
   * @param {number} i
   */
  scrollToIndex(i) {
    const h = this.rowHeight;
    const top = i * h;
    const vp = this.viewport;
    if (top < vp.scrollTop) vp.scrollTop = top;
    else if (top + h > vp.scrollTop + vp.clientHeight) vp.scrollTop = top + h - vp.clientHeight;
    this.render();
  }

  /**
   * The row element showing index `i`, if it is rendered.
   * @param {number} i
   * @returns {HTMLElement | undefined}
   */
  elementAt(i) {
    return i >= this.first ? this.pool[i - this.first] : undefined;
  }
}
