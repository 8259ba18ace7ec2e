/**
 * The local stack's throwaway secrets, where the `local` profile's configs look for them: a
 * fresh CA and serving certificate for the loopback addresses (and serverName), the client
 * certificate under mutual TLS, the federation password and its bcrypt hash, the service's
 * sidecar, read and operator tokens, and a value for every Secret the routing names (the bridge token
 * and the stand-ins' credentials). Every file 0600, every directory 0700, all inside the
 * stack's own directory.
 *
 * `rotate()` replaces the password, hash and tokens the way kubelet updates a Secret volume
 * (a new file renamed over the old one): the running processes must pick them up unrestarted.
 */
import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { Secret } from '../../common/secret.ts';
import type { Topology } from '../../topology/model.ts';
import { LOCAL_SECRET_DIR, LOCAL_SECRET_FILES } from '../../topology/security.ts';
import { bcryptHash, federationMaterial, federationSettings, randomToken } from '../secrets/material.ts';
import type { ClientCredentials } from './http.ts';
import { receiverValue, type ReceiverValues } from './stand-ins/index.ts';

/** Where the service's tokens and the receivers' Secrets live, under the bundle root. */
const SERVICE_DIR = `${LOCAL_SECRET_DIR}/service`;
/** Alertmanager (cwd alerting/) and the bridge both read `alerting/secrets/<name>/<key>`. */
const RECEIVER_DIR = 'alerting/secrets';

export interface LocalSecretPaths {
  readonly ca: string;
  readonly password: string;
  readonly passwordHash: string;
  readonly sidecarToken: string;
  readonly readToken: string;
  /** Rollout actions and the console's buttons. */
  readonly operatorToken: string;
  /** `<dir>/<Secret name>/<key>`: the bridge's --secrets-dir. */
  readonly receivers: string;
}

export interface LocalSecrets {
  /** Absent when the topology opts out of federation security. */
  readonly federation?: { readonly username?: string; readonly serverName?: string };
  readonly paths: LocalSecretPaths;
  /** How to reach a protected Prometheus of the stack now (read at each call: rotation-proof). */
  credentials(): ClientCredentials | undefined;
  /** Replaces the federation password and hash, the sidecar, read, operator and bridge tokens. */
  rotate(): void;
  /** Every secret value written so far, rotations included (for secret scans). */
  values(): string[];
}

/** Writes `text` 0600 through a rename, so a reader sees the old or the new file, never half. */
function writeSecretFile(file: string, text: string): void {
  mkdirSync(dirname(file), { recursive: true, mode: 0o700 });
  const tmp = `${file}.tmp`;
  writeFileSync(tmp, text, { mode: 0o600 });
  renameSync(tmp, file);
}

export function writeLocalSecrets(o: {
  /** The bundle root (the rendered tree's directory). */
  readonly root: string;
  /** The localized topology. */
  readonly topology: Topology;
  readonly receiverValues: ReceiverValues;
}): LocalSecrets {
  const at = (rel: string) => join(o.root, rel);
  const written: string[] = [];
  const put = (rel: string, value: string | Secret) => {
    const text = typeof value === 'string' ? value : value.reveal();
    writeSecretFile(at(rel), text);
    written.push(text);
  };
  const paths: LocalSecretPaths = {
    ca: at(LOCAL_SECRET_FILES.federationCa),
    password: at(LOCAL_SECRET_FILES.federationPassword),
    passwordHash: at(LOCAL_SECRET_FILES.federationPasswordHash),
    sidecarToken: at(`${SERVICE_DIR}/sidecar-token`),
    readToken: at(`${SERVICE_DIR}/read-token`),
    operatorToken: at(`${SERVICE_DIR}/operator-token`),
    receivers: at(RECEIVER_DIR),
  };

  const fed = federationSettings(o.topology);
  const mutual = fed?.tls?.clientCertSecret !== undefined;
  if (fed !== undefined) {
    const m = federationMaterial({
      // Every address the stack uses is loopback; serverName when scrapers verify that instead.
      sans: ['127.0.0.1', 'localhost', ...(fed.tls?.serverName ? [fed.tls.serverName] : [])],
      days: 2,
      mutualTls: mutual,
    });
    put(LOCAL_SECRET_FILES.federationCa, m.ca.certPem);
    put(LOCAL_SECRET_FILES.tlsCert, m.serving.certPem);
    put(LOCAL_SECRET_FILES.tlsKey, m.serving.keyPem);
    if (m.client) {
      put(LOCAL_SECRET_FILES.clientCert, m.client.certPem);
      put(LOCAL_SECRET_FILES.clientKey, m.client.keyPem);
    }
    put(LOCAL_SECRET_FILES.federationPassword, m.password);
    put(LOCAL_SECRET_FILES.federationPasswordHash, m.passwordHash);
  }
  const tokens = () => {
    put(`${SERVICE_DIR}/sidecar-token`, randomToken());
    put(`${SERVICE_DIR}/read-token`, randomToken());
    put(`${SERVICE_DIR}/operator-token`, randomToken());
  };
  tokens();
  for (const [key, value] of o.receiverValues) put(`${RECEIVER_DIR}/${key}`, value);
  const webhookToken = o.topology.routing?.webhookToken;
  // Check now that the routing's Secrets were all given values (a missing one throws here).
  if (webhookToken !== undefined) receiverValue(o.receiverValues, webhookToken);

  const read = (file: string) => readFileSync(file, 'utf8').trim();
  return {
    federation:
      fed === undefined ? undefined : { username: fed.basicAuth?.username, serverName: fed.tls?.serverName },
    paths,
    credentials: () =>
      fed === undefined
        ? undefined
        : {
            ca: fed.tls ? read(paths.ca) : undefined,
            cert: mutual ? read(at(LOCAL_SECRET_FILES.clientCert)) : undefined,
            key: mutual ? read(at(LOCAL_SECRET_FILES.clientKey)) : undefined,
            serverName: fed.tls?.serverName,
            basicAuth: fed.basicAuth
              ? { username: fed.basicAuth.username, password: read(paths.password) }
              : undefined,
          },
    rotate: () => {
      if (fed?.basicAuth) {
        const password = randomToken();
        // The hash first: a scraper with the new password meets a server that knows it sooner.
        put(LOCAL_SECRET_FILES.federationPasswordHash, bcryptHash(password));
        put(LOCAL_SECRET_FILES.federationPassword, password);
      }
      tokens();
      if (webhookToken !== undefined)
        put(`${RECEIVER_DIR}/${webhookToken.name}/${webhookToken.key}`, randomToken());
    },
    values: () => [...written],
  };
}
