/**
 * The floor under the rollout-control bench: a bare node:http server, alone in its process,
 * doing nothing but what any HTTP service must for the same requests: answer each GET with a
 * prebuilt body of the size the service sends, and parse each POST's JSON body and answer a small
 * JSON. No auth, routing, state, rendering or logging. Argument: JSON {bodyBytes}. Prints its
 * URL, runs until killed.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';

const { bodyBytes } = JSON.parse(process.argv[2]!) as { bodyBytes: number };
const body = Buffer.from(JSON.stringify({ files: { 'prometheus.yml': 'x'.repeat(Math.max(0, bodyBytes - 32)) } }));
const reply = Buffer.from('{"status":"recorded"}');
const server = createServer((req, res) => {
  if (req.method === 'GET') {
    res.writeHead(200, { 'Content-Type': 'application/json', 'Content-Length': body.length, ETag: '"floor"' });
    res.end(body);
    return;
  }
  const chunks: Buffer[] = [];
  req.on('data', (c: Buffer) => chunks.push(c));
  req.on('end', () => {
    JSON.parse(Buffer.concat(chunks).toString());
    res.writeHead(200, { 'Content-Type': 'application/json', 'Content-Length': reply.length });
    res.end(reply);
  });
});
server.listen(0, '127.0.0.1', () => {
  process.stdout.write(`http://127.0.0.1:${(server.address() as AddressInfo).port}\n`);
});
process.on('SIGTERM', () => server.close(() => process.exit(0)));
