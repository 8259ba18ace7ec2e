// @ts-check
/**
 * Rollouts: the topology revision the service serves, which config each instance's sidecar
 * reports, and — once staged rollout (issue 13) runs in the service — the current rollout's
 * waves and gates, its history, and pause / resume / abort behind the operator token.
 */
import { ApiFailure, postAction } from './api.js';
import { badge, fmtInt, fmtSeconds, fmtTime, h, replace, table } from './dom.js';
import { VirtualList } from './virtual-list.js';

/**
 * @typedef {import('../types.ts').RolloutsView} RolloutsView
 * @typedef {import('../types.ts').Rollout} Rollout
 * @typedef {import('../types.ts').InstanceConfig} InstanceConfig
 */

/** @type {Record<string, string>} */
const ROLLOUT_STATE = { running: 'up', paused: 'stale', 'rolling-back': 'stale', done: 'up', 'rolled-back': 'down', aborted: 'down' };

export class RolloutsUi {
  /** @param {HTMLElement} section */
  constructor(section) {
    this.token = h('input', {
      type: 'password',
      id: 'operator-token',
      autocomplete: 'off',
      spellcheck: 'false',
    });
    /** @type {RolloutsView | undefined} */
    this.data = undefined;
    /** @type {InstanceConfig[]} */
    this.visible = [];
    this.revision = h('div', { class: 'card' });
    this.rollout = h('div', { class: 'card' });
    this.actionStatus = h('p', { role: 'status', class: 'action-status' });
    this.buttons = /** @type {const} */ (['pause', 'resume', 'abort']).map((a) =>
      h(
        'button',
        { type: 'button', id: `rollout-${a}`, onclick: () => this.act(a) },
        a[0]?.toUpperCase() + a.slice(1),
      ),
    );
    this.hashes = h('div', {});
    this.filter = h('input', {
      type: 'search',
      id: 'instance-filter',
      autocomplete: 'off',
      placeholder: 'name, region or hash',
    });
    this.filter.addEventListener('input', () => this.filterInstances());
    this.count = h('p', { class: 'help', id: 'instance-count' });
    this.listEl = h('div', {
      role: 'list',
      class: 'vlist',
      'aria-label': 'Instances and the config they run',
      tabindex: 0,
    });
    this.list = new VirtualList(this.listEl, {
      rowHeight: 30,
      create: () => h('div', { role: 'listitem', class: 'irow' }),
      render: (el, i) => this.renderInstance(el, i),
    });
    replace(
      section,
      h('h2', { id: 'h-rollouts' }, 'Rollouts'),
      this.revision,
      this.rollout,
      h(
        'div',
        { class: 'card', role: 'group', 'aria-labelledby': 'h-actions' },
        h('h3', { id: 'h-actions' }, 'Actions'),
        h(
          'p',
          { class: 'help', id: 'token-help' },
          'Pause, resume and abort need the service’s bearer token. It stays in this page, never in storage.',
        ),
        h(
          'form',
          { class: 'toolbar', onsubmit: (e) => e.preventDefault() },
          h('label', { for: 'operator-token' }, 'Service token'),
          this.token,
          this.buttons,
        ),
        this.actionStatus,
      ),
      this.hashes,
      h('h3', {}, 'Instances'),
      h('div', { class: 'toolbar' }, h('label', { for: 'instance-filter' }, 'Filter'), this.filter),
      this.count,
      h(
        'div',
        { class: 'row head irow', 'aria-hidden': 'true' },
        ['Tier', 'Name', 'Place', 'Applied config', 'Sidecar', 'Heartbeat'].map((x) => h('span', {}, x)),
      ),
      this.listEl,
    );
  }

  /** @param {RolloutsView} data */
  update(data) {
    this.data = data;
    const t = data.topology;
    replace(
      this.revision,
      h('h3', {}, 'Topology served'),
      h(
        'dl',
        {},
        h('dt', {}, 'Name'),
        h('dd', {}, t.name),
        h('dt', {}, 'Revision'),
        h('dd', { id: 'topology-revision' }, `${t.revision} (sha256 ${t.hash})`),
        h('dt', {}, 'Topology file'),
        h(
          'dd',
          {},
          t.lastError === undefined
            ? 'the file on disk is what is served'
            : [
                h(
                  'strong',
                  { class: 'warn' },
                  'a change was refused, the last good revision keeps serving: ',
                ),
                h('pre', {}, t.lastError),
              ],
        ),
        h('dt', {}, 'Refused changes since start'),
        h('dd', {}, fmtInt(data.reloadFailures)),
      ),
    );
    this.renderRollout(data);
    replace(
      this.hashes,
      table(
        'Config hashes reported by sidecars',
        ['Config hash', 'Instances'],
        data.hashes.map((x) => [
          x.hash === null ? 'not reported (no sidecar heartbeat)' : h('code', {}, x.hash),
          fmtInt(x.instances),
        ]),
      ),
    );
    this.filterInstances();
  }

