// The QA service's shared shapes: the HTTP API, the status page, the job stores (SQLite embedded, PostgreSQL for
// several replicas) and automatic cleanup all speak these. Plain JSON-serialisable data, like the driver's own types.
import type { DeployResult, DestroyResult } from "../types";

export type Scope = "read" | "deploy" | "admin";

/** Who called: a token's owner (its name in QA_TOKENS_FILE), the Jira webhook, or the service's own cleanup sweep. */
export interface Caller {
  readonly name: string;
  readonly scopes: readonly Scope[];
}

export type JobKind = "deploy" | "destroy";

/**
 * queued → running → succeeded | failed | cancelled; a job that was running when its service process died is marked
 * interrupted at the next start (and the ticket's next job recovers the crashed run, as the driver does).
 */
export type JobState = "queued" | "running" | "succeeded" | "failed" | "cancelled" | "interrupted";

export interface JobRequest {
  readonly kind: JobKind;
  readonly ticket: string;
  /** As the CLI's --services: services built on the branch; undefined = detected from the registry. */
  readonly services?: readonly string[];
  readonly requestedBy: string;
  /** Why: "api", "status-page", "jira: VERBU-6202 moved to Released", "idle for 7 days", ... */
  readonly reason: string;
}

export interface Job extends JobRequest {
  /** Opaque, URL-safe. */
  readonly id: string;
  readonly state: JobState;
  /** ISO 8601. */
  readonly createdAt: string;
  readonly startedAt?: string;
  readonly finishedAt?: string;
  /** The driver's result (secret outputs already "[secret]"). */
  readonly result?: DeployResult | DestroyResult;
  /** For failed/cancelled/interrupted: the driver error's class name, exit code and message. */
  readonly error?: { readonly name: string; readonly exitCode: number; readonly message: string };
}

/** One audit entry: every action requested through the service, whether it was accepted or refused. */
export interface AuditEntry {
  readonly time: string;
  readonly actor: string;
  readonly action: string;
  readonly ticket?: string;
  readonly jobId?: string;
  readonly outcome: string;
}

/**
 * Where jobs, their output and the audit history live. Two implementations: SQLite in QA_DATA_DIR (embedded
 * default) and PostgreSQL (QA_DATABASE_URL), which several service replicas share. Pins are not here: they are stack
 * tags (like the deployment record), so that `qa-env cleanup` from cron sees the same ones as the service.
 */
export interface JobStore {
  /** Marks every job left "running" by a dead process as interrupted; returns them. Called once at start. */
  interruptOrphans(owner: string): Promise<Job[]>;
  enqueue(request: JobRequest): Promise<Job>;
  /**
   * Takes the oldest queued job whose ticket has no running job (one ticket at a time across every replica) and marks
   * it running for `owner`; undefined when there is none.
   */
  claimNext(owner: string): Promise<Job | undefined>;
  appendOutput(id: string, text: string): Promise<void>;
  /** Output from a character offset (for server-sent events that resume). */
  output(id: string, fromOffset?: number): Promise<string>;
  finish(id: string, outcome: Pick<Job, "state" | "result" | "error">): Promise<Job>;
  get(id: string): Promise<Job | undefined>;
  list(filter?: { readonly ticket?: string; readonly limit?: number }): Promise<Job[]>;
  /**
   * A text that changes whenever a job is queued or ends, in any replica (the newest job, and the jobs still queued
   * or running): the read cache's sign that an environment may have changed. Indexed, read on every GET of one.
   */
  changeMark(): Promise<string>;
  audit(entry: AuditEntry): Promise<void>;
  auditLog(filter?: { readonly ticket?: string; readonly limit?: number }): Promise<AuditEntry[]>;
  close(): Promise<void>;
}
