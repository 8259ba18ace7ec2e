/**
 * The topology's `security` section: how federation links are protected (TLS + basic auth,
 * optionally mutual TLS), with every secret as a reference to a Kubernetes Secret, never a
 * literal.
 *
 * One credential set protects every federation hop: edges and cascades both serve their
 * /federate behind `--web.config.file` (TLS + bcrypt basic auth), cascades and central replicas
 * scrape with `scheme: https`, `tls_config.ca_file` and `basic_auth.password_file`.
 *
 * Secure by default: the kubernetes profile refuses a topology without `security.federation`
 * (federation crosses the WAN); opting out takes `insecure: true`, and validate/render warn
 * about it at every run.
 *
 * ```yaml
 * security:
 *   federation:
 *     tls:
 *       serverCertSecret: fedstack-federation-tls          # kubernetes.io/tls: tls.crt, tls.key
 *       ca: { name: fedstack-federation-ca, key: ca.crt }  # what scrapers verify against
 *       serverName: federation.fedstack.internal           # optional: a SAN of the cert
 *       clientCertSecret: fedstack-federation-client       # optional: mutual TLS (kubernetes.io/tls)
 *     basicAuth:
 *       username: federate
 *       password: { name: fedstack-federation-auth, key: password }          # scrapers' password_file
 *       passwordHash: { name: fedstack-federation-auth, key: password.bcrypt } # edge web config
 *     centralEgressCidrs: [47.96.1.10/32]   # the only sources a cascade LoadBalancer admits
 * ```
 */
import { z } from 'zod';
import { MOUNT, type Profile } from '../common/conventions.ts';
import type { TopologyIssue } from './errors.ts';
import { secretNameSchema, secretRefSchema } from './secret-ref.ts';

