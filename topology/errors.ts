/** Topology errors: `FILE:LINE:COL: path: problem`, collected (never thrown one at a time). */

export type PathSegment = string | number;

export interface TopologyIssue {
  readonly path: readonly PathSegment[];
  readonly message: string;
  /** Point at the key itself rather than its value (unknown or duplicate keys). */
  readonly atKey?: boolean;
}

export interface TopologyError {
  readonly file: string;
  readonly line: number;
  readonly col: number;
  /** Dotted path, e.g. `bigRegions[1].regions[0].name`; `(yaml)` for syntax errors. */
  readonly path: string;
  readonly message: string;
}

/** A value as an error message quotes it: `string "x"`, `number 1.5`, `a list`, `a mapping`. */
export function describeValue(v: unknown): string {
  if (v === null) return 'null';
  if (v === undefined) return 'nothing';
  if (Array.isArray(v)) return 'a list';
  if (typeof v === 'object') return 'a mapping';
  if (typeof v === 'string') return `string ${JSON.stringify(v)}`;
  return `${typeof v} ${String(v)}`;
}

export function formatPath(path: readonly PathSegment[]): string {
  let out = '';
  for (const seg of path) {
    if (typeof seg === 'number') out += `[${seg}]`;
    else if (/^[A-Za-z_][A-Za-z0-9_]*$/.test(seg)) out += out === '' ? seg : `.${seg}`;
    else out += `[${JSON.stringify(seg)}]`;
  }
  return out === '' ? '(root)' : out;
}

export function formatError(e: TopologyError): string {
  return `${e.file}:${e.line}:${e.col}: ${e.path}: ${e.message}`;
}

/** Sorted by position then text, duplicates removed: each error once, in file order. */
export function sortErrors(errors: readonly TopologyError[]): TopologyError[] {
  const seen = new Set<string>();
  const out: TopologyError[] = [];
  for (const e of [...errors].sort(
    (a, b) =>
      a.line - b.line || a.col - b.col || a.path.localeCompare(b.path) || a.message.localeCompare(b.message),
  )) {
    const key = formatError(e);
    if (!seen.has(key)) {
      seen.add(key);
      out.push(e);
    }
  }
  return out;
}

