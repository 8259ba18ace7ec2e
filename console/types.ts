/**
 * The console's JSON views: what `GET /console/api/<view>` answers. The browser code imports
 * these types through JSDoc (console/assets/*.js are type-checked against them), so the server
 * and the page cannot drift apart. Times are ms since the epoch; ages and lags are seconds.
 */

/** How a node looks from central: text and color always go together in the page. */
export type NodeState = 'up' | 'stale' | 'down' | 'unknown';

export interface TopologyInfo {
  readonly name: string;
  /** 1 for the first topology served, +1 for every accepted change. */
  readonly revision: number;
  readonly hash: string;
  /** Why the watched file is not what is served (a refused edit), if it is not. */
  readonly lastError?: string;
}

/** One central replica as the console reached it. */
export interface CentralNode {
  readonly name: string;
  readonly zone: string;
  readonly url: string;
  readonly state: NodeState;
  /** Head series of the replica. */
  readonly series?: number;
  readonly error?: string;
}

/** What the sidecar of an instance last reported in its heartbeat. */
export interface Applied {
  readonly configHash: string;
  readonly version: string;
  readonly heartbeatAgeSeconds: number;
}

/**
 * The console is readable without a token (server/auth.ts), so no node carries an address:
 * edge and cascade addresses are the fleet's layout, behind the read token of http_sd.
 */
export interface MetaClusterNode {
  readonly name: string;
  readonly state: NodeState;
  /** Why the state is what it is, in words (e.g. "the cascade cannot scrape /federate"). */
  readonly why: string;
  /** Age of the newest edge heartbeat at central. */
  readonly lagSeconds?: number;
  /** Samples of the cascade's last federation scrape of this edge (its federated series). */
  readonly samples?: number;
  /** samples / the cascade's sample_limit (0..1+), when a limit is set. */
  readonly sampleLimitUsage?: number;
  readonly applied?: Applied;
}

export interface RegionNode {
  readonly name: string;
  readonly metaClusters: readonly MetaClusterNode[];
}

export interface CascadeNode {
  readonly state: NodeState;
  readonly why: string;
  /** Samples of central's last federation scrape of this cascade. */
  readonly samples?: number;
  readonly sampleLimitUsage?: number;
  /** The largest lag of its edges. */
  readonly lagSeconds?: number;
}

export interface BigRegionNode {
  readonly name: string;
  readonly cascade: CascadeNode;
  readonly regions: readonly RegionNode[];
}

export interface TreeView {
  readonly generatedAt: number;
  /** How often the page should ask again (half the central scrape interval, 0.5-15 s). */
  readonly refreshMs: number;
  readonly topology: TopologyInfo;
  /** Federation lag above which an edge counts as stale (the FederationStale threshold). */
  readonly lagBudgetSeconds: number;
  readonly sampleLimits: { readonly cascade: number; readonly central: number };
  /** The central replica the fleet's state was read from, or undefined when none answered. */
  readonly source?: string;
  readonly central: readonly CentralNode[];
  readonly bigRegions: readonly BigRegionNode[];
}

/** One Prometheus instance and the config its sidecar says it runs. */
export interface InstanceConfig {
  readonly tier: 'edge' | 'cascade' | 'central';
  readonly name: string;
  readonly bigRegion?: string;
  readonly region?: string;
  readonly applied?: Applied;
}

/** A gate of a rollout wave: PromQL at central, its value now and its threshold (issue 13). */
export interface RolloutGate {
  readonly name: string;
  readonly expr: string;
  readonly value?: number;
  readonly threshold: string;
  readonly ok: boolean;
}

export interface RolloutWave {
  readonly name: string;
  readonly state: 'pending' | 'running' | 'soaking' | 'done' | 'failed' | 'rolled-back';
  readonly maxConcurrency?: number;
  readonly soakSeconds?: number;
  readonly failureBudget?: number;
  /** Instances by state (assigned, applied, healthy, failed, ...). */
  readonly instances: Readonly<Record<string, number>>;
  readonly gates: readonly RolloutGate[];
}

