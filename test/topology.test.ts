import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { defaultTopologyText } from '../examples/index.ts';
import { metaClusters } from '../topology/model.ts';
import { parseTopology } from '../topology/load.ts';
import { parseSelector, selectorMatches, SelectorError } from '../topology/selector.ts';
import { formatDuration, parseDuration } from '../common/duration.ts';
import { actualErrors, badFixtures } from './bad-fixtures.ts';

describe('bad topology fixtures', () => {
  const fixtures = badFixtures();

  it('there are at least 25, each saying why it is bad', () => {
    assert.ok(fixtures.length >= 25, `only ${fixtures.length} fixtures`);
    for (const f of fixtures) assert.ok(f.why.length > 10, `${f.name} has no "# why:" line`);
  });

  for (const f of fixtures) {
    it(`${f.name} is refused with exactly its expected errors`, () => {
      assert.ok(f.expected.length > 0, `${f.name} lists no expected errors`);
      assert.deepEqual(actualErrors(f), f.expected);
    });
  }
});

describe('the embedded default topology', () => {
  const result = parseTopology(defaultTopologyText(), 'default.yaml');

  it('is valid', () => assert.ok(result.ok, JSON.stringify(!result.ok && result.errors)));

  it('has at least 3 big regions, 6 regions and 12 meta-clusters', () => {
    assert.ok(result.ok);
    const t = result.topology;
    assert.ok(t.bigRegions.length >= 3);
    assert.ok(t.bigRegions.flatMap((b) => b.regions).length >= 6);
    assert.ok(metaClusters(t).length >= 12);
  });

  it('is frozen: generators cannot change the model', () => {
    assert.ok(result.ok);
    assert.throws(() => {
      (result.topology.bigRegions as unknown as unknown[]).push({});
    }, TypeError);
  });

  it('fills in fedstack defaults for omitted sections', () => {
    assert.ok(result.ok);
    assert.ok(
      result.topology.recordingRules.cascade.some(
        (r) => r.record === 'region:apiserver_request_errors:ratio_rate5m',
      ),
    );
    assert.ok(result.topology.dropLabels.includes('pod_template_hash'));
    assert.equal(result.topology.global.cascade.honorTimestamps, true);
  });
});

describe('series selectors', () => {
  const cases: [string, string, Record<string, string>, boolean][] = [
    ['a bare name matches only that name', 'up', {}, true],
    ['a bare name does not match another name', 'down', {}, false],
    ['a name regex is anchored', 'cluster:foo', {}, true],
    ['a label matcher must hold', 'up', { job: 'x' }, true],
  ];
  const sel = {
    'a bare name matches only that name': 'up',
    'a bare name does not match another name': 'up',
    'a name regex is anchored': '{__name__=~"cluster:.+"}',
    'a label matcher must hold': 'up{job="x",instance!~"10\\\\..*"}',
  } as Record<string, string>;
  for (const [name, metric, labels, want] of cases) {
    it(name, () => assert.equal(selectorMatches(parseSelector(sel[name]!), metric, labels), want));
  }

  it('a regex does not match a mere substring', () => {
    assert.equal(selectorMatches(parseSelector('{__name__=~"node_.+"}'), 'x_node_load1'), false);
  });

  it('single quotes, backticks and a trailing comma parse like Prometheus', () => {
    assert.equal(parseSelector("up{job='a',}").matchers.length, 2);
    assert.equal(parseSelector('up{job=`a\\b`}').matchers[1]!.value, 'a\\b');
  });

  for (const [text, offset] of [
    ['up{', 3],
    ['{job="a"', 8],
    ['up{job="a" x="b"}', 11],
    ['9up', 0],
    ['up{__name__="x"}', 3],
  ] as const) {
    it(`${JSON.stringify(text)} is refused at character ${offset + 1}`, () => {
      assert.throws(
        () => parseSelector(text),
        (e: unknown) => e instanceof SelectorError && e.offset === offset,
      );
    });
  }
});

describe('durations', () => {
  for (const [text, ms] of [
    ['30s', 30_000],
    ['1m30s', 90_000],
    ['2d', 172_800_000],
    ['500ms', 500],
  ] as const) {
    it(`${text} is ${ms} ms and formats back`, () => {
      assert.equal(parseDuration(text), ms);
      assert.equal(formatDuration(ms), text);
    });
  }
  it('refuses garbage', () => assert.throws(() => parseDuration('5 minutes')));
});
