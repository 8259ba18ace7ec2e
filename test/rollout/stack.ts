/**
 * The local stack with staged rollouts switched on, for the rollout tests: real Prometheus
 * edges, cascades and central pair at 1 s intervals, the fedstack service as its own process
 * (`fedstack serve --data-dir`, so a test can kill -9 it and start it again on the same state),
 * and one pulling config sidecar per Prometheus in this process.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import YAML from 'yaml';
import { startStackSidecars, type StackSidecars } from '../../deploy/local/sidecars.ts';
import { startLocalStack, type LocalStack } from '../../deploy/local/stack.ts';
import { waitFor } from '../../deploy/local/process.ts';
import { promQuery } from '../../deploy/local/promapi.ts';
import { run } from '../../cli/main.ts';
import { validateTopology } from '../../render/validate.ts';
import type { Rollout } from '../../rollout/engine.ts';
import type { RolloutStatus } from '../../rollout/status.ts';

const BIN = fileURLToPath(new URL('../../bin/fedstack.js', import.meta.url));
const FIXTURE = fileURLToPath(new URL('../fixtures/local-stack.good.yaml', import.meta.url));

type Rule = { record: string; expr: string };

/** The fixture's edges, and the default plan's canaries (one per big region). */
export const CANARIES = ['edge/mc-hz-01', 'edge/mc-fra-01'];
export const EDGES = ['edge/mc-hz-01', 'edge/mc-bj-01', 'edge/mc-fra-01'];
/** ms between a sidecar's pulls (and heartbeats). */
export const SIDECAR_INTERVAL_MS = 500;

/** Waves short enough for a test, long enough for a change to cross both hops and be judged twice. */
export const PLAN = (soak: string, waves = '') => `apiVersion: fedstack/v1
kind: RolloutPlan
defaults: { soak: ${soak}, progressDeadline: 60s }
${waves}`;

/**
 * A bad change promtool accepts: the edges' apiserver request rate selects no series, which
 * starves central's rules of an input (a gate fails at the canary).
 */
export function starveCentralRule(rules: Record<'edge' | 'cascade' | 'central', Rule[]>): void {
  const r = rules.edge.find((x) => x.record === 'cluster:apiserver_request:rate5m')!;
  r.expr = 'sum by (cluster_id, code) (rate(apiserver_request_total{code="none"}[5m]))';
}

export interface RolloutStack {
  readonly stack: LocalStack;
  readonly work: string;
  readonly tokenFile: string;
  readonly serviceUrl: string;
  /** The operator token (the rollout API's). */
  token(): string;
  sidecars(): StackSidecars;
  /** The service's log lines so far (JSON), across restarts. */
  serviceLog(): string;
  killService(): void;
  startService(): Promise<void>;
  /** The rollout API with the token (or without, when `token` is false). */
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- answers of several shapes, checked by each test
  api(method: 'GET' | 'POST', path: string, body?: unknown, token?: boolean): Promise<{ status: number; body: any }>;
  /**
   * Every sidecar on revision 1, and every edge's federated series steady at central: gates
   * compare with a baseline (recording rules over rate() answer only from their second sample).
   */
  waitReady(): Promise<void>;
  /** `fedstack rollout ...` in this process, against this service. */
  cli(args: readonly string[]): Promise<{ code: number; out: string; err: string }>;
  /** The durable state, as the service last saved it. */
  state(): { stable: number; rollout?: Rollout; revisions: { seq: number; hash: string }[] };
  /** Writes the stack's topology with its recording rules (per tier) edited; returns the file. */
  topologyWith(name: string, edit: (rules: Record<'edge' | 'cascade' | 'central', Rule[]>) => void): string;
  writeFile(name: string, text: string): string;
  waitForEnd(timeoutMs: number): Promise<RolloutStatus>;
  stop(): Promise<void>;
}

