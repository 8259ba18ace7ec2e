// @ts-check
/**
 * DOM helpers. Text goes in as text nodes and attributes through setAttribute, never as
 * markup: a name with HTML in it shows as the characters it is. No innerHTML anywhere.
 */

/**
 * @typedef {string | number | Node | null | undefined | false} Leaf
 * @typedef {Leaf | readonly Leaf[] | readonly (readonly Leaf[])[] | readonly (readonly (readonly Leaf[])[])[]} Child
 * @typedef {Record<string, string | number | boolean | null | undefined | EventListener>} Attrs
 */

/**
 * Creates an element. Attributes starting with `on` become listeners; `false`, null and
 * undefined attributes are left out, `true` sets an empty attribute.
 * @template {keyof HTMLElementTagNameMap} K
 * @param {K} tag
 * @param {Attrs} [attrs]
 * @param {...Child} children
 * @returns {HTMLElementTagNameMap[K]}
 */
export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith('on') && typeof v === 'function') el.addEventListener(k.slice(2), v);
    else el.setAttribute(k, v === true ? '' : String(v));
  }
  append(el, children);
  return el;
}

/**
 * @param {Element} el
 * @param {readonly Child[]} children
 */
export function append(el, children) {
  for (const c of children) {
    if (c === null || c === undefined || c === false) continue;
    if (Array.isArray(c)) append(el, /** @type {readonly Child[]} */ (c));
    else el.append(typeof c === 'object' ? /** @type {Node} */ (c) : String(c));
  }
}

/**
 * Replaces an element's content.
 * @param {Element} el
 * @param {...Child} children
 */
export function replace(el, ...children) {
  el.replaceChildren();
  append(el, children);
}

/** Text only a screen reader reads (labels that the layout shows by position). */
export const sr = (/** @type {string} */ text) => h('span', { class: 'sr-only' }, text);

const nf = new Intl.NumberFormat('en-US');
export const fmtInt = (/** @type {number | undefined} */ n) =>
  n === undefined ? '—' : nf.format(Math.round(n));

/** @param {number | undefined} ratio 0..1 */
export const fmtPercent = (ratio) =>
  ratio === undefined ? '—' : `${ratio < 0.1 ? (ratio * 100).toFixed(1) : Math.round(ratio * 100)} %`;

/** @param {number | undefined} s */
export function fmtSeconds(s) {
  if (s === undefined) return '—';
  if (s < 60) return `${s < 10 ? s.toFixed(1) : Math.round(s)} s`;
  if (s < 3600) return `${Math.floor(s / 60)} min ${Math.round(s % 60)} s`;
  if (s < 86400) return `${Math.floor(s / 3600)} h ${Math.round((s % 3600) / 60)} min`;
  return `${Math.floor(s / 86400)} d ${Math.round((s % 86400) / 3600)} h`;
}

/**
 * A date and time, in the browser's time zone or the one given (then named).
 * @param {number} ms
 * @param {string} [timeZone]
 */
export const fmtTime = (ms, timeZone) =>
  new Date(ms).toLocaleString('en-GB', { hour12: false, ...(timeZone === undefined ? {} : { timeZone }) }) +
  (timeZone === undefined ? '' : ` ${timeZone}`);

/**
 * "3 min 2 s ago" / "in 5 h 1 min".
 * @param {number} ms
 * @param {number} now
 */
export const fmtRelative = (ms, now) =>
  ms <= now ? `${fmtSeconds((now - ms) / 1000)} ago` : `in ${fmtSeconds((ms - now) / 1000)}`;

/** @type {Record<string, string>} */
const STATE_TEXT = { up: 'up', stale: 'stale', down: 'down', unknown: 'unknown' };
/** @type {Record<string, string>} */
const STATE_MARK = { up: '●', stale: '▲', down: '■', unknown: '○' };

/**
 * A state as a badge: a shape and a word as well as a color.
 * @param {string} state up | stale | down | unknown (the color and shape)
 * @param {string} [title] the why, on hover
 * @param {string} [label] the word, when not the state's own
 */
export function badge(state, title, label) {
  return h(
    'span',
    { class: `badge state-${state}`, title },
    h('span', { 'aria-hidden': 'true' }, STATE_MARK[state] ?? '?'),
    ` ${label ?? STATE_TEXT[state] ?? state}`,
  );
}

/**
 * A small table: caption, headers, rows of cells.
 * @param {string} caption
 * @param {string[]} headers
 * @param {Child[][]} rows
 * @param {string} [empty] shown as the only row when there is none
 */
export function table(caption, headers, rows, empty = 'none') {
  return h(
    'table',
    {},
    h('caption', {}, caption),
    h(
      'thead',
      {},
      h(
        'tr',
        {},
        headers.map((x) => h('th', { scope: 'col' }, x)),
      ),
    ),
    h(
      'tbody',
      {},
      rows.length === 0
        ? h('tr', {}, h('td', { colspan: headers.length, class: 'empty' }, empty))
        : rows.map((r) =>
            h(
              'tr',
              {},
              r.map((c) => h('td', {}, c)),
            ),
          ),
    ),
  );
}
