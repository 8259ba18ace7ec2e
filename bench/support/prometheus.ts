/**
 * Real Prometheus processes for benchmarks: written config, temp TSDB, loopback port, stopped
 * by PID. Plus the few HTTP API calls the benches make.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';
import { join } from 'node:path';
import { PROMETHEUS_BIN } from '../machine.ts';

export async function freePort(): Promise<number> {
  const srv = createServer();
  await new Promise<void>((resolve) => srv.listen(0, '127.0.0.1', resolve));
  const { port } = srv.address() as AddressInfo;
  await new Promise((resolve) => srv.close(resolve));
  return port;
}

export interface RunningPrometheus {
  readonly name: string;
  readonly url: string;
  readonly pid: number;
  /** Resident set size now, from /proc. */
  rssBytes(): number;
  stop(): Promise<void>;
}

export async function startPrometheus(args: {
  name: string;
  dir: string;
  address: string;
  config: string;
  rules: string;
}): Promise<RunningPrometheus> {
  const dir = join(args.dir, args.name);
  mkdirSync(join(dir, 'data'), { recursive: true });
  writeFileSync(join(dir, 'prometheus.yml'), args.config);
  writeFileSync(join(dir, 'rules.yml'), args.rules);
  const child: ChildProcess = spawn(
    PROMETHEUS_BIN,
    [
      `--config.file=${join(dir, 'prometheus.yml')}`,
      `--storage.tsdb.path=${join(dir, 'data')}`,
      `--web.listen-address=${args.address}`,
      '--storage.tsdb.retention.time=1h',
      '--log.level=error',
    ],
    { stdio: ['ignore', 'ignore', 'pipe'] },
  );
  let stderr = '';
  child.stderr!.on('data', (d: Buffer) => (stderr = (stderr + d.toString()).slice(-4000)));
  const url = `http://${args.address}`;
  const pid = child.pid!;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) {
      process.kill(pid, 'SIGTERM');
      const killer = setTimeout(() => child.exitCode === null && process.kill(pid, 'SIGKILL'), 5000);
      await exited;
      clearTimeout(killer);
    }
  };
  const deadline = Date.now() + 30_000;
  while (true) {
    if (child.exitCode !== null)
      throw new Error(`prometheus ${args.name} exited ${child.exitCode}: ${stderr}`);
    try {
      if ((await fetch(`${url}/-/ready`)).ok) break;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) {
      await stop();
      throw new Error(`prometheus ${args.name} not ready in 30 s: ${stderr}`);
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  return {
    name: args.name,
    url,
    pid,
    rssBytes: () =>
      Number(/VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0) * 1024,
    stop,
  };
}

interface VectorSample {
  metric: Record<string, string>;
  value: [number, string];
}

/** An instant query; the result vector. */
export async function query(url: string, promql: string): Promise<VectorSample[]> {
  const res = await fetch(`${url}/api/v1/query?query=${encodeURIComponent(promql)}`);
  const body = (await res.json()) as {
    status: string;
    data?: { resultType: string; result: unknown };
    error?: string;
  };
  if (body.status !== 'success') throw new Error(`${promql}: ${body.error ?? res.status}`);
  if (body.data!.resultType === 'scalar')
    return [{ metric: {}, value: body.data!.result as [number, string] }];
  return body.data!.result as VectorSample[];
}

/** The single number an aggregating query answers, or 0 when it answers nothing. */
export async function queryNumber(url: string, promql: string): Promise<number> {
  const r = await query(url, promql);
  return r.length === 0 ? 0 : Number(r[0]!.value[1]);
}
