/**
 * Reads the gates at central: each edge and cascade gate once at the first central replica that
 * answers (both hold the same data), each central gate at every replica (a replica is judged by
 * itself). Values are keyed by instance id: a sample's INSTANCE_LABEL names its edge or cascade.
 * A query that fails is reported per gate; the engine then judges that gate later, not wrongly.
 */
import { promQuery, type PromSample } from '../deploy/local/promapi.ts';
import type { GateReading } from './engine.ts';
import { closureExpr, gateKey, type Gate, type GateValue } from './gates.ts';
import { INSTANCE_LABEL, instanceId, type Tier } from './instances.ts';

/** Central replica name → its Prometheus base URL. */
export type CentralUrls = Readonly<Record<string, string>>;

type Query = (url: string, expr: string) => Promise<PromSample[]>;

export async function readGates(
  gates: readonly Gate[],
  tiers: readonly Tier[],
  centrals: CentralUrls,
  at: number,
  query: Query = promQuery,
): Promise<GateReading> {
  const values: Record<string, Record<string, GateValue>> = {};
  const errors: Record<string, string> = {};
  const replicas = Object.entries(centrals);
  // The first replica that answers serves every edge and cascade gate of this reading.
  let preferred = 0;
  const atCentral = async (expr: string): Promise<PromSample[]> => {
    let last: unknown;
    for (let k = 0; k < replicas.length; k++) {
      const i = (preferred + k) % replicas.length;
      try {
        const out = await query(replicas[i]![1], expr);
        preferred = i;
        return out;
      } catch (e) {
        last = e;
      }
    }
    throw last ?? new Error('no central replica to ask');
  };

  await Promise.all(
    gates
      .filter((g) => g.check.kind !== 'sidecar' && tiers.includes(g.tier))
      .map(async (g) => {
        const key = gateKey(g);
        try {
          values[key] = g.tier === 'central' ? await readCentral(g, replicas, query) : await readLower(g, atCentral);
        } catch (e) {
          errors[key] = (e as Error).message;
        }
      }),
  );
  return { at, values, errors };
}

/** Label sets per instance (stillPresent: the metric names that answer; noNew: alert names). */
function addLabel(out: Record<string, GateValue>, id: string, label: string): void {
  const list = (out[id] ??= []) as string[];
  if (!list.includes(label)) list.push(label);
}

async function readLower(g: Gate, atCentral: (expr: string) => Promise<PromSample[]>): Promise<Record<string, GateValue>> {
  const tier = g.tier as Exclude<Tier, 'central'>;
  const by = INSTANCE_LABEL[tier];
  const out: Record<string, GateValue> = {};
  const idOf = (s: PromSample) => (s.metric[by] ? instanceId(tier, s.metric[by]) : undefined);
  if (g.check.kind === 'stillPresent') {
    for (const metric of g.metrics ?? []) {
      for (const s of await atCentral(closureExpr(g, metric))) {
        const id = idOf(s);
        if (id !== undefined) addLabel(out, id, metric);
      }
    }
    return out;
  }
  for (const s of await atCentral(g.expr)) {
    const id = idOf(s);
    if (id === undefined) continue;
    if (g.check.kind === 'noNew') addLabel(out, id, s.metric.alertname ?? '');
    else out[id] = s.value;
  }
  return out;
}

async function readCentral(g: Gate, replicas: readonly (readonly [string, string])[], query: Query): Promise<Record<string, GateValue>> {
  const out: Record<string, GateValue> = {};
  for (const [name, url] of replicas) {
    const id = instanceId('central', name);
    if (g.check.kind === 'stillPresent') {
      out[id] = [];
      for (const metric of g.metrics ?? [])
        if ((await query(url, closureExpr(g, metric))).length > 0) addLabel(out, id, metric);
      continue;
    }
    const samples = await query(url, g.expr);
    if (g.check.kind === 'noNew') {
      out[id] = [];
      for (const s of samples) addLabel(out, id, s.metric.alertname ?? '');
    } else if (samples[0] !== undefined) out[id] = samples[0].value;
  }
  return out;
}
