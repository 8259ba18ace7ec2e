/**
 * `fedstack rollout start|status|pause|resume|abort|rollback|plan`: a thin client of the
 * service's rollout API (server/rollout-api.ts). The plan file is read here first, so a
 * malformed one is refused at FILE:LINE:COL before anything is sent; the topology is checked
 * by the service, against the revision it serves, and its errors come back at FILE:LINE:COL too.
 */
import { readFileSync } from 'node:fs';
import { readTopologyText } from '../topology/text.ts';
import { formatError } from '../topology/errors.ts';
import { parseRolloutPlan } from '../rollout/plan-file.ts';
import type { RolloutStatus } from '../rollout/status.ts';
import { EXIT, type CliIo } from './io.ts';

export interface RolloutFlags {
  readonly topology?: string;
  readonly plan?: string;
  readonly note?: string;
  readonly service?: string;
  readonly tokenFile?: string;
  readonly json?: boolean;
}

export type RolloutAction = 'start' | 'status' | 'pause' | 'resume' | 'abort' | 'rollback' | 'plan';

/** The service URL and token: flags, else FEDSTACK_SERVICE_URL / FEDSTACK_TOKEN_FILE. */
function endpoint(flags: RolloutFlags): { url: string; tokenFile: string | undefined } {
  return {
    url: (flags.service ?? process.env.FEDSTACK_SERVICE_URL ?? 'http://127.0.0.1:8080').replace(/\/$/, ''),
    tokenFile: flags.tokenFile ?? process.env.FEDSTACK_TOKEN_FILE,
  };
}

class Refused extends Error {
  constructor(
    message: string,
    readonly code: number,
  ) {
    super(message);
  }
}

/** A file's text, read by `read` (the topology's reader unzips a `.gz`, as the Kubernetes bundle packs a large one). */
function readArg(file: string, what: string, read: (file: string) => string = (f) => readFileSync(f, 'utf8')): string {
  try {
    return read(file);
  } catch (e) {
    throw new Refused(`${file}: cannot read ${what}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`, EXIT.invalid);
  }
}

async function call(flags: RolloutFlags, method: 'GET' | 'POST', path: string, body?: unknown): Promise<unknown> {
  const { url, tokenFile } = endpoint(flags);
  const headers: Record<string, string> = {};
  if (tokenFile !== undefined) headers.Authorization = `Bearer ${readArg(tokenFile, 'the token').trim()}`;
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  let res: Response;
  try {
    res = await fetch(`${url}/v1/rollouts${path}`, {
      method,
      headers,
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      signal: AbortSignal.timeout(60_000),
    });
  } catch (e) {
    throw new Refused(`${url}: cannot reach the fedstack service: ${(e as Error).cause instanceof Error ? ((e as Error).cause as Error).message : (e as Error).message}`, EXIT.failure);
  }
  const text = await res.text();
  let json: { reason?: string } & Record<string, unknown>;
  try {
    json = JSON.parse(text) as typeof json;
  } catch {
    throw new Refused(`${url}: HTTP ${res.status}, not JSON: ${text.slice(0, 200)}`, EXIT.failure);
  }
  if (!res.ok) {
    const hint = res.status === 401 ? ' (give the rollout API token: --token-file or FEDSTACK_TOKEN_FILE)' : '';
    // 400: the input is wrong (errors at FILE:LINE:COL); anything else is the service's answer.
    throw new Refused(`${json.reason ?? `HTTP ${res.status}`}${hint}`, res.status === 400 ? EXIT.invalid : EXIT.failure);
  }
  return json;
}

function startBody(flags: RolloutFlags) {
  if (flags.topology === undefined) throw new Refused('-t, --topology: the new topology file is required', EXIT.invalid);
  const topology = readArg(flags.topology, 'the topology', readTopologyText);
  let plan: string | undefined;
  if (flags.plan !== undefined) {
    plan = readArg(flags.plan, 'the rollout plan');
    const parsed = parseRolloutPlan(plan, flags.plan);
    if (!parsed.ok) throw new Refused(parsed.errors.map(formatError).join('\n'), EXIT.invalid);
  }
  return {
    topology,
    topologyFile: flags.topology,
    ...(plan === undefined ? {} : { plan, planFile: flags.plan }),
    ...(flags.note === undefined ? {} : { note: flags.note }),
  };
}

export async function rolloutCommand(action: RolloutAction, flags: RolloutFlags, io: CliIo): Promise<number> {
  try {
    let out: unknown;
    if (action === 'start') out = await call(flags, 'POST', '', startBody(flags));
    else if (action === 'plan') out = await call(flags, 'POST', '/plan', startBody(flags));
    else if (action === 'status') out = await call(flags, 'GET', '/current');
    else out = await call(flags, 'POST', `/current/${action}`);
    if (flags.json === true) io.out(`${JSON.stringify(out, null, 2)}\n`);
    else io.out(action === 'plan' ? formatPlan(out as DryRun) : formatStatus(out as RolloutStatus));
    return EXIT.ok;
  } catch (e) {
    io.err(`fedstack rollout ${action}: ${(e as Error).message}\n`);
    return e instanceof Refused ? e.code : EXIT.failure;
  }
}

