// @ts-check
/**
 * The federation tree: big region → region → meta-cluster, with each cascade on its big
 * region's row and the central replicas above. Collapsed by default, virtualized, filtered
 * in the page (one request per refresh, whatever the fleet's size). A WAI-ARIA tree: arrow
 * keys move and open, Enter shows a node's details.
 */
import { badge, fmtInt, fmtPercent, fmtSeconds, fmtTime, h, replace, sr } from './dom.js';
import { VirtualList } from './virtual-list.js';

/**
 * @typedef {import('../types.ts').TreeView} TreeView
 * @typedef {import('../types.ts').BigRegionNode} BigRegionNode
 * @typedef {import('../types.ts').RegionNode} RegionNode
 * @typedef {import('../types.ts').MetaClusterNode} MetaClusterNode
 * @typedef {import('../types.ts').NodeState} NodeState
 * @typedef {Record<NodeState, number>} Counts
 * @typedef {{
 *   key: string, level: 1 | 2 | 3, setsize: number, posinset: number, parent: number,
 *   br: BigRegionNode, region?: RegionNode, mc?: MetaClusterNode, counts?: Counts,
 * }} Row
 */

const STATES = /** @type {const} */ (['down', 'stale', 'unknown', 'up']);
const ROW_HEIGHT = 34;
const zero = () => /** @type {Counts} */ ({ up: 0, stale: 0, down: 0, unknown: 0 });

/** @param {Counts} c */
function countsText(c) {
  const total = c.up + c.stale + c.down + c.unknown;
  const parts = STATES.filter((s) => c[s] > 0).map((s) => `${fmtInt(c[s])} ${s}`);
  return `${fmtInt(total)} meta-cluster${total === 1 ? '' : 's'}${parts.length > 0 ? `: ${parts.join(', ')}` : ''}`;
}

/** The worst state present: what a collapsed row shows. */
function worst(/** @type {Counts} */ c) {
  return STATES.find((s) => s !== 'up' && c[s] > 0) ?? (c.up > 0 ? 'up' : 'unknown');
}

export class TreeUi {
  /** @param {HTMLElement} section */
  constructor(section) {
    /** @type {TreeView | undefined} */
    this.data = undefined;
    /** Expanded keys when no filter is active. */
    this.expanded = new Set();
    /** While filtering, matches are open unless the user closed them. */
    this.closedWhileFiltering = new Set();
    this.filter = { text: '', place: '', state: '' };
    /** @type {Row[]} */
    this.rows = [];
    this.active = 0;
    /** @type {Map<string, Counts>} */
    this.regionCounts = new Map();
    /** @type {Map<string, Counts>} */
    this.bigRegionCounts = new Map();
    this.firstRender = true;

    this.summary = h('p', { class: 'summary', id: 'tree-summary' });
    this.centralList = h('ul', { class: 'central-list', 'aria-label': 'Central replicas' });
    this.textInput = h('input', {
      type: 'search',
      id: 'tree-filter',
      placeholder: 'mc-hz-01, cn-hangzhou, …',
      autocomplete: 'off',
      spellcheck: 'false',
    });
    this.placeSelect = h('select', { id: 'tree-place' }, h('option', { value: '' }, 'All regions'));
    this.stateSelect = h(
      'select',
      { id: 'tree-state' },
      h('option', { value: '' }, 'Any state'),
      STATES.map((s) => h('option', { value: s }, s)),
    );
    const onFilter = () => this.setFilter();
    this.textInput.addEventListener('input', onFilter);
    this.placeSelect.addEventListener('change', onFilter);
    this.stateSelect.addEventListener('change', onFilter);

    this.treeEl = h('div', {
      role: 'tree',
      id: 'fleet-tree',
      tabindex: 0,
      'aria-label': 'Federation tree: big regions, regions and meta-clusters',
      'aria-describedby': 'tree-help',
      class: 'tree',
    });
    this.list = new VirtualList(this.treeEl, {
      rowHeight: ROW_HEIGHT,
      create: () => {
        const el = h('div', { role: 'treeitem', class: 'row' });
        el.addEventListener('click', () => this.activate(Number(el.dataset.index), true));
        return el;
      },
      render: (el, i) => this.renderRow(el, i),
    });
    this.treeEl.addEventListener('keydown', (e) => this.onKey(e));
    this.details = h('section', { class: 'details', 'aria-live': 'polite', 'aria-label': 'Selected node' });

    replace(
      section,
      h('h2', { id: 'h-tree' }, 'Federation tree'),
      this.summary,
      h('h3', {}, 'Central replicas'),
      this.centralList,
      h(
        'div',
        { class: 'toolbar', role: 'group', 'aria-label': 'Filter the tree' },
        h('label', { for: 'tree-filter' }, 'Name'),
        this.textInput,
        h('label', { for: 'tree-place' }, 'Region'),
        this.placeSelect,
        h('label', { for: 'tree-state' }, 'State'),
        this.stateSelect,
        h('button', { type: 'button', id: 'tree-expand', onclick: () => this.expandAll(true) }, 'Expand all'),
        h(
          'button',
          { type: 'button', id: 'tree-collapse', onclick: () => this.expandAll(false) },
          'Collapse all',
        ),
      ),
      h(
        'p',
        { id: 'tree-help', class: 'help' },
        'Arrow keys move, Right opens, Left closes, Enter shows details. Lag is the age of the edge heartbeat at central.',
      ),
      h(
        'div',
        { class: 'row head', 'aria-hidden': 'true' },
        h('span', {}, 'Name'),
        h('span', {}, 'State'),
        h('span', { class: 'num' }, 'Lag'),
        h('span', { class: 'num' }, 'Series'),
        h('span', { class: 'num' }, 'Sample limit'),
        h('span', {}, 'Applied config'),
      ),
      this.treeEl,
      this.details,
    );
  }

