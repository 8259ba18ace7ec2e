/**
 * The raw escape hatch `relabelConfigs:` is validated as Prometheus 2.42 validates a
 * relabel_config: for each config below, `fedstack validate` and `promtool check config` (with
 * the config as a metric_relabel_config) agree on whether it is valid.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { validateTopology } from '../../render/validate.ts';
import { formatError } from '../../topology/errors.ts';
import { checkPrometheusConfig } from '../support/promcheck.ts';
import { TOPOLOGY_HEAD } from './topology-head.ts';

const TOPOLOGY = (raw: string) => `
${TOPOLOGY_HEAD}bigRegions:
  - name: china
    cascade: { endpoint: c:9090 }
    regions: [{ name: r, metaClusters: [{ name: m, endpoint: e:9090 }] }]
relabel:
  cascade:
    - relabelConfigs: [${raw}]
`;

const PROMETHEUS = (raw: string) => `
scrape_configs:
  - job_name: j
    static_configs: [{ targets: ['127.0.0.1:9'] }]
    metric_relabel_configs: [${raw}]
`;

const CASES: [string, string][] = [
  ['a replace with the default action', `{ source_labels: [a], target_label: b }`],
  ['an action in capitals', `{ action: Replace, source_labels: [a], target_label: b }`],
  ['a misspelt action', `{ action: labeldorp, regex: a }`],
  ['hashmod without modulus', `{ action: hashmod, source_labels: [a], target_label: s }`],
  ['hashmod with modulus', `{ action: hashmod, source_labels: [a], target_label: s, modulus: 4 }`],
  ['replace without a target label', `{ action: replace, source_labels: [a] }`],
  ['a target label that is not a label name', `{ target_label: 'b-c' }`],
  ['a templated target label', `{ source_labels: [a], regex: '(.+)', target_label: '\${1}_x' }`],
  ['lowercase', `{ action: lowercase, source_labels: [a], target_label: b }`],
  [
    'lowercase with a replacement',
    `{ action: lowercase, source_labels: [a], target_label: b, replacement: x }`,
  ],
  ['keepequal', `{ action: keepequal, source_labels: [a], target_label: b }`],
  ['keepequal with a regex', `{ action: keepequal, source_labels: [a], target_label: b, regex: x }`],
  ['labeldrop', `{ action: labeldrop, regex: foo }`],
  ['labeldrop with source labels', `{ action: labeldrop, regex: foo, source_labels: [a] }`],
  ['labelmap', `{ action: labelmap, regex: 'x_(.+)', replacement: '$1' }`],
  [
    'labelmap to a name that is not a label name',
    `{ action: labelmap, regex: 'x_(.+)', replacement: 'a-$1' }`,
  ],
  ['a look-ahead', `{ source_labels: [a], regex: '(?!x).*', target_label: b }`],
  ['a case-insensitive flag', `{ source_labels: [a], regex: '(?i)foo', target_label: b }`],
  ['a (?P<name>) group', `{ source_labels: [a], regex: '(?P<n>x)', target_label: b, replacement: '\${n}' }`],
  [
    'a (?<name>) group, which Go 1.19 does not know',
    `{ source_labels: [a], regex: '(?<n>x)', target_label: b }`,
  ],
  ['a source label that is not a label name', `{ action: drop, source_labels: ['1a'] }`],
  ['keep by metric name', `{ action: keep, source_labels: [__name__], regex: 'up|node_.+' }`],
];

describe('raw relabelConfigs are valid exactly when Prometheus says so', () => {
  for (const [name, raw] of CASES) {
    it(name, async () => {
      const ours = validateTopology(TOPOLOGY(raw), 'topology.yaml');
      const theirs = await checkPrometheusConfig(PROMETHEUS(raw));
      const errors = ours.ok ? [] : ours.errors.map(formatError);
      assert.equal(
        ours.ok,
        theirs.ok,
        `fedstack: ${errors.join('; ') || 'valid'}\npromtool: ${theirs.output}`,
      );
      // Every refusal points into the raw config.
      for (const e of errors) assert.match(e, /relabel\.cascade\[0\]\.relabelConfigs\[0\]/);
    });
  }
});
