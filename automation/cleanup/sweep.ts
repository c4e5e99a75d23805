// The periodic sweep (inside the service) and `qa-env cleanup` (cron): list the environments with their pins, decide
// by idle time (idle.ts), check the managed-by markers of every one to remove (marker.ts), destroy through the driver
// (which removes the stack too), and log one line per environment saying what is removed or kept and why. Runs one
// destroy at a time: the sweep is background work and must leave the driver's slots to people deploying.
import { featureOf } from "../driverInput";
import type { DriverApi } from "../cli/driverApi";
import { idleDecisions, CleanupDecision, formatDuration } from "./idle";
import { notOursReason } from "./marker";
import { CleanupEnvironment, listEnvironments } from "./pins";
import type { CleanupStore } from "./store";

export const DAY_MS = 86_400_000;
/** @default idle TTL: a week without a deploy. */
export const DEFAULT_IDLE_TTL_MS = 7 * DAY_MS;

export interface SweepOptions {
  readonly driver: Pick<DriverApi, "list" | "destroy">;
  readonly store: CleanupStore;
  readonly idleTtlMs?: number;
  /** Decide and log, destroy nothing. */
  readonly dryRun?: boolean;
  /** One line per environment (and per destroy's outcome). */
  readonly log: (line: string) => void;
  readonly now?: Date;
  readonly signal?: AbortSignal;
  /**
   * How an environment is removed. @default driver.destroy, awaited. The service passes its job queue instead, so
   * that each removal is a job in its history: the entry is then "queued" with the job's id.
   */
  readonly destroy?: (
    ticket: string,
    reason: string,
  ) => Promise<{ outcome: "destroyed" | "queued"; detail: string; jobId?: string }>;
}

export interface Removal {
  readonly outcome: "destroyed" | "queued";
  /** For the log line: what was deleted, or the job. */
  readonly detail: string;
  readonly jobId?: string;
}

export interface SweepEntry extends CleanupDecision {
  readonly outcome: "destroyed" | "queued" | "would-destroy" | "kept" | "failed";
  /** Why a destroy failed (the driver's message). */
  readonly error?: string;
  /** The destroy job, when the service queued one. */
  readonly jobId?: string;
}

export interface SweepResult {
  readonly at: string;
  readonly dryRun: boolean;
  readonly idleTtlMs: number;
  readonly entries: readonly SweepEntry[];
  readonly destroyed: number;
  readonly queued: number;
  readonly kept: number;
  readonly failed: number;
}

/** Why cleanup must not destroy this environment (a missing or wrong marker, an unreadable cluster), or undefined. */
export async function ownershipProblem(
  store: CleanupStore,
  environment: Pick<CleanupEnvironment, "ticket" | "stack" | "record">,
): Promise<string | undefined> {
  const noRecord = notOursReason(environment, "", { state: "absent" });
  if (noRecord) return noRecord;
  let namespace: string;
  try {
    namespace = featureOf(environment.ticket).name;
  } catch (error) {
    // A stack made by hand under a name the naming rules refuse: no namespace of ours can carry that name.
    return `stack ${environment.stack} does not follow qa-env's naming rules (${(error as Error).message})`;
  }
  try {
    return notOursReason(environment, namespace, await store.namespace(environment.stack, namespace));
  } catch (error) {
    // Unknown is not ours: a cluster that cannot be read keeps the environment until the next sweep.
    return `the namespace ${namespace} could not be checked for its managed-by label (${(error as Error).message})`;
  }
}

export async function sweep(options: SweepOptions): Promise<SweepResult> {
  const idleTtlMs = options.idleTtlMs ?? DEFAULT_IDLE_TTL_MS;
  const now = options.now ?? new Date();
  const dryRun = options.dryRun ?? false;
  const environments = await listEnvironments(options.driver, options.store);
  const byStack = new Map(environments.map((e) => [e.stack, e]));
  const decisions = idleDecisions(environments, { idleTtlMs, now });
  const prefix = dryRun ? "cleanup (dry run)" : "cleanup";
  const destroy =
    options.destroy ??
    (async (ticket: string): Promise<Removal> => {
      const result = await options.driver.destroy(ticket, { signal: options.signal });
      return { outcome: "destroyed", detail: `${result.changes.delete ?? 0} resource(s), stack removed` };
    });
  options.log(
    `${prefix}: ${environments.length} environment(s), idle TTL ${formatDuration(idleTtlMs)} from the last deploy`,
  );
  const entries: SweepEntry[] = [];
  for (const decision of decisions) {
    let entry: SweepEntry = { ...decision, outcome: decision.action === "keep" ? "kept" : "would-destroy" };
    if (decision.action === "destroy") {
      const problem = await ownershipProblem(options.store, byStack.get(decision.stack)!);
      if (problem)
        entry = { ...decision, action: "keep", reason: `${decision.reason}, but ${problem}`, outcome: "kept" };
    }
    if (entry.action === "keep") {
      options.log(`${prefix}: keep ${entry.ticket}: ${entry.reason}`);
    } else if (dryRun) {
      options.log(`${prefix}: would destroy ${entry.ticket} (stack ${entry.stack}): ${entry.reason}`);
    } else {
      options.log(`${prefix}: destroy ${entry.ticket} (stack ${entry.stack}): ${entry.reason}`);
      try {
        const done = await destroy(entry.ticket, entry.reason);
        entry = { ...entry, outcome: done.outcome, ...(done.jobId ? { jobId: done.jobId } : {}) };
        options.log(`${prefix}: ${done.outcome} ${entry.ticket}: ${done.detail}`);
      } catch (error) {
        entry = { ...entry, outcome: "failed", error: (error as Error).message };
        options.log(`${prefix}: failed to destroy ${entry.ticket}: ${entry.error}`);
      }
    }
    entries.push(entry);
  }
  const count = (outcome: SweepEntry["outcome"]) => entries.filter((e) => e.outcome === outcome).length;
  return {
    at: now.toISOString(),
    dryRun,
    idleTtlMs,
    entries,
    destroyed: count("destroyed"),
    queued: count("queued"),
    kept: count("kept"),
    failed: count("failed"),
  };
}

/**
 * For jiraHandler's `refusal`: why a released ticket's environment must not be destroyed: it has none, or it is not
 * ours by its markers. Reads the backend's list (no engine) and the namespace.
 */
export function destroyRefusal(
  driver: Pick<DriverApi, "list">,
  store: CleanupStore,
): (ticket: string) => Promise<string | undefined> {
  return async (ticket) => {
    const feature = featureOf(ticket);
    const environment = (await driver.list()).find((e) => e.stack.split("/").pop() === feature.name);
    if (!environment) return `${feature.ticket} has no environment (no stack ${feature.name})`;
    return ownershipProblem(store, environment);
  };
}
