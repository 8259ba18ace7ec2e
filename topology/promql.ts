/**
 * PromQL helpers on @prometheus-io/lezer-promql: which vector selectors an expression uses,
 * with their label matchers, and whether one selector can select series another one keeps.
 * The closure check, `fedstack explain` and the topology validator share them, so that "does
 * this allow-list entry keep that metric" has one answer everywhere.
 *
 * The grammar is Prometheus 3's (UTF-8 quoted names included); fedstack runs 2.42, whose syntax
 * is a subset, so anything 2.42 accepts parses here too.
 */
import { parser } from '@prometheus-io/lezer-promql';
import type { SyntaxNode } from '@lezer/common';
import { matcherMatches } from './selector.ts';

export type MatchType = '=' | '!=' | '=~' | '!~';

export interface LabelMatcher {
  readonly name: string;
  readonly type: MatchType;
  readonly value: string;
}

/** One vector selector of an expression, e.g. `foo{a="b"}` in `rate(foo{a="b"}[5m])`. */
export interface VectorSelector {
  /** The literal metric name when the selector pins one (`foo`, `{"foo"}` or `{__name__="foo"}`). */
  readonly metricName: string | undefined;
  /** Every matcher, the metric name included as `__name__` (so name regexes are kept too). */
  readonly matchers: readonly LabelMatcher[];
  /** Source text of the selector. */
  readonly text: string;
  /**
   * Labels the expression groups or joins this selector's series by: the `by (...)` of every
   * aggregation around it and the `on (...)` of every binary operation around it. A hop that
   * renames or drops one of them collapses the groups or breaks the join (closure.ts).
   */
  readonly groupedBy?: readonly string[];
}

export interface PromQLSyntaxError {
  /** Character offset of the first unparsable token. */
  readonly offset: number;
  readonly message: string;
}

export type ParseResult =
  | { readonly ok: true; readonly selectors: readonly VectorSelector[] }
  | { readonly ok: false; readonly error: PromQLSyntaxError };

const NAME_LABEL = '__name__';

/**
 * Parses are remembered by text: the closure check asks about the same allow-list entries and
 * rule expressions for every metric it follows, and parsing them again was a quarter of
 * `validate`'s time. Results are read-only. Bounded, for the long-running service, whose
 * topology revisions bring new texts.
 */
const PARSED = new Map<string, ParseResult>();
const MAX_PARSED = 10_000;

/** Parses an expression and returns its vector selectors in source order, or the first syntax error. */
export function parsePromQL(expr: string): ParseResult {
  const known = PARSED.get(expr);
  if (known !== undefined) return known;
  const result = parse(expr);
  if (PARSED.size >= MAX_PARSED) PARSED.clear();
  PARSED.set(expr, result);
  return result;
}

function parse(expr: string): ParseResult {
  const tree = parser.parse(expr);
  let error: PromQLSyntaxError | undefined;
  const selectors: VectorSelector[] = [];
  // The grouping labels of the aggregations and binary operations being walked, innermost last.
  const grouping: (readonly string[])[] = [];
  tree.iterate({
    enter: (ref) => {
      if (error !== undefined) return false;
      if (ref.type.isError) {
        error = { offset: ref.from, message: syntaxMessage(expr, ref.from) };
        return false;
      }
      if (ref.name === 'AggregateExpr' || ref.name === 'BinaryExpr') grouping.push(groupingLabels(ref.node, expr));
      if (ref.name === 'VectorSelector') {
        const sel = readSelector(ref.node, expr);
        if ('error' in sel) {
          error = sel.error;
          return false;
        }
        const groupedBy = [...new Set(grouping.flat())];
        selectors.push(groupedBy.length > 0 ? { ...sel, groupedBy } : sel);
      }
      return undefined;
    },
    leave: (ref) => {
      if (ref.name === 'AggregateExpr' || ref.name === 'BinaryExpr') grouping.pop();
    },
  });
  if (error === undefined && expr.trim() === '') error = { offset: 0, message: 'empty expression' };
  return error !== undefined ? { ok: false, error } : { ok: true, selectors };
}

/** The vector selectors of a valid expression; throws (with the offset) on a syntax error. */
export function vectorSelectors(expr: string): readonly VectorSelector[] {
  const result = parsePromQL(expr);
  if (!result.ok) throw new Error(`invalid PromQL ${JSON.stringify(expr)}: ${result.error.message}`);
  return result.selectors;
}

