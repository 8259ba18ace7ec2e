/**
 * What a new revision changes, instance by instance and file by file: the config files each
 * Prometheus' sidecar syncs (prometheus.yml, rules.yml, web-config.yml) and, for a cascade, the
 * http_sd answer it is served (which edges it federates). Line counts come from a real line
 * diff (jsdiff, Myers), so "+3 −1" means three lines added and one removed.
 *
 * Filling both revisions' files of every instance is the cost (a template per edge shape and
 * file, then microseconds per edge: render/emit.ts), so the async form yields to the event loop
 * as it goes: a service computing the changes of a 10,000-edge fleet keeps answering its
 * sidecars meanwhile.
 */
import { diffLines, createTwoFilesPatch } from 'diff';
import type { Emitter } from '../render/emit.ts';
import { instancesOf, type Instance } from './instances.ts';

/** The http_sd answer a cascade is served, compared like a file. */
export const SD_FILE = 'http_sd';

export interface FileChange {
  readonly file: string;
  readonly added: number;
  readonly removed: number;
}

export interface InstanceChange {
  readonly instance: Instance;
  /** added: only the new revision has it; removed: only the old one. */
  readonly kind: 'changed' | 'added' | 'removed';
  readonly files: readonly FileChange[];
}

export interface ChangeSet {
  /** Instances whose files differ, in topology order (edges, cascades, central). */
  readonly changed: readonly InstanceChange[];
  /** Instances the two revisions render identically. */
  readonly unchanged: number;
}

const lineCount = (s: string) => (s === '' ? 0 : s.split('\n').length - (s.endsWith('\n') ? 1 : 0));

/** Remembers the last few diffs by text pair: every edge's rules.yml is the same text. */
function memoDiff(): (a: string, b: string) => { added: number; removed: number } {
  const memo = new Map<string, Map<string, { added: number; removed: number }>>();
  return (a, b) => {
    const hit = memo.get(a)?.get(b);
    if (hit !== undefined) return hit;
    let added = 0;
    let removed = 0;
    for (const part of diffLines(a, b)) {
      if (part.added) added += part.count ?? lineCount(part.value);
      else if (part.removed) removed += part.count ?? lineCount(part.value);
    }
    const result = { added, removed };
    if (memo.size > 64) memo.clear();
    let inner = memo.get(a);
    if (inner === undefined) memo.set(a, (inner = new Map()));
    inner.set(b, result);
    return result;
  };
}

/** The texts an instance is served: its config files and, for a cascade, its SD answer. */
function instanceTexts(e: Emitter, i: Instance): Map<string, string> | undefined {
  if (!e.plan.hasPrometheus(i.tier, i.name)) return undefined;
  const out = new Map<string, string>();
  for (const f of e.configFiles(i.tier)) {
    const text = e.file(`${i.tier}/${i.name}/${f}`);
    if (text !== undefined) out.set(f, text);
  }
  if (i.tier === 'cascade') {
    out.set(SD_FILE, `${JSON.stringify(e.plan.facts.edgeTargetGroups(i.name) ?? [], null, 1)}\n`);
  }
  return out;
}

/** One instance's change, or undefined when both revisions serve it the same texts. */
function compare(
  from: Emitter,
  to: Emitter,
  i: Instance,
  diff: ReturnType<typeof memoDiff>,
): InstanceChange | undefined {
  const a = instanceTexts(from, i);
  const b = instanceTexts(to, i);
  if (a === undefined && b === undefined) return undefined;
  const files: FileChange[] = [];
  for (const name of [...new Set([...(a?.keys() ?? []), ...(b?.keys() ?? [])])].sort()) {
    const x = a?.get(name) ?? '';
    const y = b?.get(name) ?? '';
    if (x === y) continue;
    files.push({ file: name, ...diff(x, y) });
  }
  if (files.length === 0) return undefined;
  return { instance: i, kind: a === undefined ? 'added' : b === undefined ? 'removed' : 'changed', files };
}

/** Every instance of either revision, each once, in the new revision's order. */
function allInstances(from: Emitter, to: Emitter): Instance[] {
  const seen = new Set<string>();
  const out: Instance[] = [];
  for (const i of [...instancesOf(to.plan.topology), ...instancesOf(from.plan.topology)]) {
    if (!seen.has(i.id)) {
      seen.add(i.id);
      out.push(i);
    }
  }
  return out;
}

/** Each instance of either revision compared, in order (undefined: unchanged). */
function* compareAll(from: Emitter, to: Emitter): Generator<InstanceChange | undefined> {
  const diff = memoDiff();
  for (const i of allInstances(from, to)) yield compare(from, to, i, diff);
}

/** What changed between two revisions, yielding to the event loop after every `sliceMs` of work. */
export async function diffRevisionsAsync(from: Emitter, to: Emitter, sliceMs = 20): Promise<ChangeSet> {
  const changed: InstanceChange[] = [];
  let unchanged = 0;
  let sliceStart = performance.now();
  for (const c of compareAll(from, to)) {
    if (c === undefined) unchanged++;
    else changed.push(c);
    if (performance.now() - sliceStart > sliceMs) {
      await new Promise((resolve) => setImmediate(resolve));
      sliceStart = performance.now();
    }
  }
  return { changed, unchanged };
}

/** A unified diff of one served file between two revisions ('' when they are the same). */
export function unifiedDiff(from: Emitter, to: Emitter, path: string, labels: [string, string]): string {
  const a = from.file(path) ?? '';
  const b = to.file(path) ?? '';
  if (a === b) return '';
  return createTwoFilesPatch(`${labels[0]}/${path}`, `${labels[1]}/${path}`, a, b, undefined, undefined, {
    context: 3,
  });
}
