/**
 * Text templates for instances that differ only by a few names. A 10,000-edge fleet renders
 * 10,000 edge directories whose files are the same text but for the meta-cluster's name and
 * endpoint: rendering and serializing each one costs ~0.5 ms, filling a template a few µs.
 *
 * A template is made by rendering a probe instance whose variable values are sentinels, and
 * cutting its text at every sentinel. Filling it must give the bytes a direct render would,
 * so a template is refused (the caller renders directly) unless each cut is provably neutral:
 *   - a value is written verbatim wherever its sentinel was: it is made of characters that no
 *     YAML or JSON quoting style escapes, and the serializer writes it plain on its own
 *     (`substitutable`);
 *   - the token a sentinel sits in (the run of non-blank characters around it) keeps its YAML
 *     type whatever the value: either the sentinel is the whole token (then the value alone
 *     decides, and `substitutable` says it is a plain string), or the rest of the token holds a
 *     character that no YAML null, boolean or number can contain;
 *   - no sentinel text is left over in a form the cut did not see (upper-cased, split, hashed).
 * Whoever uses a template also checks it once against a direct render of a real instance
 * (render/emit.ts does, per shape), which catches a generator that derives text from a name in
 * a way a cut cannot follow.
 */
import { isPlain } from '../common/serialize.ts';

/** Characters a value may have: none is escaped by any quoting style, none starts a comment. */
const VALUE_CHARS = /^[a-z0-9][a-z0-9.:-]*$/;

/** True when `value` can stand where a sentinel stood, byte for byte. */
export function substitutable(value: string): boolean {
  return VALUE_CHARS.test(value) && !value.endsWith(':') && isPlain(value);
}

/**
 * Characters every YAML 1.2 core-schema null, boolean or number is made of (digits, signs,
 * dots, hex digits, x/o prefixes, e exponents, and the letters of null/true/false/inf/nan).
 * A token holding any other character, besides its values, is a string whatever the values.
 */
const TYPE_LETTERS = /^[0-9.+\-a-fA-FxXoOnNuUlLtTrRsSiI]*$/;
const BLANK = /\s/;

export interface Template {
  /** Fixed text around the slots: parts.length === slots.length + 1. */
  readonly parts: readonly string[];
  /** For each slot, the index of the value it takes. */
  readonly slots: readonly number[];
}

/**
 * Cuts `text` at every occurrence of the sentinels (which must not contain one another), or
 * answers undefined when a cut would not be neutral (see the module comment).
 */
export function makeTemplate(text: string, sentinels: readonly string[], family: string): Template | undefined {
  const re = new RegExp(sentinels.map(escapeRegExp).join('|'), 'g');
  const parts: string[] = [];
  const slots: number[] = [];
  let last = 0;
  for (const m of text.matchAll(re)) {
    const start = m.index;
    const end = start + m[0].length;
    if (!neutralCut(text, start, end, re)) return undefined;
    parts.push(text.slice(last, start));
    slots.push(sentinels.indexOf(m[0]));
    last = end;
  }
  parts.push(text.slice(last));
  // A sentinel's family prefix left in a part: the generator wrote part of a value, or a
  // transformed one, where no cut can follow it.
  if (parts.some((p) => p.toLowerCase().includes(family.toLowerCase()))) return undefined;
  return { parts, slots };
}

function neutralCut(text: string, start: number, end: number, re: RegExp): boolean {
  let a = start;
  while (a > 0 && !BLANK.test(text[a - 1]!)) a--;
  let b = end;
  while (b < text.length && !BLANK.test(text[b]!)) b++;
  // A key's trailing ':' is syntax, not part of its scalar.
  const token = text.slice(a, text[b - 1] === ':' && b > end ? b - 1 : b);
  const rest = token.replace(new RegExp(re.source, 'g'), '');
  if (rest === '') return token.length === end - start; // one value alone is its own token
  return !TYPE_LETTERS.test(rest);
}

export function fill(t: Template, values: readonly string[]): string {
  if (t.slots.length === 0) return t.parts[0]!;
  let out = t.parts[0]!;
  for (let i = 0; i < t.slots.length; i++) out += values[t.slots[i]!]! + t.parts[i + 1]!;
  return out;
}

function escapeRegExp(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
