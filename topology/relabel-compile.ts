/**
 * Typed relabel rules → Prometheus 2.42 relabel configs: `metric_relabel_configs` of the
 * federation job for rules that act on each series, `relabel_configs` for rules that act on the
 * federation target (onConflict: keep).
 *
 * 2.42 has no conditional (`if:`) relabelling, so a scoped rule carries its condition in
 * `source_labels`: the guard label goes first (`[region, cluster]`, regex `cn-hangzhou;(.+)`).
 * Guard values are DNS names and metric names have no `;`, so a concatenation with at most one
 * free-text label, placed last, is read back unambiguously. Where a condition needs more than
 * that (keep/drop by a selector with several labels, "the rule applied" for onConflict:
 * export), a temporary `__tmp_fedstack_*` label carries the state from one config to the next,
 * one label at a time, and is dropped again at the end of the rule: nothing temporary is stored.
 */
import { escapeRegex } from '../common/scrape.ts';
import type { RelabelConfig } from '../common/prometheus.ts';
import {
  exported,
  relabelChain,
  ruleEffect,
  SYSTEM_SERIES,
  type Guard,
  type PlacedRule,
  type RelabelTier,
  type Rule,
} from './relabel.ts';
import type { BigRegion, Topology } from './model.ts';
import { matcherMatches, parseSelector, type Matcher } from './selector.ts';
import type { RawRelabelConfigShape } from './relabel-schema.ts';

/** What one hop's federation job gets. */
export interface CompiledRelabel {
  /** relabel_configs: on the target, before the scrape. */
  readonly target: readonly RelabelConfig[];
  /** metric_relabel_configs: on every federated sample, after fedstack's own. */
  readonly metric: readonly RelabelConfig[];
}

/** The rules of one hop (a cascade: pass its big region) compiled in order. */
export function compileRelabel(topo: Topology, tier: RelabelTier, bigRegion?: BigRegion): CompiledRelabel {
  const target: RelabelConfig[] = [];
  const metric: RelabelConfig[] = [];
  for (const placed of relabelChain(topo, tier, bigRegion)) {
    const c = compilePlacedRule(placed);
    target.push(...c.target);
    metric.push(...c.metric);
  }
  return { target, metric };
}

/** One rule, with its scope's guard. `system`: the series its keep/drop never touches (default: the hop's). */
export function compilePlacedRule(placed: PlacedRule, system?: readonly string[]): CompiledRelabel {
  const { rule, guard } = placed;
  const configs = compileRule(rule, guard, system ?? SYSTEM_SERIES[placed.tier]);
  return ruleEffect(rule).onTarget ? { target: configs, metric: [] } : { target: [], metric: configs };
}

const TMP = {
  applies: '__tmp_fedstack_applies',
  value: '__tmp_fedstack_value',
  match: '__tmp_fedstack_match',
  exempt: '__tmp_fedstack_exempt',
  drop: '__tmp_fedstack_drop',
  allow: '__tmp_fedstack_allow',
  own: '__tmp_fedstack_own',
} as const;

/**
 * Central's rules as one cascade's remote_write applies them (backend victoriametrics): the
 * same rules in the same order, on each sample the cascade ships. A rule that labels the
 * federation target at central (onConflict: keep, so a series' own value wins through
 * honor_labels) has no target here: it runs on the sample, and the series' own value of what
 * it writes is put back afterwards. `system`: what keep/drop rules never touch on this hop.
 */
export function compileWriteRelabel(
  topo: Topology,
  bigRegion: BigRegion,
  system: readonly string[],
): RelabelConfig[] {
  return relabelChain(topo, 'central', bigRegion).flatMap((placed) => writeRule(placed, system));
}

/** One placed rule of the central hop, as compileWriteRelabel runs it. */
function writeRule(placed: PlacedRule, system: readonly string[]): RelabelConfig[] {
  const c = compilePlacedRule(placed, system);
  if (c.target.length === 0) return [...c.metric];
  // Only onConflict: keep puts a rule on the target, and such a rule writes one label.
  const [label] = ruleEffect(placed.rule).writes;
  return [
    { source_labels: [label!], regex: '(.+)', target_label: TMP.own, replacement: '$1', action: 'replace' },
    ...c.target,
    { source_labels: [TMP.own], regex: '(.+)', target_label: label!, replacement: '$1', action: 'replace' },
    cleanup(TMP.own),
  ];
}

