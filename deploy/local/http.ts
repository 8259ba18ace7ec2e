/**
 * GET (and POST) for the local stack's own calls (summary, waits, tests), also to the protected edges and
 * cascades: HTTPS against the stack's CA, with basic auth and, under mutual TLS, the client
 * certificate. Node's fetch cannot take a CA, hence node:https.
 */
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';

/** How to reach a protected Prometheus; values are read by whoever builds it, at that moment. */
export interface ClientCredentials {
  readonly ca?: string;
  readonly cert?: string;
  readonly key?: string;
  /** TLS name to verify, when the certificate names something else than the address. */
  readonly serverName?: string;
  readonly basicAuth?: { readonly username: string; readonly password: string };
}

export interface HttpAnswer {
  readonly status: number;
  readonly text: string;
}

export function httpGet(
  url: string,
  creds: ClientCredentials | undefined,
  timeoutMs = 10_000,
): Promise<HttpAnswer> {
  return httpCall('GET', url, creds, timeoutMs);
}

/** GET, or a body-less POST (a Prometheus' /-/reload), with the stack's credentials. */
export function httpCall(
  method: 'GET' | 'POST',
  url: string,
  creds: ClientCredentials | undefined,
  timeoutMs = 10_000,
): Promise<HttpAnswer> {
  const u = new URL(url);
  const headers: Record<string, string> = {};
  if (creds?.basicAuth)
    headers.Authorization = `Basic ${Buffer.from(`${creds.basicAuth.username}:${creds.basicAuth.password}`).toString('base64')}`;
  return new Promise((resolve, reject) => {
    const onAnswer = (res: import('node:http').IncomingMessage) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () =>
        resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8') }),
      );
      res.on('error', reject);
    };
    const req =
      u.protocol === 'https:'
        ? httpsRequest(
            u,
            { method, headers, ca: creds?.ca, cert: creds?.cert, key: creds?.key, servername: creds?.serverName },
            onAnswer,
          )
        : httpRequest(u, { method, headers }, onAnswer);
    req.setTimeout(timeoutMs, () =>
      req.destroy(new Error(`${method} ${u.origin}${u.pathname}: no answer in ${timeoutMs} ms`)),
    );
    req.on('error', reject);
    req.end();
  });
}
