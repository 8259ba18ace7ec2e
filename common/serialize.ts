/**
 * The one place fedstack turns objects into text. Deterministic: same object, same bytes.
 * YAML with no line folding, undefined dropped, Kubernetes keys (apiVersion, kind, metadata)
 * first, and a generated-code header.
 */
import YAML from 'yaml';
import { GENERATED_HEADER } from './conventions.ts';

const K8S_HEAD = ['apiVersion', 'kind', 'metadata'];

/** Drops undefined values (recursively) and puts Kubernetes head keys first. */
export function normalize(value: unknown): unknown {
  if (Array.isArray(value)) return value.filter((v) => v !== undefined).map(normalize);
  if (value !== null && typeof value === 'object') {
    const obj = value as Record<string, unknown>;
    const keys = Object.keys(obj).filter((k) => obj[k] !== undefined);
    const head = K8S_HEAD.filter((k) => keys.includes(k));
    const ordered = [...head, ...keys.filter((k) => !K8S_HEAD.includes(k))];
    const out: Record<string, unknown> = {};
    for (const k of ordered) out[k] = normalize(obj[k]);
    return out;
  }
  return value;
}

const YAML_OPTIONS = { lineWidth: 0, minContentWidth: 0, indentSeq: true } as const;

/** One YAML document with the generated-code header. */
export function toYaml(value: unknown, opts: { header?: boolean } = {}): string {
  const body = YAML.stringify(normalize(value), YAML_OPTIONS);
  return opts.header === false ? body : `${GENERATED_HEADER}\n${body}`;
}

/** Several YAML documents (e.g. Kubernetes manifests) separated by `---`, one header on top. */
export function toYamlStream(values: readonly unknown[]): string {
  const docs = values.map((v) => YAML.stringify(normalize(v), YAML_OPTIONS));
  return `${GENERATED_HEADER}\n${docs.join('---\n')}`;
}

/** JSON, two-space indented, trailing newline (dashboards, http_sd answers in goldens). */
export function toJson(value: unknown): string {
  return `${JSON.stringify(normalize(value), null, 2)}\n`;
}