/**
 * Keeps exactly the series any of `selectors` selects, as /federate's match[] would: what a
 * cascade's remote_write ships where central would have federated. Selectors on the metric
 * name alone become one alternation; the others set a flag matcher by matcher (matchFlag), so
 * no label value, whatever it holds, can make a concatenation match what it should not.
 */
export function compileAllowList(selectors: readonly string[]): RelabelConfig[] {
  const byName: string[] = [];
  const general: (readonly Matcher[])[] = [];
  for (const text of selectors) {
    const { matchers } = parseSelector(text);
    if (matchers.length === 1 && matchers[0]!.name === '__name__' && positive(matchers[0]!))
      byName.push(matcherRegex(matchers[0]!));
    else general.push(matchers);
  }
  const mark = (source: string, regex: string): RelabelConfig => ({
    source_labels: [source],
    regex,
    target_label: TMP.allow,
    replacement: '1',
    action: 'replace',
  });
  if (general.length === 0)
    return [{ source_labels: ['__name__'], regex: byName.join('|'), action: 'keep' }];
  const configs: RelabelConfig[] = byName.length > 0 ? [mark('__name__', byName.join('|'))] : [];
  for (const matchers of general) {
    const m = matchFlag(TMP.match, undefined, matchers);
    configs.push(...m.configs, mark(TMP.match, m.final));
  }
  configs.push({ source_labels: [TMP.allow], regex: '1', action: 'keep' }, cleanup(TMP.match, TMP.allow));
  return configs;
}

/** `$` is special in a replacement (`$1`, `${name}`); `$$` is a literal one. */
const literal = (s: string) => s.replaceAll('$', '$$$$');

/** source_labels and regex of a condition "guard ∧ rest", the guard first. */
function when(
  guard: Guard | undefined,
  labels: readonly string[],
  regex: string,
): Pick<RelabelConfig, 'source_labels' | 'regex'> {
  if (guard === undefined) return { source_labels: [...labels], regex };
  if (labels.length === 0) return { source_labels: [guard.label], regex: escapeRegex(guard.value) };
  // The guard prefixes the whole condition: an alternation must not take it as one branch.
  const rest = regex.includes('|') ? `(?:${regex})` : regex;
  return { source_labels: [guard.label, ...labels], regex: `${escapeRegex(guard.value)};${rest}` };
}

/** Sets `target` to `value` (unconditionally, or where the guard holds). */
function setLabel(guard: Guard | undefined, target: string, value: string): RelabelConfig {
  return guard === undefined
    ? { target_label: target, replacement: literal(value), action: 'replace' }
    : { ...when(guard, [], ''), target_label: target, replacement: literal(value), action: 'replace' };
}

/** Removes `labels` (where the guard holds: an empty replacement deletes a label). */
function removeLabels(guard: Guard | undefined, labels: readonly string[]): RelabelConfig[] {
  if (guard === undefined) return [{ regex: labels.map(escapeRegex).join('|'), action: 'labeldrop' }];
  return labels.map((l) => ({ ...when(guard, [], ''), target_label: l, replacement: '', action: 'replace' }));
}

const cleanup = (...labels: string[]): RelabelConfig => ({ regex: labels.join('|'), action: 'labeldrop' });

/**
 * onConflict: export — where the rule is about to write `label`, the series' own value moves to
 * exported_<label>. `applies` sets TMP.applies=1 exactly where the rule writes.
 */
function exportFirst(applies: RelabelConfig, label: string): RelabelConfig[] {
  return [
    { ...applies, target_label: TMP.applies, replacement: '1', action: 'replace' },
    {
      source_labels: [TMP.applies, label],
      regex: '1;(.+)',
      target_label: exported(label),
      replacement: '$1',
      action: 'replace',
    },
  ];
}

