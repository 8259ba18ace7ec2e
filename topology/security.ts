/**
 * The topology's `security` section: how federation links are protected (TLS + basic auth),
 * with every secret as a reference to a Kubernetes Secret, never a literal.
 *
 * One credential set protects every federation hop: edges and cascades both serve their
 * /federate behind `--web.config.file` (TLS + bcrypt basic auth), cascades and central replicas
 * scrape with `scheme: https`, `tls_config.ca_file` and `basic_auth.password_file`.
 *
 * ```yaml
 * security:
 *   federation:
 *     tls:
 *       serverCertSecret: fedstack-federation-tls          # kubernetes.io/tls: tls.crt, tls.key
 *       ca: { name: fedstack-federation-ca, key: ca.crt }  # what scrapers verify against
 *       serverName: federation.fedstack.internal           # optional: a SAN of the cert
 *     basicAuth:
 *       username: federate
 *       password: { name: fedstack-federation-auth, key: password }          # scrapers' password_file
 *       passwordHash: { name: fedstack-federation-auth, key: password.bcrypt } # edge web config
 *     centralEgressCidrs: [47.96.1.10/32]   # the only sources a cascade LoadBalancer admits
 * ```
 */
import { z } from 'zod';
import { MOUNT, type Profile } from '../common/conventions.ts';
import { secretNameSchema, secretRefSchema } from './secret-ref.ts';

export const securitySchema = z.strictObject({
  federation: z.strictObject({
    tls: z
      .strictObject({
        /** A kubernetes.io/tls Secret (keys tls.crt, tls.key) every protected Prometheus serves. */
        serverCertSecret: secretNameSchema,
        /** The CA that signed the serving certificate; scrapers verify against it. */
        ca: secretRefSchema,
        /** The name scrapers expect in the certificate when it does not carry the LB address. */
        serverName: z.string().min(1).optional(),
      })
      .optional(),
    basicAuth: z
      .strictObject({
        username: z.string().min(1).default('federate'),
        /** The plain password, mounted for the scraping side (basic_auth.password_file). */
        password: secretRefSchema,
        /**
         * The bcrypt hash of the same password, for the serving side's web config. Prometheus'
         * web config takes hashes only inline, so the sidecar writes it into the file at run time
         * and the rendered web-config.yml carries a placeholder (see WEB_CONFIG_HASH_PLACEHOLDER).
         */
        passwordHash: secretRefSchema,
      })
      .optional(),
    /**
     * Egress CIDRs of the central replicas: the cascade LoadBalancers admit only these (edges
     * admit their big region's `cascade.egressCidrs`). Empty: the cascade is not exposed
     * outside its cluster at all (ClusterIP), never opened to the internet by default.
     */
    centralEgressCidrs: z
      .array(
        z.union([z.cidrv4(), z.cidrv6()], { error: (iss) => `invalid CIDR ${JSON.stringify(iss.input)}` }),
      )
      .default([]),
  }),
});
export type Security = z.output<typeof securitySchema>;
/** The section as the frozen Topology holds it (readonly all the way down); a Security fits too. */
export type SecurityView = DeepReadonly<Security>;
type DeepReadonly<T> = T extends readonly (infer U)[]
  ? readonly DeepReadonly<U>[]
  : T extends object
    ? { readonly [K in keyof T]: DeepReadonly<T[K]> }
    : T;

/** What a federating scrape job adds to reach a protected source (scheme, TLS, basic auth). */
export interface FederationClientConfig {
  readonly scheme: 'http' | 'https';
  readonly tls_config?: {
    readonly ca_file?: string;
    readonly server_name?: string;
    readonly insecure_skip_verify?: boolean;
  };
  readonly basic_auth?: { readonly username: string; readonly password_file: string };
}

/**
 * Where secret files live in the `local` profile: relative to the rendered bundle's root, the
 * local stack writes them there before it starts anything (they are never part of the bundle).
 * A Prometheus resolves relative paths against its config file's directory, and every config
 * sits two levels down (`cascade/<big-region>/prometheus.yml`), hence the `../../`.
 */