export const securitySchema = z.strictObject({
  federation: z
    .strictObject({
      /**
       * Explicit opt-out: federation over plain HTTP without authentication. The kubernetes
       * profile accepts a topology without TLS only with this set, and warns at every run.
       */
      insecure: z.boolean().optional(),
      tls: z
        .strictObject({
          /** A kubernetes.io/tls Secret (keys tls.crt, tls.key) every protected Prometheus serves. */
          serverCertSecret: secretNameSchema,
          /** The CA that signed the serving certificate; scrapers verify against it. */
          ca: secretRefSchema,
          /** The name scrapers expect in the certificate when it does not carry the LB address. */
          serverName: z.string().min(1).optional(),
          /**
           * Mutual TLS: a kubernetes.io/tls Secret (signed by `ca`) that cascades and central
           * present when they scrape; the serving side then requires and verifies it
           * (`client_auth_type: RequireAndVerifyClientCert`, `client_ca_file` = `ca`).
           */
          clientCertSecret: secretNameSchema.optional(),
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
    })
    .superRefine((fed, ctx) => {
      if (fed.insecure === true && (fed.tls !== undefined || fed.basicAuth !== undefined))
        ctx.addIssue({
          code: 'custom',
          path: ['insecure'],
          message:
            'insecure: true turns off the protection that tls/basicAuth configure: remove one or the other',
        });
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
    readonly cert_file?: string;
    readonly key_file?: string;
    readonly server_name?: string;
    readonly insecure_skip_verify?: boolean;
  };
  readonly basic_auth?: { readonly username: string; readonly password_file: string };
}

/**
 * The Secret names fedstack suggests (the refused-topology error shows them, `secrets init`
 * and the local stack use them when a topology names none).
 */
export const DEFAULT_FEDERATION_SECURITY = {
  tls: {
    serverCertSecret: 'fedstack-federation-tls',
    ca: { name: 'fedstack-federation-ca', key: 'ca.crt' },
  },
  basicAuth: {
    username: 'federate',
    password: { name: 'fedstack-federation-auth', key: 'password' },
    passwordHash: { name: 'fedstack-federation-auth', key: 'password.bcrypt' },
  },
} as const;

/** True when the section protects federation at all (TLS or basic auth). */
export function isSecured(security: SecurityView | undefined): boolean {
  const fed = security?.federation;
  return fed !== undefined && (fed.tls !== undefined || fed.basicAuth !== undefined);
}

/** A value as one line of YAML flow style, to paste into a topology. */
function flow(v: unknown): string {
  if (typeof v !== 'object' || v === null) return String(v);
  return `{ ${Object.entries(v)
    .map(([k, x]) => `${k}: ${flow(x)}`)
    .join(', ')} }`;
}

/**
 * What the kubernetes profile requires of `security.federation`: TLS, and authentication (basic
 * auth or mutual TLS), unless `insecure: true` says otherwise. Federation crosses the WAN,
 * through LoadBalancers; a fleet deployed from a topology that forgot the section would
 * publish its metrics in clear text to anyone inside the source ranges.
 */
export function checkFederationSecurity(
  security: SecurityView | undefined,
  profile: Profile | undefined,
): TopologyIssue[] {
  if (profile !== 'kubernetes') return [];
  const fed = security?.federation;
  const optOut = 'or opt out with security: { federation: { insecure: true } }';
  if (fed === undefined)
    return [
      {
        path: ['security', 'federation'],
        message: `required for the kubernetes profile (every federation hop crosses the network): add security: { federation: ${flow(DEFAULT_FEDERATION_SECURITY)} } (\`fedstack secrets init\` writes these Secrets), ${optOut}`,
      },
    ];
  if (fed.insecure === true) return [];
  const issues: TopologyIssue[] = [];
  if (fed.tls === undefined)
    issues.push({
      path: ['security', 'federation'],
      message: `tls is required for the kubernetes profile: add tls: ${flow(DEFAULT_FEDERATION_SECURITY.tls)}, ${optOut}`,
      atKey: true,
    });
  if (fed.basicAuth === undefined && fed.tls?.clientCertSecret === undefined)
    issues.push({
      path: ['security', 'federation'],
      message: `authentication is required for the kubernetes profile: add basicAuth: ${flow(DEFAULT_FEDERATION_SECURITY.basicAuth)} (or mutual TLS: tls.clientCertSecret), ${optOut}`,
      atKey: true,
    });
  return issues;
}

/** Warnings a valid topology still deserves, at every validate and render. */
export function securityWarnings(security: SecurityView | undefined): TopologyIssue[] {
  if (security?.federation.insecure !== true) return [];
  return [
    {
      path: ['security', 'federation', 'insecure'],
      message:
        'federation is not protected: /federate is served over plain HTTP without authentication, so metrics cross the network in clear text and anyone inside the source ranges can read them',
    },
  ];
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
  clientCert: `${LOCAL_SECRET_DIR}/client/tls.crt`,
  clientKey: `${LOCAL_SECRET_DIR}/client/tls.key`,
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
 * topology has no `security` section (or opts out).
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
          ...clientCertificate(security, profile),
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

/** The client certificate a scraper presents under mutual TLS (nothing otherwise). */
function clientCertificate(
  security: SecurityView | undefined,
  profile: Profile,
): { cert_file?: string; key_file?: string } {
  if (security?.federation.tls?.clientCertSecret === undefined) return {};
  return profile === 'kubernetes'
    ? { cert_file: MOUNT.clientCertFile, key_file: MOUNT.clientKeyFile }
    : {
        cert_file: fromConfigDir(LOCAL_SECRET_FILES.clientCert),
        key_file: fromConfigDir(LOCAL_SECRET_FILES.clientKey),
      };
}

/** Prometheus' --web.config.file shape (exporter-toolkit), the subset fedstack sets. */
export interface WebConfig {
  readonly tls_server_config?: {
    readonly cert_file: string;
    readonly key_file: string;
    readonly client_ca_file?: string;
    readonly client_auth_type?: 'RequireAndVerifyClientCert';
  };
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
          ...(tls.clientCertSecret !== undefined
            ? {
                client_ca_file: path(MOUNT.federationCaFile, LOCAL_SECRET_FILES.federationCa),
                client_auth_type: 'RequireAndVerifyClientCert' as const,
              }
            : {}),
        }
      : undefined,
    basic_auth_users: auth ? { [auth.username]: WEB_CONFIG_HASH_PLACEHOLDER } : undefined,
  };
}

/**
 * How a protected Prometheus (edge, cascade) scrapes itself at localhost: the same credentials
 * (and client certificate), but TLS without verification, because the serving certificate
 * names the LoadBalancer, not localhost, and the hop never leaves the pod. Plain HTTP when
 * the section is absent.
 */
export function selfScrapeClientConfig(
  security: SecurityView | undefined,
  profile: Profile,
): FederationClientConfig {
  const client = federationClientConfig(security, profile);
  return client.scheme === 'https'
    ? {
        ...client,
        tls_config: { ...clientCertificate(security, profile), insecure_skip_verify: true },
      }
    : client;
}