function compileRule(rule: Rule, guard: Guard | undefined, system: readonly string[]): RelabelConfig[] {
  switch (rule.kind) {
    case 'rename': {
      const applies = when(guard, [rule.from], '.+');
      return [
        ...(rule.onConflict === 'export' ? exportFirst(applies, rule.to) : []),
        { ...when(guard, [rule.from], '(.+)'), target_label: rule.to, replacement: '$1', action: 'replace' },
        ...removeLabels(guard, [rule.from]),
        ...(rule.onConflict === 'export' ? [cleanup(TMP.applies)] : []),
      ];
    }
    case 'set':
      if (rule.onConflict !== 'export') return [setLabel(guard, rule.label, rule.value)];
      return [
        {
          ...when(guard, [rule.label], '(.+)'),
          target_label: exported(rule.label),
          replacement: '$1',
          action: 'replace',
        },
        setLabel(guard, rule.label, rule.value),
      ];
    case 'map':
      return compileMap(rule, guard);
    case 'derive': {
      const cond = when(guard, [rule.from], `(?:${rule.regex})`);
      const write: RelabelConfig = {
        ...cond,
        target_label: rule.to,
        replacement: rule.replacement,
        action: 'replace',
      };
      if (rule.onConflict !== 'export') return [write];
      return [...exportFirst(cond, rule.to), write, cleanup(TMP.applies)];
    }
    case 'dropLabels':
      return removeLabels(guard, rule.labels);
    case 'dropSeries':
    case 'keepSeries':
      return compileFilter(
        rule.kind === 'keepSeries' ? 'keep' : 'drop',
        parseSelector(rule.selector).matchers,
        guard,
        system,
      );
    case 'raw':
      return rule.configs.map(rawConfig);
  }
}

function rawConfig(c: RawRelabelConfigShape): RelabelConfig {
  // Kept as written (key order as Prometheus documents it), so the rendered file shows the user's config.
  return {
    source_labels: c.source_labels === undefined ? undefined : [...c.source_labels],
    separator: c.separator,
    regex: c.regex,
    modulus: c.modulus,
    target_label: c.target_label,
    replacement: c.replacement,
    action: c.action as RelabelConfig['action'],
  };
}

function compileMap(rule: Extract<Rule, { kind: 'map' }>, guard: Guard | undefined): RelabelConfig[] {
  const byOutput = new Map<string, string[]>();
  for (const [from, to] of rule.values) byOutput.set(to, [...(byOutput.get(to) ?? []), from]);
  const keys = rule.values.map(([k]) => escapeRegex(k)).join('|');
  const others = rule.default !== undefined || rule.keepUnmapped;
  const inPlace = rule.to === rule.label;
  // In place, a mapping could read what an earlier one wrote (a → b, b → c), and a default would
  // hide the original value from the mappings: then map into a temporary label from the
  // untouched source and copy it over. Otherwise write directly.
  const chains = rule.values.some(([, v]) => rule.values.some(([k]) => k === v));
  const direct = !inPlace || (rule.default === undefined && !chains);
  const into = direct ? rule.to : TMP.value;
  const out: RelabelConfig[] = [];
  if (rule.onConflict === 'export')
    out.push(...exportFirst(when(guard, [rule.label], others ? '.+' : `(?:${keys})`), rule.to));
  if (rule.default !== undefined)
    out.push({
      ...when(guard, [rule.label], '.+'),
      target_label: into,
      replacement: literal(rule.default),
      action: 'replace',
    });
  else if (rule.keepUnmapped && !(inPlace && direct))
    out.push({
      ...when(guard, [rule.label], '(.+)'),
      target_label: into,
      replacement: '$1',
      action: 'replace',
    });
  for (const [to, froms] of byOutput)
    out.push({
      ...when(guard, [rule.label], froms.map(escapeRegex).join('|')),
      target_label: into,
      replacement: literal(to),
      action: 'replace',
    });
  if (!direct)
    out.push({
      source_labels: [TMP.value],
      regex: '(.+)',
      target_label: rule.to,
      replacement: '$1',
      action: 'replace',
    });
  const tmps = [...(direct ? [] : [TMP.value]), ...(rule.onConflict === 'export' ? [TMP.applies] : [])];
  if (tmps.length > 0) out.push(cleanup(...tmps));
  return out;
}

/** The regex a matcher's value stands for (the positive form of a negative matcher). */
const matcherRegex = (m: Matcher) =>
  m.op === '=' || m.op === '!=' ? escapeRegex(m.value) : `(?:${m.value})`;
const positive = (m: Matcher) => m.op === '=' || m.op === '=~';

/**
 * Sets `flag` to the returned final value exactly where the guard and every matcher hold, one
 * label per config: `flag` (our own short value) first, then the label, so each step reads
 * unambiguously whatever the label's value contains.
 */
