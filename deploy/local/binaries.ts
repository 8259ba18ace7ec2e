/**
 * How to run Debian's Prometheus 2.42, Alertmanager 0.25 and node_exporter 1.5 on loopback:
 * the flags, in one place, shared by the local stack and the tests.
 */
import type { ClientCredentials } from './http.ts';
import { startProcess, type ProcessHandle } from './process.ts';

/** Command names as Debian installs them (found on PATH). */
export const BINARY = {
  prometheus: 'prometheus',
  promtool: 'promtool',
  alertmanager: 'prometheus-alertmanager',
  amtool: 'amtool',
  nodeExporter: 'prometheus-node-exporter',
  /** The VictoriaMetrics backend (central.backend: victoriametrics), Debian's 1.79.5. */
  victoriaMetrics: 'victoria-metrics',
  vmalert: 'vmalert',
  vmauth: 'vmauth',
} as const;

export interface PrometheusArgs {
  readonly configFile: string;
  readonly dataDir: string;
  /** 127.0.0.1:PORT */
  readonly listen: string;
  /** Default 1d: the local stack is short-lived. */
  readonly retention?: string;
  /** Default warn. */
  readonly logLevel?: 'debug' | 'info' | 'warn' | 'error';
}

export function prometheusArgs(a: PrometheusArgs): string[] {
  return [
    `--config.file=${a.configFile}`,
    `--storage.tsdb.path=${a.dataDir}`,
    `--storage.tsdb.retention.time=${a.retention ?? '1d'}`,
    `--web.listen-address=${a.listen}`,
    // /-/reload and /-/quit: the local stack and the sidecar reload configs without restarts.
    '--web.enable-lifecycle',
    `--log.level=${a.logLevel ?? 'warn'}`,
  ];
}

export interface AlertmanagerArgs {
  readonly configFile: string;
  readonly dataDir: string;
  /** 127.0.0.1:PORT of the HTTP API. */
  readonly listen: string;
  /** 127.0.0.1:PORT of the gossip listener. */
  readonly clusterListen: string;
  /** The other members' gossip addresses (--cluster.peer, one flag each). */
  readonly peers: readonly string[];
  /**
   * --cluster.peer-timeout (upstream default 15s): how long member N waits, times N, before it
   * sends a notification the others may already have sent. Shorter makes failover faster.
   */
  readonly peerTimeout?: string;
  /**
   * --cluster.settle-timeout (upstream default 1m): notifications wait until gossip has settled
   * or this passes. On loopback the cluster is settled at once; ~10 s are lost without it.
   */
  readonly settleTimeout?: string;
  readonly logLevel?: 'debug' | 'info' | 'warn' | 'error';
}

export function alertmanagerArgs(a: AlertmanagerArgs): string[] {
  return [
    `--config.file=${a.configFile}`,
    `--storage.path=${a.dataDir}`,
    `--web.listen-address=${a.listen}`,
    `--cluster.listen-address=${a.clusterListen}`,
    // Advertise exactly where we listen, so peers never learn some other interface address.
    `--cluster.advertise-address=${a.clusterListen}`,
    ...a.peers.map((p) => `--cluster.peer=${p}`),
    ...(a.peerTimeout === undefined ? [] : [`--cluster.peer-timeout=${a.peerTimeout}`]),
    ...(a.settleTimeout === undefined ? [] : [`--cluster.settle-timeout=${a.settleTimeout}`]),
    `--log.level=${a.logLevel ?? 'warn'}`,
  ];
}

export interface RunningServer {
  readonly process: ProcessHandle;
  /** http://127.0.0.1:PORT, or https:// behind a web config with TLS. */
  readonly url: string;
  stop(): Promise<void>;
}

/** How a server binary is started: its ready URL is `<listen>/-/ready` for both. */
interface RunOptions {
  name?: string;
  env?: NodeJS.ProcessEnv;
  extraArgs?: readonly string[];
  logFile?: string;
  readyTimeoutMs?: number;
  /** Working directory (Alertmanager resolves smtp_auth_password_file against it; VictoriaMetrics' relative paths). */
  cwd?: string;
  /** Served behind --web.config.file: its scheme, and how to ask it whether it is ready. */
  protection?: { readonly scheme: 'http' | 'https'; readonly credentials: ClientCredentials | undefined };
}

async function runServer(
  cmd: string,
  kind: string,
  listen: string,
  args: readonly string[],
  o: RunOptions,
  readyPath = '/-/ready',
): Promise<RunningServer> {
  const url = `${o.protection?.scheme ?? 'http'}://${listen}`;
  const proc = await startProcess({
    cmd,
    args: [...args, ...(o.extraArgs ?? [])],
    cwd: o.cwd,
    env: o.env,
    name: o.name ?? `${kind} ${listen}`,
    readyUrl: `${url}${readyPath}`,
    readyCredentials: o.protection?.credentials,
    readyTimeoutMs: o.readyTimeoutMs,
    logFile: o.logFile,
  });
  return { process: proc, url, stop: async () => void (await proc.stop()) };
}

export function runPrometheus(a: PrometheusArgs & RunOptions): Promise<RunningServer> {
  return runServer(BINARY.prometheus, 'prometheus', a.listen, prometheusArgs(a), a);
}

export function runAlertmanager(a: AlertmanagerArgs & RunOptions): Promise<RunningServer> {
  return runServer(BINARY.alertmanager, 'alertmanager', a.listen, alertmanagerArgs(a), a);
}

/**
 * A VictoriaMetrics binary (victoria-metrics, vmalert, vmauth) with the args common/vmflags.ts
 * built from the render plan; ready once /health answers. `listen` is its -httpListenAddr.
 */
export function runVictoriaMetricsBinary(
  cmd: (typeof BINARY)['victoriaMetrics' | 'vmalert' | 'vmauth'],
  listen: string,
  args: readonly string[],
  o: RunOptions,
): Promise<RunningServer> {
  return runServer(cmd, cmd, listen, args, o, '/health');
}

/**
 * node_exporter with only a few cheap collectors (cpu, meminfo, loadavg, filesystem off): a
 * real third-party exporter for tests and demos without scanning the whole host.
 */
export async function runNodeExporter(a: {
  listen: string;
  name?: string;
  logFile?: string;
}): Promise<RunningServer> {
  const url = `http://${a.listen}`;
  const proc = await startProcess({
    cmd: BINARY.nodeExporter,
    args: [
      `--web.listen-address=${a.listen}`,
      '--collector.disable-defaults',
      '--collector.cpu',
      '--collector.meminfo',
      '--collector.loadavg',
      '--log.level=warn',
    ],
    name: a.name ?? `node_exporter ${a.listen}`,
    readyUrl: `${url}/metrics`,
    logFile: a.logFile,
  });
  return { process: proc, url, stop: async () => void (await proc.stop()) };
}
