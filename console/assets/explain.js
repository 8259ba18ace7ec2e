// @ts-check
/**
 * Explain: follows one series edge → cascade → central the way `fedstack explain` does, and
 * draws the hops: kept or dropped at each, by which allow-list entry, with which relabels.
 */
import { getJson } from './api.js';
import { badge, h, replace } from './dom.js';

/**
 * @typedef {import('../types.ts').ExplainView} ExplainView
 * @typedef {ExplainView['steps'][number]} ExplainStepView
 * @typedef {import('../types.ts').MetricsView} MetricsView
 */

/** @type {Record<string, string>} */
const STEP_STATE = {
  scraped: 'up',
  recorded: 'up',
  kept: 'up',
  made: 'up',
  dropped: 'down',
  'not-involved': 'unknown',
  'not-reached': 'unknown',
};

export class ExplainUi {
  /** @param {HTMLElement} section */
  constructor(section) {
    this.input = h('input', {
      type: 'search',
      id: 'explain-query',
      list: 'explain-metrics',
      autocomplete: 'off',
      spellcheck: 'false',
      placeholder: 'node_cpu_seconds_total mode=idle',
      'aria-describedby': 'explain-help',
    });
    this.datalist = h('datalist', { id: 'explain-metrics' });
    this.result = h('div', { id: 'explain-result', 'aria-live': 'polite' });
    const form = h(
      'form',
      { role: 'search', class: 'toolbar', 'aria-label': 'Explain a metric' },
      h('label', { for: 'explain-query' }, 'Metric and labels'),
      this.input,
      this.datalist,
      h('button', { type: 'submit', id: 'explain-go' }, 'Explain'),
    );
    form.addEventListener('submit', (e) => {
      e.preventDefault();
      // Linkable: the query goes into the address, without a navigation.
      history.replaceState(null, '', `#explain?q=${encodeURIComponent(this.input.value)}`);
      void this.run(this.input.value);
    });
    replace(
      section,
      h('h2', { id: 'h-explain' }, 'Explain'),
      h(
        'p',
        { class: 'help', id: 'explain-help' },
        'A metric name, optionally with labels as name=value (or METRIC{name="value"}): where it is scraped, kept or dropped on its way to central.',
      ),
      form,
      this.result,
    );
    this.metricsLoaded = false;
  }

  async shown() {
    if (this.metricsLoaded) return;
    this.metricsLoaded = true;
    try {
      const m = /** @type {MetricsView} */ (await getJson('metrics'));
      replace(
        this.datalist,
        m.metrics.map((name) => h('option', { value: name })),
      );
    } catch {
      this.metricsLoaded = false;
    }
  }

  /** @param {string} query */
  async run(query) {
    replace(this.result, h('p', {}, 'Explaining…'));
    try {
      const r = /** @type {ExplainView} */ (await getJson(`explain?q=${encodeURIComponent(query)}`));
      this.render(r);
    } catch (e) {
      replace(this.result, h('p', { class: 'warn', role: 'alert' }, /** @type {Error} */ (e).message));
    }
  }

  /** @param {ExplainView} r */
  render(r) {
    const dropped = r.steps.find((s) => s.status === 'dropped');
    replace(
      this.result,
      h(
        'p',
        { class: 'verdict', id: 'explain-verdict' },
        r.reachesCentral
          ? [badge('up', undefined, 'reaches central'), ' as ', h('code', {}, r.atCentral ?? r.metric)]
          : [
              badge('down', undefined, 'does not reach central'),
              dropped === undefined
                ? ''
                : ` — dropped at ${dropped.tier === 'central' ? 'central' : `the ${dropped.tier}`} by ${dropped.by ?? 'its allow-list'}`,
            ],
      ),
      h(
        'ol',
        { class: 'hops', 'aria-label': `Path of ${r.metric}` },
        r.steps.map((s) => hop(s)),
      ),
    );
  }
}

/** @param {ExplainStepView} s */
function hop(s) {
  const rows = /** @type {[string, import('./dom.js').Child][]} */ ([]);
  if (s.entry !== undefined)
    rows.push([
      'Allow-list entry',
      [
        s.entry.list,
        s.entry.index === undefined ? '' : `[${s.entry.index}]`,
        ': ',
        h('code', {}, s.entry.selector),
      ],
    ]);
  else if (s.by !== undefined) rows.push(['Decided by', s.by]);
  if (s.rule !== undefined)
    rows.push(['Rule', [h('code', {}, s.rule.record), ' = ', h('code', {}, s.rule.expr)]]);
  if (s.jobs !== undefined) rows.push(['Jobs', s.jobs.join(', ')]);
  if (s.metaClusters !== undefined)
    rows.push([
      'Meta-clusters',
      s.metaClusters.length > 8
        ? `${s.metaClusters.slice(0, 8).join(', ')} and ${s.metaClusters.length - 8} more`
        : s.metaClusters.join(', '),
    ]);
  if (s.labelsAdded !== undefined)
    rows.push([
      'Labels added',
      Object.entries(s.labelsAdded).map(([k, v]) => h('code', { class: 'label' }, `${k}="${v}"`)),
    ]);
  if (s.labelsDropped !== undefined)
    rows.push([
      'Labels dropped',
      s.labelsDropped.length === 0 ? 'none of the given ones' : s.labelsDropped.join(', '),
    ]);
  if (s.rewrites !== undefined && s.rewrites.length > 0)
    rows.push([
      'Relabels',
      h(
        'ol',
        { class: 'rewrites' },
        s.rewrites.map((r) => h('li', {}, h('code', {}, r.rule), ` ${r.what}: ${r.changes.join(', ')}`)),
      ),
    ]);
  if (s.conditions !== undefined) rows.push(['Only if', s.conditions.join(', ')]);
  return h(
    'li',
    { class: `hop hop-${s.status}`, 'data-tier': s.tier },
    h(
      'h3',
      {},
      h('span', { class: 'tier' }, s.tier),
      ' ',
      badge(STEP_STATE[s.status] ?? 'unknown', undefined, s.status),
    ),
    h('p', {}, s.note),
    rows.length === 0
      ? ''
      : h(
          'dl',
          {},
          rows.map(([k, v]) => [h('dt', {}, k), h('dd', {}, v)]),
        ),
  );
}
