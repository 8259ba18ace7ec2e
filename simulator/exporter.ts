/**
 * One HTTP exporter per simulated meta-cluster (node:http, text exposition format 0.0.4).
 *
 *   GET  /metrics    the fleet's series (503 or a closed connection while the fault says down)
 *   GET  /-/fault    the current fault as JSON
 *   POST /-/fault    replace the fault with the JSON body (`{}` heals); answers the new fault
 *   GET  /-/healthy  200, even while "down" (the process is fine, the meta-cluster is not)
 *   GET  /           what this exporter simulates: meta-cluster, cluster ids, series, fault
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Fleet, type Fault, type FleetOptions } from './fleet.ts';

export interface ExporterOptions extends FleetOptions {
  /** Listen address; only loopback is ever meant. Default 127.0.0.1. */
  readonly host?: string;
  /** 0 (default) picks a free port. */
  readonly port?: number;
  /** Clock in ms, for deterministic tests. Default Date.now. */
  readonly now?: () => number;
}

export interface Exporter {
  readonly metaCluster: string;
  /** host:port, as a Prometheus target. */
  readonly target: string;
  /** http://host:port */
  readonly url: string;
  readonly fleet: Fleet;
  setFault(fault: Fault): void;
  close(): Promise<void>;
}

const MAX_BODY = 64 * 1024;

export async function startExporter(opts: ExporterOptions): Promise<Exporter> {
  const now = opts.now ?? Date.now;
  const fleet = new Fleet(opts, now());
  const server = createServer((req, res) => {
    handle(fleet, now, req, res).catch((err: unknown) => {
      if (!res.headersSent) reply(res, 500, { error: (err as Error).message });
      else res.destroy();
    });
  });
  // Prometheus keeps connections alive; close() must not wait for it to hang up.
  server.keepAliveTimeout = 5000;
  await listen(server, opts.host ?? '127.0.0.1', opts.port ?? 0);
  const { address, port } = server.address() as AddressInfo;
  const target = `${address}:${port}`;
  return {
    metaCluster: opts.metaCluster,
    target,
    url: `http://${target}`,
    fleet,
    setFault: (fault) => fleet.setFault(checkFault(fault), now()),
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

function listen(server: Server, host: string, port: number): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
}

async function handle(
  fleet: Fleet,
  now: () => number,
  req: IncomingMessage,
  res: ServerResponse,
): Promise<void> {
  const path = new URL(req.url ?? '/', 'http://localhost').pathname;
  if (path === '/metrics' && (req.method === 'GET' || req.method === 'HEAD')) {
    const down = fleet.fault.down;
    if (down === 'close') {
      req.socket.destroy();
      return;
    }
    if (down === '503') {
      res
        .writeHead(503, { 'Content-Type': 'text/plain; charset=utf-8' })
        .end('meta-cluster down (simulated)\n');
      return;
    }
    const body = fleet.render(now());
    res.writeHead(200, { 'Content-Type': 'text/plain; version=0.0.4; charset=utf-8' });
    res.end(req.method === 'HEAD' ? undefined : body);
    return;
  }
  if (path === '/-/fault' && req.method === 'GET') return reply(res, 200, fleet.fault);
  if (path === '/-/fault' && req.method === 'POST') {
    let fault: Fault;
    try {
      fault = checkFault(JSON.parse(await readBody(req)) as unknown);
    } catch (err) {
      return reply(res, 400, { error: (err as Error).message });
    }
    fleet.setFault(fault, now());
    return reply(res, 200, fleet.fault);
  }
  if (path === '/-/healthy' || path === '/-/ready') return reply(res, 200, { status: 'ok' });
  if (path === '/' && req.method === 'GET') {
    return reply(res, 200, {
      metaCluster: fleet.metaCluster,
      clusterIds: fleet.clusterIds,
      nodes: fleet.nodeNames,
      series: fleet.seriesCount,
      fault: fleet.fault,
    });
  }
  reply(res, 404, { error: `no route for ${req.method ?? 'GET'} ${JSON.stringify(path)}` });
}

function reply(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'Content-Type': 'application/json' }).end(`${JSON.stringify(body)}\n`);
}

async function readBody(req: IncomingMessage): Promise<string> {
  let size = 0;
  const chunks: Buffer[] = [];
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > MAX_BODY) throw new Error(`body over ${MAX_BODY} bytes`);
    chunks.push(chunk);
  }
  return Buffer.concat(chunks).toString('utf8');
}

const FAULT_KEYS = [
  'apiserverErrorRatio',
  'apiserverLatencySeconds',
  'etcdLeaderLoss',
  'nodesNotReady',
  'down',
  'clusterIds',
];

/** Validates a fault (from JSON or a caller); throws `field: problem` with the value quoted. */
export function checkFault(input: unknown): Fault {
  if (input === null || typeof input !== 'object' || Array.isArray(input))
    throw new Error('fault: must be a JSON object');
  const f = input as Record<string, unknown>;
  for (const key of Object.keys(f)) {
    if (!FAULT_KEYS.includes(key))
      throw new Error(`${key}: unknown fault field (known: ${FAULT_KEYS.join(', ')})`);
  }
  const ratio = f.apiserverErrorRatio;
  if (ratio !== undefined && (typeof ratio !== 'number' || !(ratio >= 0 && ratio <= 1))) {
    throw new Error(`apiserverErrorRatio: ${JSON.stringify(ratio)} is not a number in [0, 1]`);
  }
  const latency = f.apiserverLatencySeconds;
  if (latency !== undefined && (typeof latency !== 'number' || !(latency > 0 && latency < 3600))) {
    throw new Error(
      `apiserverLatencySeconds: ${JSON.stringify(latency)} is not a number of seconds in (0, 3600)`,
    );
  }
  if (f.etcdLeaderLoss !== undefined && typeof f.etcdLeaderLoss !== 'boolean') {
    throw new Error(`etcdLeaderLoss: ${JSON.stringify(f.etcdLeaderLoss)} is not a boolean`);
  }
  const notReady = f.nodesNotReady;
  if (
    notReady !== undefined &&
    (typeof notReady !== 'number' || !Number.isInteger(notReady) || notReady < 0)
  ) {
    throw new Error(`nodesNotReady: ${JSON.stringify(notReady)} is not a non-negative integer`);
  }
  if (f.down !== undefined && f.down !== false && f.down !== '503' && f.down !== 'close') {
    throw new Error(`down: ${JSON.stringify(f.down)} is not false, "503" or "close"`);
  }
  const ids = f.clusterIds;
  if (ids !== undefined && (!Array.isArray(ids) || !ids.every((id) => typeof id === 'string'))) {
    throw new Error(`clusterIds: ${JSON.stringify(ids)} is not a list of cluster ids`);
  }
  return f as Fault;
}
