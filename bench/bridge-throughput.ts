/**
 * Bench: alert bridge throughput (alerting/, issue 4). The bridge router with its durable
 * outbox (fsync'd before each 202) on loopback in front of the DingTalk contract server
 * (test/alerting/support/), one robot at DingTalk's 20 messages per window:
 *   intake  N distinct Alertmanager webhook groups POSTed 32 at a time → accepted per second;
 *   drain   time until every group is delivered, with the DingTalk window scaled to 1 s on both
 *           sides (the bridge's and the contract server's `windowMs`), and the same message
 *           count converted to DingTalk's real 60 s window.
 * The load generator shares the process with the bridge (bodies must differ per request, so a
 * fixed-body tool like wrk would only measure deduplication).
 *
 * alerting/ and its test support are loaded with dynamic imports so this compiles before issue 4
 * is merged; until then the rows are NOT RUN.
 */
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { notRun, type Bench, type Row } from './types.ts';

const at = (p: string) => fileURLToPath(new URL(`../${p}`, import.meta.url));
const MODULES = {
  router: at('alerting/bridge/router.ts'),
  secrets: at('alerting/bridge/secrets.ts'),
  http: at('alerting/bridge/http.ts'),
  contract: at('test/alerting/support/dingtalk-contract.ts'),
  fixtures: at('test/alerting/support/fixtures.ts'),
};

/** The parts of alerting/ and its test support this bench uses. */
interface Bridge {
  router: unknown;
  ready: Promise<void>;
  engine: { idle(): boolean };
  close(): Promise<void>;
}
interface Modules {
  createBridgeRouter(deps: Record<string, unknown>): Bridge;
  fileSecretResolver(dir: string): unknown;
  fetchHttpClient: unknown;
  startDingTalkContract(o: { robots: Record<string, string>; windowMs: number; limit: number }): Promise<{
    url: string;
    messages: { bytes: number }[];
    errors: unknown[];
    maxInWindow(token: string): number;
    close(): Promise<void>;
  }>;
  topologyText(o: { dingtalkUrl: string; robots: 1 }): string;
  loadTestTopology(text: string): unknown;
  writeSecrets(dir: string): void;
  payload(n: number): unknown;
  ROBOTS: Record<string, string>;
  WEBHOOK_TOKEN: string;
  silentLogger: unknown;
}

const DINGTALK_LIMIT = 20;

export const bridgeThroughputBench: Bench = {
  name: 'bridge-throughput',
  description: 'webhook intake with the durable outbox; drain of a notification backlog (needs alerting/)',
  async run({ smoke, log }) {
    const bench = 'bridge-throughput';
    const N = smoke ? 200 : 10_000;
    if (!Object.values(MODULES).every((p) => existsSync(p))) {
      const reason = 'alerting/ (issue 4) not on main yet';
      return [
        notRun(bench, 'webhook intake rate, durable outbox on', reason),
        notRun(bench, `drain ${N.toLocaleString('en-US')} notifications within DingTalk limits`, reason),
      ];
    }
    const m = Object.assign(
      {},
      ...(await Promise.all(Object.values(MODULES).map((p) => import(p) as Promise<object>))),
    ) as Modules;
    const { default: express } = await import('express');
    const { Registry } = await import('prom-client');
    const dir = mkdtempSync(join(tmpdir(), 'fedstack-bench-bridge-'));
    const ding = await m.startDingTalkContract({ robots: m.ROBOTS, windowMs: 1_000, limit: DINGTALK_LIMIT });
    let bridge: Bridge | undefined;
    let server: import('node:http').Server | undefined;
    try {
      m.writeSecrets(join(dir, 'secrets'));
      bridge = m.createBridgeRouter({
        topology: m.loadTestTopology(m.topologyText({ dingtalkUrl: ding.url, robots: 1 })),
        outboxDir: join(dir, 'outbox'),
        now: Date.now,
        http: m.fetchHttpClient,
        secrets: m.fileSecretResolver(join(dir, 'secrets')),
        logger: m.silentLogger,
        registry: new Registry(),
        options: { dingtalk: { windowMs: 1_000 } },
      });
      await bridge.ready;
      const app = express();
      app.use('/v1/alerts', bridge.router as import('express').Router);
      server = app.listen(0, '127.0.0.1');
      await new Promise<void>((resolve) => server!.once('listening', () => resolve()));
      const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1/alerts/dingtalk/sre-dingtalk`;
      const headers = { authorization: `Bearer ${m.WEBHOOK_TOKEN}`, 'content-type': 'application/json' };

      log(`bridge-throughput: ${N} groups, 32 in flight`);
      const t0 = performance.now();
      let next = 0;
      let refused = 0;
      await Promise.all(
        Array.from({ length: 32 }, async () => {
          while (next < N) {
            const i = next++;
            const res = await fetch(url, { method: 'POST', headers, body: JSON.stringify(m.payload(i)) });
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
          note: `${N} distinct groups, each fsync'd before its 202, 32 in flight`,
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
      await bridge?.close();
      if (server) await new Promise((r) => server!.close(r));
      await ding.close();
      rmSync(dir, { recursive: true, force: true });
    }
  },
};