  /** @param {RolloutsView} data */
  renderRollout(data) {
    const cur = data.current;
    const running = cur !== undefined && (cur.state === 'running' || cur.state === 'paused');
    const [pause, resume, abort] = this.buttons;
    if (pause && resume && abort) {
      pause.disabled = !(running && cur?.state === 'running');
      resume.disabled = !(running && cur?.state === 'paused');
      abort.disabled = !running;
    }
    if (!data.rolloutsAvailable) {
      replace(
        this.rollout,
        h('h3', {}, 'Staged rollout'),
        h(
          'p',
          { id: 'rollout-unavailable' },
          'This service runs no staged rollout yet: every instance is assigned the revision above. The table below shows which config each instance reports.',
        ),
      );
      return;
    }
    replace(
      this.rollout,
      h('h3', {}, 'Current rollout'),
      cur === undefined ? h('p', {}, 'No rollout is running.') : rolloutDetails(cur),
      table(
        'Past rollouts',
        ['Rollout', 'Revisions', 'Started', 'Outcome', 'Why'],
        data.history.map((r) => [
          r.id,
          `${r.fromRevision} → ${r.toRevision}`,
          fmtTime(r.startedAt),
          badge(ROLLOUT_STATE[r.state] ?? 'unknown', undefined, r.state),
          [
            r.state,
            r.rollbackReason === undefined ? '' : `: ${r.rollbackReason}`,
            r.failingGate === undefined ? '' : ` (gate ${r.failingGate})`,
          ].join(''),
        ]),
        'no rollout yet',
      ),
    );
  }

  filterInstances() {
    if (this.data === undefined) return;
    const q = this.filter.value.trim().toLowerCase();
    this.visible =
      q === ''
        ? [...this.data.instances]
        : this.data.instances.filter((i) =>
            [i.tier, i.name, i.bigRegion ?? '', i.region ?? '', i.applied?.configHash ?? ''].some((x) =>
              x.toLowerCase().includes(q),
            ),
          );
    this.count.textContent = `${fmtInt(this.visible.length)} of ${fmtInt(this.data.instances.length)} instances`;
    this.list.setCount(this.visible.length);
  }

  /**
   * @param {HTMLElement} el
   * @param {number} i
   */
  renderInstance(el, i) {
    const x = this.visible[i];
    if (x === undefined) return;
    el.dataset.key = `${x.tier}:${x.name}`;
    const a = x.applied;
    replace(
      el,
      h('span', {}, x.tier),
      h('span', { class: 'name' }, x.name),
      h('span', {}, [x.bigRegion, x.region].filter(Boolean).join(' / ') || '—'),
      h('span', { class: 'hash' }, a === undefined ? 'not reported' : a.configHash),
      h('span', {}, a === undefined ? '—' : a.version),
      h('span', {}, a === undefined ? '—' : `${fmtSeconds(a.heartbeatAgeSeconds)} ago`),
    );
  }

  /** @param {'pause' | 'resume' | 'abort'} action */
  async act(action) {
    this.actionStatus.textContent = `${action}…`;
    try {
      await postAction(`rollouts/${action}`, this.token.value.trim());
      this.actionStatus.textContent = `${action}: done`;
    } catch (e) {
      const status = e instanceof ApiFailure ? e.status : 0;
      const hint = status === 401 ? ' (check the service token)' : '';
      this.actionStatus.textContent = `${action} failed: ${/** @type {Error} */ (e).message}${hint}`;
    }
  }
}

/** @param {Rollout} r */
function rolloutDetails(r) {
  return h(
    'div',
    { id: 'rollout-current' },
    h(
      'p',
      {},
      badge(ROLLOUT_STATE[r.state] ?? 'unknown', undefined, r.state),
      ` ${r.id}: revision ${r.fromRevision} → ${r.toRevision}, started ${fmtTime(r.startedAt)}`,
      r.note === undefined ? '' : ` — ${r.note}`,
      r.rollbackReason === undefined
        ? ''
        : h('strong', { class: 'warn' }, ` Rolled back: ${r.rollbackReason}`),
    ),
    r.waves.map((w) =>
      table(
        `Wave ${w.name}: ${w.state}; instances ${Object.entries(w.instances)
          .map(([k, n]) => `${n} ${k}`)
          .join(', ')}`,
        ['Gate', 'Query at central', 'Value', 'Threshold', 'Result'],
        w.gates.map((g) => [
          g.name,
          h('code', {}, g.expr),
          g.value === undefined ? '—' : String(g.value),
          g.threshold,
          badge(g.ok ? 'up' : 'down', undefined, g.ok ? 'passing' : 'failing'),
        ]),
        'no gate',
      ),
    ),
  );
}