  /** @param {TreeView} data */
  update(data) {
    if (this.firstRender) performance.mark('fedstack:tree-data');
    const placesChanged = this.data === undefined || this.data.topology.revision !== data.topology.revision;
    this.data = data;
    this.regionCounts.clear();
    this.bigRegionCounts.clear();
    for (const br of data.bigRegions) {
      const b = zero();
      for (const r of br.regions) {
        const c = zero();
        for (const mc of r.metaClusters) c[mc.state]++;
        for (const s of STATES) b[s] += c[s];
        this.regionCounts.set(`${br.name}/${r.name}`, c);
      }
      this.bigRegionCounts.set(br.name, b);
    }
    if (placesChanged) this.fillPlaces(data);
    this.renderHeader(data);
    this.rebuild();
    if (this.firstRender) {
      this.firstRender = false;
      performance.mark('fedstack:tree-rendered');
      this.treeEl.dataset.ready = 'true';
    }
  }

  /** @param {TreeView} data */
  fillPlaces(data) {
    const keep = this.placeSelect.value;
    replace(
      this.placeSelect,
      h('option', { value: '' }, 'All regions'),
      data.bigRegions.map((br) =>
        h(
          'optgroup',
          { label: br.name },
          h('option', { value: `br:${br.name}` }, `${br.name} (whole big region)`),
          br.regions.map((r) => h('option', { value: `r:${br.name}/${r.name}` }, r.name)),
        ),
      ),
    );
    this.placeSelect.value = keep;
  }

  /** @param {TreeView} data */
  renderHeader(data) {
    const all = zero();
    for (const c of this.bigRegionCounts.values()) for (const s of STATES) all[s] += c[s];
    replace(
      this.summary,
      countsText(all),
      '. ',
      data.source === undefined
        ? h('strong', { class: 'warn' }, 'No central replica answered: states are unknown.')
        : `Read from ${data.source} at ${fmtTime(data.generatedAt)}; stale above ${fmtSeconds(data.lagBudgetSeconds)} of lag.`,
    );
    replace(
      this.centralList,
      data.central.map((c) =>
        h(
          'li',
          { 'data-key': `central:${c.name}` },
          h('span', { class: 'name' }, c.name),
          ' ',
          badge(c.state, c.error),
          ` zone ${c.zone || '—'} · `,
          c.series === undefined ? (c.error ?? '') : `${fmtInt(c.series)} series`,
        ),
      ),
    );
  }

