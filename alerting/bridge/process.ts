/**
 * A standalone bridge process (the fedstack service mounts the same router): used by the crash
 * test and handy for running the bridge alone.
 *
 *   node --import tsx alerting/bridge/process.ts --port 0 --outbox DIR --topology FILE \
 *     --secrets DIR [--window-ms 60000] [--limit 20] [--retry-base-ms 1000] [--max-attempts 12]
 *
 * Prints one JSON line `{"listening": <port>}` on stdout once it accepts requests.
 */
import { parseArgs } from 'node:util';
import express from 'express';
import pino from 'pino';
import { Registry } from 'prom-client';
import { loadTopologyFile } from '../../topology/load.ts';
import { fetchHttpClient } from './http.ts';
import { createBridgeRouter } from './router.ts';
import { fileSecretResolver } from './secrets.ts';
import { BRIDGE_BASE_PATH } from '../render.ts';

const { values } = parseArgs({
  options: {
    port: { type: 'string', default: '8080' },
    host: { type: 'string', default: '127.0.0.1' },
    outbox: { type: 'string' },
    topology: { type: 'string' },
    secrets: { type: 'string' },
    'window-ms': { type: 'string' },
    limit: { type: 'string' },
    'retry-base-ms': { type: 'string' },
    'max-attempts': { type: 'string' },
    'throttle-cooldown-ms': { type: 'string' },
  },
});

function required(name: string, v: string | undefined): string {
  if (v === undefined) {
    process.stderr.write(`--${name} is required\n`);
    process.exit(2);
  }
  return v;
}
const num = (v: string | undefined) => (v === undefined ? undefined : Number(v));

const topology = loadTopologyFile(required('topology', values.topology));
const registry = new Registry();
const logger = pino({ level: process.env.LOG_LEVEL ?? 'info' }, pino.destination(2));
const bridge = createBridgeRouter({
  topology,
  outboxDir: required('outbox', values.outbox),
  now: Date.now,
  http: fetchHttpClient,
  secrets: fileSecretResolver(required('secrets', values.secrets)),
  logger,
  registry,
  options: {
    dingtalk: {
      windowMs: num(values['window-ms']),
      limit: num(values.limit),
      throttleCooldownMs: num(values['throttle-cooldown-ms']),
    },
    retry: { baseMs: num(values['retry-base-ms']), maxAttempts: num(values['max-attempts']) },
  },
});
const app = express();
app.use(BRIDGE_BASE_PATH, bridge.router);
app.get('/metrics', async (_req, res) => {
  res.type(registry.contentType).send(await registry.metrics());
});
await bridge.ready;
const server = app.listen(Number(values.port), values.host, () => {
  const addr = server.address();
  process.stdout.write(
    `${JSON.stringify({ listening: typeof addr === 'object' && addr ? addr.port : values.port })}\n`,
  );
});
process.on('SIGTERM', () => {
  server.close();
  void bridge.close().then(() => process.exit(0));
});