function matchFlag(
  flag: string,
  guard: Guard | undefined,
  matchers: readonly Matcher[],
): { configs: RelabelConfig[]; final: string } {
  const configs: RelabelConfig[] = [setLabel(guard, flag, '1')];
  const pos = matchers.filter(positive);
  pos.forEach((m, i) =>
    configs.push({
      source_labels: [flag, m.name],
      regex: `${i + 1};${matcherRegex(m)}`,
      target_label: flag,
      replacement: String(i + 2),
      action: 'replace',
    }),
  );
  const final = String(pos.length + 1);
  for (const m of matchers.filter((x) => !positive(x)))
    configs.push({
      source_labels: [flag, m.name],
      regex: `${final};${matcherRegex(m)}`,
      target_label: flag,
      replacement: '0',
      action: 'replace',
    });
  return { configs, final };
}

/** The values a matcher accepts when it names them (`=`, or `=~` of literal alternatives), else undefined. */
function literalValues(m: Matcher): string[] | undefined {
  if (m.op === '=') return [m.value];
  if (m.op === '=~' && /^[\w:-]+(\|[\w:-]+)*$/.test(m.value)) return m.value.split('|');
  return undefined;
}

/** Whether every series `sys` selects is also selected by `m` (so a keep of `m` keeps it anyway). */
function covers(m: readonly Matcher[], sys: readonly Matcher[]): boolean {
  return m.every((x) =>
    sys.some((s) => {
      if (s.name !== x.name) return false;
      const values = literalValues(s);
      return values !== undefined
        ? values.every((v) => matcherMatches(x, v))
        : s.op === x.op && s.value === x.value;
    }),
  );
}

/** Whether some series could be selected by both (a drop of `m` could hit a system series). */
function overlaps(m: readonly Matcher[], sys: readonly Matcher[]): boolean {
  for (const a of [...m, ...sys]) {
    if (a.op !== '=') continue;
    for (const b of [...m, ...sys]) if (b.name === a.name && !matcherMatches(b, a.value)) return false;
  }
  return true;
}

/**
 * keep/drop series by a selector, where the guard holds, never touching fedstack's own series
 * (`system`, what the meta-alerts read). A plain `drop`/`keep` when one config says it exactly,
 * else the flag form.
 */
function compileFilter(
  kind: 'keep' | 'drop',
  matchers: readonly Matcher[],
  guard: Guard | undefined,
  system: readonly string[],
): RelabelConfig[] {
  const systems = system.map((s) => parseSelector(s).matchers);
  const exempt = systems.filter((s) => (kind === 'drop' ? overlaps(matchers, s) : !covers(matchers, s)));
  const named = matchers.filter((m) => m.name === '__name__');
  const others = matchers.filter((m) => m.name !== '__name__');
  // One config tests "name;value" against "re1;re2" — unambiguous only when the first part
  // cannot swallow the separator: a single matcher, or an exact metric name (names have no ';')
  // in front. `{__name__=~"up.*", a="y"}` would otherwise drop a="x;y" ("up;x;y").
  const simple =
    matchers.every(positive) &&
    named.length <= 1 &&
    others.length <= 1 &&
    (matchers.length === 1 || named[0]?.op === '=');
  if (simple && exempt.length === 0 && (kind === 'drop' || guard === undefined)) {
    const order = [...named, ...others];
    return [
      {
        ...when(
          guard,
          order.map((m) => m.name),
          order.map(matcherRegex).join(';'),
        ),
        action: kind,
      },
    ];
  }
  const configs: RelabelConfig[] = [];
  let flag: string;
  let final: string;
  if (kind === 'drop') {
    const m = matchFlag(TMP.match, guard, matchers);
    configs.push(...m.configs);
    [flag, final] = [TMP.match, m.final];
  } else {
    const m = matchFlag(TMP.match, undefined, matchers);
    const d = matchFlag(TMP.drop, guard, [{ name: TMP.match, op: '!=', value: m.final }]);
    configs.push(...m.configs, ...d.configs);
    [flag, final] = [TMP.drop, d.final];
  }
  for (const s of exempt) {
    const e = matchFlag(TMP.exempt, undefined, s);
    configs.push(...e.configs, {
      source_labels: [TMP.exempt],
      regex: e.final,
      target_label: flag,
      replacement: '0',
      action: 'replace',
    });
  }
  configs.push({ source_labels: [flag], regex: final, action: 'drop' });
  const used = [
    TMP.match,
    ...(kind === 'keep' ? [TMP.drop] : []),
    ...(exempt.length > 0 ? [TMP.exempt] : []),
  ];
  configs.push(cleanup(...used));
  return configs;
}
