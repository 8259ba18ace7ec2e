/** PromQL syntax check (lezer-promql): the offset of the first error, or -1. Semantics are promtool's job. */
import { parser as promqlParser } from '@prometheus-io/lezer-promql';

export function promqlSyntaxError(expr: string): number {
  let at = -1;
  promqlParser.parse(expr).iterate({
    enter: (n) => {
      if (at >= 0) return false;
      if (n.type.isError) at = n.from;
      return undefined;
    },
  });
  return at;
}

/** `invalid PromQL at character N (near "...")`, or undefined when the expression parses. */
export function promqlSyntaxMessage(expr: string): string | undefined {
  const at = promqlSyntaxError(expr);
  if (at < 0) return undefined;
  const near = expr.slice(at, at + 20);
  return `invalid PromQL at character ${at + 1}${near ? ` (near ${JSON.stringify(near)})` : ' (unexpected end)'}`;
}
