/**
 * A webhook receiver for Alertmanager (payload version 4) on a free loopback port: it records
 * every notification so a test can count how often an alert reached it.
 */
import { createServer, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface WebhookAlert {
  readonly status: 'firing' | 'resolved';
  readonly labels: Readonly<Record<string, string>>;
  readonly annotations: Readonly<Record<string, string>>;
  readonly startsAt: string;
  readonly endsAt: string;
  readonly fingerprint: string;
}

export interface Notification {
  /** When it arrived (ms). */
  readonly receivedAt: number;
  /** The request path, e.g. /hook/team-a. */
  readonly path: string;
  readonly body: {
    readonly version: string;
    readonly status: 'firing' | 'resolved';
    readonly receiver: string;
    readonly groupKey: string;
    readonly alerts: readonly WebhookAlert[];
  };
}

export interface WebhookReceiver {
  /** http://127.0.0.1:PORT — point webhook_configs at `${url}/anything`. */
  readonly url: string;
  readonly notifications: readonly Notification[];
  /**
   * How many notifications carried a firing alert with this alertname whose labels include
   * `labels`. Alertmanager dedup works when this is 1 per alert.
   */
  firingCount(alertname: string, labels?: Readonly<Record<string, string>>): number;
  /** The status answered from now on (default 200); 5xx makes Alertmanager retry. */
  respondWith(status: number): void;
  close(): Promise<void>;
}

export async function startWebhookReceiver(): Promise<WebhookReceiver> {
  const notifications: Notification[] = [];
  let status = 200;
  const server = createServer((req, res) => {
    readJson(req)
      .then((body) => {
        notifications.push({
          receivedAt: Date.now(),
          path: req.url ?? '/',
          body: body as Notification['body'],
        });
        res.writeHead(status).end();
      })
      .catch(() => res.writeHead(400).end());
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  const matches = (a: WebhookAlert, alertname: string, labels: Readonly<Record<string, string>>) =>
    a.status === 'firing' &&
    a.labels.alertname === alertname &&
    Object.entries(labels).every(([k, v]) => a.labels[k] === v);
  return {
    url: `http://127.0.0.1:${port}`,
    notifications,
    firingCount: (alertname, labels = {}) =>
      notifications.filter((n) => n.body.alerts.some((a) => matches(a, alertname, labels))).length,
    respondWith: (s) => void (status = s),
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

async function readJson(req: IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = [];
  for await (const chunk of req as AsyncIterable<Buffer>) chunks.push(chunk);
  return JSON.parse(Buffer.concat(chunks).toString('utf8')) as unknown;
}
