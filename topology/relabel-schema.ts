/**
 * The shape of a `relabel` section (top level, and per big region, region and meta-cluster):
 * per federation hop (`cascade`: what a cascade federates from its edges; `central`: what
 * central federates from the cascades) an ordered list of typed rules, each a one-key mapping:
 *
 *   - rename: { from: cluster, to: cluster_id }
 *   - set:    { label: env, value: prod }
 *   - map:    { label: az, to: zone, values: { cn-hangzhou-h: hz-h }, default: other }
 *   - derive: { from: meta_cluster, regex: 'mc-(prod|dev)-.*', to: env }
 *   - drop:   { labels: [pod_ip] }            drop: { series: '{__name__=~"go_.+"}' }
 *   - keep:   { series: '{__name__=~"cluster:.+|up"}' }
 *   - relabelConfigs: [ <Prometheus relabel_config>, ... ]   (the raw escape hatch)
 *
 * Shape only, as the rest of the schema: what needs the topology (reserved labels, collisions,
 * map coverage, scopes) is checked in relabel-check.ts.
 */
import { z } from 'zod';
import { LABEL_NAME_RE } from './names.ts';
import { re2Problem } from './re2.ts';

/** A label a rule writes: a valid name, not one of Prometheus' own (`__`). */
const writtenLabel = z.string().superRefine((s, ctx) => {
  if (!LABEL_NAME_RE.test(s))
    ctx.addIssue({ code: 'custom', message: `invalid label name ${JSON.stringify(s)}` });
  else if (s.startsWith('__'))
    ctx.addIssue({
      code: 'custom',
      message: `label ${JSON.stringify(s)}: names starting with "__" are reserved by Prometheus`,
    });
});
/** A label a rule reads: any valid name, `__name__` (the metric name) included. */
const readLabel = z.string().refine((s) => LABEL_NAME_RE.test(s), {
  error: (iss) => `invalid label name ${JSON.stringify(iss.input)}`,
});
const regex = z.string().superRefine((s, ctx) => {
  const problem = re2Problem(s);
  if (problem !== undefined)
    ctx.addIssue({ code: 'custom', message: `invalid regex ${JSON.stringify(s)}: ${problem}` });
});

/**
 * What a rule does when the series already has the label it writes:
 * overwrite (default) — the rule's value wins;
 * export — the series' value is kept as `exported_<label>` (what Prometheus does with
 *   honor_labels: false; Thanos #8130 asks the same for external labels);
 * keep — the series' value wins: the rule labels the federation target (relabel_configs),
 *   and honor_labels lets a series' own label beat a target label. Only for rules that read
 *   nothing but target labels.
 */
export const ON_CONFLICT = ['overwrite', 'export', 'keep'] as const;
export type OnConflict = (typeof ON_CONFLICT)[number];
const onConflict = z.enum(ON_CONFLICT).optional();

const renameSchema = z.strictObject({ from: writtenLabel, to: writtenLabel, onConflict });
const setSchema = z.strictObject({
  label: writtenLabel,
  value: z.string().min(1),
  onConflict,
});
const mapSchema = z.strictObject({
  /** The label whose values are mapped. */
  label: readLabel,
  /** Where the mapped value goes (default: `label` itself, in place). */
  to: writtenLabel.optional(),
  values: z
    .record(z.string(), z.string().min(1))
    .refine((v) => Object.keys(v).length > 0, { error: 'must map at least one value' }),
  /** The value of every other non-empty `label` value. */
  default: z.string().min(1).optional(),
  /** Every other value passes through unchanged (copied to `to`). */
  keepUnmapped: z.boolean().optional(),
  onConflict,
});
const deriveSchema = z.strictObject({
  from: readLabel,
  regex,
  to: writtenLabel,
  /** `$1`, `${name}` refer to the regex's groups (Prometheus' replacement syntax). Default `$1`. */
  replacement: z.string().default('$1'),
  onConflict,
});
const seriesSelector = z.string().min(1);
const dropSchema = z.strictObject({
  labels: z.array(writtenLabel).min(1).optional(),
  series: seriesSelector.optional(),
});
const keepSchema = z.strictObject({ series: seriesSelector });

/** Prometheus 2.42's relabel actions (model/relabel: UnmarshalYAML lower-cases the name). */
export const RELABEL_ACTIONS = [
  'replace',
  'keep',
  'drop',
  'keepequal',
  'dropequal',
  'hashmod',
  'labelmap',
  'labeldrop',
  'labelkeep',
  'lowercase',
  'uppercase',
] as const;

/** One raw `relabel_config`, keys as Prometheus spells them; relabel-check.ts applies Prometheus' own validation. */
export const rawRelabelConfigSchema = z.strictObject({
  source_labels: z.array(readLabel).optional(),
  separator: z.string().optional(),
  regex: regex.optional(),
  modulus: z.number().int().min(0).max(Number.MAX_SAFE_INTEGER).optional(),
  target_label: z.string().optional(),
  replacement: z.string().optional(),
  action: z.string().optional(),
});

export const relabelRuleSchema = z.strictObject({
  rename: renameSchema.optional(),
  set: setSchema.optional(),
  map: mapSchema.optional(),
  derive: deriveSchema.optional(),
  drop: dropSchema.optional(),
  keep: keepSchema.optional(),
  relabelConfigs: z.array(rawRelabelConfigSchema).min(1).optional(),
});

/** Per federation hop, the rules in the order they apply. */
export const relabelSectionSchema = z.strictObject({
  cascade: z.array(relabelRuleSchema).optional(),
  central: z.array(relabelRuleSchema).optional(),
});

export type RelabelRuleShape = z.output<typeof relabelRuleSchema>;
export type RawRelabelConfigShape = z.output<typeof rawRelabelConfigSchema>;
