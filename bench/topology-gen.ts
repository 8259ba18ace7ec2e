/**
 * Generated fleets for benchmarks: N big regions × M regions × K meta-clusters, each with
 * guest clusters and nodes, in the same shape a user would write (schema input), so it goes
 * through the real schema and model code.
 */
import { topologySchema, type TopologyInput } from '../topology/schema.ts';
import { buildModel, type Topology } from '../topology/model.ts';
import { toYaml } from '../common/serialize.ts';

export interface FleetSize {
  readonly bigRegions: number;
  readonly regionsPerBigRegion: number;
  readonly metaClustersPerRegion: number;
  /** Guest clusters per meta-cluster (ACK hosts ~100 control planes per meta-cluster). */
  readonly guestClusters?: number;
  readonly nodes?: number;
  /**
   * Exporters each meta-cluster federates besides fedstack's own jobs (0, 1 or 2: a GPU
   * exporter on two hosts, a storage exporter), with labels, as a real fleet's file has them.
   */
  readonly extraScrapeTargets?: 0 | 1 | 2;
}

/** 20 big regions, 200 regions, 10,000 meta-clusters: the ACK scale. */
export const ACK_SCALE: FleetSize = { bigRegions: 20, regionsPerBigRegion: 10, metaClustersPerRegion: 50 };

type ExtraTargetInput = NonNullable<
  TopologyInput['bigRegions'][number]['regions'][number]['metaClusters'][number]['extraScrapeTargets']
>;

const EXTRA_TARGETS = (i: number): ExtraTargetInput => {
  const host = `${(i >> 8) & 255}.${i & 255}`;
  return [
    {
      job: 'gpu-exporter',
      targets: [`10.200.${host}:9400`, `10.201.${host}:9400`],
      labels: { team: 'ml', accelerator: 'nvidia-a100' },
    },
    { job: 'storage-exporter', targets: [`10.202.${host}:9100`], labels: { team: 'storage' } },
  ];
};

const octets = (i: number) => `${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`;

export function generateFleetInput(size: FleetSize): TopologyInput {
  let mc = 0;
  return {
    apiVersion: 'fedstack/v1',
    kind: 'Topology',
    metadata: { name: 'bench-fleet' },
    central: {
      replicas: [
        { name: 'central-a', zone: 'zone-a' },
        { name: 'central-b', zone: 'zone-b' },
      ],
    },
    alertmanager: {
      replicas: [
        { name: 'am-0', zone: 'zone-a' },
        { name: 'am-1', zone: 'zone-b' },
      ],
    },
    // As the kubernetes profile requires (and the embedded example has): TLS + basic auth.
    security: {
      federation: {
        tls: {
          serverCertSecret: 'fedstack-federation-tls',
          ca: { name: 'fedstack-federation-ca', key: 'ca.crt' },
          serverName: 'federation.bench.example.com',
        },
        basicAuth: {
          username: 'federate',
          password: { name: 'fedstack-federation-auth', key: 'password' },
          passwordHash: { name: 'fedstack-federation-auth', key: 'password.bcrypt' },
        },
        centralEgressCidrs: ['100.64.255.10/32', '100.64.255.11/32'],
      },
    },
    bigRegions: Array.from({ length: size.bigRegions }, (_, b) => ({
      name: `br-${b}`,
      cascade: { endpoint: `cascade-${b}.bench.example.com:9090`, egressCidrs: [`100.64.${b}.10/32`] },
      regions: Array.from({ length: size.regionsPerBigRegion }, (_, r) => ({
        name: `br-${b}-r-${r}`,
        metaClusters: Array.from({ length: size.metaClustersPerRegion }, () => {
          const i = ++mc;
          return {
            name: `mc-${i}`,
            endpoint: `10.${octets(i)}:9090`,
            guestClusters: size.guestClusters ?? 100,
            nodes: size.nodes ?? 10,
            ...(size.extraScrapeTargets
              ? { extraScrapeTargets: EXTRA_TARGETS(i).slice(0, size.extraScrapeTargets) }
              : {}),
          };
        }),
      })),
    })),
  };
}

/** Through the schema (defaults, strictness) and the model, without YAML parsing. */
export function generateFleet(size: FleetSize): Topology {
  return buildModel(topologySchema.parse(generateFleetInput(size)));
}

/** The same fleet as topology file text (for timing parseTopology, or `fedstack capacity -t`). */
export function generateFleetYaml(size: FleetSize): string {
  return toYaml(generateFleetInput(size), { header: false });
}