  filterActive() {
    return this.filter.text !== '' || this.filter.place !== '' || this.filter.state !== '';
  }

  setFilter() {
    this.filter = {
      text: this.textInput.value.trim().toLowerCase(),
      place: this.placeSelect.value,
      state: this.stateSelect.value,
    };
    this.closedWhileFiltering.clear();
    this.active = 0;
    this.rebuild();
  }

  /**
   * @param {BigRegionNode} br
   * @param {RegionNode} r
   * @param {MetaClusterNode} mc
   */
  matches(br, r, mc) {
    const f = this.filter;
    if (f.state !== '' && mc.state !== f.state) return false;
    if (f.place.startsWith('br:') && br.name !== f.place.slice(3)) return false;
    if (f.place.startsWith('r:') && `${br.name}/${r.name}` !== f.place.slice(2)) return false;
    if (f.text === '') return true;
    return (
      mc.name.toLowerCase().includes(f.text) ||
      r.name.toLowerCase().includes(f.text) ||
      br.name.toLowerCase().includes(f.text)
    );
  }

  /** @param {string} key */
  isOpen(key) {
    return this.filterActive() ? !this.closedWhileFiltering.has(key) : this.expanded.has(key);
  }

  /** Flattens what is open into rows (keeps the active row on the same node when it can). */
  rebuild() {
    if (this.data === undefined) return;
    const activeKey = this.rows[this.active]?.key;
    const filtering = this.filterActive();
    /** @type {Row[]} */
    const rows = [];
    const brs = this.data.bigRegions;
    /** @type {{br: BigRegionNode, regions: {r: RegionNode, mcs: readonly MetaClusterNode[], counts: Counts}[], counts: Counts}[]} */
    const visible = [];
    for (const br of brs) {
      const regions = [];
      const bc = zero();
      for (const r of br.regions) {
        const mcs = filtering ? r.metaClusters.filter((mc) => this.matches(br, r, mc)) : r.metaClusters;
        if (filtering && mcs.length === 0) continue;
        const c = filtering ? zero() : /** @type {Counts} */ (this.regionCounts.get(`${br.name}/${r.name}`));
        if (filtering) for (const mc of mcs) c[mc.state]++;
        for (const s of STATES) bc[s] += c[s];
        regions.push({ r, mcs, counts: c });
      }
      if (filtering && regions.length === 0) continue;
      visible.push({ br, regions, counts: bc });
    }
    visible.forEach((v, bi) => {
      const brKey = `br:${v.br.name}`;
      const brIndex = rows.length;
      rows.push({
        key: brKey,
        level: 1,
        setsize: visible.length,
        posinset: bi + 1,
        parent: -1,
        br: v.br,
        counts: v.counts,
      });
      if (!this.isOpen(brKey)) return;
      v.regions.forEach((rv, ri) => {
        const rKey = `r:${v.br.name}/${rv.r.name}`;
        const rIndex = rows.length;
        rows.push({
          key: rKey,
          level: 2,
          setsize: v.regions.length,
          posinset: ri + 1,
          parent: brIndex,
          br: v.br,
          region: rv.r,
          counts: rv.counts,
        });
        if (!this.isOpen(rKey)) return;
        rv.mcs.forEach((mc, mi) =>
          rows.push({
            key: `mc:${mc.name}`,
            level: 3,
            setsize: rv.mcs.length,
            posinset: mi + 1,
            parent: rIndex,
            br: v.br,
            region: rv.r,
            mc,
          }),
        );
      });
    });
    this.rows = rows;
    const again = activeKey === undefined ? -1 : rows.findIndex((r) => r.key === activeKey);
    this.active = again >= 0 ? again : Math.min(this.active, Math.max(0, rows.length - 1));
    this.treeEl.setAttribute('aria-activedescendant', rows.length > 0 ? 'tree-active' : '');
    this.list.setCount(rows.length);
    if (rows.length === 0) this.details.replaceChildren(h('p', {}, 'Nothing matches the filter.'));
    else this.showDetails(/** @type {Row} */ (rows[this.active]), false);
  }