interface DryRun {
  from: { seq: number; hash: string };
  to: { seq: number; hash: string };
  changed: number;
  unchanged: number;
  instances: string[];
  files: { file: string; instances: number; added: number; removed: number }[];
  waves: {
    name: string;
    tier: string;
    instances: number;
    sample: string[];
    maxConcurrency: number;
    soakSeconds: number;
    failureBudget: number;
    predictedSeries: { instances: number; central: number };
  }[];
  series: { centralBefore: number; centralAfter: number; outsideWaves: number };
  gates: { gate: string; expr: string; check: string }[];
}

/** A predicted change in series: signed, with thousands separators. */
const signed = (n: number) => `${n > 0 ? '+' : n < 0 ? '−' : '±'}${Math.round(Math.abs(n)).toLocaleString('en-US')}`;

function formatPlan(d: DryRun): string {
  const lines = [
    `revision ${d.from.seq} (${d.from.hash}) → ${d.to.seq} (${d.to.hash}): ${d.changed} instance(s) change, ${d.unchanged} do not`,
    'files:',
    ...d.files.map((f) => `  ${f.file.padEnd(16)} ${String(f.instances).padStart(6)} instance(s)  +${f.added} −${f.removed} lines`),
    'instances:',
    ...d.instances.map((i) => `  ${i}`),
    ...(d.changed > d.instances.length ? [`  … and ${d.changed - d.instances.length} more`] : []),
    'waves:',
    ...d.waves.map(
      (w, i) =>
        `  ${String(i + 1).padStart(2)}. ${w.name.padEnd(20)} ${w.tier.padEnd(8)} ${String(w.instances).padStart(6)} instance(s)  ≤${w.maxConcurrency} at a time  soak ${w.soakSeconds}s  budget ${w.failureBudget}  series ${signed(w.predictedSeries.instances)} there, ${signed(w.predictedSeries.central)} at central${w.instances === 0 ? '  (skipped: nothing changes)' : `  ${w.sample.join(', ')}${w.instances > w.sample.length ? ', …' : ''}`}`,
    ),
    `series at central (one replica, capacity model): ${Math.round(d.series.centralBefore).toLocaleString('en-US')} → ${Math.round(d.series.centralAfter).toLocaleString('en-US')}${d.series.outsideWaves !== 0 ? ` (${signed(d.series.outsideWaves)} from sizes no config carries)` : ''}`,
    'gates:',
    ...d.gates.map((g) => `  ${g.gate.padEnd(24)} ${g.check.padEnd(36)} ${g.expr}`),
  ];
  return `${lines.join('\n')}\n`;
}

function formatStatus(s: RolloutStatus): string {
  const lines = [
    `rollout ${s.id}: ${s.state}${s.wave && (s.state === 'running' || s.state === 'paused') ? ` (wave "${s.wave}")` : ''}`,
    `  revision ${s.from.seq} (${s.from.hash}) → ${s.to.seq} (${s.to.hash})${s.note ? `: ${s.note}` : ''}`,
    `  started ${s.startedAt}${s.endedAt ? `, ended ${s.endedAt}` : ''}${s.owner ? `, owner ${s.owner}` : ''}`,
    'waves:',
    ...s.waves.map(
      (w) =>
        `  ${w.name.padEnd(20)} ${w.tier.padEnd(8)} ${w.state.padEnd(8)} ${w.applied}/${w.instances} applied  ${w.failed} failed (budget ${w.failureBudget})`,
    ),
  ];
  if (s.failure) lines.push(`failure: ${s.failure.summary}`, ...s.failure.instances.slice(0, 10).map((i) => `  ${i.id} ${i.gate}: ${i.detail}`));
  if (s.rollback)
    lines.push(
      `rollback: ${s.rollback.confirmed}/${s.rollback.instances} instance(s) report the old revision${s.rollback.verified ? ' (verified)' : ''}${s.rollback.unverified ? `; never confirmed: ${s.rollback.unverified.join(', ')}` : ''}`,
    );
  const failing = s.gates.filter((g) => g.failing.length > 0 || g.error);
  lines.push(`gates: ${s.gates.length} (${failing.length} failing or unreadable)`);
  for (const g of s.gates)
    lines.push(
      `  ${g.gate.padEnd(24)} ${g.check.padEnd(36)} ${g.error ? `unreadable: ${g.error}` : g.failing.length > 0 ? `failing: ${g.failing.map((f) => `${f.instance} ${f.detail}`).join('; ')}` : `${g.passing} passing`}`,
      `  ${''.padEnd(24)} ${g.expr}`,
    );
  lines.push('steps:', ...s.events.slice(-12).map((e) => `  ${e.at} ${e.step}${e.wave ? ` [${e.wave}]` : ''}: ${e.message}`));
  return `${lines.join('\n')}\n`;
}
