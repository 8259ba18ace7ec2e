/**
 * Reading a YAML document that a person wrote (a topology, a rollout plan) into a value a zod
 * schema accepts, collecting every error with its position: FILE:LINE:COL.
 *
 * Two YAML readers, each for what it does best. js-yaml reads the values: it is ten times
 * faster than `yaml` on a 5 MB, 10,000-meta-cluster topology (0.3 s against 3 s), and a valid
 * file, the common case, needs nothing else. Only when there are errors does `yaml` parse the
 * text again, for its source ranges: they turn each error's path into FILE:LINE:COL, and its
 * messages name syntax errors better. Both read YAML 1.2 with the core schema.
 *
 * Used for the topology (topology/load.ts) and the rollout plan (rollout/plan-file.ts).
 */
import jsyaml from 'js-yaml';
import YAML, { isMap, isPair, isScalar, isSeq, LineCounter, type Document, type Node } from 'yaml';
import type { z } from 'zod';
import { closest, didYouMean } from './suggest.ts';
import {
  describeValue,
  formatPath,
  sortErrors,
  type PathSegment,
  type TopologyError,
  type TopologyIssue,
} from './errors.ts';

export type DocumentResult<T> =
  | {
      ok: true;
      value: T;
      /** Positions later issues (checks on the value) in the same file, sorted. */
      locate: (issues: readonly TopologyIssue[]) => TopologyError[];
    }
  | { ok: false; errors: TopologyError[] };

/**
 * Parses `text` and checks its shape with `schema` (strict objects: unknown keys are errors,
 * with a "did you mean"). `what` names the document in messages ("topology", "rollout plan").
 * Never throws for bad input: errors come back sorted.
 */
export function parseYamlDocument<S extends z.ZodType>(
  text: string,
  file: string,
  schema: S,
  what: string,
): DocumentResult<z.output<S>> {
  let raw: unknown;
  try {
    raw = jsyaml.load(text, READ_OPTIONS);
  } catch (e) {
    if (!(e instanceof jsyaml.YAMLException)) throw e;
    return { ok: false, errors: readErrors(text, file, e, what) };
  }
  const aliases = aliasExpansion(text, raw);
  if (aliases !== undefined) {
    const { line, col } = lineCol(text, firstAliasOffset(text));
    return { ok: false, errors: [{ file, line, col, path: '(yaml)', message: aliases }] };
  }

  let positions: Positions | undefined;
  const locate = (issue: TopologyIssue): TopologyError => {
    positions ??= sourcePositions(text);
    const { line, col } = positions.of(issue.path, issue.atKey ?? false);
    return { file, line, col, path: formatPath(issue.path), message: issue.message };
  };

  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) {
    return { ok: false, errors: [locate({ path: [], message: `the ${what} must be a YAML mapping` })] };
  }
  const parsed = schema.safeParse(raw);
  if (!parsed.success) {
    return { ok: false, errors: sortErrors(shapeIssues(parsed.error.issues, raw, schema).map(locate)) };
  }
  return { ok: true, value: parsed.data, locate: (later) => sortErrors(later.map(locate)) };
}

/**
 * Deepest nesting of mappings and lists a topology may have. A real one nests ~15 levels (the
 * routing tree); a YAML reader that recurses runs out of stack at a few thousand, so a limit
 * turns "Maximum call stack size exceeded" into an error that says what is wrong.
 */
export const MAX_NESTING = 64;

/**
 * Nodes that aliases (`*name` repeating an `&name` anchor) may add to the document. Each alias
 * is a reference, so a small file can stand for billions of nodes ("billion laughs") that
 * validation would then walk; real reuse (a label set, a route) adds a few thousand.
 */
export const MAX_ALIAS_NODES = 100_000;

/** YAML 1.2 core floats, including .inf and .nan. */
const FLOAT_RE =
  /^(?:[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN))$/;

/**
 * Floats as YAML 1.2 (and `yaml`) read them. js-yaml's own reads a float too large for a
 * double, such as 1e309, as a string; the spec makes it infinity, which validation then
 * refuses for what it is (a number out of range), not as a string.
 */
const CORE_FLOAT = new jsyaml.Type('tag:yaml.org,2002:float', {
  kind: 'scalar',
  resolve: (s: string | null) => s !== null && FLOAT_RE.test(s),
  construct: (s: string) => {
    const v = s.toLowerCase();
    if (v === '.nan') return NaN;
    if (v.endsWith('.inf')) return v.startsWith('-') ? -Infinity : Infinity;
    return parseFloat(s);
  },
});

