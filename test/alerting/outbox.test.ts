import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { SlidingWindowLimiter } from '../../alerting/bridge/limiter.ts';
import { Outbox, type OutboxUnit } from '../../alerting/bridge/outbox.ts';
import { dedupKey } from '../../alerting/bridge/webhook.ts';
import { payload, removeTempDirs, tempDir } from './support/fixtures.ts';

after(removeTempDirs);

describe('sliding-window limiter (driven by the caller clock)', () => {
  it('allows the limit within a window, then frees a slot one window after the oldest answer', () => {
    const l = new SlidingWindowLimiter([{ limit: 2, windowMs: 1_000 }]);
    assert.equal(l.nextFree(0), 0);
    l.begin();
    l.end(10);
    l.begin();
    assert.equal(l.nextFree(20), 1_010, 'the in-flight send holds its slot; the first frees one at 1010');
    const solo = new SlidingWindowLimiter([{ limit: 1, windowMs: 1_000 }]);
    solo.begin();
    assert.equal(solo.nextFree(20), Infinity, 'only an answer gives an in-flight send a time');
    l.end(30);
    assert.equal(l.nextFree(40), 1_010);
    assert.equal(l.nextFree(1_009), 1_010);
    assert.equal(l.nextFree(1_010), 1_010, 'at 1010 the first answer left the window');
    l.begin();
    l.end(1_010);
    assert.equal(l.nextFree(1_020), 1_030, 'then the second one must leave');
  });
  it('applies every window (SMS: 1 per minute and 5 per hour)', () => {
    const l = new SlidingWindowLimiter([
      { limit: 1, windowMs: 60_000 },
      { limit: 5, windowMs: 3_600_000 },
    ]);
    for (let i = 0; i < 5; i++) {
      const t = i * 60_000;
      assert.equal(l.nextFree(t), t);
      l.begin();
      l.end(t);
    }
    assert.equal(l.nextFree(300_000), 3_600_000);
  });
  it('a cancelled send frees its slot without counting', () => {
    const l = new SlidingWindowLimiter([{ limit: 1, windowMs: 60_000 }]);
    l.begin();
    l.cancel();
    assert.equal(l.nextFree(5), 5);
  });
});

describe('outbox', () => {
  const unit = (n: number): OutboxUnit => {
    const p = payload(n);
    const key = dedupKey('dingtalk', 'sre-dingtalk', p);
    return { id: `d-${key}`, key, channel: 'dingtalk', receiver: 'sre-dingtalk', acceptedAt: n, payload: p };
  };

  it('survives a reopen: pending units and batches come back, delivered and dedup markers stay known', async () => {
    const dir = tempDir('outbox-unit');
    const a = new Outbox(dir);
    await a.open();
    const [u1, u2, u3] = [unit(1), unit(2), unit(3)];
    for (const u of [u1!, u2!, u3!]) await a.accept(u.key, [u], u.acceptedAt);
    await a.saveBatch({
      id: 'b1',
      channel: 'dingtalk',
      receiver: 'sre-dingtalk',
      unitIds: [u2!.id],
      parts: [{ x: 1 }],
      sent: 0,
      attempts: 0,
      createdAt: 5,
    });
    await a.markDelivered([u1!.id], undefined, 10);
    await a.deadLetter([u3!], 'errcode 310000', undefined, 11);

    const b = new Outbox(dir);
    const { units, batches } = await b.open();
    assert.deepEqual(
      units.map((u) => u.id),
      [u2!.id],
    );
    assert.deepEqual(
      batches.map((x) => x.id),
      ['b1'],
    );
    assert.ok(b.isAccepted(u1!.key) && b.isAccepted(u3!.key));
    assert.ok(b.knows(u1!.id) && b.knows(u3!.id));
    assert.deepEqual(await b.deadLetters(), [
      { id: u3!.id, reason: 'errcode 310000', channel: u3!.channel, receiver: u3!.receiver, deadAt: 11 },
    ]);
    assert.deepEqual(await b.accept(u1!.key, [u1!], 20), [], 'a delivered unit is not queued again');
  });

  it('forgets dedup markers after the window so that repeats get through again', async () => {
    const dir = tempDir('outbox-prune');
    const o = new Outbox(dir);
    await o.open();
    const u = unit(7);
    await o.accept(u.key, [u], 100);
    await o.markDelivered([u.id], undefined, 200);
    await o.prune(150);
    assert.equal(o.isAccepted(u.key), false);
    assert.equal(o.knows(u.id), true, 'the delivered marker is newer than the cut');
    await o.prune(1_000);
    assert.equal(o.knows(u.id), false);
    assert.deepEqual(readdirSync(path.join(dir, 'accepted')), []);
  });

  it('the dedup key ignores alert order but not status', () => {
    const p = payload(1, { alerts: 3 });
    const reversed = { ...p, alerts: [...p.alerts].reverse() };
    assert.equal(dedupKey('dingtalk', 'r', p), dedupKey('dingtalk', 'r', reversed));
    assert.notEqual(dedupKey('dingtalk', 'r', p), dedupKey('dingtalk', 'r', { ...p, status: 'resolved' }));
    assert.notEqual(dedupKey('dingtalk', 'r', p), dedupKey('sms', 'r', p));
  });
});
