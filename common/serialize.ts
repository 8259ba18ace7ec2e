/**
 * The one place fedstack turns objects into text. Deterministic: same object, same bytes.
 * YAML with no line folding, undefined dropped, Kubernetes keys (apiVersion, kind, metadata)
 * first, and a generated-code header.
 *
 * Speed matters here: a 10,000-meta-cluster fleet is ~50,000 files, and the `yaml` library's
 * stringify (a document model built per call) took ~90% of a full render. So documents made of
 * plain data (maps, lists, strings, numbers, booleans, null: every config and manifest fedstack
 * writes) go through a direct block emitter that writes the bytes `yaml` would write. Scalars
 * and keys are still formatted by `yaml` itself — once per distinct string, memoized — so the
 * quoting rules stay the library's. Whatever the emitter does not handle (multi-line strings,
 * document markers, exotic numbers) falls back to the library for the whole document. The
 * property test in test/serialize.test.ts holds the two to the same bytes.
 */
import YAML from 'yaml';
import { GENERATED_HEADER } from './conventions.ts';

const K8S_HEAD = ['apiVersion', 'kind', 'metadata'];

/** Own enumerable keys with a defined value, Kubernetes head keys first. */
function orderedKeys(obj: Record<string, unknown>): string[] {
  const keys = Object.keys(obj).filter((k) => obj[k] !== undefined);
  if (!keys.includes('apiVersion') && !keys.includes('kind') && !keys.includes('metadata')) return keys;
  const head = K8S_HEAD.filter((k) => keys.includes(k));
  return [...head, ...keys.filter((k) => !K8S_HEAD.includes(k))];
}

/** Drops undefined values (recursively) and puts Kubernetes head keys first. */
export function normalize(value: unknown): unknown {
  if (Array.isArray(value)) return value.filter((v) => v !== undefined).map(normalize);
  if (value !== null && typeof value === 'object') {
    const obj = value as Record<string, unknown>;
    const out: Record<string, unknown> = {};
    for (const k of orderedKeys(obj)) out[k] = normalize(obj[k]);
    return out;
  }
  return value;
}

const YAML_OPTIONS = { lineWidth: 0, minContentWidth: 0, indentSeq: true } as const;

/** Thrown inside the emitter for a value it leaves to the library. */
class Unsupported extends Error {}
const UNSUPPORTED = new Unsupported();

/** Bounded memo: long-running services see many topologies, each with its own names. */
class Memo {
  private readonly map = new Map<string, string>();
  constructor(private readonly limit: number) {}
  get(key: string, make: (key: string) => string): string {
    let v = this.map.get(key);
    if (v === undefined) {
      if (this.map.size >= this.limit) this.map.clear();
      v = make(key);
      this.map.set(key, v);
    }
    return v;
  }
}
const scalars = new Memo(200_000);
const keys = new Memo(20_000);

/** A string as `yaml` writes it as a block-map value or list item (one line), or Unsupported. */
function stringScalar(s: string): string {
  return (
    scalars.get(s, () => {
      // Multi-line strings become block scalars whose indentation depends on the context;
      // document markers are treated differently at the top level.
      if (s.includes('\n') || s.includes('\r') || /^(%|---|\.\.\.)/.test(s)) return '';
      const text = YAML.stringify({ a: s }, YAML_OPTIONS);
      return text.startsWith('a: ') && text.indexOf('\n') === text.length - 1 ? text.slice(3, -1) : '';
    }) || throwUnsupported()
  );
}

function keyScalar(k: string): string {
  return (
    keys.get(k, () => {
      if (k.length > 1000 || k.includes('\n') || k.includes('\r')) return '';
      const text = YAML.stringify({ [k]: 0 }, YAML_OPTIONS);
      return text.endsWith(': 0\n') && text.indexOf('\n') === text.length - 1 ? text.slice(0, -4) : '';
    }) || throwUnsupported()
  );
}

function throwUnsupported(): never {
  throw UNSUPPORTED;
}

function scalar(v: unknown): string | undefined {
  switch (typeof v) {
    case 'string':
      return stringScalar(v);
    case 'number':
      // `yaml` writes finite numbers as JSON does; -0, NaN and infinities have YAML spellings.
      if (!Number.isFinite(v) || Object.is(v, -0)) throw UNSUPPORTED;
      return JSON.stringify(v);
    case 'boolean':
      return v ? 'true' : 'false';
    case 'object':
      return v === null ? 'null' : undefined;
    default:
      throw UNSUPPORTED;
  }
}

