// @ts-check
/**
 * Pages: is the alert path delivering? The bridge's outbox (depth, oldest entry), what each
 * receiver got in the last hour with the providers' error codes, the latest sends, dead
 * letters with their reason, and who is on call for each team until when.
 */
import { badge, fmtInt, fmtRelative, fmtTime, h, replace, table } from './dom.js';

/** @typedef {import('../types.ts').PagesView} PagesView */

export class PagesUi {
  /** @param {HTMLElement} section */
  constructor(section) {
    this.bridge = h('div', { id: 'bridge' });
    this.onCall = h('div', { id: 'oncall' });
    replace(section, h('h2', { id: 'h-pages' }, 'Pages'), this.bridge, this.onCall);
  }

  /** @param {PagesView} data */
  update(data) {
    const now = data.generatedAt;
    replace(
      this.onCall,
      table(
        'On call now',
        ['Team', 'On call', 'Next handover', 'Then'],
        data.onCall.map((t) => [
          t.team,
          t.now.length > 0 ? t.now.join(', ') : 'nobody (no rotation)',
          t.nextHandoverAt === undefined
            ? '—'
            : `${fmtTime(t.nextHandoverAt, t.timeZone)}, ${fmtRelative(t.nextHandoverAt, now)}`,
          t.next.join(', ') || '—',
        ]),
        'no team in the topology’s routing',
      ),
    );
    const b = data.bridge;
    if (b === undefined) {
      replace(
        this.bridge,
        h(
          'p',
          { id: 'bridge-off' },
          'The alert bridge does not run in this service (start `fedstack serve` with --outbox-dir and --secrets-dir).',
        ),
      );
      return;
    }
    replace(
      this.bridge,
      h(
        'p',
        { class: 'summary', id: 'outbox-summary' },
        badge(b.depth === 0 ? 'up' : 'stale', undefined, b.depth === 0 ? 'empty' : 'pending'),
        ` Outbox: ${fmtInt(b.depth)} notification${b.depth === 1 ? '' : 's'} waiting`,
        b.oldestAcceptedAt === undefined ? '' : `, oldest accepted ${fmtRelative(b.oldestAcceptedAt, now)}`,
        `. Dead letters: ${fmtInt(b.deadLetterCount)}.`,
      ),
      table(
        'Deliveries per receiver, last hour',
        [
          'Receiver',
          'Channel',
          'Team',
          'Messages delivered',
          'Notifications',
          'Failed sends',
          'Error codes',
          'Last delivered',
        ],
        b.receivers.map((r) => [
          r.receiver,
          r.channel,
          r.team ?? '—',
          fmtInt(r.delivered),
          fmtInt(r.notifications),
          fmtInt(r.failed),
          r.errcodes.length === 0
            ? 'none'
            : r.errcodes.map((e) =>
                h('span', { class: 'errcode', title: e.lastReason }, `${e.code} ×${e.count}`),
              ),
          r.lastDeliveredAt === undefined ? '—' : fmtRelative(r.lastDeliveredAt, now),
        ]),
        'nothing sent in the last hour',
      ),
      table(
        'Waiting in the outbox',
        ['Receiver', 'Channel', 'Waiting', 'Oldest accepted'],
        b.queue.map((q) => [q.receiver, q.channel, fmtInt(q.depth), fmtRelative(q.oldestAcceptedAt, now)]),
        'nothing waiting',
      ),
      table(
        'Latest sends',
        ['Time', 'Receiver', 'Channel', 'Result', 'Alerts'],
        b.recent.map((s) => [
          fmtTime(s.at),
          s.receiver,
          s.channel,
          s.ok
            ? badge('up', undefined, 'delivered')
            : badge('down', s.reason, `failed: ${s.code ?? 'error'}`),
          `${s.status}: ${s.alerts.join(', ') || '—'}`,
        ]),
        'nothing sent in the last hour',
      ),
      table(
        `Dead letters (${fmtInt(b.deadLetterCount)}; newest first)`,
        ['Given up', 'Receiver', 'Channel', 'Reason'],
        b.deadLetters.map((d) => [fmtTime(d.deadAt), d.receiver, d.channel, d.reason]),
        'no dead letter',
      ),
    );
  }
}
