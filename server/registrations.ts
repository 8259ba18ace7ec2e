/**
 * Live edge registrations: what each meta-cluster's sidecar last reported; and what the
 * sidecars of cascades and central replicas last reported (their version and config hash, for
 * the console's table of which config runs where). In memory on purpose: a registration is only
 * worth its TTL, and a restarted service learns them all again within one heartbeat interval,
 * so there is nothing worth persisting.
 */

/** What a cascade's or central replica's sidecar last said about itself. */
export type InstanceReport = Omit<Registration, 'endpoint'>;

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
  readonly #byInstance = new Map<string, InstanceReport>();
  /** Bumped whenever the set of live endpoints changes, so answers built from it can be cached. */
  #version = 0;

  constructor(opts: { ttlMs: number }) {
    if (!(opts.ttlMs > 0)) throw new Error(`ttlMs: must be positive, got ${opts.ttlMs}`);
    this.#ttlMs = opts.ttlMs;
  }

  get ttlMs(): number {
    return this.#ttlMs;
  }

  record(metaCluster: string, registration: Registration): void {
    if (this.#byMetaCluster.get(metaCluster)?.endpoint !== registration.endpoint) this.#version++;
    this.#byMetaCluster.set(metaCluster, registration);
  }

  /** A cascade's or central replica's report, by `<tier>/<name>`. */
  report(instance: string, report: InstanceReport): void {
    this.#byInstance.set(instance, report);
  }

  /** Reports younger than the TTL at `nowMs`, by `<tier>/<name>`. */
  reports(nowMs: number): ReadonlyMap<string, InstanceReport> {
    this.#expire(nowMs);
    return new Map(this.#byInstance);
  }

  /** Changes whenever live(nowMs) would answer with other endpoints than before. */
  version(nowMs: number): number {
    this.#expire(nowMs);
    return this.#version;
  }

  /** Registrations younger than the TTL at `nowMs`; expired ones are dropped for good. */
  live(nowMs: number): ReadonlyMap<string, Registration> {
    this.#expire(nowMs);
    return new Map(this.#byMetaCluster);
  }

  /** Drops what is older than the TTL; a dropped edge changes the live endpoints (version). */
  #expire(nowMs: number): void {
    for (const [name, reg] of this.#byMetaCluster) {
      if (nowMs - reg.receivedAt >= this.#ttlMs) {
        this.#byMetaCluster.delete(name);
        this.#version++;
      }
    }
    for (const [id, r] of this.#byInstance) if (nowMs - r.receivedAt >= this.#ttlMs) this.#byInstance.delete(id);
  }
}
