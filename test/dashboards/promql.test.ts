import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  metricNames,
  parsePromQL,
  parseSeriesSelector,
  selectorMatches,
  selectorsOverlap,
  seriesSelector,
  literalSelector,
  formatSelector,
} from '../../topology/promql.ts';

test('metric names come from every vector selector, in functions, aggregations and binary operations', () => {
  assert.deepEqual(
    metricNames('sum by (a) (rate(foo_total{a="b"}[5m])) / on (a) group_left bar or vector(0) unless absent(baz) > time()'),
    ['bar', 'baz', 'foo_total'],
  );
  assert.deepEqual(metricNames('histogram_quantile(0.99, sum by (le) (rate(x_bucket[5m])))'), ['x_bucket']);
  assert.deepEqual(metricNames('time() - fedstack:heartbeat:timestamp_seconds'), ['fedstack:heartbeat:timestamp_seconds']);
  assert.deepEqual(metricNames('max_over_time(foo[1h:5m]) offset 1d'), ['foo']);
});

const selectorCases: Array<[string, string, string | undefined, Array<[string, string, string]>]> = [
  ['a bare name pins the metric name', 'up', 'up', [['__name__', '=', 'up']]],
  ['a name with matchers keeps each matcher', 'up{job="a",x!~"b|c"}', 'up', [['__name__', '=', 'up'], ['job', '=', 'a'], ['x', '!~', 'b|c']]],
  ['a __name__ equality is a literal name', '{__name__="up", job="a"}', 'up', [['__name__', '=', 'up'], ['job', '=', 'a']]],
  ['a __name__ regex leaves the name open', '{__name__=~"a:.+|b"}', undefined, [['__name__', '=~', 'a:.+|b']]],
  ['escapes in values are decoded', 'x{a="q\\"uote\\\\"}', 'x', [['__name__', '=', 'x'], ['a', '=', 'q"uote\\']]],
];
for (const [name, text, metric, matchers] of selectorCases) {
  test(`series selectors: ${name}`, () => {
    const r = parseSeriesSelector(text);
    assert.ok(r.ok, text);
    assert.equal(r.selector.metricName, metric);
    assert.deepEqual(r.selector.matchers.map((m) => [m.name, m.type, m.value]), matchers);
  });
}

test('an expression that is not a lone selector, or one that matches everything, is not a series selector', () => {
  assert.equal(parseSeriesSelector('sum(up)').ok, false);
  assert.equal(parseSeriesSelector('up or down').ok, false);
  assert.equal(parseSeriesSelector('{job=~".*"}').ok, false);
  assert.equal(parseSeriesSelector('up{').ok, false);
});

test('syntax errors carry the offset of the first bad token', () => {
  const r = parsePromQL('sum(rate(foo[5m])');
  assert.equal(r.ok, false);
  assert.ok(!r.ok && r.error.offset >= 0 && /character/.test(r.error.message));
  assert.equal(parsePromQL('').ok, false);
});

test('name regexes are anchored like RE2 in Prometheus', () => {
  const sel = seriesSelector('{__name__=~"cluster:.+|meta_cluster:.+"}');
  assert.ok(selectorMatches(sel, { __name__: 'cluster:a:b' }));
  assert.ok(selectorMatches(sel, { __name__: 'meta_cluster:x' }));
  assert.ok(!selectorMatches(sel, { __name__: 'big_region:cluster:x' }));
  assert.ok(!selectorMatches(seriesSelector('{__name__=~"up"}'), { __name__: 'upx' }));
});

const overlapCases: Array<[string, string, string, boolean]> = [
  ['a job-pinned entry keeps the same job', '{__name__=~"up|scrape_duration_seconds",job="fed"}', 'up{job="fed", region=~".*"}', true],
  ['a job-pinned entry does not keep another job', '{__name__=~"up|scrape_duration_seconds",job="fed"}', 'up{job="apiserver"}', false],
  ['a job-pinned entry keeps a query that does not care about job', '{__name__=~"up",job="fed"}', 'up', true],
  ['a regex on the query side is evaluated against the pinned value', '{__name__=~"up",job="fed"}', 'up{job=~"f.*"}', true],
  ['a negative matcher excludes the pinned value', 'up{job="fed"}', 'up{job!="fed"}', false],
  ['different names never overlap', 'foo', 'bar', false],
  ['two regexes on one label are assumed to overlap', 'x{a=~"p.*"}', 'x{a=~"q.*"}', true],
];
for (const [name, a, b, want] of overlapCases) {
  test(`selector overlap: ${name}`, () => {
    assert.equal(selectorsOverlap(seriesSelector(a), seriesSelector(b)), want);
    assert.equal(selectorsOverlap(seriesSelector(b), seriesSelector(a)), want);
  });
}

test('literal selectors format back to PromQL that parses to the same matchers', () => {
  const sel = literalSelector('cluster:x:y', { cluster_id: 'c"1', region: 'r' });
  assert.equal(sel.text, 'cluster:x:y{cluster_id="c\\"1", region="r"}');
  assert.deepEqual(seriesSelector(formatSelector(sel.matchers)).matchers, sel.matchers);
});
