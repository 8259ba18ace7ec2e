// @ts-check
/**
 * The console page: five views behind hash links (#tree, #rollouts, #pages, #explain,
 * #graph), one JSON request per refresh of the view in sight, paused while the tab is hidden.
 */
import { getJson } from './api.js';
import { fmtTime, h, replace } from './dom.js';
import { ExplainUi } from './explain.js';
import { GraphUi } from './graph.js';
import { PagesUi } from './pages.js';
import { RolloutsUi } from './rollouts.js';
import { TreeUi } from './tree.js';

/**
 * @typedef {{ update?: (data: any) => void, shown?: () => Promise<void> }} Ui
 * @typedef {{ id: string, endpoint?: string, ui: Ui }} View
 */

// Marks for the bench (and anyone profiling): when the page's code runs, when the tree's data is in.
performance.mark('fedstack:app-start');

const $ = (/** @type {string} */ id) => /** @type {HTMLElement} */ (document.getElementById(id));

const status = $('status');
const topologyName = $('topology-name');

/** @type {View[]} */
const views = [
  { id: 'tree', endpoint: 'tree', ui: new TreeUi($('view-tree')) },
  { id: 'rollouts', endpoint: 'rollouts', ui: new RolloutsUi($('view-rollouts')) },
  { id: 'pages', endpoint: 'pages', ui: new PagesUi($('view-pages')) },
  { id: 'explain', ui: new ExplainUi($('view-explain')) },
  { id: 'graph', ui: new GraphUi($('view-graph')) },
];

let refreshMs = 5000;
/** @type {number | undefined} */
let timer;
/** @type {AbortController | undefined} */
let inFlight;
/** @type {View} */
let current = /** @type {View} */ (views[0]);

/** @param {View} view */
async function refresh(view) {
  if (view.endpoint === undefined || view.ui.update === undefined) return;
  inFlight?.abort();
  const ac = new AbortController();
  inFlight = ac;
  try {
    const data = await getJson(view.endpoint, ac.signal);
    if (ac.signal.aborted || view !== current) return;
    if (typeof data.refreshMs === 'number') refreshMs = data.refreshMs;
    if (data.topology !== undefined)
      topologyName.textContent = `${data.topology.name}, revision ${data.topology.revision}`;
    view.ui.update(data);
    status.classList.remove('warn');
    status.textContent = `Updated ${fmtTime(Date.now())}`;
  } catch (e) {
    if (ac.signal.aborted) return;
    status.classList.add('warn');
    status.textContent = `Cannot refresh: ${/** @type {Error} */ (e).message}`;
  }
}

function schedule() {
  clearTimeout(timer);
  if (document.visibilityState === 'hidden' || current.endpoint === undefined) return;
  timer = window.setTimeout(async () => {
    await refresh(current);
    schedule();
  }, refreshMs);
}

function route() {
  const [name, query] = location.hash.replace(/^#/, '').split('?');
  const view = views.find((v) => v.id === name) ?? /** @type {View} */ (views[0]);
  current = view;
  for (const v of views) {
    $(`view-${v.id}`).hidden = v !== view;
    const link = document.querySelector(`nav a[href="#${v.id}"]`);
    if (v === view) link?.setAttribute('aria-current', 'page');
    else link?.removeAttribute('aria-current');
  }
  document.title = `${$(`h-${view.id}`)?.textContent ?? 'fedstack'} · fedstack console`;
  void (async () => {
    await view.ui.shown?.().catch((/** @type {Error} */ e) => {
      status.classList.add('warn');
      status.textContent = e.message;
    });
    if (view.id === 'explain' && query !== undefined) {
      const q = new URLSearchParams(query).get('q');
      const ui = /** @type {ExplainUi} */ (view.ui);
      if (q !== null && q !== ui.input.value) {
        ui.input.value = q;
        await ui.run(q);
      }
    }
    await refresh(view);
    schedule();
  })();
}

window.addEventListener('hashchange', route);
document.addEventListener('visibilitychange', () => {
  if (document.visibilityState === 'visible') void refresh(current).then(schedule);
  else clearTimeout(timer);
});
// Focus the view's heading after a navigation by link, so keyboard users land in it.
document.querySelector('nav')?.addEventListener('click', (e) => {
  const a = /** @type {Element} */ (e.target).closest('a');
  if (a === null) return;
  requestAnimationFrame(() => {
    const heading = document.querySelector(`#view-${a.getAttribute('href')?.slice(1)} h2`);
    if (heading instanceof HTMLElement) {
      heading.tabIndex = -1;
      heading.focus();
    }
  });
});
replace(status, h('span', {}, 'Loading…'));
route();
