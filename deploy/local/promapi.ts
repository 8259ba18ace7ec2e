/**
 * The few Prometheus / Alertmanager HTTP API calls the local stack's summary and the tests need
 * (Prometheus /api/v1, Alertmanager /api/v2). Errors name the server and the query. A protected
 * Prometheus (edge, cascade) is asked with the stack's credentials (`creds`).
 */
import { httpGet, type ClientCredentials } from './http.ts';

export interface PromSample {
  readonly metric: Readonly<Record<string, string>>;
  readonly value: number;
  /** Unix seconds of the evaluation. */
  readonly timestamp: number;
}

interface ApiAnswer<T> {
  status: 'success' | 'error';
  data?: T;
  errorType?: string;
  error?: string;
}

async function getJson<T>(url: string, what: string, creds?: ClientCredentials): Promise<T> {
  const res = await httpGet(url, creds);
  const text = res.text;
  let body: ApiAnswer<T>;
  try {
    body = JSON.parse(text) as ApiAnswer<T>;
  } catch {
    throw new Error(`${what}: HTTP ${res.status}, not JSON: ${text.slice(0, 200)}`);
  }
  if (res.status !== 200 || body.status !== 'success' || body.data === undefined) {
    throw new Error(`${what}: HTTP ${res.status} ${body.errorType ?? ''} ${body.error ?? ''}`.trim());
  }
  return body.data;
}

/** Instant query (/api/v1/query). A scalar comes back as one sample without labels. */
export async function promQuery(
  baseUrl: string,
  expr: string,
  creds?: ClientCredentials,
): Promise<PromSample[]> {
  const what = `query ${JSON.stringify(expr)} at ${baseUrl}`;
  const data = await getJson<{ resultType: string; result: unknown }>(
    `${baseUrl}/api/v1/query?query=${encodeURIComponent(expr)}`,
    what,
    creds,
  );
  if (data.resultType === 'vector') {
    return (data.result as { metric: Record<string, string>; value: [number, string] }[]).map((r) => ({
      metric: r.metric,
      timestamp: r.value[0],
      value: Number(r.value[1]),
    }));
  }
  if (data.resultType === 'scalar') {
    const [timestamp, v] = data.result as [number, string];
    return [{ metric: {}, timestamp, value: Number(v) }];
  }
  throw new Error(`${what}: result type ${JSON.stringify(data.resultType)}, want an instant vector`);
}

export interface PromTarget {
  readonly scrapePool: string;
  readonly scrapeUrl: string;
  readonly health: 'up' | 'down' | 'unknown';
  readonly labels: Readonly<Record<string, string>>;
  readonly lastError: string;
}

export async function promTargets(baseUrl: string, creds?: ClientCredentials): Promise<PromTarget[]> {
  const data = await getJson<{ activeTargets: PromTarget[] }>(
    `${baseUrl}/api/v1/targets?state=active`,
    `targets of ${baseUrl}`,
    creds,
  );
  return data.activeTargets;
}

export interface PromAlert {
  readonly labels: Readonly<Record<string, string>>;
  readonly state: 'pending' | 'firing';
  readonly activeAt: string;
}

/** Alerts a Prometheus currently evaluates as pending or firing (/api/v1/alerts). */
export async function promAlerts(baseUrl: string): Promise<PromAlert[]> {
  const data = await getJson<{ alerts: PromAlert[] }>(`${baseUrl}/api/v1/alerts`, `alerts of ${baseUrl}`);
  return data.alerts;
}

/** Number of series in the head block (what the tier holds now). */
/** Head series of a Prometheus, or the series VictoriaMetrics holds (its `totalSeries`). */
export async function promHeadSeries(baseUrl: string, creds?: ClientCredentials): Promise<number> {
  const data = await getJson<{ headStats?: { numSeries: number }; totalSeries?: number }>(
    `${baseUrl}/api/v1/status/tsdb`,
    `tsdb status of ${baseUrl}`,
    creds,
  );
  const n = data.headStats?.numSeries ?? data.totalSeries;
  if (n === undefined) throw new Error(`tsdb status of ${baseUrl}: no series count in the answer`);
  return n;
}

export interface AmAlert {
  readonly labels: Readonly<Record<string, string>>;
  readonly status: { readonly state: string };
}

/** Alerts an Alertmanager holds (/api/v2/alerts). */
export async function amAlerts(baseUrl: string): Promise<AmAlert[]> {
  const res = await fetch(`${baseUrl}/api/v2/alerts`, { signal: AbortSignal.timeout(10_000) });
  if (!res.ok) throw new Error(`alerts of ${baseUrl}: HTTP ${res.status}`);
  return (await res.json()) as AmAlert[];
}

/** Members of an Alertmanager's gossip cluster as it sees them (/api/v2/status). */
export async function amPeers(baseUrl: string): Promise<string[]> {
  const res = await fetch(`${baseUrl}/api/v2/status`, { signal: AbortSignal.timeout(10_000) });
  if (!res.ok) throw new Error(`status of ${baseUrl}: HTTP ${res.status}`);
  const body = (await res.json()) as { cluster?: { peers?: { address: string }[] } };
  return (body.cluster?.peers ?? []).map((p) => p.address);
}
