/**
 * A static fleet exposition for the federation bench (stand-in until the fleet simulator of
 * simulator/ is on main): the series an edge scrapes from guest-cluster control planes and
 * meta-cluster nodes, with the real metric names fedstack's default edge rules read, served
 * as Prometheus text by node:http on loopback. Counters grow with time, so rate() answers;
 * one status code in four is a 5xx, so error ratios answer.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface FleetExpositionSize {
  readonly guestClusters: number;
  readonly nodes: number;
}

interface Series {
  /** `name{labels}` */
  readonly key: string;
  /** value = base + rate × seconds since start (rate 0 for gauges). */
  readonly base: number;
  readonly rate: number;
}

const VERBS = ['GET', 'LIST', 'WATCH', 'POST', 'PUT', 'DELETE'];
const RESOURCES = [
  'pods',
  'nodes',
  'services',
  'endpoints',
  'configmaps',
  'secrets',
  'deployments',
  'leases',
];
const CODES = ['200', '201', '404', '500'];
const LE = ['0.005', '0.01', '0.025', '0.05', '0.1', '0.25', '0.5', '1', '2.5', '5', '+Inf'];
const COMPONENTS = ['kube-apiserver', 'etcd', 'kube-controller-manager', 'kube-scheduler'];
const MODES = ['idle', 'user', 'system', 'iowait', 'irq', 'softirq', 'steal', 'nice'];

const labels = (l: Record<string, string>) =>
  `{${Object.entries(l)
    .map(([k, v]) => `${k}="${v}"`)
    .join(',')}}`;

export function fleetSeries(size: FleetExpositionSize): { help: string; series: Series[] } {
  const s: Series[] = [];
  const add = (name: string, l: Record<string, string>, base: number, rate = 0) =>
    s.push({ key: `${name}${labels(l)}`, base, rate });
  for (let g = 0; g < size.guestClusters; g++) {
    const cluster_id = `gc-${String(g).padStart(4, '0')}`;
    for (const verb of VERBS)
      for (const resource of RESOURCES) {
        for (const code of CODES)
          add(
            'apiserver_request_total',
            { cluster_id, verb, resource, code },
            1000,
            code === '500' ? 0.1 : 5,
          );
        LE.forEach((le, i) =>
          add(
            'apiserver_request_duration_seconds_bucket',
            { cluster_id, verb, resource, le },
            100 * (i + 1),
            0.5 * (i + 1),
          ),
        );
        add('apiserver_request_duration_seconds_sum', { cluster_id, verb, resource }, 50, 0.3);
        add('apiserver_request_duration_seconds_count', { cluster_id, verb, resource }, 1100, 5.5);
      }
    add('etcd_server_has_leader', { cluster_id }, g % 50 === 7 ? 0 : 1);
    add('etcd_server_leader_changes_seen_total', { cluster_id }, 2, 0.001);
    add('etcd_mvcc_db_total_size_in_bytes', { cluster_id }, 2e8);
    for (const queue of ['active', 'backoff', 'unschedulable'])
      add('scheduler_pending_pods', { cluster_id, queue }, g % 3);
    for (let w = 0; w < 20; w++) add('workqueue_depth', { cluster_id, name: `controller-${w}` }, w % 4);
    for (const component of COMPONENTS) {
      add('process_resident_memory_bytes', { cluster_id, component }, 3e8);
      add('go_goroutines', { cluster_id, component }, 400);
    }
    for (const request_kind of ['readOnly', 'mutating'])
      add('apiserver_current_inflight_requests', { cluster_id, request_kind }, 5);
  }
  for (let n = 0; n < size.nodes; n++) {
    const node = `node-${String(n).padStart(4, '0')}`;
    for (let cpu = 0; cpu < 4; cpu++)
      for (const mode of MODES)
        add('node_cpu_seconds_total', { node, cpu: String(cpu), mode }, 1e5, mode === 'idle' ? 0.7 : 0.05);
    add('node_memory_MemAvailable_bytes', { node }, 6e9);
    add('node_memory_MemTotal_bytes', { node }, 16e9);
    add('kube_node_info', { node, kernel_version: '5.10.134' }, 1);
    for (const status of ['true', 'false', 'unknown'])
      add('kube_node_status_condition', { node, condition: 'Ready', status }, status === 'true' ? 1 : 0);
    for (let c = 0; c < 10; c++) {
      const l = { node, namespace: 'kube-system', pod: `pod-${n}-${c}`, container: `c-${c}` };
      add('container_cpu_usage_seconds_total', l, 100, 0.02);
      add('container_memory_working_set_bytes', l, 1e8);
    }
  }
  return { help: '# fedstack bench fleet exposition\n', series: s };
}

export interface RunningExposition {
  readonly address: string;
  readonly series: number;
  /** Fault injection: from now on the series `name{labels}` reads `value`. */
  set(name: string, labels: Record<string, string>, value: number): void;
  close(): Promise<void>;
}

export async function startExposition(size: FleetExpositionSize): Promise<RunningExposition> {
  const { help, series } = fleetSeries(size);
  const overrides = new Map<string, number>();
  const t0 = Date.now();
  const server: Server = createServer((req, res) => {
    if (req.url !== '/metrics') {
      res.writeHead(404).end();
      return;
    }
    const t = (Date.now() - t0) / 1000;
    const parts: string[] = [help];
    for (const x of series) {
      const value =
        overrides.get(x.key) ?? (x.rate === 0 ? x.base : x.base + Math.floor(x.rate * t * 1000) / 1000);
      parts.push(`${x.key} ${value}\n`);
    }
    res.writeHead(200, { 'content-type': 'text/plain; version=0.0.4' });
    res.end(parts.join(''));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    address: `127.0.0.1:${port}`,
    series: series.length,
    set: (name, l, value) => {
      const key = `${name}${labels(l)}`;
      if (!series.some((x) => x.key === key)) throw new Error(`no series ${key}`);
      overrides.set(key, value);
    },
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}
