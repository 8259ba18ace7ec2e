/**
 * Helpers for tests that run the real binaries (Prometheus 2.42, Alertmanager 0.25,
 * node_exporter): free loopback ports, temp dirs removed at exit, processes stopped by PID,
 * wait-until, PromQL. Typical use:
 *
 *   const prom = await startPrometheus({ configText: 'global: {scrape_interval: 1s}\n...' });
 *   after(() => prom.stop());
 *   await waitFor(async () => (await promQuery(prom.url, 'up')).length > 0);
 *
 * Processes started here are SIGKILLed when the test process exits, even after a failure.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  runAlertmanager,
  runNodeExporter,
  runPrometheus,
  type RunningServer,
} from '../../deploy/local/binaries.ts';
import { freePort } from '../../deploy/local/process.ts';

export { ExitedError, freePort, startProcess, waitFor } from '../../deploy/local/process.ts';
export type { ProcessHandle, StartProcessOptions, WaitForOptions } from '../../deploy/local/process.ts';
export {
  amAlerts,
  amPeers,
  promAlerts,
  promHeadSeries,
  promQuery,
  promTargets,
} from '../../deploy/local/promapi.ts';
export type { PromSample } from '../../deploy/local/promapi.ts';
export { startWebhookReceiver } from './webhook.ts';
export { webhookAlertmanagerConfig } from './alertmanager-config.ts';
export type { Notification, WebhookAlert, WebhookReceiver } from './webhook.ts';

const dirs = new Set<string>();
let hooked = false;

/** A fresh directory under the OS temp dir, removed when the test process exits (or by rm()). */
export function tempDir(prefix = 'fedstack-test-'): string {
  if (!hooked) {
    hooked = true;
    // Registered after deploy/local/process.ts' hook (imported above), so children die first.
    process.on('exit', () => {
      for (const d of dirs) rmSync(d, { recursive: true, force: true });
    });
  }
  const dir = mkdtempSync(join(tmpdir(), prefix));
  dirs.add(dir);
  return dir;
}

/** Removes a tempDir() now (a test that wants to prove it leaves nothing behind). */
export function removeTempDir(dir: string): void {
  rmSync(dir, { recursive: true, force: true });
  dirs.delete(dir);
}

export interface TestServer extends RunningServer {
  readonly port: number;
  /** Directory holding its config (and data/). */
  readonly dir: string;
}

export interface StartPrometheusOptions {
  /** prometheus.yml text; written into the server's temp dir. Or give configFile. */
  readonly configText?: string;
  readonly configFile?: string;
  /** Rule files by name, written next to the config (refer to them by name in rule_files). */
  readonly rulesFiles?: Readonly<Record<string, string>>;
  readonly extraArgs?: readonly string[];
  readonly port?: number;
}

export async function startPrometheus(opts: StartPrometheusOptions): Promise<TestServer> {
  const dir = tempDir('fedstack-prom-');
  const configFile = opts.configFile ?? join(dir, 'prometheus.yml');
  if (opts.configFile === undefined) {
    if (opts.configText === undefined) throw new Error('startPrometheus: give configText or configFile');
    writeFileSync(configFile, opts.configText);
  }
  for (const [name, text] of Object.entries(opts.rulesFiles ?? {})) writeFileSync(join(dir, name), text);
  const port = opts.port ?? (await freePort());
  const server = await runPrometheus({
    configFile,
    dataDir: join(dir, 'data'),
    listen: `127.0.0.1:${port}`,
    extraArgs: opts.extraArgs,
  });
  return { ...server, port, dir };
}

export interface StartAlertmanagerOptions {
  readonly configText?: string;
  readonly configFile?: string;
  /** Gossip addresses (host:port) of the other members. */
  readonly peers?: readonly string[];
  /** Own gossip port; default a free one. Pick ports first when members must know each other. */
  readonly clusterPort?: number;
  readonly port?: number;
  /** Default 15s upstream; tests usually want 2-3s. */
  readonly peerTimeout?: string;
  /** Default here 2s (upstream 1m): the first notification waits for it. */
  readonly settleTimeout?: string;
  readonly extraArgs?: readonly string[];
}

export interface TestAlertmanager extends TestServer {
  /** 127.0.0.1:PORT of its gossip listener. */
  readonly clusterAddress: string;
}

export async function startAlertmanager(opts: StartAlertmanagerOptions): Promise<TestAlertmanager> {
  const dir = tempDir('fedstack-am-');
  const configFile = opts.configFile ?? join(dir, 'alertmanager.yml');
  if (opts.configFile === undefined) {
    if (opts.configText === undefined) throw new Error('startAlertmanager: give configText or configFile');
    writeFileSync(configFile, opts.configText);
  }
  const port = opts.port ?? (await freePort());
  const clusterAddress = `127.0.0.1:${opts.clusterPort ?? (await freePort())}`;
  const server = await runAlertmanager({
    configFile,
    dataDir: join(dir, 'data'),
    listen: `127.0.0.1:${port}`,
    clusterListen: clusterAddress,
    peers: opts.peers ?? [],
    peerTimeout: opts.peerTimeout,
    settleTimeout: opts.settleTimeout ?? '2s',
    extraArgs: opts.extraArgs,
  });
  return { ...server, port, dir, clusterAddress };
}

/** node_exporter on a free loopback port with a few light collectors (cpu, meminfo, loadavg). */
export async function startNodeExporter(): Promise<RunningServer & { port: number; target: string }> {
  const port = await freePort();
  const server = await runNodeExporter({ listen: `127.0.0.1:${port}` });
  return { ...server, port, target: `127.0.0.1:${port}` };
}