/** Distinct literal metric names an expression reads, sorted. Regex-only names are skipped. */
export function metricNames(expr: string): string[] {
  const names = new Set<string>();
  for (const s of vectorSelectors(expr)) if (s.metricName !== undefined) names.add(s.metricName);
  return [...names].sort();
}

/**
 * Parses a series selector as used in `match[]` and allow-lists: exactly one vector selector
 * (`name`, `name{...}`, `{__name__=~"re", ...}`), nothing around it.
 */
export function parseSeriesSelector(
  text: string,
): { ok: true; selector: VectorSelector } | { ok: false; message: string } {
  const result = parsePromQL(text);
  if (!result.ok) return { ok: false, message: result.error.message };
  const [only] = result.selectors;
  if (result.selectors.length !== 1 || only === undefined || only.text.trim() !== text.trim()) {
    return { ok: false, message: 'not a series selector (want name, name{...} or {__name__=~"...", ...})' };
  }
  if (!only.matchers.some((m) => !matchesEmpty(m))) {
    // Prometheus' own rule: a selector must have one matcher that does not match the empty string.
    return {
      ok: false,
      message: 'a series selector needs at least one matcher that does not match the empty string',
    };
  }
  return { ok: true, selector: only };
}

/** Like parseSeriesSelector, for trusted inputs (defaults, conventions); throws when invalid. */
export function seriesSelector(text: string): VectorSelector {
  const r = parseSeriesSelector(text);
  if (!r.ok) throw new Error(`invalid series selector ${JSON.stringify(text)}: ${r.message}`);
  return r.selector;
}

/** A selector for exactly one metric name and the given equality labels. */
export function literalSelector(
  metric: string,
  labels: Readonly<Record<string, string>> = {},
): VectorSelector {
  const matchers: LabelMatcher[] = [{ name: NAME_LABEL, type: '=', value: metric }];
  for (const [name, value] of Object.entries(labels)) matchers.push({ name, type: '=', value });
  return { metricName: metric, matchers, text: formatSelector(matchers) };
}

/** Whether one matcher accepts a label value ('' stands for an absent label, as in Prometheus). */
export function matcherAccepts(m: LabelMatcher, value: string): boolean {
  return matcherMatches({ name: m.name, op: m.type, value: m.value }, value);
}

/** Whether a series with these labels (metric name under `__name__`) is selected. */
export function selectorMatches(
  sel: Pick<VectorSelector, 'matchers'>,
  labels: Readonly<Record<string, string>>,
): boolean {
  return sel.matchers.every((m) => matcherAccepts(m, labels[m.name] ?? ''));
}

/** Whether the selector accepts this metric name, ignoring its other labels. */
export function selectorAcceptsName(sel: Pick<VectorSelector, 'matchers'>, metric: string): boolean {
  return sel.matchers.filter((m) => m.name === NAME_LABEL).every((m) => matcherAccepts(m, metric));
}

/**
 * Whether some series could be selected by both selectors. Exact where either side pins a label
 * to one value (the other side's matcher is evaluated on it); two regexes or two negative
 * matchers on the same label are assumed to overlap, since deciding it needs automata and
 * allow-lists rarely do that. Used as "can this allow-list entry keep what this query reads".
 */
export function selectorsOverlap(
  a: Pick<VectorSelector, 'matchers'>,
  b: Pick<VectorSelector, 'matchers'>,
): boolean {
  const all = [...a.matchers, ...b.matchers];
  const byLabel = new Map<string, LabelMatcher[]>();
  for (const m of all) byLabel.set(m.name, [...(byLabel.get(m.name) ?? []), m]);
  for (const ms of byLabel.values()) {
    const pinned = ms.filter((m) => m.type === '=');
    for (const p of pinned) if (!ms.every((m) => matcherAccepts(m, p.value))) return false;
  }
  return true;
}

/** `{__name__="x", a="b"}` → `x{a="b"}`; quotes values the way PromQL reads them back. */
export function formatSelector(matchers: readonly LabelMatcher[]): string {
  const name = matchers.find(
    (m) => m.name === NAME_LABEL && m.type === '=' && /^[a-zA-Z_:][a-zA-Z0-9_:]*$/.test(m.value),
  );
  const rest = matchers.filter((m) => m !== name).map((m) => `${m.name}${m.type}${JSON.stringify(m.value)}`);
  const body = rest.length > 0 ? `{${rest.join(', ')}}` : '';
  return `${name?.value ?? ''}${body}` || '{}';
}

