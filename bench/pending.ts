/**
 * Benches that need other issues' code: service throughput (server/, issue 5), bridge
 * throughput (alerting/, issue 4). Until their code is on main they are rows marked NOT RUN with
 * the reason — never a number.
 */
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { notRun, type Bench } from './types.ts';

const ROOT = fileURLToPath(new URL('../', import.meta.url));

const why = (dir: string, issue: string) =>
  existsSync(`${ROOT}${dir}`)
    ? `${dir}/ (${issue}) landed after this bench was written; not wired yet`
    : `${dir}/ (${issue}) not on main yet`;

export const serviceThroughputBench: Bench = {
  name: 'service-throughput',
  description: 'http_sd (2,500 edges) and config GETs, cached vs uncached (needs server/)',
  async run() {
    const reason = why('server', 'issue 5');
    return [
      notRun('service-throughput', 'http_sd big region (2,500 edges), cached', reason, { op: '>=', bound: 3000 }),
      notRun('service-throughput', 'http_sd big region, cached p99', reason, { op: '<', bound: 50 }),
      notRun('service-throughput', 'http_sd big region, uncached', reason),
      notRun('service-throughput', 'config GET, cached vs uncached', reason),
    ];
  },
};

export const bridgeThroughputBench: Bench = {
  name: 'bridge-throughput',
  description: 'webhook intake with durable outbox; 10,000-notification drain (needs alerting/)',
  async run() {
    const reason = why('alerting', 'issue 4');
    return [
      notRun('bridge-throughput', 'webhook intake rate, durable outbox on', reason),
      notRun('bridge-throughput', 'drain 10,000 notifications within DingTalk limits', reason),
    ];
  },
};
