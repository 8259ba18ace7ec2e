/** A real single Alertmanager for benches (gossip off), and a webhook receiver that timestamps arrivals. */
import { spawn } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { toYaml } from '../../common/serialize.ts';

export const ALERTMANAGER_BIN = '/usr/bin/prometheus-alertmanager';

export interface Arrival {
  readonly at: number;
  readonly alertname: string;
  readonly status: string;
}

export async function startWebhookReceiver(): Promise<{
  url: string;
  arrivals: Arrival[];
  close(): Promise<void>;
}> {
  const arrivals: Arrival[] = [];
  const server = createServer((req, res) => {
    let body = '';
    req.on('data', (d: Buffer) => (body += d.toString()));
    req.on('end', () => {
      const at = Date.now();
      try {
        const msg = JSON.parse(body) as { alerts?: { status: string; labels: Record<string, string> }[] };
        for (const a of msg.alerts ?? [])
          arrivals.push({ at, alertname: a.labels.alertname ?? '', status: a.status });
      } catch {
        // not an Alertmanager payload: ignore
      }
      res.writeHead(200).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/hook`,
    arrivals,
    close: () => new Promise((r) => server.close(() => r())),
  };
}

export async function startAlertmanager(args: {
  dir: string;
  address: string;
  webhookUrl: string;
  groupWait: string;
}): Promise<{ stop(): Promise<void> }> {
  const dir = join(args.dir, 'alertmanager');
  mkdirSync(join(dir, 'data'), { recursive: true });
  const config = {
    route: {
      receiver: 'bench',
      group_by: ['alertname'],
      group_wait: args.groupWait,
      group_interval: '1m',
      repeat_interval: '1h',
    },
    receivers: [{ name: 'bench', webhook_configs: [{ url: args.webhookUrl, send_resolved: false }] }],
  };
  writeFileSync(join(dir, 'alertmanager.yml'), toYaml(config));
  const child = spawn(
    ALERTMANAGER_BIN,
    [
      `--config.file=${join(dir, 'alertmanager.yml')}`,
      `--storage.path=${join(dir, 'data')}`,
      `--web.listen-address=${args.address}`,
      '--cluster.listen-address=',
      '--log.level=error',
    ],
    { stdio: ['ignore', 'ignore', 'pipe'] },
  );
  let stderr = '';
  child.stderr!.on('data', (d: Buffer) => (stderr = (stderr + d.toString()).slice(-4000)));
  const pid = child.pid!;
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) {
      process.kill(pid, 'SIGTERM');
      await exited;
    }
  };
  const deadline = Date.now() + 20_000;
  while (true) {
    if (child.exitCode !== null) throw new Error(`alertmanager exited ${child.exitCode}: ${stderr}`);
    try {
      if ((await fetch(`http://${args.address}/-/ready`)).ok) break;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) {
      await stop();
      throw new Error(`alertmanager not ready in 20 s: ${stderr}`);
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  return { stop };
}