function matchesEmpty(m: LabelMatcher): boolean {
  return matcherAccepts(m, '');
}

function readSelector(node: SyntaxNode, src: string): VectorSelector | { error: PromQLSyntaxError } {
  const matchers: LabelMatcher[] = [];
  const ident = node.getChild('Identifier');
  if (ident) matchers.push({ name: NAME_LABEL, type: '=', value: src.slice(ident.from, ident.to) });
  const list = node.getChild('LabelMatchers');
  if (list) {
    for (let c = list.firstChild; c; c = c.nextSibling) {
      if (c.name === 'QuotedLabelName') {
        // `{"metric.name"}`: a quoted metric name (Prometheus 3); 2.42 would refuse it.
        const lit = c.getChild('StringLiteral');
        if (lit) matchers.push({ name: NAME_LABEL, type: '=', value: unquote(src.slice(lit.from, lit.to)) });
      } else if (c.name === 'UnquotedLabelMatcher' || c.name === 'QuotedLabelMatcher') {
        const nameNode = c.getChild('LabelName') ?? c.getChild('QuotedLabelName')?.getChild('StringLiteral');
        const op = c.getChild('MatchOp');
        const val = c.getChild('StringLiteral', 'MatchOp') ?? lastChild(c, 'StringLiteral');
        if (!nameNode || !op || !val)
          return { error: { offset: c.from, message: syntaxMessage(src, c.from) } };
        const rawName = src.slice(nameNode.from, nameNode.to);
        const name = nameNode.name === 'StringLiteral' ? unquote(rawName) : rawName;
        matchers.push({
          name,
          type: src.slice(op.from, op.to) as MatchType,
          value: unquote(src.slice(val.from, val.to)),
        });
      }
    }
  }
  const pinned = matchers.filter((m) => m.name === NAME_LABEL && m.type === '=');
  const metricName = pinned.length === 1 ? pinned[0]!.value : undefined;
  return { metricName, matchers, text: src.slice(node.from, node.to) };
}

/** `sum by (a, b) (...)` → [a, b]; `x / on (a) y` → [a]; `without`, `ignoring` and none → []. */
function groupingLabels(node: SyntaxNode, src: string): string[] {
  const modifier =
    node.name === 'AggregateExpr' ? node.getChild('AggregateModifier') : node.getChild('MatchingModifierClause');
  if (modifier === null || (modifier.getChild('By') === null && modifier.getChild('On') === null)) return [];
  // The first label list is by's or on's (a group_left/group_right list comes after it).
  const labels = modifier.getChild('GroupingLabels');
  return labels === null ? [] : labels.getChildren('LabelName').map((n) => src.slice(n.from, n.to));
}

function lastChild(node: SyntaxNode, name: string): SyntaxNode | null {
  const all = node.getChildren(name);
  return all[all.length - 1] ?? null;
}

/** PromQL string literal → value: "..." and '...' with Go escapes, `...` raw. */
function unquote(lit: string): string {
  const q = lit[0];
  const body = lit.slice(1, -1);
  if (q === '`') return body;
  return body.replace(/\\(x[0-9a-fA-F]{2}|u[0-9a-fA-F]{4}|U[0-9a-fA-F]{8}|[0-7]{3}|.)/gs, (_, e: string) => {
    switch (e[0]) {
      case 'n':
        return '\n';
      case 't':
        return '\t';
      case 'r':
        return '\r';
      case 'a':
        return '\x07';
      case 'b':
        return '\b';
      case 'f':
        return '\f';
      case 'v':
        return '\v';
      case 'x':
      case 'u':
      case 'U':
        return String.fromCodePoint(parseInt(e.slice(1), 16));
      default:
        return /^[0-7]{3}$/.test(e) ? String.fromCharCode(parseInt(e, 8)) : e;
    }
  });
}

function syntaxMessage(src: string, offset: number): string {
  const near = src.slice(offset, offset + 20);
  return near === ''
    ? `unexpected end of expression at character ${offset + 1}`
    : `syntax error at character ${offset + 1} near ${JSON.stringify(near)}`;
}
