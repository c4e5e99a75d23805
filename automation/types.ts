// The driver's public shapes. Plain data (JSON-serialisable) so that the CLI's --json output, the HTTP service and
// overlay environments (later steps) can pass them on as they are.
import type { EngineEvent, OpMap } from "@pulumi/pulumi/automation";
import type { ConfigEntry } from "./stack";
import type { DeploymentRecord } from "./records";
import type { ProgressSnapshot, StepUpdate } from "./progress";

/** Something the driver wants a person to know while it works: a lock it waits for, a crash it recovers from. */
export interface DriverMessage {
  /** ISO 8601. */
  readonly time: string;
  readonly ticket: string;
  readonly kind: "queued" | "waiting-for-lock" | "cleared-stale-lock" | "recovering" | "recovered" | "repaired";
  readonly text: string;
}

export interface RunOptions {
  /** Stack config to set before the run (without `qa-k8s:`): registry, kubeconfig (secret), renderTo, ... */
  readonly config?: Readonly<Record<string, ConfigEntry>>;
  /** Cancels safely: the engine gets SIGINT, finishes the steps in flight and writes its state; never `pulumi cancel`. */
  readonly signal?: AbortSignal;
  /** Engine operations run at once. @default the driver's `parallel` (256) */
  readonly parallel?: number;
  readonly onEvent?: (event: EngineEvent) => void;
  readonly onProgress?: (snapshot: ProgressSnapshot, step?: StepUpdate) => void;
  /** The engine's text output (what `pulumi up` prints). */
  readonly onOutput?: (text: string) => void;
}

export interface DeployOptions extends RunOptions {
  /** Services built on the branch (qa-k8s:featureServices); checked against the catalog. @default detected from the registry */
  readonly services?: readonly string[];
  /** @default Bamboo's bamboo_ManualBuildTriggerReason_userName, else the OS user */
  readonly deployer?: string;
  /** @default Bamboo's bamboo_buildResultKey, else bamboo_buildNumber */
  readonly build?: string;
}

/** Milliseconds spent in each phase of one call. */
export interface Durations {
  /** Waiting in this process's queue (same ticket running, or the concurrency limit reached). */
  readonly queuedMs: number;
  /** Waiting for another process's lock on the stack. */
  readonly lockWaitMs: number;
  /** Refreshing away a crashed run's pending operations. */
  readonly recoveryMs: number;
  /** The engine's own run (up, preview or destroy). */
  readonly engineMs: number;
  readonly totalMs: number;
}

export interface RunResult {
  readonly ticket: string;
  readonly stack: string;
  /** Resources by operation, as the engine reports them: { create: 236 } or { same: 235, update: 1 }. */
  readonly changes: OpMap;
  readonly durations: Durations;
  /** Whether this call waited behind another call for the same ticket in this process. */
  readonly waitedForSameTicket: boolean;
  /** Pending operations a crashed run left, resolved before this run (0 normally). */
  readonly recoveredPendingOperations: number;
}

export interface DeployResult extends RunResult {
  /** Stack outputs; secret outputs are replaced by "[secret]". */
  readonly outputs: Readonly<Record<string, unknown>>;
  readonly namespace: string;
  readonly url: string;
  /** Service name → the image reference it runs. */
  readonly images: Readonly<Record<string, string>>;
  readonly featureServices: readonly string[];
  readonly record: DeploymentRecord;
}

export type PreviewResult = RunResult;

export type DestroyResult = RunResult;

export interface EnvironmentSummary {
  readonly ticket: string;
  readonly stack: string;
  /** ISO 8601, from the backend. */
  readonly lastUpdate?: string;
  readonly updateInProgress: boolean;
  readonly resourceCount?: number;
  /** Who and when, from the stack's tags; undefined for a stack the driver never deployed. */
  readonly record?: DeploymentRecord;
}
