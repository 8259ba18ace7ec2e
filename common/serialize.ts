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
    // defineProperty, not assignment: a key named __proto__ is data, not a prototype.
    for (const k of orderedKeys(obj))
      Object.defineProperty(out, k, {
        value: normalize(obj[k]),
        enumerable: true,
        writable: true,
        configurable: true,
      });
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

/**
 * Strings `yaml` writes plain, decided without asking it: names, paths, endpoints, durations,
 * label values. No indicator first, no space, no `#` or `,`, no trailing `:`, no document
 * marker, and nothing the core schema would read back as null, a boolean or a number (its own
 * tag tests, copied from yaml/dist/schema/core). Everything else goes to the library, memoized.
 */
const PLAIN_CHARS = /^[A-Za-z0-9_./][A-Za-z0-9_./:@=+~-]*$/;
/** Core-schema tags a string starting with a digit or '.' could be read as. */
const NUMBER_LIKE = [
  /^0o[0-7]+$/,
  /^[-+]?[0-9]+$/,
  /^0x[0-9a-fA-F]+$/,
  /^(?:[-+]?\.(?:inf|Inf|INF)|\.nan|\.NaN|\.NAN)$/,
  /^[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)[eE][-+]?[0-9]+$/,
  /^[-+]?(?:\.[0-9]+|[0-9]+\.[0-9]*)$/,
];
/** The null and boolean spellings that start with a letter (~ cannot start a plain string here). */
const WORD_LIKE = /^(?:[Nn]ull|NULL|[Tt]rue|TRUE|[Ff]alse|FALSE)$/;

export function isPlain(s: string): boolean {
  if (!PLAIN_CHARS.test(s) || s.charCodeAt(s.length - 1) === 58 /* : */) return false;
  const c = s.charCodeAt(0);
  if ((c >= 48 && c <= 57) || c === 46 /* 0-9 . */) {
    return !s.startsWith('...') && !NUMBER_LIKE.some((t) => t.test(s));
  }
  return s.length > 5 || !WORD_LIKE.test(s);
}

/** A string as `yaml` writes it as a block-map value or list item (one line), or Unsupported. */
function stringScalar(s: string): string {
  if (isPlain(s)) return s;
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
  if (isPlain(k)) return k;
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

/** A scalar's text, or undefined for a container (a map or a list). */
function scalar(v: unknown): string | undefined {
  switch (typeof v) {
    case 'string':
      return stringScalar(v);
    case 'number':
      // `yaml` writes finite numbers as JSON does; -0, NaN and infinities have YAML spellings.
      if (!Number.isFinite(v) || Object.is(v, -0)) throw UNSUPPORTED;
      return String(v);
    case 'boolean':
      return v ? 'true' : 'false';
    case 'object':
      if (v === null) return 'null';
      if (!isPlainContainer(v)) throw UNSUPPORTED;
      return undefined;
    default:
      throw UNSUPPORTED;
  }
}

function isPlainContainer(v: object): boolean {
  if (Array.isArray(v)) return true;
  const proto = Object.getPrototypeOf(v) as unknown;
  // Class instances hold their fields as own properties; anything with a custom toJSON (Date,
  // a kubernetes-models instance, ...) is left to the library.
  return (
    proto === Object.prototype || proto === null || typeof (v as { toJSON?: unknown }).toJSON !== 'function'
  );
}

const INDENT = '  ';

/**
 * The keys of a map that are written, Kubernetes head keys first: orderedKeys, without its
 * allocations in the common case (no undefined value, head keys absent or already first).
 */
function mapKeys(obj: Record<string, unknown>): string[] {
  const all = Object.keys(obj);
  let heads = 0;
  for (let i = 0; i < all.length; i++) {
    const k = all[i]!;
    if (obj[k] === undefined) return orderedKeys(obj);
    if (k === 'apiVersion' || k === 'kind' || k === 'metadata') {
      if (K8S_HEAD.indexOf(k) < heads || i !== heads) return orderedKeys(obj);
      heads++;
    }
  }
  return all;
}

/** `value` after `key:` — a space and a scalar or an empty collection, or a newline and a block. */
function afterKey(v: unknown, indent: string): string {
  const s = scalar(v);
  if (s !== undefined) return ` ${s}\n`;
  if (Array.isArray(v)) {
    const items = v.includes(undefined) ? v.filter((x) => x !== undefined) : v;
    return items.length === 0 ? ' []\n' : `\n${seq(items, indent + INDENT, false)}`;
  }
  const obj = v as Record<string, unknown>;
  const ks = mapKeys(obj);
  return ks.length === 0 ? ' {}\n' : `\n${map(obj, ks, indent + INDENT, false)}`;
}

/** A block map at `indent`; with `inline`, its first key continues the current line (after "- "). */
function map(obj: Record<string, unknown>, ks: readonly string[], indent: string, inline: boolean): string {
  let out = '';
  for (let i = 0; i < ks.length; i++) {
    const k = ks[i]!;
    out += (inline && i === 0 ? '' : indent) + keyScalar(k) + ':' + afterKey(obj[k], indent);
  }
  return out;
}

/** A block sequence at `indent`; with `inline`, its first item continues the current line. */
function seq(items: readonly unknown[], indent: string, inline: boolean): string {
  let out = '';
  for (let i = 0; i < items.length; i++) {
    out += (inline && i === 0 ? '' : indent) + '- ';
    const v = items[i];
    const s = scalar(v);
    if (s !== undefined) {
      out += s + '\n';
      continue;
    }
    if (Array.isArray(v)) {
      const inner = v.includes(undefined) ? v.filter((x) => x !== undefined) : v;
      out += inner.length === 0 ? '[]\n' : seq(inner, indent + INDENT, true);
      continue;
    }
    const obj = v as Record<string, unknown>;
    const ks = mapKeys(obj);
    out += ks.length === 0 ? '{}\n' : map(obj, ks, indent + INDENT, true);
  }
  return out;
}

/** One document's body, as `yaml` with YAML_OPTIONS writes it. */
function body(value: unknown): string {
  try {
    const s = scalar(value);
    if (s !== undefined) return `${s}\n`;
    if (Array.isArray(value)) {
      const items = value.includes(undefined) ? value.filter((x) => x !== undefined) : value;
      return items.length === 0 ? '[]\n' : seq(items, '', false);
    }
    const obj = value as Record<string, unknown>;
    const ks = mapKeys(obj);
    return ks.length === 0 ? '{}\n' : map(obj, ks, '', false);
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
