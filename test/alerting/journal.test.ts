/**
 * The send journal on its own (a clock of our own), then the bridge restarted on an outbox whose
 * journal says what happened before the stop: the window is resumed, a confirmed part is never
 * sent again, a part in doubt is sent once more.
 */
import assert from 'node:assert/strict';
import { appendFileSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { Registry } from 'prom-client';
import { buildMessage } from '../../alerting/bridge/dingtalk.ts';
import { SendJournal } from '../../alerting/bridge/journal.ts';
import { Outbox } from '../../alerting/bridge/outbox.ts';
import { startAlertBridge } from '../../alerting/bridge/wiring.ts';
import { dedupKey } from '../../alerting/bridge/webhook.ts';
import { staticTopologySource } from '../../server/topology-watch.ts';
import { startDingTalkContract } from './support/dingtalk-contract.ts';
import {
  ROBOTS,
  loadTestTopology,
  payload,
  removeTempDirs,
  silentLogger,
  tempDir,
  topologyText,
  waitFor,
  writeSecrets,
} from './support/fixtures.ts';

after(removeTempDirs);

const WINDOW = 60_000;
const journalAt = (dir: string, clock: { now: number }) =>
  new SendJournal(dir, { now: () => clock.now, retainMs: () => WINDOW });

describe('the send journal', () => {
  it('a send begun and never answered is in doubt after a restart; its slot counts from the restart or its deadline', async () => {
    const dir = tempDir('journal');
    const clock = { now: 1_000 };
    const j = journalAt(dir, clock);
    await j.open();
    await j.compact();
    await j.begin('dingtalk:r/1', 'b1:0', 1_000, 5_000);
    await j.begin('dingtalk:r/1', 'b2:0', 1_100, 30_000);
    await j.close();

    clock.now = 9_000;
    const again = journalAt(dir, clock);
    const { inDoubt } = await again.open();
    assert.deepEqual(inDoubt.sort(), ['b1:0', 'b2:0']);
    assert.deepEqual(
      again.slotsOf('dingtalk:r/1'),
      [5_000, 9_000],
      'b1 could not arrive after its deadline; b2 could have arrived until the restart',
    );
    assert.equal(again.sentRecord('b1:0'), undefined, 'in doubt is not sent: it goes out again');
    await again.close();
  });

  it('an answer keeps its slot at the answer time; a sent part is remembered until forgotten; a torn line is ignored', async () => {
    const dir = tempDir('journal');
    const clock = { now: 0 };
    const j = journalAt(dir, clock);
    await j.open();
    await j.compact();
    await j.begin('dingtalk:r/1', 'b1:0', 100, 20_000);
    await j.end('dingtalk:r/1', 'b1:0', 150, { sent: true, slot: true });
    await j.begin('dingtalk:r/1', 'b1:1', 200, 20_000);
    await j.end('dingtalk:r/1', 'b1:1', 260, { sent: false, slot: true });
    await j.begin('sms:+86138', 's1', 300, 30_000, ['u1', 'u2']);
    await j.end('sms:+86138', 's1', 320, { sent: true, slot: true });
    await j.cooldown('dingtalk:r/2', 600_000);
    await j.close();
    // A crash in the middle of an append leaves half a line.
    appendFileSync(path.join(dir, 'sends.log'), '{"op":"begin","key":"dingtalk:r/1","id":"b9');

    clock.now = 1_000;
    const again = journalAt(dir, clock);
    const { inDoubt } = await again.open();
    assert.deepEqual(inDoubt, []);
    assert.deepEqual(again.slotsOf('dingtalk:r/1'), [150, 260], 'a failed request still took its slot');
    assert.deepEqual(again.slotsOf('sms:+86138'), [320]);
    assert.equal(again.cooldownOf('dingtalk:r/2'), 600_000);
    assert.deepEqual(again.sentRecord('b1:0'), { at: 100, units: undefined });
    assert.equal(again.sentRecord('b1:1'), undefined);
    assert.deepEqual(again.sentRecord('s1'), { at: 300, units: ['u1', 'u2'] });
    again.forget((id) => id.startsWith('b1:'));
    await again.compact();
    await again.close();

    clock.now = 70_000;
    const third = journalAt(dir, clock);
    await third.open();
    assert.equal(third.sentRecord('b1:0'), undefined, 'forgotten at the compaction');
    assert.ok(third.sentRecord('s1'));
    assert.deepEqual(third.slotsOf('dingtalk:r/1'), [], 'slots older than the window are gone');
    await third.close();
  });

  it('stays a handful of records per key however many sends go through', async () => {
    const dir = tempDir('journal');
    const clock = { now: 0 };
    const j = new SendJournal(dir, { now: () => clock.now, retainMs: () => WINDOW, compactAfter: 100 });
    await j.open();
    await j.compact();
    for (let i = 0; i < 300; i++) {
      clock.now = i * 3_000; // 20 per minute
      const id = `b${i}:0`;
      // Concurrent appends, as lanes make them: they share writes and fsyncs.
      await Promise.all([j.begin('dingtalk:r/1', id, clock.now, clock.now + 11_000), j.cooldown('x', 0)]);
      await j.end('dingtalk:r/1', id, clock.now, { sent: true, slot: true });
      j.forget((x) => x === id);
    }
    await j.close();
    const lines = readFileSync(path.join(dir, 'sends.log'), 'utf8').trim().split('\n');
    assert.ok(lines.length <= 100, `${lines.length} lines after 300 sends (compacted)`);
    const again = journalAt(dir, clock);
    await again.open();
    assert.equal(again.slotsOf('dingtalk:r/1').length, 20, 'the last minute: 20 sends');
    await again.close();
  });
});

describe('a bridge restarted on its outbox', () => {
  const setup = async (windowMs: number) => {
    const ding = await startDingTalkContract({ robots: ROBOTS, windowMs, limit: 20 });
    const secrets = tempDir('secrets');
    writeSecrets(secrets);
    const outboxDir = tempDir('outbox');
    const topology = staticTopologySource(loadTestTopology(topologyText({ dingtalkUrl: ding.url })));
    const start = () => {
      const registry = new Registry();
      return startAlertBridge(
        { outboxDir, secretsDir: secrets, options: { dingtalk: { windowMs } } },
        { topology, registry, logger: silentLogger },
      );
    };
    return { ding, outboxDir, start };
  };

  it('keeps the robot window it had: 15 messages before a restart, 5 more in the same minute, never a 130101', async () => {
    const { ding, start } = await setup(60_000);
    try {
      const first = start();
      await first.ready;
      // One notification at a time, each its own message.
      for (let i = 0; i < 15; i++) {
        assert.equal(await first.engine.accept('dingtalk', 'sre-dingtalk', payload(i)), 'accepted');
        await waitFor(() => first.engine.idle(), 5_000, `message ${i}`);
      }
      await first.close();
      const second = start();
      await second.ready;
      for (let i = 15; i < 25; i++) await second.engine.accept('dingtalk', 'sre-dingtalk', payload(i));
      await waitFor(() => ding.messages.length >= 20, 5_000, '20 messages');
      await new Promise((r) => setTimeout(r, 300));
      assert.equal(ding.messages.length, 20, 'the restarted bridge waits for the window');
      assert.deepEqual(ding.errors, []);
      assert.ok(second.engine.queueDepth('dingtalk') > 0, 'the rest waits in the outbox');
      await second.close();
    } finally {
      await ding.close();
    }
  });

  const staged = async (answered: boolean) => {
    const { ding, outboxDir, start } = await setup(1_000);
    try {
      // What a bridge leaves when it dies right after DingTalk answered part 0 of a batch
      // (answered) or while the request was in flight (in doubt).
      const outbox = new Outbox(outboxDir);
      await outbox.open();
      const p = payload(42, { alertname: 'StagedAlert' });
      const key = dedupKey('dingtalk', 'sre-dingtalk', p);
      const unit = {
        id: `d-${key}`,
        key,
        channel: 'dingtalk' as const,
        receiver: 'sre-dingtalk',
        acceptedAt: Date.now(),
        payload: p,
      };
      await outbox.accept(key, [unit], Date.now());
      const part = buildMessage(
        { ids: [unit.id], text: '### FIRING:1 StagedAlert', title: 'FIRING: 1 notification', mention: false },
        { mobiles: [], userIds: [] },
        'batch-1-0',
      );
      await outbox.saveBatch({
        id: 'batch-1',
        channel: 'dingtalk',
        receiver: 'sre-dingtalk',
        unitIds: [unit.id],
        parts: [part],
        sent: 0,
        attempts: 0,
        robot: 0,
        createdAt: Date.now(),
      });
      const j = new SendJournal(outboxDir, { now: Date.now, retainMs: () => 1_000 });
      await j.open();
      await j.compact();
      await j.begin('dingtalk:dingtalk/token-1', 'batch-1:0', Date.now(), Date.now() + 11_000);
      if (answered)
        await j.end('dingtalk:dingtalk/token-1', 'batch-1:0', Date.now(), { sent: true, slot: true });
      await j.close();

      const bridge = start();
      await bridge.ready;
      await waitFor(() => bridge.engine.idle(), 5_000, 'the outbox settled');
      await new Promise((r) => setTimeout(r, 200));
      const shown = ding.messages.filter((m) => m.body.markdown!.text.includes('StagedAlert'));
      await bridge.close();
      return { shown, outbox: new Outbox(outboxDir) };
    } finally {
      await ding.close();
    }
  };

  it('never sends again a part whose answer was recorded, and closes its batch', async () => {
    const { shown, outbox } = await staged(true);
    assert.equal(shown.length, 0);
    const { units, batches } = await outbox.open();
    assert.deepEqual([units.length, batches.length], [0, 0]);
  });

  it('sends a part in doubt once more, with the same msgUuid', async () => {
    const { shown, outbox } = await staged(false);
    assert.equal(shown.length, 1);
    assert.equal(shown[0]!.body.msgUuid, 'batch-1-0');
    const { units, batches } = await outbox.open();
    assert.deepEqual([units.length, batches.length], [0, 0]);
  });
});
