/**
 * The validated, read-only topology every generator takes. Built once by load.ts from the
 * schema output with fedstack's defaults filled in; generators never see raw YAML.
 */
import type { TopologyShape } from './schema.ts';
import type { AlertRule, RecordingRule } from './defaults.ts';
import {
  DEFAULT_ALERT_RULES,
  DEFAULT_CASCADE_ALLOW_LIST,
  DEFAULT_CASCADE_RULES,
  DEFAULT_CENTRAL_ALLOW_LIST,
  DEFAULT_CENTRAL_RULES,
  DEFAULT_DROP_LABELS,
  DEFAULT_EDGE_RULES,
} from './defaults.ts';

export type { AlertRule, RecordingRule };

type DeepReadonly<T> = T extends (infer U)[]
  ? readonly DeepReadonly<U>[]
  : T extends object
    ? { readonly [K in keyof T]: DeepReadonly<T[K]> }
    : T;

type Shape = DeepReadonly<TopologyShape>;
export type BigRegion = Shape['bigRegions'][number];
export type Region = BigRegion['regions'][number];
export type MetaCluster = Region['metaClusters'][number];
export type ExtraScrapeTarget = MetaCluster['extraScrapeTargets'][number];
export type CentralReplica = Shape['central']['replicas'][number];

export interface Topology extends Omit<Shape, 'allowLists' | 'dropLabels' | 'recordingRules' | 'alertRules'> {
  readonly allowLists: { readonly cascade: readonly string[]; readonly central: readonly string[] };
  readonly dropLabels: readonly string[];
  readonly recordingRules: {
    readonly edge: readonly RecordingRule[];
    readonly cascade: readonly RecordingRule[];
    readonly central: readonly RecordingRule[];
  };
  readonly alertRules: readonly AlertRule[];
}

/** A meta-cluster with the names of the region and big region it belongs to. */
export interface PlacedMetaCluster {
  readonly bigRegion: BigRegion;
  readonly region: Region;
  readonly metaCluster: MetaCluster;
}

/** Fills fedstack's defaults into a schema-valid topology and freezes it. */
export function buildModel(shape: TopologyShape): Topology {
  const topo: Topology = {
    ...shape,
    allowLists: {
      cascade: shape.allowLists.cascade ?? DEFAULT_CASCADE_ALLOW_LIST,
      central: shape.allowLists.central ?? DEFAULT_CENTRAL_ALLOW_LIST,
    },
    dropLabels: shape.dropLabels ?? DEFAULT_DROP_LABELS,
    recordingRules: {
      edge: shape.recordingRules.edge ?? DEFAULT_EDGE_RULES,
      cascade: shape.recordingRules.cascade ?? DEFAULT_CASCADE_RULES,
      central: shape.recordingRules.central ?? DEFAULT_CENTRAL_RULES,
    },
    alertRules: shape.alertRules ?? DEFAULT_ALERT_RULES,
  };
  return deepFreeze(topo);
}

export function deepFreeze<T>(value: T): T {
  if (value !== null && typeof value === 'object' && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const v of Object.values(value)) deepFreeze(v);
  }
  return value;
}

/** Every meta-cluster in topology order (big region, region, meta-cluster). */
export function metaClusters(topo: Pick<Topology, 'bigRegions'>): PlacedMetaCluster[] {
  return topo.bigRegions.flatMap((bigRegion) =>
    bigRegion.regions.flatMap((region) =>
      region.metaClusters.map((metaCluster) => ({ bigRegion, region, metaCluster })),
    ),
  );
}

/** Every meta-cluster of one big region. */
export function metaClustersOf(bigRegion: BigRegion): PlacedMetaCluster[] {
  return bigRegion.regions.flatMap((region) =>
    region.metaClusters.map((metaCluster) => ({ bigRegion, region, metaCluster })),
  );
}
