import { test } from 'node:test';
import assert from 'node:assert/strict';
import { FLAG_NAMES, parseServeArgs, parseSidecarArgs, serveArgs, sidecarArgs } from '../../common/flags.ts';
import { parseSidecarCommand } from '../../sidecar/args.ts';

const base = ['--config-dir=/c', '--live-dir=/l', '--prometheus-url=http://localhost:9090'];

test('serve flags round-trip and default the port to 8080', () => {
  const flags = {
    topologyFile: '/t.yaml',
    port: 9000,
    host: '0.0.0.0',
    heartbeatTokenFile: '/tok',
    readTokenFile: '/read-tok',
    operatorTokenFile: '/operator-tok',
    registrationTtlMs: 60000,
    pollIntervalMs: 500,
    profile: 'local' as const,
    outboxDir: '/var/lib/fedstack/outbox',
    secretsDir: '/etc/fedstack/secrets',
    dingtalkWindowMs: 60000,
    centralUrl: 'http://central-a:9090,http://central-b:9090',
    bridgeReplicas: 2,
    dataDir: '/var/lib/fedstack/rollouts',
    rolloutTickMs: 500,
  };
  assert.deepEqual(parseServeArgs(serveArgs(flags)), flags);
  assert.deepEqual(parseServeArgs([]), { port: 8080 });
  assert.equal(serveArgs(flags).length, FLAG_NAMES.serve.length, 'every serve flag is written');
});

const badServe: [string, string[], RegExp][] = [
  ['a port out of range', ['--port=70000'], /--port: invalid value "70000"/],
  ['an unknown profile', ['--profile=docker'], /--profile: must be one of kubernetes, local, got "docker"/],
  ['an unknown flag', ['--prot=1'], /Unknown option '--prot'/],
  ['an outbox without secrets', ['--outbox-dir=/o'], /--outbox-dir and --secrets-dir go together/],
  ['a DingTalk window under 100 ms', ['--dingtalk-window-ms=5'], /--dingtalk-window-ms: invalid value "5"/],
];
for (const [what, argv, error] of badServe) {
  test(`serve refuses ${what}`, () => assert.throws(() => parseServeArgs(argv), error));
}

test('sidecar flags parse durations and the Prometheus credentials', () => {
  const argv = [
    ...base,
    '--interval=2m',
    '--prometheus-username=federate',
    '--prometheus-password-file=/pw',
    '--prometheus-insecure-skip-verify',
    '--metrics-port=8081',
  ];
  const o = parseSidecarCommand(argv);
  assert.equal(o.interval, 120_000);
  assert.equal(o.metricsPort, 8081);
  assert.equal(o.once, false);
  assert.deepEqual(o.prometheusAuth, { username: 'federate', passwordFile: '/pw' });
  assert.deepEqual(o.prometheusTls, {
    caFile: undefined,
    certFile: undefined,
    keyFile: undefined,
    insecureSkipVerify: true,
  });
  const flags = parseSidecarArgs(argv);
  assert.deepEqual(parseSidecarArgs(sidecarArgs(flags)), flags);
});

const badSidecar: [string, string[], RegExp][] = [
  ['a missing config dir', ['--live-dir=/l', '--prometheus-url=x'], /--config-dir: is required/],
  ['half the heartbeat settings', [...base, '--meta-cluster=mc-1'], /give all four \(heartbeats\) or none/],
  [
    'a client certificate without its key',
    [...base, '--prometheus-cert-file=/c'],
    /--prometheus-cert-file and --prometheus-key-file: give both or neither/,
  ],
  ['a username without a password file', [...base, '--prometheus-username=u'], /give both or neither/],
  [
    'a pulled instance that names no tier',
    [...base, '--instance=mc-1', '--service-url=http://s', '--token-file=/t', '--read-token-file=/r'],
    /--instance: want <tier>\/<name>/,
  ],
  [
    'a pulled instance without the read token',
    [...base, '--instance=edge/mc-1', '--service-url=http://s', '--token-file=/t'],
    /--instance: pulling the config needs --service-url, --token-file and --read-token-file/,
  ],
  ['a bad interval', [...base, '--interval=soon'], /--interval: invalid duration "soon"/],
  [
    'a zero interval (a timer loop)',
    [...base, '--interval=0s'],
    /--interval: duration "0s" out of range \(want 1ms to 596h\)/,
  ],
  [
    'an interval past what a timer holds',
    [...base, '--interval=99999999999m'],
    /--interval: duration "99999999999m" out of range/,
  ],
  ['a bad metrics port', [...base, '--metrics-port=-1'], /--metrics-port: invalid port "-1"/],
];
for (const [what, argv, error] of badSidecar) {
  test(`sidecar refuses ${what}`, () => assert.throws(() => parseSidecarArgs(argv), error));
}
