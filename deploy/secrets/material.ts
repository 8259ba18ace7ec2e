/**
 * The secret values fedstack makes itself, for `fedstack secrets init` (production Secrets)
 * and `fedstack up` (throwaway ones in its temp dir): the federation CA and certificates, the
 * federation password and its bcrypt hash, and the bearer tokens of the service (sidecar,
 * read) and of the alert bridge. One function decides what a topology needs, so both places
 * make the same set.
 */
import { randomBytes } from 'node:crypto';
import bcrypt from 'bcryptjs';
import { Secret } from '../../common/secret.ts';
import { metaClusters, type Topology } from '../../topology/model.ts';
import { DEFAULT_FEDERATION_SECURITY, type SecurityView } from '../../topology/security.ts';
import { createCa, issueCertificate, type KeyPair } from './pki.ts';

/** A random bearer token or password: 32 bytes, base64url (no character YAML or HTTP minds). */
export function randomToken(): Secret {
  return new Secret(randomBytes(32).toString('base64url'));
}

/** bcrypt cost 10: what `promtool check web-config` and exporter-toolkit accept (FACTS.md). */
const BCRYPT_COST = 10;

export function bcryptHash(password: Secret): Secret {
  return new Secret(bcrypt.hashSync(password.reveal(), BCRYPT_COST));
}

/** The federation section a topology asks for, or fedstack's suggested one when it has none. */
export type FederationSettings = NonNullable<SecurityView['federation']>;
export function federationSettings(topo: Pick<Topology, 'security'>): FederationSettings | undefined {
  const fed = topo.security?.federation;
  if (fed?.insecure === true) return undefined;
  return fed ?? { ...DEFAULT_FEDERATION_SECURITY, centralEgressCidrs: [] };
}

/** More names than this in one serving certificate: use tls.serverName instead. */
const MAX_SANS = 100;

/**
 * What a serving certificate must name so scrapers can verify it: `serverName` when the
 * topology sets one (scrapers verify that name, wherever they connect), else every edge and
 * cascade endpoint host.
 */
export function servingNames(topo: Topology, fed: FederationSettings): string[] {
  if (fed.tls?.serverName !== undefined) return [fed.tls.serverName];
  const hosts = [
    ...metaClusters(topo).map((p) => p.metaCluster.endpoint),
    ...topo.bigRegions.map((b) => b.cascade.endpoint),
  ].map((e) => e.replace(/:\d+$/, ''));
  const names = [...new Set(hosts)];
  if (names.length > MAX_SANS)
    throw new Error(
      `security.federation.tls.serverName: needed with ${names.length} endpoints (a certificate naming every one would go over ${MAX_SANS} names); set it and scrapers verify that one name`,
    );
  return names;
}

export interface FederationMaterial {
  readonly ca: KeyPair;
  readonly serving: KeyPair;
  /** Mutual TLS only. */
  readonly client?: KeyPair;
  readonly password: Secret;
  readonly passwordHash: Secret;
}

export interface MaterialOptions {
  /** Names of the serving certificate (servingNames, or loopback for the local stack). */
  readonly sans: readonly string[];
  readonly days: number;
  /** Keep this CA (a rotation keeps trust); default: a new one. */
  readonly ca?: KeyPair;
  readonly mutualTls: boolean;
}

export function federationMaterial(o: MaterialOptions): FederationMaterial {
  const ca = o.ca ?? createCa({ commonName: 'fedstack federation CA', days: o.days });
  const password = randomToken();
  return {
    ca,
    serving: issueCertificate(ca, {
      commonName: o.sans[0] ?? 'fedstack federation',
      sans: o.sans,
      usage: 'server',
      days: o.days,
    }),
    client: o.mutualTls
      ? issueCertificate(ca, { commonName: 'fedstack federation scraper', usage: 'client', days: o.days })
      : undefined,
    password,
    passwordHash: bcryptHash(password),
  };
}
