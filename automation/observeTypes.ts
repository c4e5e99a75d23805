// Shapes of what the driver reads from the cluster rather than from the engine: status, logs and capacity. Plain data
// (JSON-serialisable), shared by the library (automation/status.ts, logs.ts, capacity.ts), the qa-env CLI and, later,
// the HTTP service and its status page.
import type { DeploymentRecord } from "./records";

/** What the seed's Cockpit showed per service. */
export type ServiceState = "active" | "updating" | "failing" | "pending" | "scaled-down";

export interface ServiceStatus {
  readonly service: string;
  /** The image reference the Deployment/StatefulSet asks for. */
  readonly image: string;
  /** The tag of `image` (`VERBU-6202_latest`, `master_latest`). */
  readonly tag: string;
  /** The digest a running container reports (imageID), when one does. */
  readonly digest?: string;
  /** Whether the image is the ticket's own build (`<TICKET>_latest`), not master's. */
  readonly builtOnBranch: boolean;
  readonly readyReplicas: number;
  readonly desiredReplicas: number;
  /** Sum over the service's pods and containers. */
  readonly restartCount: number;
  readonly state: ServiceState;
  /** Why it is not active: "ImagePullBackOff: ...", "CrashLoopBackOff (last exit: Error, code 1)", "Unschedulable: 0/6 nodes ...". */
  readonly reason?: string;
}

export interface EnvironmentStatus {
  readonly ticket: string;
  readonly stack: string;
  readonly namespace: string;
  /** False when the namespace is not on the cluster (never deployed, or destroyed). */
  readonly exists: boolean;
  readonly url?: string;
  /** Service name → URL of its ingress route, for the services that have one. */
  readonly appLinks: Readonly<Record<string, string>>;
  /** Who and when, from the stack's tags (undefined for a stack the driver never deployed). */
  readonly record?: DeploymentRecord;
  /** Milliseconds since the namespace was created. */
  readonly ageMs?: number;
  readonly services: readonly ServiceStatus[];
}

export interface LogOptions {
  /** The previous (crashed) container's log, like `kubectl logs --previous`. */
  readonly previous?: boolean;
  /** Keep streaming until the signal aborts. */
  readonly follow?: boolean;
  /** Only lines newer than this many seconds. */
  readonly sinceSeconds?: number;
  /** Only the last N lines of each pod. */
  readonly tail?: number;
  readonly signal?: AbortSignal;
  /** Each line as it arrives; without it the lines are only returned at the end (not with follow). */
  readonly onLine?: (line: LogLine) => void;
}

export interface LogLine {
  /** The pod the line came from; every line is prefixed with it when a service has several replicas. */
  readonly pod: string;
  readonly container: string;
  readonly text: string;
}

// The capacity shapes are the environment wing's own (one definition: the program's guard, the driver and the CLI).
export type { Resources } from "../environments/capacity";
export type { NodeRoom, FitReport as CapacityReport } from "../environments/capacityFit";