  /** @param {Row} row */
  expandable(row) {
    return row.level < 3;
  }

  /**
   * @param {HTMLElement} el
   * @param {number} i
   */
  renderRow(el, i) {
    const row = this.rows[i];
    if (row === undefined) return;
    const open = this.expandable(row) ? this.isOpen(row.key) : undefined;
    el.dataset.index = String(i);
    el.dataset.key = row.key;
    el.id = i === this.active ? 'tree-active' : '';
    el.className = `row level-${row.level}${i === this.active ? ' active' : ''}`;
    el.setAttribute('aria-level', String(row.level));
    el.setAttribute('aria-setsize', String(row.setsize));
    el.setAttribute('aria-posinset', String(row.posinset));
    el.setAttribute('aria-selected', String(i === this.active));
    if (open === undefined) el.removeAttribute('aria-expanded');
    else el.setAttribute('aria-expanded', String(open));
    const toggle = h(
      'span',
      { class: 'toggle', 'aria-hidden': 'true' },
      open === undefined ? '' : open ? '▾' : '▸',
    );
    if (row.mc !== undefined) {
      const mc = row.mc;
      const overBudget =
        mc.lagSeconds !== undefined && this.data !== undefined && mc.lagSeconds > this.data.lagBudgetSeconds;
      replace(
        el,
        h('span', { class: 'name' }, toggle, sr('meta-cluster '), mc.name),
        h('span', {}, badge(mc.state, mc.why)),
        h('span', { class: overBudget ? 'num warn' : 'num' }, sr(', lag '), fmtSeconds(mc.lagSeconds)),
        h('span', { class: 'num' }, sr(', series '), fmtInt(mc.samples)),
        h(
          'span',
          { class: (mc.sampleLimitUsage ?? 0) > 0.8 ? 'num warn' : 'num' },
          sr(', sample limit used '),
          fmtPercent(mc.sampleLimitUsage),
        ),
        h(
          'span',
          { class: 'hash' },
          sr(', applied config '),
          mc.applied === undefined ? 'no sidecar' : mc.applied.configHash,
        ),
      );
      return;
    }
    const counts = /** @type {Counts} */ (row.counts);
    if (row.region !== undefined) {
      replace(
        el,
        h('span', { class: 'name' }, toggle, sr('region '), row.region.name),
        h('span', {}, badge(worst(counts))),
        h('span', { class: 'span3' }, countsText(counts)),
      );
      return;
    }
    const c = row.br.cascade;
    replace(
      el,
      h('span', { class: 'name' }, toggle, sr('big region '), row.br.name),
      h('span', {}, badge(c.state, c.why, `cascade ${c.state}`)),
      h('span', { class: 'num' }, sr(', largest lag '), fmtSeconds(c.lagSeconds)),
      h('span', { class: 'num' }, sr(', cascade series '), fmtInt(c.samples)),
      h(
        'span',
        { class: (c.sampleLimitUsage ?? 0) > 0.8 ? 'num warn' : 'num' },
        sr(', sample limit used '),
        fmtPercent(c.sampleLimitUsage),
      ),
      h('span', { class: 'counts' }, countsText(counts)),
    );
  }

  /**
   * @param {number} i
   * @param {boolean} [toggle] also open/close it (a click)
   */
  activate(i, toggle = false) {
    if (i < 0 || i >= this.rows.length) return;
    this.active = i;
    const row = /** @type {Row} */ (this.rows[i]);
    if (toggle && this.expandable(row)) {
      this.setOpen(row, !this.isOpen(row.key));
      return;
    }
    this.list.scrollToIndex(i);
    this.showDetails(row, true);
  }

  /**
   * @param {Row} row
   * @param {boolean} open
   */
  setOpen(row, open) {
    const set = this.filterActive() ? this.closedWhileFiltering : this.expanded;
    if (this.filterActive() === open) set.delete(row.key);
    else set.add(row.key);
    this.rebuild();
    this.list.scrollToIndex(this.active);
  }

