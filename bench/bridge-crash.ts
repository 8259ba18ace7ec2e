/**
 * Bench: the alert bridge across crashes (issue 11). `fedstack serve` is SIGKILLed at random
 * points of bursts and restarted on its outbox (test/alerting/support/crash-lane.ts, the trial
 * the crash test runs), DingTalk's window scaled down on both sides. Target: the drain, from the
 * first post to the last message, within 10% of the minimum DingTalk's limit allows for those
 * messages (none before its group was accepted, none while the bridge could not send, 20 per
 * window per robot). A timing target, hence here and not in the test, which checks that nothing
 * is lost, nothing is throttled and duplicates stay within their bound.
 */
import { DINGTALK_LIMIT, runCrashLane } from '../test/alerting/support/crash-lane.ts';
import { removeTempDirs } from '../test/alerting/support/fixtures.ts';
import { notRun, type Bench, type Row } from './types.ts';

export const bridgeCrashBench: Bench = {
  name: 'bridge-crash',
  description:
    'SIGKILLs of fedstack serve mid-burst: drain time against the minimum the DingTalk limit allows',
  async run({ smoke, log }) {
    const bench = 'bridge-crash';
    if (smoke)
      return [
        notRun(
          bench,
          'drain across SIGKILLs: time / minimum the limit allows',
          'not in smoke: every `npm test` runs the same trial in test/alerting/crash.test.ts',
          { op: '<=', bound: 1.1 },
        ),
      ];
    // Kills half a window to two windows after each restart resumed, with 2.5 windows of work
    // waiting: each stretch of uptime spans a window boundary, so the drain is the limit's doing
    // and not the cost of the few sends a restart makes in its first second.
    const lanes = [
      { robots: 1 as const, windowMs: 5_000, kills: 10, upMs: [2_500, 10_000] as const, backlogWindows: 2.5 },
      { robots: 2 as const, windowMs: 6_000, kills: 10, upMs: [3_000, 12_000] as const, backlogWindows: 2.5 },
    ];
    try {
      const results = await Promise.all(lanes.map((l) => runCrashLane(l)));
      const rows: Row[] = [];
      for (const r of results) {
        log(`bridge-crash: ${r.summary}`);
        const lost = r.posted - r.shown.size;
        const over = Object.values(r.maxInWindow).some((m) => m > DINGTALK_LIMIT);
        if (lost > 0 || r.errcodes.length > 0 || over)
          throw new Error(`bridge-crash: ${lost} lost, errcodes ${JSON.stringify(r.errcodes)}: ${r.summary}`);
        rows.push({
          bench,
          metric: `drain across ${r.kills} SIGKILLs, ${r.robots} robot(s), window scaled to ${r.windowMs / 1000} s: time / minimum the limit allows`,
          value: r.drain / r.minimum,
          unit: 'x',
          target: { op: '<=', bound: 1.1 },
          note: `${r.drain} ms vs ${r.minimum} ms; ${r.posted} groups, 0 lost, 0 errcodes, ${r.repeatedUuids} message(s) shown twice in ${r.kills} kills`,
          detail: { drainMs: r.drain, minimumMs: r.minimum, shownTwice: r.repeatedUuids },
        });
      }
      return rows;
    } finally {
      removeTempDirs();
    }
  },
};
