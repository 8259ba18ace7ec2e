/**
 * The config sidecars of the local stack: one per Prometheus (edges, cascades, central
 * replicas), each pulling its instance's config from the fedstack service (the revision a
 * rollout assigns it) into the directory that Prometheus reads, promtool-checking it, reloading
 * Prometheus and reporting back, exactly as in a cluster. They run in this process.
 */
import { join } from 'node:path';
import pino from 'pino';
import type { RenderPlan } from '../../render/plan.ts';
import { metaClusters } from '../../topology/model.ts';
import { runSidecar, type RunningSidecar } from '../../sidecar/sidecar.ts';
import { FILE } from '../../common/conventions.ts';
import type { LocalSecretPaths } from './secrets.ts';
import { LIVE_WEB_CONFIG } from './stack.ts';

export interface StackSidecarOptions {
  /** The stack's render plan (its topology, which tiers serve a protected web config). */
  readonly plan: RenderPlan;
  /** The rendered tree: <bundleDir>/<tier>/<name>/ is what each Prometheus reads. */
  readonly bundleDir: string;
  readonly serviceUrl: string;
  /** The stack's token files, CA, federation password and hash. */
  readonly secrets: LocalSecretPaths;
  /** ms between pulls and heartbeats. */
  readonly intervalMs: number;
  readonly promtoolPath?: string;
}

export interface StackSidecars {
  /** By instance id (edge/mc-hz-01, cascade/china, central/central-a). */
  readonly sidecars: ReadonlyMap<string, RunningSidecar>;
  stop(): Promise<void>;
}

export async function startStackSidecars(opts: StackSidecarOptions): Promise<StackSidecars> {
  const topo = opts.plan.topology;
  const fed = topo.security?.federation;
  const scheme = fed?.tls !== undefined ? 'https' : 'http';
  const instances = [
    ...metaClusters(topo).map((p) => ({ tier: 'edge', name: p.metaCluster.name, endpoint: p.metaCluster.endpoint })),
    ...topo.bigRegions.map((b) => ({ tier: 'cascade', name: b.name, endpoint: b.cascade.endpoint })),
    ...topo.central.replicas.map((r) => ({ tier: 'central', name: r.name, endpoint: r.endpoint! })),
  ];
  const sidecars = new Map<string, RunningSidecar>();
  const logger = pino({ level: 'silent' });
  try {
    for (const i of instances) {
      const dir = join(opts.bundleDir, i.tier, i.name);
      // A protected Prometheus (TLS + basic auth) takes its reload over the same protection.
      const protectedTier = opts.plan.webConfigFor(i.tier as 'edge' | 'cascade' | 'central') !== undefined;
      sidecars.set(
        `${i.tier}/${i.name}`,
        await runSidecar({
          instance: `${i.tier}/${i.name}`,
          serviceUrl: opts.serviceUrl,
          tokenFile: opts.secrets.sidecarToken,
          readTokenFile: opts.secrets.readToken,
          // An edge also registers its endpoint, as in a cluster.
          ...(i.tier === 'edge' ? { metaCluster: i.name, endpoint: i.endpoint } : {}),
          liveDir: dir,
          prometheusUrl: `${protectedTier ? scheme : 'http'}://${i.endpoint}`,
          ...(protectedTier && fed?.basicAuth
            ? { prometheusAuth: { username: fed.basicAuth.username, passwordFile: opts.secrets.password } }
            : {}),
          ...(protectedTier && scheme === 'https'
            ? { prometheusTls: { caFile: opts.secrets.ca, insecureSkipVerify: true } }
            : {}),
          passwordHashFile: opts.secrets.passwordHash,
          // The stack fills each web config itself (web-config.live.yml, next to the rendered
          // one, so that its relative certificate paths resolve): the sidecar leaves both alone.
          keepFiles: [FILE.webConfig, LIVE_WEB_CONFIG],
          interval: opts.intervalMs,
          promtoolPath: opts.promtoolPath,
          logger,
        }),
      );
    }
  } catch (e) {
    await Promise.all([...sidecars.values()].map((s) => s.close()));
    throw e;
  }
  return {
    sidecars,
    stop: async () => {
      await Promise.all([...sidecars.values()].map((s) => s.close()));
    },
  };
}
