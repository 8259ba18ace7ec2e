/**
 * Sizing of the VictoriaMetrics backend of the global tier (central.backend victoriametrics),
 * from what central would hold: its active series and the samples per second the cascades ship
 * (at the cascades' scrape rate: remote_write sends every sample, where central's federation
 * scrape took one per central interval). Each sample is stored `replicationFactor` times.
 * Every limit keeps the planner's headroom (40% by default) free.
 */
import { parseDuration } from '../common/duration.ts';
import type { CapacityFactors } from './factors.ts';

export interface VmInput {
  /** Active series central holds (allow-listed, rules, self-monitoring). */
  readonly series: number;
  /** Samples per second written to VictoriaMetrics. */
  readonly samplesPerSecond: number;
  /** central retention (a Prometheus duration). */
  readonly retention: string;
  readonly replicationFactor: number;
  /** Zones of the central replicas: vmstorage nodes come in multiples of it. */
  readonly zones: number;
}

export interface VmEstimate {
  readonly series: number;
  readonly samplesPerSecond: number;
  readonly replicationFactor: number;
  /** vmstorage memory for every copy, bytes. */
  readonly memoryBytes: number;
  /** Disk for the retention, every copy, bytes. */
  readonly diskBytes: number;
  readonly vmstorage: number;
  /** PVC per vmstorage node, bytes (whole GiB). */
  readonly storagePerNodeBytes: number;
  /** Memory request per vmstorage node, bytes (64 MiB steps). */
  readonly memoryPerNodeBytes: number;
  readonly vminsert: number;
  /** Fixed at two (one per failure): vmselect load follows dashboards and vmalert, not ingestion. */
  readonly vmselect: number;
  /** What decided the vmstorage count. */
  readonly limitedBy: 'memory' | 'disk' | 'ingestion' | 'replication and zones';
}

const GiB = 2 ** 30;
/** vCPUs one vminsert pod is sized for. */
const VMINSERT_CORES = 2;

export function planVictoriaMetrics(input: VmInput, f: CapacityFactors): VmEstimate {
  const use = 1 - f.headroom;
  const rf = input.replicationFactor;
  const memoryBytes = input.series * f.vmBytesPerSeries * rf;
  const retentionSeconds = parseDuration(input.retention) / 1000;
  const diskBytes = input.samplesPerSecond * retentionSeconds * f.vmBytesPerSample * rf;
  const ingest = (input.samplesPerSecond * rf) / f.vmSamplesPerCoreSecond;
  const needs = {
    memory: Math.ceil(memoryBytes / (use * f.maxPodMemoryBytes)),
    disk: Math.ceil(diskBytes / (use * f.vmMaxDiskBytesPerNode)),
    // One node ingests on the cores of the largest pod's share: 8 vCPUs.
    ingestion: Math.ceil(ingest / (use * 8)),
    'replication and zones': Math.max(rf, input.zones),
  };
  const [limitedBy, raw] = (Object.entries(needs) as [VmEstimate['limitedBy'], number][]).reduce((a, b) =>
    b[1] > a[1] ? b : a,
  );
  // A multiple of the zones, so every zone holds the same share (vmstorageNodes alternates them).
  const vmstorage = Math.ceil(Math.max(raw, 1) / input.zones) * input.zones;
  return {
    series: input.series,
    samplesPerSecond: input.samplesPerSecond,
    replicationFactor: rf,
    memoryBytes,
    diskBytes,
    vmstorage,
    storagePerNodeBytes: Math.max(1, Math.ceil(diskBytes / vmstorage / use / GiB)) * GiB,
    memoryPerNodeBytes: Math.ceil((f.baseMemoryBytes + memoryBytes / vmstorage) / use / 2 ** 26) * 2 ** 26,
    vminsert: Math.max(2, Math.ceil(ingest / (use * VMINSERT_CORES))),
    vmselect: 2,
    limitedBy,
  };
}
