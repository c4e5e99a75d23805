// The pure parts of the PostgreSQL job store: its schema, its statements, advisory-lock keys and row mapping (the
// password's redaction is automation/redact.ts, shared with the driver). No connection here: pgStore.ts is the glue
// that runs these.
import { createHash } from "node:crypto";
import type { AuditEntry, Job, JobState } from "./contracts";

/**
 * Advisory-lock namespaces (the first int4 of pg_advisory_lock(int4, int4)): "QA" + a role byte, so that our locks
 * never collide with another application's single-bigint advisory locks in the same database (Pulumi's own postgres
 * backend locks with rows, not advisory locks, in 3.248).
 */
export const LOCK_SPACE = { schema: 0x51410001, owner: 0x51410002, ticket: 0x51410003 } as const;

/**
 * The second int4 of an advisory lock: the first 4 bytes of SHA-256, signed. Two names may share a key; that only
 * serialises them needlessly (two tickets wait for each other, an owner looks alive), it never lets two runs overlap.
 */
export function lockKey(name: string): number {
  return createHash("sha256").update(name, "utf8").digest().readInt32BE(0);
}

/**
 * Idempotent; run under pg_advisory_xact_lock(LOCK_SPACE.schema, 0) because two replicas starting at once would
 * otherwise race in CREATE TABLE IF NOT EXISTS (it is not atomic: the loser fails on pg_type's unique index).
 */
export const SCHEMA: readonly string[] = [
  `CREATE TABLE IF NOT EXISTS qa_jobs (
    seq bigserial PRIMARY KEY,
    id text NOT NULL UNIQUE,
    kind text NOT NULL CHECK (kind IN ('deploy', 'destroy')),
    ticket text NOT NULL,
    services jsonb,
    requested_by text NOT NULL,
    reason text NOT NULL,
    state text NOT NULL CHECK (state IN ('queued', 'running', 'succeeded', 'failed', 'cancelled', 'interrupted')),
    owner text,
    created_at timestamptz NOT NULL DEFAULT clock_timestamp(),
    started_at timestamptz,
    finished_at timestamptz,
    result jsonb,
    error jsonb
  )`,
  // The database's own guarantee behind the advisory lock: a second running job of one ticket cannot be written.
  `CREATE UNIQUE INDEX IF NOT EXISTS qa_jobs_one_running_per_ticket ON qa_jobs (ticket) WHERE state = 'running'`,
  `CREATE INDEX IF NOT EXISTS qa_jobs_queued ON qa_jobs (seq) WHERE state = 'queued'`,
  `CREATE INDEX IF NOT EXISTS qa_jobs_by_ticket ON qa_jobs (ticket, seq)`,
  // Output in appended chunks; start/end are offsets in UTF-16 code units (JavaScript string indices, what a client
  // resuming server-sent events counts), so output(id, from) reads only the chunks that end after `from`.
  `CREATE TABLE IF NOT EXISTS qa_job_output (
    seq bigserial PRIMARY KEY,
    job_id text NOT NULL REFERENCES qa_jobs (id) ON DELETE CASCADE,
    start_offset bigint NOT NULL,
    end_offset bigint NOT NULL,
    text text NOT NULL
  )`,
  `CREATE INDEX IF NOT EXISTS qa_job_output_by_job ON qa_job_output (job_id, end_offset)`,
  `CREATE TABLE IF NOT EXISTS qa_audit (
    seq bigserial PRIMARY KEY,
    time text NOT NULL,
    actor text NOT NULL,
    action text NOT NULL,
    ticket text,
    job_id text,
    outcome text NOT NULL
  )`,
  `CREATE INDEX IF NOT EXISTS qa_audit_by_ticket ON qa_audit (ticket, seq)`,
];

const JOB_COLUMNS =
  "id, kind, ticket, services, requested_by, reason, state, owner, created_at, started_at, finished_at, result, error";