/** js-yaml 4.3's maxDepth (its typings predate it). */
const READ_OPTIONS: jsyaml.LoadOptions & { maxDepth: number } = {
  // Same tag: CORE_FLOAT takes the place of js-yaml's float.
  schema: jsyaml.CORE_SCHEMA.extend({ implicit: [CORE_FLOAT] }),
  json: false,
  maxDepth: MAX_NESTING,
};

/**
 * What js-yaml refused, in our words. It stops at the first problem; `yaml` reports every
 * syntax error and every custom tag with its position and names a repeated key, so its
 * findings are used where it has any. What only js-yaml checks (nesting depth, the 1.1 tags
 * such as !!binary that `yaml` still knows) is said from js-yaml's own error.
 */
function readErrors(text: string, file: string, e: jsyaml.YAMLException, what: string): TopologyError[] {
  const at = (offset: number, message: string): TopologyError => {
    const { line, col } = lineCol(text, offset);
    return { file, line, col, path: '(yaml)', message };
  };
  const offset = e.mark?.position ?? 0;
  if (e.reason.startsWith('nesting exceeded maxDepth')) {
    return [
      at(offset, `nested deeper than ${MAX_NESTING} levels of mappings and lists; a ${what} needs far fewer`),
    ];
  }
  const found = yamlFindings(text, file, what);
  const tag = /^unknown tag !<(.*)>$/.exec(e.reason)?.[1];
  if (tag === undefined) return found.length > 0 ? found : [at(offset, e.reason)];
  // `yaml` still knows YAML 1.1's tags (!!binary, !!timestamp) and may not list this one.
  const written = tag.startsWith(YAML_TAG_PREFIX)
    ? `!!${tag.slice(YAML_TAG_PREFIX.length)}`
    : tag.startsWith('!')
      ? tag
      : `!<${tag}>`;
  const where = text.lastIndexOf(written, offset);
  const own = at(where >= 0 ? where : offset, customTagMessage(written, what));
  const listed = found.some((f) => f.line === own.line && f.col === own.col);
  return listed ? found : sortErrors([...found, own]);
}

const YAML_TAG_PREFIX = 'tag:yaml.org,2002:';

const customTagMessage = (tag: string, what: string) =>
  `custom tag ${tag} is not allowed (a ${what} is plain YAML: mappings, lists, strings, numbers, booleans)`;

/** `yaml`'s syntax errors and unresolved (custom) tags, positioned; a repeated key named. */
function yamlFindings(text: string, file: string, what: string): TopologyError[] {
  const lineCounter = new LineCounter();
  let doc: Document;
  try {
    doc = YAML.parseDocument(text, { lineCounter, uniqueKeys: true, prettyErrors: false, strict: true });
  } catch {
    // Nesting past what js-yaml read before it stopped can overflow `yaml`'s stack.
    return [];
  }
  const found = (offset: number, message: string): TopologyError => {
    const { line, col } = lineCounter.linePos(offset);
    return { file, line, col, path: '(yaml)', message };
  };
  const errors = doc.errors
    .filter((e) => e.code !== 'TAG_RESOLVE_FAILED')
    .map((e) => {
      // The yaml library's message for a repeated key does not name it: we do.
      const key =
        e.code === 'DUPLICATE_KEY' ? /^[^:\s]+|^"[^"]*"|^'[^']*'/.exec(text.slice(e.pos[0]))?.[0] : undefined;
      return found(
        e.pos[0],
        key !== undefined
          ? `duplicate key ${JSON.stringify(key.replace(/^["']|["']$/g, ''))}`
          : firstLine(e.message),
      );
    });
  // A tag it cannot resolve, or one it knows whose value does not fit (!!timestamp x).
  const tags = [...doc.errors, ...doc.warnings]
    .filter((w) => w.code === 'TAG_RESOLVE_FAILED')
    .map((w) => found(w.pos[0], customTagMessage(text.slice(w.pos[0], w.pos[1]), what)));
  return sortErrors([...errors, ...tags]);
}

/**
 * Why the aliases make the document too large, or undefined. Counts the nodes validation would
 * visit beyond the first visit of each (a repeat is an alias), and stops at the limit. Without
 * an anchor (`&`) in the text there can be no alias, and nothing to walk.
 */
