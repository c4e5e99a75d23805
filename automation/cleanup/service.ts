// Cleanup inside the QA service: its settings from the environment, the periodic sweep the server runs every
// intervalMs, and the Jira hook's handler. The server owns the timer and the job queue; this only says what to run.
import { parseDurationSeconds } from "../cli/args";
import type { DriverApi } from "../cli/driverApi";
import { Driver } from "../driver";
import { BadInputError } from "../exitCodes";
import { DEFAULT_RELEASED_STATUSES, parseReleasedStatuses } from "./jira";
import { jiraHandler, JiraEventOutcome } from "./jiraHandler";
import { CleanupStore, workspaceStore } from "./store";
import { DEFAULT_IDLE_TTL_MS, destroyRefusal, sweep, SweepResult } from "./sweep";

export const CLEANUP_ENV = {
  /** Idle time from the last deploy before the sweep destroys an environment, e.g. 7d, 36h. @default 7d */
  idleTtl: "QA_IDLE_TTL",
  /** How often the service sweeps, e.g. 1h, 30m; "off" disables the sweep. @default 1h */
  sweepInterval: "QA_SWEEP_INTERVAL",
  /** Jira statuses that destroy the ticket's environment, comma-separated. @default Released,Closed,Done */
  releasedStatuses: "QA_JIRA_RELEASED_STATUSES",
} as const;

export interface CleanupSettings {
  readonly idleTtlMs: number;
  /** undefined: no periodic sweep. */
  readonly sweepIntervalMs?: number;
  readonly releasedStatuses: readonly string[];
}

const HOUR_MS = 3_600_000;

/** The settings from the service's environment; a bad value is a BadInputError naming the variable and the rule. */
export function cleanupSettings(env: Readonly<Record<string, string | undefined>>): CleanupSettings {
  const ttl = env[CLEANUP_ENV.idleTtl];
  const interval = env[CLEANUP_ENV.sweepInterval];
  const statuses = env[CLEANUP_ENV.releasedStatuses];
  return {
    idleTtlMs: ttl ? parseDurationSeconds(ttl, CLEANUP_ENV.idleTtl) * 1000 : DEFAULT_IDLE_TTL_MS,
    sweepIntervalMs:
      interval === "off"
        ? undefined
        : interval
          ? parseDurationSeconds(interval, CLEANUP_ENV.sweepInterval) * 1000
          : HOUR_MS,
    releasedStatuses: statuses
      ? parseReleasedStatuses(statuses, CLEANUP_ENV.releasedStatuses)
      : DEFAULT_RELEASED_STATUSES,
  };
}

export interface CleanupServiceOptions {
  readonly driver: DriverApi;
  /** @default the real workspace's store on the driver's backend (driver must be a Driver) */
  readonly store?: CleanupStore;
  readonly settings: CleanupSettings;
  /** The service's log: one line per environment and sweep. */
  readonly log: (line: string) => void;
  /**
   * The service's job queue: a destroy job for the ticket (JobRequest kind "destroy"), `reason` as the job's reason
   * ("jira: ..." or "idle cleanup: ..."), `requestedBy` the caller's name for the job and the audit.
   */
  readonly enqueueDestroy: (ticket: string, reason: string, requestedBy: "jira" | "cleanup") => Promise<{ id: string }>;
}

export interface CleanupService {
  /** For the server's deps; undefined when QA_SWEEP_INTERVAL=off. */
  readonly sweep?: { readonly intervalMs: number; run(): Promise<SweepResult | { skipped: string }> };
  readonly onJiraEvent: (payload: unknown) => Promise<JiraEventOutcome>;
}

export function cleanupService(options: CleanupServiceOptions): CleanupService {
  const store = options.store ?? storeOf(options.driver);
  let running = false;
  const run = async (): Promise<SweepResult | { skipped: string }> => {
    // A sweep longer than the interval (many destroys) must not start a second one over the same environments.
    if (running) {
      options.log("cleanup: sweep skipped, the previous one is still running");
      return { skipped: "the previous sweep is still running" };
    }
    running = true;
    try {
      return await sweep({
        driver: options.driver,
        store,
        idleTtlMs: options.settings.idleTtlMs,
        log: options.log,
        // Each removal is a destroy job: in the job history, serialized with the ticket's other runs.
        destroy: async (ticket, reason) => {
          const job = await options.enqueueDestroy(ticket, `idle cleanup: ${reason}`, "cleanup");
          return { outcome: "queued", detail: `destroy job ${job.id}`, jobId: job.id };
        },
      });
    } finally {
      running = false;
    }
  };
  const { sweepIntervalMs } = options.settings;
  return {
    sweep: sweepIntervalMs === undefined ? undefined : { intervalMs: sweepIntervalMs, run },
    onJiraEvent: jiraHandler({
      releasedStatuses: options.settings.releasedStatuses,
      enqueueDestroy: (ticket, reason) => options.enqueueDestroy(ticket, `jira: ${reason}`, "jira"),
      refusal: destroyRefusal(options.driver, store),
    }),
  };
}

function storeOf(driver: DriverApi): CleanupStore {
  if (!(driver instanceof Driver)) {
    throw new BadInputError("cleanupService: give a store, or the real Driver whose backend the store reads");
  }
  return workspaceStore(driver.envVars);
}
