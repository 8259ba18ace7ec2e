/** The bridge's outbound HTTP, as a parameter so tests and the signing code can see every request. */

export interface HttpRequest {
  readonly url: string;
  readonly method: 'POST';
  readonly headers: Readonly<Record<string, string>>;
  readonly body: string;
  readonly timeoutMs: number;
}

export interface HttpResponse {
  readonly status: number;
  readonly body: string;
}

export type HttpClient = (req: HttpRequest) => Promise<HttpResponse>;

/** Node's fetch; network errors and timeouts reject (the caller retries them). */
export const fetchHttpClient: HttpClient = async (req) => {
  const res = await fetch(req.url, {
    method: req.method,
    headers: req.headers,
    body: req.body,
    signal: AbortSignal.timeout(req.timeoutMs),
  });
  return { status: res.status, body: await res.text() };
};
