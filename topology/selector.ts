/**
 * PromQL series selectors, as used in `match[]` of /federate and in allow-lists:
 * `name`, `name{label="v", ...}`, `{__name__=~"re", ...}`. A small exact parser (rather than a
 * general PromQL parser) so that errors can say which character is wrong, and so that
 * allow-list entries can be compared with each other.
 */
import { re2, re2Problem } from './re2.ts';

export type MatchOp = '=' | '!=' | '=~' | '!~';

export interface Matcher {
  readonly name: string;
  readonly op: MatchOp;
  readonly value: string;
}

export interface Selector {
  /** The source text, as written. */
  readonly text: string;
  /** All matchers, the metric name as `__name__ = name`. */
  readonly matchers: readonly Matcher[];
}

export class SelectorError extends Error {
  constructor(
    message: string,
    /** 0-based offset in the selector text. */
    readonly offset: number,
  ) {
    super(message);
  }
}

/** Parses a series selector; throws SelectorError with the offending offset. */
export function parseSelector(text: string): Selector {
  let i = 0;
  const matchers: Matcher[] = [];
  const skipSpace = () => {
    while (i < text.length && /\s/.test(text[i]!)) i++;
  };
  const ident = (re: RegExp): string => {
    const m = re.exec(text.slice(i));
    if (!m) return '';
    i += m[0].length;
    return m[0];
  };

  skipSpace();
  const name = ident(/^[a-zA-Z_:][a-zA-Z0-9_:]*/);
  if (name !== '') matchers.push({ name: '__name__', op: '=', value: name });
  skipSpace();
  if (text[i] === '{') {
    i++;
    skipSpace();
    while (text[i] !== '}') {
      if (i >= text.length) throw new SelectorError('unclosed "{"', i);
      const start = i;
      const label = ident(/^[a-zA-Z_][a-zA-Z0-9_]*/);
      if (label === '')
        throw new SelectorError(`expected a label name at ${JSON.stringify(text.slice(i, i + 10))}`, i);
      skipSpace();
      const op = ident(/^(=~|!~|!=|=)/) as MatchOp | '';
      if (op === '')
        throw new SelectorError(`expected one of =, !=, =~, !~ after label ${JSON.stringify(label)}`, i);
      skipSpace();
      const valueAt = i;
      const value = readString();
      if (op === '=~' || op === '!~') checkRegex(value, valueAt);
      if (label === '__name__' && name !== '') throw new SelectorError('metric name is set twice', start);
      matchers.push({ name: label, op, value });
      skipSpace();
      if (text[i] === ',') {
        i++;
        skipSpace();
      } else if (text[i] !== '}') {
        throw new SelectorError(
          i >= text.length ? 'unclosed "{"' : `expected "," or "}" at ${JSON.stringify(text[i])}`,
          i,
        );
      }
    }
    i++;
  } else if (name === '') {
    throw new SelectorError('expected a metric name or "{"', i);
  }
  skipSpace();
  if (i < text.length)
    throw new SelectorError(`unexpected ${JSON.stringify(text.slice(i))} after the selector`, i);
  if (!matchers.some((m) => !matchesEmpty(m))) {
    throw new SelectorError('a selector needs at least one matcher that does not match the empty string', 0);
  }
  return { text, matchers };

  function readString(): string {
    const quote = text[i];
    if (quote !== '"' && quote !== "'" && quote !== '`')
      throw new SelectorError('expected a quoted string', i);
    const start = i;
    i++;
    let out = '';
    while (i < text.length && text[i] !== quote) {
      if (text[i] === '\\' && quote !== '`') {
        const next = text[i + 1];
        const escapes: Record<string, string> = { n: '\n', t: '\t', '\\': '\\', '"': '"', "'": "'", r: '\r' };
        if (next === undefined || !(next in escapes)) {
          // Go strings allow more escapes; in selectors they are almost always a regex mistake.
          throw new SelectorError(
            `unknown escape "\\${next ?? ''}" (write "\\\\${next ?? ''}" for a literal backslash)`,
            i,
          );
        }
        out += escapes[next];
        i += 2;
      } else {
        out += text[i];
        i++;
      }
    }
    if (i >= text.length) throw new SelectorError('unterminated string', start);
    i++;
    return out;
  }
}

function checkRegex(value: string, offset: number): void {
  const problem = re2Problem(value);
  if (problem !== undefined)
    throw new SelectorError(
      `${/^(lookarounds|backreferences|named groups)/.test(problem) ? 'regex' : 'invalid regex'} ${JSON.stringify(value)}: ${problem}`,
      offset,
    );
}

export function matcherMatches(m: Matcher, value: string): boolean {
  switch (m.op) {
    case '=':
      return value === m.value;
    case '!=':
      return value !== m.value;
    case '=~':
      return re2(m.value).matches(value);
    case '!~':
      return !re2(m.value).matches(value);
  }
}

function matchesEmpty(m: Matcher): boolean {
  return matcherMatches(m, '');
}

/** Whether a series with this name and labels is selected (absent labels count as ""). */
export function selectorMatches(
  sel: Selector,
  metric: string,
  labels: Readonly<Record<string, string>> = {},
): boolean {
  return sel.matchers.every((m) =>
    matcherMatches(m, m.name === '__name__' ? metric : (labels[m.name] ?? '')),
  );
}

/** Whether the selector can select some series named `metric` (its label matchers ignored). */
export function selectorCanMatchName(sel: Selector, metric: string): boolean {
  return sel.matchers.filter((m) => m.name === '__name__').every((m) => matcherMatches(m, metric));
}

/** The exact metric name the selector requires, if it has an equality name matcher. */
export function exactName(sel: Selector): string | undefined {
  return sel.matchers.find((m) => m.name === '__name__' && m.op === '=')?.value;
}

/** Matchers other than the metric name. */
export function labelMatchers(sel: Selector): Matcher[] {
  return sel.matchers.filter((m) => m.name !== '__name__');
}
