/**
 * parse → shape (zod, strict) → model (defaults) → cross-checks, collecting every error with
 * its position in the file. The only entry point that turns topology text into a Topology.
 */
import { readFileSync } from 'node:fs';
import YAML, { isMap, isPair, isScalar, isSeq, LineCounter, type Document, type Node } from 'yaml';
import type { z } from 'zod';
import { topologySchema } from './schema.ts';
import { didYouMean } from './suggest.ts';
import { buildModel, type Topology } from './model.ts';
import { crossCheck, type CrossCheckOptions } from './validate.ts';
import {
  formatPath,
  sortErrors,
  TopologyInvalidError,
  type PathSegment,
  type TopologyError,
  type TopologyIssue,
} from './errors.ts';

export type LoadResult =
  | {
      ok: true;
      topology: Topology;
      /** Positions later issues (the render plan's checks) in the same file, sorted. */
      locate: (issues: readonly TopologyIssue[]) => TopologyError[];
    }
  | { ok: false; errors: TopologyError[] };

/** Parses and validates topology text. Never throws for bad input: errors come back sorted. */
export function parseTopology(text: string, file = '<topology>', opts: CrossCheckOptions = {}): LoadResult {
  const lineCounter = new LineCounter();
  const doc = YAML.parseDocument(text, { lineCounter, uniqueKeys: true, prettyErrors: false, strict: true });
  const pos = (offset: number) => lineCounter.linePos(offset);

  const yamlErrors = [...doc.errors];
  if (yamlErrors.length > 0) {
    return {
      ok: false,
      errors: sortErrors(
        yamlErrors.map((e) => {
          const { line, col } = pos(e.pos[0]);
          // The yaml library's message for a repeated key does not name it: we do.
          const key =
            e.code === 'DUPLICATE_KEY'
              ? /^[^:\s]+|^"[^"]*"|^'[^']*'/.exec(text.slice(e.pos[0]))?.[0]
              : undefined;
          const message =
            key !== undefined
              ? `duplicate key ${JSON.stringify(key.replace(/^["']|["']$/g, ''))}`
              : firstLine(e.message);
          return { file, line, col, path: '(yaml)', message };
        }),
      ),
    };
  }

  const locate = (issue: TopologyIssue): TopologyError => {
    const { line, col } = pos(offsetOf(doc, issue.path, issue.atKey ?? false));
    return { file, line, col, path: formatPath(issue.path), message: issue.message };
  };

  let raw: unknown;
  try {
    raw = doc.toJS({ maxAliasCount: 1000 });
  } catch (e) {
    return { ok: false, errors: [{ file, line: 1, col: 1, path: '(yaml)', message: (e as Error).message }] };
  }
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) {
    return { ok: false, errors: [locate({ path: [], message: 'the topology must be a YAML mapping' })] };
  }

  const parsed = topologySchema.safeParse(raw);
  if (!parsed.success) {
    return {
      ok: false,
      errors: sortErrors(parsed.error.issues.flatMap((i) => zodIssues(i, raw)).map(locate)),
    };
  }
  const topology = buildModel(parsed.data);
  const issues = crossCheck(topology, opts);
  if (issues.length > 0) return { ok: false, errors: sortErrors(issues.map(locate)) };
  return { ok: true, topology, locate: (later) => sortErrors(later.map(locate)) };
}

/** Reads and validates a topology file; throws TopologyInvalidError with every error. */
export function loadTopologyFile(file: string, opts: CrossCheckOptions = {}): Topology {
  const result = parseTopology(readFileSync(file, 'utf8'), file, opts);
  if (!result.ok) throw new TopologyInvalidError(result.errors);
  return result.topology;
}

function firstLine(s: string): string {
  return s.split('\n')[0]!.trim();
}