export interface Rollout {
  readonly id: string;
  readonly state: 'running' | 'paused' | 'rolling-back' | 'done' | 'rolled-back' | 'aborted';
  readonly fromRevision: string;
  readonly toRevision: string;
  readonly startedAt: number;
  readonly endedAt?: number;
  readonly note?: string;
  readonly waves: readonly RolloutWave[];
  /** Set when the rollout ended rolled back: the gate that failed and why. */
  readonly rollbackReason?: string;
  readonly failingGate?: string;
}

/**
 * What staged rollout (issue 13) plugs into the console: the current rollout, the history,
 * and the three actions. Without it the view shows revisions and which instance runs which.
 */
export interface RolloutSource {
  current(): Rollout | undefined;
  history(): readonly Rollout[];
  pause(): Promise<void>;
  resume(): Promise<void>;
  abort(): Promise<void>;
}

export type RolloutAction = 'pause' | 'resume' | 'abort';

export interface RolloutsView {
  readonly generatedAt: number;
  readonly topology: TopologyInfo;
  /** Refused topology edits since the service started. */
  readonly reloadFailures: number;
  /** False until staged rollout exists in this service: the page then says so. */
  readonly rolloutsAvailable: boolean;
  readonly current?: Rollout;
  readonly history: readonly Rollout[];
  /** Config hashes reported by sidecars, most common first; `null` = no sidecar reported. */
  readonly hashes: readonly { readonly hash: string | null; readonly instances: number }[];
  readonly instances: readonly InstanceConfig[];
}

export interface ReceiverActivity {
  readonly receiver: string;
  readonly channel: 'dingtalk' | 'sms';
  readonly team?: string;
  /** Messages the provider accepted in the last hour, and the notifications they carried. */
  readonly delivered: number;
  readonly notifications: number;
  readonly failed: number;
  /** Failure codes of the last hour (DingTalk errcode, Aliyun Code, HTTP status) and how often. */
  readonly errcodes: readonly {
    readonly code: string;
    readonly count: number;
    readonly lastReason: string;
  }[];
  readonly lastDeliveredAt?: number;
}

export interface SendView {
  readonly at: number;
  readonly channel: 'dingtalk' | 'sms';
  readonly receiver: string;
  readonly ok: boolean;
  readonly code?: string;
  readonly reason?: string;
  readonly alerts: readonly string[];
  readonly status: string;
}

export interface OnCallView {
  readonly team: string;
  readonly now: readonly string[];
  /** The next handover, and who takes over then (undefined without a rotation). */
  readonly nextHandoverAt?: number;
  readonly next: readonly string[];
  readonly timeZone?: string;
}

export interface PagesView {
  readonly generatedAt: number;
  /** undefined when the service runs without the alert bridge (no --outbox-dir). */
  readonly bridge?: {
    readonly depth: number;
    readonly oldestAcceptedAt?: number;
    readonly queue: readonly {
      readonly channel: string;
      readonly receiver: string;
      readonly depth: number;
      readonly oldestAcceptedAt: number;
    }[];
    readonly receivers: readonly ReceiverActivity[];
    /** The last hour's sends, newest first (at most 50). */
    readonly recent: readonly SendView[];
    readonly deadLetters: readonly {
      readonly id: string;
      readonly channel: string;
      readonly receiver: string;
      readonly reason: string;
      readonly deadAt: number;
    }[];
    readonly deadLetterCount: number;
  };
  readonly onCall: readonly OnCallView[];
}

/** `fedstack explain`'s answer, as the CLI prints it with --json. */
export type { ExplainResult as ExplainView } from '../render/explain.ts';

export interface GraphView {
  readonly topology: string;
  readonly bigRegions: readonly { readonly name: string; readonly metaClusters: number }[];
  /** Above this many meta-clusters the whole-fleet drawing is refused: pick a big region. */
  readonly maxMetaClusters: number;
}

/** Names `explain` knows (allow-list literals and recording rules), for the search box. */
export interface MetricsView {
  readonly metrics: readonly string[];
}

/** Every error answer of the API (the service's own shape). */
export interface ApiError {
  readonly error: string;
  readonly reason: string;
}
