/**
 * Regexes as Prometheus reads them: RE2 syntax (Go's regexp), anchored. Checked and evaluated
 * with re2js, a port of RE2, so that what fedstack accepts is what Prometheus 2.42 accepts and
 * a regex matches here exactly what it matches there (JavaScript's RegExp differs: it has
 * look-arounds and backreferences, and lacks `(?i)`, `(?P<name>...)` and POSIX classes).
 */
import { RE2JS } from 're2js';

/**
 * Why Prometheus would refuse `re`, or undefined when it compiles. Look-arounds and
 * backreferences get their own message: they are what people bring from PCRE.
 */
export function re2Problem(re: string): string | undefined {
  if (/\(\?<?[=!]/.test(re)) return 'lookarounds are not supported by RE2';
  if (/\\[1-9]|\\k</.test(re)) return 'backreferences are not supported by RE2';
  // Go 1.19 (Debian's Prometheus 2.42) knows only the (?P<name>...) form; (?<name>...) came in Go 1.22.
  if (/\(\?<[A-Za-z_]/.test(re))
    return 'named groups are written (?P<name>...) in the RE2 that Prometheus 2.42 uses';
  try {
    // Unanchored, so the message quotes the user's text; anchoring adds no new error.
    RE2JS.compile(re);
    return undefined;
  } catch (e) {
    return (e as Error).message.replace(/^error parsing regexp: /, '');
  }
}

export interface Re2 {
  /** Whether the whole string matches (Prometheus anchors relabel and matcher regexes). */
  matches(s: string): boolean;
  /**
   * The groups of a whole-string match (index 0 the whole), or undefined when it does not
   * match; `named` maps group names to indexes.
   */
  exec(
    s: string,
  ):
    | { readonly groups: readonly (string | undefined)[]; readonly named: Readonly<Record<string, number>> }
    | undefined;
  /** Number of capturing groups. */
  readonly groupCount: number;
  /** Group names → indexes. */
  readonly names: Readonly<Record<string, number>>;
}

const cache = new Map<string, Re2>();

/** An anchored RE2 regex, compiled once; throws on a regex re2Problem would report. */
export function re2(re: string): Re2 {
  let compiled = cache.get(re);
  if (compiled === undefined) {
    const problem = re2Problem(re);
    if (problem !== undefined) throw new Error(`invalid regex ${JSON.stringify(re)}: ${problem}`);
    const pattern = RE2JS.compile(`^(?:${re})$`);
    const named = pattern.namedGroups() as Record<string, number>;
    const groupCount = pattern.groupCount();
    compiled = {
      groupCount,
      names: named,
      matches: (s) => pattern.matches(s),
      exec: (s) => {
        const m = pattern.matcher(s);
        if (!m.matches()) return undefined;
        const groups: (string | undefined)[] = [];
        for (let i = 0; i <= groupCount; i++) groups.push(m.group(i) ?? undefined);
        return { groups, named };
      },
    };
    cache.set(re, compiled);
  }
  return compiled;
}
