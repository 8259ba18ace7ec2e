/**
 * The fedstack service as `fedstack up` runs it: the server on the stack's port with the
 * stack's token files, and the alert bridge reading the receivers' Secrets the stack wrote (the
 * stand-ins accept them). Tokens are read from their files at each request, as in a pod, so a
 * rotation needs no restart here either. The JSON logs go to a file in the stack's dir, not
 * between the human lines of `up` (whose output says where the file is).
 */
import { join } from 'node:path';
import pino from 'pino';
import { parseDuration } from '../../common/duration.ts';
import { startServer } from '../../server/main.ts';
import { startStackSidecars } from './sidecars.ts';
import type { ServiceContext } from './stack.ts';

export async function startLocalService(
  ctx: ServiceContext,
): Promise<{ readonly url: string; stop(): Promise<void> }> {
  const logFile = join(ctx.bundleDir, '..', 'data', 'service.log');
  const destination = pino.destination({ dest: logFile, mkdir: true, sync: true });
  // Never a header or a token, should one be logged.
  const logger = pino({ level: 'info', redact: ['req.headers.authorization', 'token'] }, destination);
  const server = await startServer({
    topologyFile: ctx.topologyFile,
    port: ctx.port,
    profile: 'local',
    logger,
    heartbeatTokenFile: ctx.secrets.sidecarToken,
    readTokenFile: ctx.secrets.readToken,
    operatorTokenFile: ctx.secrets.operatorToken,
    bridge: { outboxDir: join(ctx.bundleDir, '..', 'bridge-outbox'), secretsDir: ctx.secrets.receivers },
    dataDir: join(ctx.bundleDir, '..', 'service-state'),
  });
  // Each Prometheus' config comes from the service through its sidecar, as in a cluster: what
  // lets `fedstack rollout` move them revision by revision.
  const sidecars = await startStackSidecars({
    plan: ctx.plan,
    bundleDir: ctx.bundleDir,
    serviceUrl: server.url,
    secrets: ctx.secrets,
    intervalMs: Math.min(5000, parseDuration(ctx.topology.global.edge.scrapeInterval)),
  }).catch(async (e: unknown) => {
    await server.close();
    throw e;
  });
  ctx.log(`fedstack up: the service and its alert bridge log to ${logFile}`);
  ctx.log(
    `fedstack up: the operator console is at ${server.url}/ (its buttons take the token in ${ctx.secrets.operatorToken})`,
  );
  ctx.log(rolloutHowTo(server.url, ctx.secrets.operatorToken, ctx.topologyFile));
  return {
    url: server.url,
    stop: async () => {
      await sidecars.stop();
      await server.close();
      destination.end();
    },
  };
}

/** What `fedstack up` prints so a good and a bad rollout can be tried on the running stack. */
function rolloutHowTo(url: string, tokenFile: string, topologyFile: string): string {
  return [
    'fedstack up: try a staged rollout (a sidecar next to every Prometheus pulls its config from the service):',
    `  export FEDSTACK_SERVICE_URL=${url} FEDSTACK_TOKEN_FILE=${tokenFile}`,
    `  cp ${topologyFile} new.yaml`,
    '  good: add an edge recording rule under recordingRules.edge in new.yaml, e.g.',
    "         - { record: 'meta_cluster:rollout_probe:count', expr: 'count(up)' }",
    '        then: fedstack rollout plan -t new.yaml && fedstack rollout start -t new.yaml --note "probe"',
    '        and watch: fedstack rollout status',
    `  bad:  change the expr of cluster:apiserver_request:rate5m to 'sum by (cluster_id, code) (rate(apiserver_request_total{code="none"}[5m]))'`,
    '        (promtool-valid, but central loses meta_cluster:apiserver_request:rate5m): the canary fails a gate and is rolled back',
    "  invalid: an edge rule with expr 'rate(up)' (promtool refuses it): the canary's sidecar reports it and the rollout rolls back",
  ].join('\n');
}
