// @ts-check
/** The console's JSON API (console/router.ts), relative to the page so a path prefix works. */

/** @typedef {import('../types.ts').ApiError} ApiError */

export class ApiFailure extends Error {
  /**
   * @param {number} status
   * @param {string} reason
   */
  constructor(status, reason) {
    super(reason);
    this.status = status;
  }
}

/**
 * @param {Response} res
 * @returns {Promise<never>}
 */
async function fail(res) {
  let reason = `HTTP ${res.status}`;
  try {
    const body = /** @type {ApiError} */ (await res.json());
    if (typeof body.reason === 'string') reason = `${body.error}: ${body.reason}`;
  } catch {
    // not JSON: the status says enough
  }
  throw new ApiFailure(res.status, reason);
}

/**
 * GET console/api/<path> as JSON.
 * @template T
 * @param {string} path
 * @param {AbortSignal} [signal]
 * @returns {Promise<T>}
 */
export async function getJson(path, signal) {
  const res = await fetch(`console/api/${path}`, { headers: { Accept: 'application/json' }, signal });
  if (!res.ok) return fail(res);
  return /** @type {Promise<T>} */ (res.json());
}

/**
 * POST an action with the operator's bearer token.
 * @param {string} path
 * @param {string} token
 * @returns {Promise<unknown>}
 */
export async function postAction(path, token) {
  /** @type {Record<string, string>} */
  const headers = { Accept: 'application/json' };
  if (token !== '') headers.Authorization = `Bearer ${token}`;
  const res = await fetch(`console/api/${path}`, { method: 'POST', headers });
  if (!res.ok) return fail(res);
  return res.json();
}