/** Zod issue → our wording, one issue per unknown key so each points at its key. */
function zodIssues(issue: z.core.$ZodIssue, raw: unknown): TopologyIssue[] {
  const path = issue.path.map((p) => (typeof p === 'symbol' ? String(p) : p)) as PathSegment[];
  switch (issue.code) {
    case 'unrecognized_keys':
      return issue.keys.map((k) => ({
        path: [...path, k],
        atKey: true,
        message: `unknown key ${JSON.stringify(k)}${didYouMean(k, keysAt(path))}`,
      }));
    case 'invalid_type': {
      const actual = valueAt(raw, path);
      if (actual === undefined) return [{ path, message: 'is required' }];
      return [{ path, message: `expected ${issue.expected}, got ${describe(actual)}` }];
    }
    case 'too_small':
      if (issue.origin === 'array') return [{ path, message: `must have at least ${issue.minimum} item(s)` }];
      if (issue.origin === 'string') return [{ path, message: 'must not be empty' }];
      return [{ path, message: `must be at least ${issue.minimum}` }];
    case 'too_big':
      return [{ path, message: issue.message }];
    case 'invalid_format':
      if (issue.format === 'starts_with')
        return [
          { path, message: `must start with ${JSON.stringify((issue as { prefix?: string }).prefix ?? '')}` },
        ];
      return [{ path, message: issue.message }];
    case 'invalid_value':
      return [
        {
          path,
          message: issue.message.startsWith('Invalid')
            ? `must be one of ${issue.values.map((v) => JSON.stringify(v)).join(', ')}, got ${describe(valueAt(raw, path))}`
            : issue.message,
        },
      ];
    case 'custom':
      return [
        {
          path,
          message: issue.message,
          atKey: (issue.params as { atKey?: boolean } | undefined)?.atKey === true,
        },
      ];
    default:
      return [{ path, message: issue.message }];
  }
}

interface ZodDefLike {
  type: string;
  shape?: Record<string, { _zod: { def: ZodDefLike } }>;
  element?: { _zod: { def: ZodDefLike } };
  innerType?: { _zod: { def: ZodDefLike } };
  in?: { _zod: { def: ZodDefLike } };
}

/** The keys the schema accepts at `path` (for "did you mean"), walking through wrappers. */
function keysAt(path: readonly PathSegment[]): string[] {
  let def: ZodDefLike | undefined = (topologySchema as unknown as { _zod: { def: ZodDefLike } })._zod.def;
  const unwrap = () => {
    while (def && (def.innerType || def.in)) def = (def.innerType ?? def.in)!._zod.def;
  };
  for (const seg of path) {
    unwrap();
    if (def?.type === 'object' && typeof seg === 'string') def = def.shape?.[seg]?._zod.def;
    else if (def?.type === 'array' && typeof seg === 'number') def = def.element?._zod.def;
    else return [];
  }
  unwrap();
  return def?.type === 'object' && def.shape ? Object.keys(def.shape) : [];
}

function valueAt(raw: unknown, path: readonly PathSegment[]): unknown {
  let cur: unknown = raw;
  for (const seg of path) {
    if (cur === null || typeof cur !== 'object') return undefined;
    cur = (cur as Record<string | number, unknown>)[seg];
  }
  return cur;
}

function describe(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'a list';
  if (typeof v === 'object') return 'a mapping';
  if (typeof v === 'string') return `string ${JSON.stringify(v)}`;
  return `${typeof v} ${String(v)}`;
}

/**
 * Offset of the node at `path` (or of its key). Where the path runs past the document (a
 * missing key), the deepest node that exists: the mapping that lacks the key.
 */
function offsetOf(doc: Document, path: readonly PathSegment[], atKey: boolean): number {
  let node: Node | null | undefined = doc.contents as Node | null;
  let fallback = node?.range?.[0] ?? 0;
  for (let i = 0; i < path.length; i++) {
    const seg = path[i]!;
    const last = i === path.length - 1;
    if (isMap(node)) {
      const pair = node.items.find(
        (p) => isPair(p) && isScalar(p.key) && String(p.key.value) === String(seg),
      );
      if (!pair) return fallback;
      const key = pair.key as Node;
      if (last && atKey) return key.range?.[0] ?? fallback;
      const value = pair.value as Node | null;
      // `key:` with nothing after it: point at the key.
      const range = value?.range;
      if (value === null || !range || (isScalar(value) && value.value === null && range[0] === range[1])) {
        return key.range?.[0] ?? fallback;
      }
      node = value;
    } else if (isSeq(node) && typeof seg === 'number') {
      const item = node.items[seg] as Node | undefined;
      if (!item) return fallback;
      node = item;
    } else {
      return fallback;
    }
    fallback = node.range?.[0] ?? fallback;
  }
  return fallback;
}