  /** @param {boolean} open */
  expandAll(open) {
    if (this.data === undefined) return;
    if (this.filterActive()) {
      this.closedWhileFiltering.clear();
      if (!open) for (const r of this.rows) if (this.expandable(r)) this.closedWhileFiltering.add(r.key);
    } else {
      this.expanded.clear();
      if (open)
        for (const br of this.data.bigRegions) {
          this.expanded.add(`br:${br.name}`);
          for (const r of br.regions) this.expanded.add(`r:${br.name}/${r.name}`);
        }
    }
    this.rebuild();
  }

  /** @param {KeyboardEvent} e */
  onKey(e) {
    const row = this.rows[this.active];
    if (row === undefined) return;
    let next = this.active;
    switch (e.key) {
      case 'ArrowDown':
        next++;
        break;
      case 'ArrowUp':
        next--;
        break;
      case 'PageDown':
        next += 10;
        break;
      case 'PageUp':
        next -= 10;
        break;
      case 'Home':
        next = 0;
        break;
      case 'End':
        next = this.rows.length - 1;
        break;
      case 'ArrowRight':
        if (this.expandable(row) && !this.isOpen(row.key)) {
          e.preventDefault();
          this.setOpen(row, true);
          return;
        }
        if (this.expandable(row)) next++;
        break;
      case 'ArrowLeft':
        if (this.expandable(row) && this.isOpen(row.key)) {
          e.preventDefault();
          this.setOpen(row, false);
          return;
        }
        if (row.parent >= 0) next = row.parent;
        break;
      case 'Enter':
      case ' ':
        e.preventDefault();
        if (this.expandable(row)) this.setOpen(row, !this.isOpen(row.key));
        else this.showDetails(row, true);
        return;
      default:
        return;
    }
    e.preventDefault();
    this.activate(Math.max(0, Math.min(this.rows.length - 1, next)));
  }

  /**
   * @param {Row} row
   * @param {boolean} announce
   */
  showDetails(row, announce) {
    this.details.setAttribute('aria-live', announce ? 'polite' : 'off');
    const dl = (/** @type {[string, import('./dom.js').Child][]} */ pairs) =>
      h(
        'dl',
        {},
        pairs.map(([k, v]) => [h('dt', {}, k), h('dd', {}, v)]),
      );
    if (row.mc !== undefined) {
      const mc = row.mc;
      const budget = this.data?.lagBudgetSeconds;
      replace(
        this.details,
        h('h3', {}, `Meta-cluster ${mc.name}`),
        dl([
          ['State', [badge(mc.state), ` ${mc.why}`]],
          ['Place', `${row.br.name} / ${row.region?.name ?? ''}`],
          ['Federation lag', `${fmtSeconds(mc.lagSeconds)} (budget ${fmtSeconds(budget)})`],
          [
            'Federated series',
            `${fmtInt(mc.samples)} (${fmtPercent(mc.sampleLimitUsage)} of the cascade's sample limit)`,
          ],
          [
            'Applied config',
            mc.applied === undefined
              ? 'no sidecar heartbeat'
              : `${mc.applied.configHash}, sidecar ${mc.applied.version}, heartbeat ${fmtSeconds(mc.applied.heartbeatAgeSeconds)} ago`,
          ],
        ]),
      );
      return;
    }
    const counts = /** @type {Counts} */ (row.counts);
    if (row.region !== undefined) {
      replace(
        this.details,
        h('h3', {}, `Region ${row.region.name}`),
        dl([
          ['Meta-clusters', countsText(counts)],
          ['Big region', row.br.name],
        ]),
      );
      return;
    }
    const c = row.br.cascade;
    replace(
      this.details,
      h('h3', {}, `Big region ${row.br.name}`),
      dl([
        ['Cascade', [badge(c.state), ` ${c.why}`]],
        [
          'Series central federates from it',
          `${fmtInt(c.samples)} (${fmtPercent(c.sampleLimitUsage)} of central's sample limit)`,
        ],
        ['Largest lag of its edges', fmtSeconds(c.lagSeconds)],
        ['Meta-clusters', countsText(counts)],
      ]),
    );
  }
}