function aliasExpansion(text: string, raw: unknown): string | undefined {
  if (!text.includes('&')) return undefined;
  const seen = new Set<object>();
  const stack: unknown[] = [raw];
  let repeats = 0;
  while (stack.length > 0) {
    const v = stack.pop();
    if (v === null || typeof v !== 'object') continue;
    if (seen.has(v)) {
      if (++repeats > MAX_ALIAS_NODES) {
        return `aliases (*name) repeat more than ${MAX_ALIAS_NODES} nodes; write the repeated parts out, or repeat less`;
      }
    } else {
      seen.add(v);
    }
    stack.push(...(Array.isArray(v) ? v : Object.values(v)));
  }
  return undefined;
}

/** Where the first alias is, to point at (`yaml` parses without expanding aliases). */
function firstAliasOffset(text: string): number {
  let offset = 0;
  YAML.visit(YAML.parseDocument(text), {
    Alias: (_key, node) => {
      offset = node.range?.[0] ?? 0;
      return YAML.visit.BREAK;
    },
  });
  return offset;
}

function lineCol(text: string, offset: number): { line: number; col: number } {
  let line = 1;
  let start = 0;
  for (let i = text.indexOf('\n'); i !== -1 && i < offset; i = text.indexOf('\n', i + 1)) {
    line++;
    start = i + 1;
  }
  return { line, col: offset - start + 1 };
}

function firstLine(s: string): string {
  return s.split('\n')[0]!.trim();
}

/**
 * Zod's issues in our words. A misspelt key is also a missing one, so zod reports both
 * "bigRegions: is required" and the unknown "bigRegion"; the unknown key's "did you mean
 * bigRegions?" says it all, and the "is required" of the key it suggests is dropped.
 */
function shapeIssues(issues: readonly z.core.$ZodIssue[], raw: unknown, schema: z.ZodType): TopologyIssue[] {
  const suggested = new Set<string>();
  for (const issue of issues) {
    if (issue.code !== 'unrecognized_keys') continue;
    const path = pathOf(issue);
    for (const k of issue.keys) {
      const s = closest(k, keysAt(schema, path));
      if (s !== undefined) suggested.add(formatPath([...path, s]));
    }
  }
  return issues
    .flatMap((i) => zodIssues(i, raw, schema))
    .filter((i) => !(i.message === 'is required' && suggested.has(formatPath(i.path))));
}

function pathOf(issue: z.core.$ZodIssue): PathSegment[] {
  return issue.path.map((p) => (typeof p === 'symbol' ? String(p) : p)) as PathSegment[];
}

/** Zod issue → our wording, one issue per unknown key so each points at its key. */
function zodIssues(issue: z.core.$ZodIssue, raw: unknown, schema: z.ZodType): TopologyIssue[] {
  const path = pathOf(issue);
  switch (issue.code) {
    case 'unrecognized_keys':
      return issue.keys.map((k) => ({
        path: [...path, k],
        atKey: true,
        message: `unknown key ${JSON.stringify(k)}${didYouMean(k, keysAt(schema, path))}`,
      }));
    case 'invalid_type': {
      const actual = valueAt(raw, path);
      if (actual === undefined) return [{ path, message: 'is required' }];
      return [{ path, message: `expected ${issue.expected}, got ${describeValue(actual)}` }];
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
      if (valueAt(raw, path) === undefined) return [{ path, message: 'is required' }];
      return [
        {
          path,
          message: issue.message.startsWith('Invalid')
            ? `must be one of ${issue.values.map((v) => JSON.stringify(v)).join(', ')}, got ${describeValue(valueAt(raw, path))}${suggestValue(valueAt(raw, path), issue.values)}`
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
/** " (did you mean ...)" for a misspelt choice of a fixed set (`backend: victoria`). */
function suggestValue(value: unknown, choices: readonly unknown[]): string {
  if (typeof value !== 'string') return '';
  return didYouMean(
    value,
    choices.filter((c): c is string => typeof c === 'string'),
    2,
  );
}

function keysAt(schema: z.ZodType, path: readonly PathSegment[]): string[] {
  let def: ZodDefLike | undefined = (schema as unknown as { _zod: { def: ZodDefLike } })._zod.def;
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

interface Positions {
  of(path: readonly PathSegment[], atKey: boolean): { line: number; col: number };
}

/** Where each path is in the text: `yaml`'s document, parsed only once an error needs it. */
function sourcePositions(text: string): Positions {
  const lineCounter = new LineCounter();
  const doc = YAML.parseDocument(text, { lineCounter, prettyErrors: false });
  return { of: (path, atKey) => lineCounter.linePos(offsetOf(doc, path, atKey)) };
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