export const SQL = {
  insertJob:
    `INSERT INTO qa_jobs (id, kind, ticket, services, requested_by, reason, state) ` +
    `VALUES ($1, $2, $3, $4, $5, $6, 'queued') RETURNING ${JOB_COLUMNS}`,
  /** Oldest first; the ticket filter is only a hint (its advisory lock and the claim below decide). */
  candidateTickets:
    `SELECT ticket FROM qa_jobs q WHERE state = 'queued' AND NOT EXISTS ` +
    `(SELECT 1 FROM qa_jobs r WHERE r.ticket = q.ticket AND r.state = 'running') ` +
    `GROUP BY ticket ORDER BY min(seq) LIMIT $1`,
  /**
   * One statement, so one transaction: the ticket's oldest queued job, row-locked (SKIP LOCKED: a row another
   * session is claiming is passed over, never waited for), becomes running for $2 — only if the ticket has no
   * running job, re-checked in this statement's own snapshot, after the ticket's advisory lock was taken.
   */
  claimTicket:
    `UPDATE qa_jobs SET state = 'running', owner = $2, started_at = clock_timestamp() WHERE seq = (` +
    `SELECT seq FROM qa_jobs q WHERE ticket = $1 AND state = 'queued' AND NOT EXISTS ` +
    `(SELECT 1 FROM qa_jobs r WHERE r.ticket = $1 AND r.state = 'running') ` +
    `ORDER BY seq LIMIT 1 FOR UPDATE SKIP LOCKED) RETURNING ${JOB_COLUMNS}`,
  finish:
    `UPDATE qa_jobs SET state = $2, result = $3, error = $4, finished_at = clock_timestamp() ` +
    `WHERE id = $1 RETURNING ${JOB_COLUMNS}`,
  get: `SELECT ${JOB_COLUMNS} FROM qa_jobs WHERE id = $1`,
  /** The primary key's newest, and the active jobs through the queued and one-running-per-ticket partial indexes. */
  changeMark:
    `SELECT (SELECT max(seq) FROM qa_jobs)::text AS newest, (SELECT string_agg(seq::text, ',' ORDER BY seq) ` +
    `FROM qa_jobs WHERE state = 'queued' OR state = 'running') AS active`,
  runningOwners: `SELECT DISTINCT owner FROM qa_jobs WHERE state = 'running'`,
  interruptOwner:
    `UPDATE qa_jobs SET state = 'interrupted', finished_at = clock_timestamp(), error = $3 ` +
    `WHERE state = 'running' AND owner = $1 AND NOT (id = ANY($2::text[])) RETURNING ${JOB_COLUMNS}`,
  /** Appends after the job's last chunk; one writer per job (the replica running it), as the service works. */
  appendOutput:
    `INSERT INTO qa_job_output (job_id, start_offset, end_offset, text) ` +
    `SELECT $1, c.o, c.o + $3, $2 FROM (SELECT coalesce(max(end_offset), 0) AS o FROM qa_job_output ` +
    `WHERE job_id = $1) c`,
  outputFrom: `SELECT start_offset, text FROM qa_job_output WHERE job_id = $1 AND end_offset > $2 ORDER BY seq`,
  insertAudit: `INSERT INTO qa_audit (time, actor, action, ticket, job_id, outcome) VALUES ($1, $2, $3, $4, $5, $6)`,
} as const;

export const DEFAULT_LIST_LIMIT = 100;

/** Newest first, optionally one ticket's; the limit is checked (a bad one is the caller's bug, named). */
export function listQuery(
  table: "qa_jobs" | "qa_audit",
  filter: { readonly ticket?: string; readonly limit?: number } = {},
): { text: string; values: unknown[] } {
  const limit = filter.limit ?? DEFAULT_LIST_LIMIT;
  if (!Number.isInteger(limit) || limit < 1 || limit > 10_000) {
    throw new RangeError(`list limit ${limit} is not an integer in 1–10000; pass a whole number from 1 to 10000`);
  }
  const columns = table === "qa_jobs" ? JOB_COLUMNS : "time, actor, action, ticket, job_id, outcome";
  const values: unknown[] = [];
  let where = "";
  if (filter.ticket !== undefined) {
    values.push(filter.ticket);
    where = ` WHERE ticket = $1`;
  }
  values.push(limit);
  return { text: `SELECT ${columns} FROM ${table}${where} ORDER BY seq DESC LIMIT $${values.length}`, values };
}

export interface JobRow {
  id: string;
  kind: Job["kind"];
  ticket: string;
  services: string[] | null;
  requested_by: string;
  reason: string;
  state: JobState;
  owner: string | null;
  created_at: Date;
  started_at: Date | null;
  finished_at: Date | null;
  result: Job["result"] | null;
  error: Job["error"] | null;
}

/** A row as the contract's Job: absent fields are left out, never null (as JSON from the SQLite store). */
export function jobFromRow(row: JobRow): Job {
  return {
    id: row.id,
    kind: row.kind,
    ticket: row.ticket,
    ...(row.services ? { services: row.services } : {}),
    requestedBy: row.requested_by,
    reason: row.reason,
    state: row.state,
    createdAt: row.created_at.toISOString(),
    ...(row.started_at ? { startedAt: row.started_at.toISOString() } : {}),
    ...(row.finished_at ? { finishedAt: row.finished_at.toISOString() } : {}),
    ...(row.result ? { result: row.result } : {}),
    ...(row.error ? { error: row.error } : {}),
  };
}

export interface AuditRow {
  time: string;
  actor: string;
  action: string;
  ticket: string | null;
  job_id: string | null;
  outcome: string;
}

export function auditFromRow(row: AuditRow): AuditEntry {
  return {
    time: row.time,
    actor: row.actor,
    action: row.action,
    ...(row.ticket !== null ? { ticket: row.ticket } : {}),
    ...(row.job_id !== null ? { jobId: row.job_id } : {}),
    outcome: row.outcome,
  };
}

/** The text from `from` on, out of chunks that end after it (the first may start before it). */
export function sliceOutput(chunks: readonly { start_offset: string | number; text: string }[], from: number): string {
  if (chunks.length === 0) return "";
  const text = chunks.map((c) => c.text).join("");
  return text.slice(Math.max(0, from - Number(chunks[0].start_offset)));
}

/** What a log line may show of the URL: host, port and database, never the user's password. */
export function describeUrl(url: string): string {
  try {
    const u = new URL(url);
    return `postgres://${u.username ? `${decodeURIComponent(u.username)}@` : ""}${u.host}${u.pathname}`;
  } catch {
    return "postgres://(unparseable URL)";
  }
}