export async function startRolloutStack(): Promise<RolloutStack> {
  const work = mkdtempSync(join(tmpdir(), 'fedstack-rollout-'));
  // The operator token (rollout API) is the stack's own, known once the stack has written it.
  let tokenFile = '';
  const loaded = validateTopology(readFileSync(FIXTURE, 'utf8'), FIXTURE, { profile: 'local' });
  if (!loaded.ok) throw new Error('fixture invalid');
  let child: ChildProcess | undefined;
  let exited: Promise<void> = Promise.resolve();
  let log = '';
  let args: string[] = [];
  let url = '';
  let sidecars: StackSidecars | undefined;

  const startService = async () => {
    child = spawn(process.execPath, [BIN, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    const c = child;
    c.stdout!.on('data', (d: Buffer) => (log += d.toString()));
    c.stderr!.on('data', (d: Buffer) => (log += d.toString()));
    exited = new Promise((resolve) => c.once('exit', () => resolve()));
    await waitFor(
      async () => {
        if (c.exitCode !== null) throw new Error(`the service exited: ${log.slice(-2000)}`);
        return (await fetch(`${url}/healthz`).catch(() => undefined))?.ok === true;
      },
      { timeoutMs: 30_000, intervalMs: 100, what: 'the fedstack service' },
    );
  };

  const stack = await startLocalStack({
    topology: loaded.topology,
    dataDir: join(work, 'stack'),
    intervals: { scrape: '1s', evaluation: '1s' },
    simulate: { maxGuestClusters: 1 },
    startService: async (ctx) => {
      url = `http://127.0.0.1:${ctx.port}`;
      tokenFile = ctx.secrets.operatorToken;
      args = [
        'serve',
        `--topology-file=${ctx.topologyFile}`,
        `--port=${ctx.port}`,
        '--profile=local',
        `--heartbeat-token-file=${ctx.secrets.sidecarToken}`,
        `--read-token-file=${ctx.secrets.readToken}`,
        `--operator-token-file=${ctx.secrets.operatorToken}`,
        `--data-dir=${join(work, 'state')}`,
        '--rollout-tick-ms=250',
      ];
      await startService();
      sidecars = await startStackSidecars({
        plan: ctx.plan,
        bundleDir: ctx.bundleDir,
        serviceUrl: url,
        secrets: ctx.secrets,
        intervalMs: SIDECAR_INTERVAL_MS,
      });
      return {
        url,
        stop: async () => {
          await sidecars?.stop();
          child?.kill('SIGTERM');
          await exited;
        },
      };
    },
  });

  const api: RolloutStack['api'] = async (method, path, body, token = true) => {
    const res = await fetch(`${url}/v1/rollouts${path}`, {
      method,
      headers: {
        ...(token ? { Authorization: `Bearer ${readFileSync(tokenFile, 'utf8').trim()}` } : {}),
        ...(body === undefined ? {} : { 'Content-Type': 'application/json' }),
      },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    return { status: res.status, body: await res.json() };
  };

  const topologyText = readFileSync(join(stack.dir, 'topology.yaml'), 'utf8');
  const writeFile = (name: string, text: string) => {
    const file = join(work, name);
    writeFileSync(file, text);
    return file;
  };

  return {
    stack,
    work,
    tokenFile,
    serviceUrl: url,
    token: () => readFileSync(tokenFile, 'utf8').trim(),
    sidecars: () => sidecars!,
    serviceLog: () => log,
    killService: () => {
      child?.kill('SIGKILL');
    },
    startService: async () => {
      await exited;
      await startService();
    },
    api,
    waitReady: async () => {
      await waitFor(() => [...sidecars!.sidecars.values()].every((c) => c.liveRevision() !== undefined), {
        timeoutMs: 20_000,
        what: 'every sidecar on revision 1',
      });
      let last = '';
      let steady = 0;
      await waitFor(
        async () => {
          const got = await promQuery(
            Object.values(stack.urls.centrals)[0]!,
            'sum by (meta_cluster) (scrape_samples_post_metric_relabeling{job="fedstack-federate-edge"})',
          );
          const now = JSON.stringify(got.map((x) => [x.metric.meta_cluster, x.value]).sort());
          steady = got.length === EDGES.length && now === last ? steady + 1 : 0;
          last = now;
          return steady >= 3;
        },
        { timeoutMs: 60_000, intervalMs: 1000, what: "every edge's federated series steady at central" },
      );
    },
    cli: async (argv) => {
      let out = '';
      let err = '';
      const code = await run(['rollout', ...argv, '--service', url, '--token-file', tokenFile], {
        out: (t) => (out += t),
        err: (t) => (err += t),
      });
      return { code, out, err };
    },
    state: () => JSON.parse(readFileSync(join(work, 'state', 'rollout-state.json'), 'utf8')),
    topologyWith: (name, edit) => {
      const doc = YAML.parse(topologyText);
      edit(doc.recordingRules);
      return writeFile(name, YAML.stringify(doc));
    },
    writeFile,
    waitForEnd: async (timeoutMs) => {
      let last: RolloutStatus | undefined;
      try {
        return await waitFor(
          async () => {
            const s = await api('GET', '/current');
            last = s.body as RolloutStatus;
            return ['done', 'rolled-back', 'aborted'].includes(last.state) ? last : undefined;
          },
          { timeoutMs, intervalMs: 250, what: 'the rollout to end' },
        );
      } catch (e) {
        throw new Error(`${(e as Error).message}; last status: ${JSON.stringify(last, null, 1)}`);
      }
    },
    stop: async () => {
      await stack.stop();
      rmSync(work, { recursive: true, force: true });
    },
  };
}