const INDENT = '  ';

function isPlainContainer(v: unknown): v is Record<string, unknown> | unknown[] {
  if (Array.isArray(v)) return true;
  if (v === null || typeof v !== 'object') return false;
  const proto = Object.getPrototypeOf(v) as unknown;
  // Class instances (kubernetes-models objects) hold their fields as own properties; anything
  // with a custom toJSON (Date, ...) is left to the library.
  return (
    proto === Object.prototype || proto === null || typeof (v as { toJSON?: unknown }).toJSON !== 'function'
  );
}

function definedItems(arr: readonly unknown[]): unknown[] {
  return arr.includes(undefined) ? arr.filter((x) => x !== undefined) : (arr as unknown[]);
}

/** `value` after `key:` — a space and a scalar or empty collection, or a newline and a block. */
function afterKey(v: unknown, indent: string, out: string[]): void {
  const s = scalar(v);
  if (s !== undefined) {
    out.push(' ', s, '\n');
    return;
  }
  if (!isPlainContainer(v)) throw UNSUPPORTED;
  if (Array.isArray(v)) {
    const items = definedItems(v);
    if (items.length === 0) out.push(' []\n');
    else {
      out.push('\n');
      seq(items, indent + INDENT, out, false);
    }
    return;
  }
  const ks = orderedKeys(v);
  if (ks.length === 0) out.push(' {}\n');
  else {
    out.push('\n');
    map(v, ks, indent + INDENT, out, false);
  }
}

/** A block map at `indent`; with `inline`, its first key continues the current line (after "- "). */
function map(
  obj: Record<string, unknown>,
  ks: readonly string[],
  indent: string,
  out: string[],
  inline: boolean,
): void {
  for (let i = 0; i < ks.length; i++) {
    const k = ks[i]!;
    if (!(inline && i === 0)) out.push(indent);
    out.push(keyScalar(k), ':');
    afterKey(obj[k], indent, out);
  }
}

/** A block sequence at `indent`; with `inline`, its first item continues the current line. */
function seq(items: readonly unknown[], indent: string, out: string[], inline: boolean): void {
  for (let i = 0; i < items.length; i++) {
    if (!(inline && i === 0)) out.push(indent);
    out.push('- ');
    const v = items[i];
    const s = scalar(v);
    if (s !== undefined) {
      out.push(s, '\n');
      continue;
    }
    if (!isPlainContainer(v)) throw UNSUPPORTED;
    if (Array.isArray(v)) {
      const inner = definedItems(v);
      if (inner.length === 0) out.push('[]\n');
      else seq(inner, indent + INDENT, out, true);
      continue;
    }
    const ks = orderedKeys(v);
    if (ks.length === 0) out.push('{}\n');
    else map(v, ks, indent + INDENT, out, true);
  }
}

/** One document's body, as `yaml` with YAML_OPTIONS writes it. */
function body(value: unknown): string {
  try {
    const out: string[] = [];
    const s = scalar(value);
    if (s !== undefined) return `${s}\n`;
    if (!isPlainContainer(value)) throw UNSUPPORTED;
    if (Array.isArray(value)) {
      const items = definedItems(value);
      if (items.length === 0) return '[]\n';
      seq(items, '', out, false);
    } else {
      const ks = orderedKeys(value);
      if (ks.length === 0) return '{}\n';
      map(value, ks, '', out, false);
    }
    return out.join('');
  } catch (e) {
    if (e !== UNSUPPORTED) throw e;
    return libraryBody(value);
  }
}

/** The reference: what the direct emitter must equal (and its fallback). */
export function libraryBody(value: unknown): string {
  return YAML.stringify(normalize(value), YAML_OPTIONS);
}

/** One YAML document with the generated-code header. */
export function toYaml(value: unknown, opts: { header?: boolean } = {}): string {
  const text = body(value);
  return opts.header === false ? text : `${GENERATED_HEADER}\n${text}`;
}

/** Several YAML documents (e.g. Kubernetes manifests) separated by `---`, one header on top. */
export function toYamlStream(values: readonly unknown[]): string {
  return `${GENERATED_HEADER}\n${values.map(body).join('---\n')}`;
}

/** JSON, two-space indented, trailing newline (dashboards, http_sd answers in goldens). */
export function toJson(value: unknown): string {
  return `${JSON.stringify(normalize(value), null, 2)}\n`;
}
