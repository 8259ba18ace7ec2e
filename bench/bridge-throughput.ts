/**
 * Bench: alert bridge throughput. The fedstack service with the bridge mounted exactly as
 * `fedstack serve --outbox-dir --secrets-dir` starts it (startServer → startAlertBridge, the one
 * wiring), its durable outbox fsync'd before each 202 and its send journal fsync'd around each
 * send, on loopback in front of the DingTalk contract server (test/alerting/support/), one robot
 * at DingTalk's 20 messages per window:
 *   intake  N distinct Alertmanager webhook groups POSTed 32 at a time → accepted per second;
 *   drain   time until every group is delivered, with the DingTalk window scaled to 1 s on both
 *           sides (the bridge's and the contract server's `windowMs`), and the same message
 *           count converted to DingTalk's real 60 s window.
 * The load generator shares the process with the service (bodies must differ per request, so a
 * fixed-body tool like wrk would only measure deduplication).
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import pino from 'pino';
import { startServer, type RunningServer } from '../server/main.ts';
import { startDingTalkContract } from '../test/alerting/support/dingtalk-contract.ts';
import {
  ROBOTS,
  WEBHOOK_TOKEN,
  payload,
  topologyText,
  writeSecrets,
} from '../test/alerting/support/fixtures.ts';
import type { Bench, Row } from './types.ts';

const DINGTALK_LIMIT = 20;

export const bridgeThroughputBench: Bench = {
  name: 'bridge-throughput',
  description: 'webhook intake with the durable outbox; drain of a notification backlog',
  async run({ smoke, log }) {
    const bench = 'bridge-throughput';
    const N = smoke ? 200 : 10_000;
    const dir = mkdtempSync(join(tmpdir(), 'fedstack-bench-bridge-'));
    const ding = await startDingTalkContract({ robots: ROBOTS, windowMs: 1_000, limit: DINGTALK_LIMIT });
    let service: RunningServer | undefined;
    try {
      writeSecrets(join(dir, 'secrets'));
      writeFileSync(join(dir, 'topology.yaml'), topologyText({ dingtalkUrl: ding.url, robots: 1 }));
      service = await startServer({
        topologyFile: join(dir, 'topology.yaml'),
        port: 0,
        logger: pino({ level: 'silent' }),
        bridge: {
          outboxDir: join(dir, 'outbox'),
          secretsDir: join(dir, 'secrets'),
          options: { dingtalk: { windowMs: 1_000 } },
        },
      });
      const bridge = service.bridge!;
      await bridge.ready;
      const url = `${service.url}/v1/alerts/dingtalk/sre-dingtalk`;
      const headers = { authorization: `Bearer ${WEBHOOK_TOKEN}`, 'content-type': 'application/json' };

      log(`bridge-throughput: ${N} groups, 32 in flight`);
      const t0 = performance.now();
      let next = 0;
      let refused = 0;
      await Promise.all(
        Array.from({ length: 32 }, async () => {
          while (next < N) {
            const i = next++;
            const res = await fetch(url, { method: 'POST', headers, body: JSON.stringify(payload(i)) });
            await res.arrayBuffer();
            if (res.status !== 202) refused++;
          }
        }),
      );
      const intakeSeconds = (performance.now() - t0) / 1000;
      if (refused > 0) throw new Error(`${refused} of ${N} webhooks not accepted with 202`);
      const deadline = Date.now() + (smoke ? 30_000 : 600_000);
      while (!bridge.engine.idle()) {
        if (Date.now() > deadline) throw new Error('backlog not drained in time');
        await new Promise((r) => setTimeout(r, 20));
      }
      const drainSeconds = (performance.now() - t0) / 1000;
      const messages = ding.messages.length;
      const rows: Row[] = [
        {
          bench,
          metric: 'webhook intake rate, durable outbox on',
          value: N / intakeSeconds,
          unit: 'req/s',
          note: `${N} distinct groups, each fsync'd before its 202, 32 in flight, through the service`,
        },
        {
          bench,
          metric: `first webhook → ${N.toLocaleString('en-US')} notifications delivered, DingTalk window scaled to 1 s`,
          value: drainSeconds,
          unit: 's',
          note: `${messages} messages (max ${Math.max(...ding.messages.map((x) => x.bytes))} B), max ${ding.maxInWindow('robot-token-1')} per window, ${ding.errors.length} errcodes`,
        },
        {
          bench,
          metric: `same backlog at DingTalk's real 20/60 s, one robot (computed)`,
          value: Math.ceil(messages / DINGTALK_LIMIT) * 60,
          unit: 's',
          note: `${messages} messages / ${DINGTALK_LIMIT} per minute`,
        },
      ];
      if (ding.errors.length > 0 || ding.maxInWindow('robot-token-1') > DINGTALK_LIMIT)
        throw new Error(
          `DingTalk limits crossed: ${ding.errors.length} errcodes, max ${ding.maxInWindow('robot-token-1')} per window`,
        );
      return rows;
    } finally {
      await service?.close();
      await ding.close();
      rmSync(dir, { recursive: true, force: true });
    }
  },
};
