/**
 * Live edge registrations: what each meta-cluster's sidecar last reported. In memory on
 * purpose: a registration is only worth its TTL, and a restarted service learns them all again
 * within one heartbeat interval, so there is nothing worth persisting.
 */

export interface Registration {
  /** The LoadBalancer address (host:port) the edge is federated through. */
  readonly endpoint: string;
  /** The sidecar's version string. */
  readonly version: string;
  /** Hash of the config the edge Prometheus last loaded (lets the service spot stale edges). */
  readonly configHash: string;
  /** When the heartbeat arrived, ms since the epoch (the app's now()). */
  readonly receivedAt: number;
}

export class RegistrationStore {
  readonly #ttlMs: number;
  readonly #byMetaCluster = new Map<string, Registration>();

  constructor(opts: { ttlMs: number }) {
    if (!(opts.ttlMs > 0)) throw new Error(`ttlMs: must be positive, got ${opts.ttlMs}`);
    this.#ttlMs = opts.ttlMs;
  }

  get ttlMs(): number {
    return this.#ttlMs;
  }

  record(metaCluster: string, registration: Registration): void {
    this.#byMetaCluster.set(metaCluster, registration);
  }

  /** Registrations younger than the TTL at `nowMs`; expired ones are dropped for good. */
  live(nowMs: number): ReadonlyMap<string, Registration> {
    for (const [name, reg] of this.#byMetaCluster) {
      if (nowMs - reg.receivedAt >= this.#ttlMs) this.#byMetaCluster.delete(name);
    }
    return new Map(this.#byMetaCluster);
  }
}
