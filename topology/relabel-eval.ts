/**
 * Runs Prometheus relabel configs on one label set, as Prometheus 2.42 does
 * (model/relabel: Process), with RE2 regexes (re2.ts). `explain` uses it to show what each
 * rule does to a series, by running the very configs fedstack renders; tests use it to check
 * the compiler against the typed rules' meaning, and the live tests check both against
 * Prometheus itself.
 */
import { createHash } from 'node:crypto';
import type { RelabelConfig } from '../common/prometheus.ts';
import { LABEL_NAME_RE } from './names.ts';
import { re2, type Re2 } from './re2.ts';

export type Labels = Readonly<Record<string, string>>;

/** The labels after `configs`, or undefined when a config drops the series. Empty values are absent. */
export function applyRelabel(
  labels: Labels,
  configs: readonly RelabelConfig[],
): Record<string, string> | undefined {
  const lb: Record<string, string> = {};
  for (const [k, v] of Object.entries(labels)) if (v !== '') lb[k] = v;
  for (const c of configs) if (!relabelOne(c, lb)) return undefined;
  return lb;
}

const set = (lb: Record<string, string>, name: string, value: string) => {
  if (value === '') delete lb[name];
  else lb[name] = value;
};

/** Go's Regexp.Expand: `$1`, `${1}`, `$name`, `${name}`, `$$`; an unknown group expands to nothing. */
function expand(template: string, m: NonNullable<ReturnType<Re2['exec']>>): string {
  return template.replace(/\$(?:\$|\{(\w+)\}|(\w+))/g, (whole, braced?: string, bare?: string) => {
    if (whole === '$$') return '$';
    const name = (braced ?? bare)!;
    const index = /^\d+$/.test(name) ? Number(name) : m.named[name];
    return index === undefined ? '' : (m.groups[index] ?? '');
  });
}

function relabelOne(c: RelabelConfig, lb: Record<string, string>): boolean {
  const action = (c.action ?? 'replace').toLowerCase();
  const regex = re2(c.regex ?? '(.*)');
  const val = (c.source_labels ?? []).map((l) => lb[l] ?? '').join(c.separator ?? ';');
  switch (action) {
    case 'drop':
      return !regex.matches(val);
    case 'keep':
      return regex.matches(val);
    case 'dropequal':
      return (lb[c.target_label!] ?? '') !== val;
    case 'keepequal':
      return (lb[c.target_label!] ?? '') === val;
    case 'replace': {
      const m = regex.exec(val);
      if (m === undefined) return true;
      const target = expand(c.target_label!, m);
      if (!LABEL_NAME_RE.test(target)) return true;
      set(lb, target, expand(c.replacement ?? '$1', m));
      return true;
    }
    case 'lowercase':
      set(lb, c.target_label!, val.toLowerCase());
      return true;
    case 'uppercase':
      set(lb, c.target_label!, val.toUpperCase());
      return true;
    case 'hashmod': {
      const hash = createHash('md5').update(val).digest();
      set(lb, c.target_label!, String(hash.readBigUInt64BE(8) % BigInt(c.modulus!)));
      return true;
    }
    case 'labelmap':
      for (const [name, value] of Object.entries(lb)) {
        const m = regex.exec(name);
        if (m !== undefined) set(lb, expand(c.replacement ?? '$1', m), value);
      }
      return true;
    case 'labeldrop':
    case 'labelkeep':
      for (const name of Object.keys(lb))
        if (regex.matches(name) === (action === 'labeldrop')) delete lb[name];
      return true;
    default:
      throw new Error(`unknown relabel action ${JSON.stringify(c.action)}`);
  }
}
