/**
 * The fedstack service as `fedstack up` runs it: the server on the stack's port with the
 * stack's token files, and the alert bridge reading the receivers' Secrets the stack wrote (the
 * stand-ins accept them). Tokens are read from their files at each request, as in a pod, so a
 * rotation needs no restart here either. The JSON logs go to a file in the stack's dir, not
 * between the human lines of `up` (whose output says where the file is).
 */
import { join } from 'node:path';
import pino from 'pino';
import { startServer } from '../../server/main.ts';
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
  });
  ctx.log(`fedstack up: the service and its alert bridge log to ${logFile}`);
  ctx.log(
    `fedstack up: the operator console is at ${server.url}/ (its buttons take the token in ${ctx.secrets.operatorToken})`,
  );
  return {
    url: server.url,
    stop: async () => {
      await server.close();
      destination.end();
    },
  };
}
