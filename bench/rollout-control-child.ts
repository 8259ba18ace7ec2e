/**
 * The fedstack service with staged rollouts, alone in its process, so that its CPU time
 * (/proc/<pid>/stat) is the control plane's and nothing else's. Argument: JSON
 * {topologyFile, dataDir, tokenFile}. Prints its URL, runs until killed.
 */
import pino from 'pino';
import { startServer } from '../server/main.ts';

const args = JSON.parse(process.argv[2]!) as { topologyFile: string; dataDir: string; tokenFile: string };
const server = await startServer({
  topologyFile: args.topologyFile,
  port: 0,
  profile: 'kubernetes',
  logger: pino({ level: 'silent' }),
  // One token for every role: the bench plays the sidecars, the readers and the operator.
  heartbeatTokenFile: args.tokenFile,
  readTokenFile: args.tokenFile,
  operatorTokenFile: args.tokenFile,
  dataDir: args.dataDir,
  rolloutTickMs: 100,
});
process.stdout.write(`${server.url}\n`);
process.on('SIGTERM', () => void server.close().then(() => process.exit(0)));