export const LOCAL_SECRET_DIR = 'secrets';
export const LOCAL_SECRET_FILES = {
  federationPassword: `${LOCAL_SECRET_DIR}/federation/password`,
  federationPasswordHash: `${LOCAL_SECRET_DIR}/federation/password.bcrypt`,
  federationCa: `${LOCAL_SECRET_DIR}/federation/ca.crt`,
  tlsCert: `${LOCAL_SECRET_DIR}/tls/tls.crt`,
  tlsKey: `${LOCAL_SECRET_DIR}/tls/tls.key`,
} as const;
const fromConfigDir = (bundlePath: string) => `../../${bundlePath}`;

/** In a pod: where the bcrypt hash is mounted for the sidecar that fills the web config. */
export const PASSWORD_HASH_FILE = `${MOUNT.secrets}/federation/password.bcrypt`;

/**
 * Stands where the bcrypt hash goes in a rendered web-config.yml. Rendered files never carry a
 * secret (not even a hash); the sidecar (and its init run) replaces the placeholder with the
 * mounted hash and writes the result where `--web.config.file` points.
 */
export const WEB_CONFIG_HASH_PLACEHOLDER = '${FEDSTACK_FEDERATION_PASSWORD_HASH}';

/**
 * The client settings cascades and central use to scrape the tier below. Plain HTTP when the
 * topology has no `security` section.
 */
export function federationClientConfig(
  security: SecurityView | undefined,
  profile: Profile,
): FederationClientConfig {
  const tls = security?.federation.tls;
  const auth = security?.federation.basicAuth;
  const path = (k8s: string, local: string) => (profile === 'kubernetes' ? k8s : fromConfigDir(local));
  return {
    scheme: tls ? 'https' : 'http',
    tls_config: tls
      ? {
          ca_file: path(MOUNT.federationCaFile, LOCAL_SECRET_FILES.federationCa),
          server_name: tls.serverName,
        }
      : undefined,
    basic_auth: auth
      ? {
          username: auth.username,
          password_file: path(MOUNT.federationPasswordFile, LOCAL_SECRET_FILES.federationPassword),
        }
      : undefined,
  };
}

/** Prometheus' --web.config.file shape (exporter-toolkit), the subset fedstack sets. */
export interface WebConfig {
  readonly tls_server_config?: { readonly cert_file: string; readonly key_file: string };
  readonly basic_auth_users?: Readonly<Record<string, string>>;
}

/**
 * The web config a protected Prometheus (edge, cascade) serves with, with the hash placeholder
 * in place of the bcrypt hash. Paths relative to the web config file in the `local` profile.
 */
export function federationWebConfig(security: SecurityView | undefined, profile: Profile): WebConfig {
  const tls = security?.federation.tls;
  const auth = security?.federation.basicAuth;
  const path = (k8s: string, local: string) => (profile === 'kubernetes' ? k8s : fromConfigDir(local));
  return {
    tls_server_config: tls
      ? {
          cert_file: path(MOUNT.tlsCertFile, LOCAL_SECRET_FILES.tlsCert),
          key_file: path(MOUNT.tlsKeyFile, LOCAL_SECRET_FILES.tlsKey),
        }
      : undefined,
    basic_auth_users: auth ? { [auth.username]: WEB_CONFIG_HASH_PLACEHOLDER } : undefined,
  };
}

/**
 * How a protected Prometheus (edge, cascade) scrapes itself at localhost: the same credentials,
 * but TLS without verification, because the serving certificate names the LoadBalancer, not
 * localhost, and the hop never leaves the pod. Plain HTTP when the section is absent.
 */
export function selfScrapeClientConfig(
  security: SecurityView | undefined,
  profile: Profile,
): FederationClientConfig {
  const client = federationClientConfig(security, profile);
  return client.scheme === 'https' ? { ...client, tls_config: { insecure_skip_verify: true } } : client;
}
