// The embedded job store: one SQLite file in QA_DATA_DIR (better-sqlite3, WAL so readers never wait for the runner's
// writes). Jobs, their output and the audit log survive restarts; claiming is one transaction, so a ticket never has
// two running jobs.
import Database from "better-sqlite3";
import * as crypto from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";
import type { AuditEntry, Job, JobRequest, JobState, JobStore } from "./contracts";

const SCHEMA = `
CREATE TABLE IF NOT EXISTS jobs (
  seq INTEGER PRIMARY KEY AUTOINCREMENT,
  id TEXT NOT NULL UNIQUE,
  kind TEXT NOT NULL,
  ticket TEXT NOT NULL,
  services TEXT,
  requested_by TEXT NOT NULL,
  reason TEXT NOT NULL,
  state TEXT NOT NULL,
  owner TEXT,
  created_at TEXT NOT NULL,
  started_at TEXT,
  finished_at TEXT,
  result TEXT,
  error TEXT,
  output TEXT NOT NULL DEFAULT ''
);
CREATE INDEX IF NOT EXISTS jobs_state ON jobs (state, seq);
CREATE INDEX IF NOT EXISTS jobs_ticket ON jobs (ticket, seq);
CREATE TABLE IF NOT EXISTS audit (
  seq INTEGER PRIMARY KEY AUTOINCREMENT,
  time TEXT NOT NULL,
  actor TEXT NOT NULL,
  action TEXT NOT NULL,
  ticket TEXT,
  job_id TEXT,
  outcome TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS audit_ticket ON audit (ticket, seq);
`;

// Both halves read an index (the primary key, and jobs_state).
const MARK =
  "SELECT (SELECT max(seq) FROM jobs) AS newest, (SELECT group_concat(seq) FROM " +
  "(SELECT seq FROM jobs WHERE state IN ('queued', 'running') ORDER BY seq)) AS active";

interface JobRow {
  id: string;
  kind: string;
  ticket: string;
  services: string | null;
  requested_by: string;
  reason: string;
  state: string;
  created_at: string;
  started_at: string | null;
  finished_at: string | null;
  result: string | null;
  error: string | null;
}

const JOB_COLUMNS =
  "id, kind, ticket, services, requested_by, reason, state, created_at, started_at, finished_at, result, error";

/** A row → the contract's Job (absent fields left out, as JSON would have them). */
export function jobOfRow(row: JobRow): Job {
  return {
    id: row.id,
    kind: row.kind as Job["kind"],
    ticket: row.ticket,
    ...(row.services !== null ? { services: JSON.parse(row.services) as string[] } : {}),
    requestedBy: row.requested_by,
    reason: row.reason,
    state: row.state as JobState,
    createdAt: row.created_at,
    ...(row.started_at ? { startedAt: row.started_at } : {}),
    ...(row.finished_at ? { finishedAt: row.finished_at } : {}),
    ...(row.result ? { result: JSON.parse(row.result) as Job["result"] } : {}),
    ...(row.error ? { error: JSON.parse(row.error) as Job["error"] } : {}),
  };
}

export const INTERRUPTED_ERROR = {
  name: "InterruptedError",
  exitCode: 1,
  message:
    "the service process running this job stopped before it ended; the ticket's next deploy or destroy recovers " +
    "the interrupted run (its lock and pending operations)",
};

export const newJobId = (): string => crypto.randomUUID();

export class SqliteJobStore implements JobStore {
  // Compiling a statement costs more than running it: the change mark runs on every GET of an environment (a CPU
  // profile of the load bench spent a sixth of the service's time in prepare), so each text is compiled once.
  private readonly statements = new Map<string, Database.Statement>();

  private constructor(private readonly db: Database.Database) {}

  private prepare(sql: string): Database.Statement {
    let statement = this.statements.get(sql);
    if (!statement) this.statements.set(sql, (statement = this.db.prepare(sql)));
    return statement;
  }

  /** Opens (or creates) `<dataDir>/jobs.sqlite`. */
  static open(dataDir: string): SqliteJobStore {
    fs.mkdirSync(dataDir, { recursive: true, mode: 0o700 });
    const db = new Database(path.join(dataDir, "jobs.sqlite"));
    db.pragma("journal_mode = WAL");
    db.pragma("synchronous = NORMAL");
    db.pragma("busy_timeout = 5000");
    db.exec(SCHEMA);
    return new SqliteJobStore(db);
  }

  async interruptOrphans(owner: string): Promise<Job[]> {
    const now = new Date().toISOString();
    const rows = this.prepare(
      `UPDATE jobs SET state = 'interrupted', finished_at = ?, error = ? WHERE state = 'running' AND (owner IS NULL OR owner != ?) RETURNING ${JOB_COLUMNS}`,
    ).all(now, JSON.stringify(INTERRUPTED_ERROR), owner) as JobRow[];
    return rows.map(jobOfRow);
  }

  async enqueue(request: JobRequest): Promise<Job> {
    const row = this.prepare(
      `INSERT INTO jobs (id, kind, ticket, services, requested_by, reason, state, created_at) VALUES (?, ?, ?, ?, ?, ?, 'queued', ?) RETURNING ${JOB_COLUMNS}`,
    ).get(
      newJobId(),
      request.kind,
      request.ticket,
      request.services ? JSON.stringify(request.services) : null,
      request.requestedBy,
      request.reason,
      new Date().toISOString(),
    ) as JobRow;
    return jobOfRow(row);
  }

  async claimNext(owner: string): Promise<Job | undefined> {
    const claim = this.db.transaction((): JobRow | undefined => {
      const next = this.prepare(
        `SELECT id FROM jobs q WHERE state = 'queued' AND NOT EXISTS (SELECT 1 FROM jobs r WHERE r.ticket = q.ticket AND r.state = 'running') ORDER BY seq LIMIT 1`,
      ).get() as { id: string } | undefined;
      if (!next) return undefined;
      return this.prepare(
        `UPDATE jobs SET state = 'running', owner = ?, started_at = ? WHERE id = ? RETURNING ${JOB_COLUMNS}`,
      ).get(owner, new Date().toISOString(), next.id) as JobRow;
    });
    const row = claim.immediate();
    return row && jobOfRow(row);
  }

  async appendOutput(id: string, text: string): Promise<void> {
    this.prepare("UPDATE jobs SET output = output || ? WHERE id = ?").run(text, id);
  }

  async output(id: string, fromOffset = 0): Promise<string> {
    const row = this.prepare("SELECT output FROM jobs WHERE id = ?").get(id) as { output: string } | undefined;
    return (row?.output ?? "").slice(fromOffset);
  }

  async finish(id: string, outcome: Pick<Job, "state" | "result" | "error">): Promise<Job> {
    const row = this.prepare(
      `UPDATE jobs SET state = ?, finished_at = ?, result = ?, error = ? WHERE id = ? RETURNING ${JOB_COLUMNS}`,
    ).get(
      outcome.state,
      new Date().toISOString(),
      outcome.result ? JSON.stringify(outcome.result) : null,
      outcome.error ? JSON.stringify(outcome.error) : null,
      id,
    ) as JobRow | undefined;
    if (!row) throw new Error(`job ${id} does not exist`);
    return jobOfRow(row);
  }

  async get(id: string): Promise<Job | undefined> {
    const row = this.prepare(`SELECT ${JOB_COLUMNS} FROM jobs WHERE id = ?`).get(id) as JobRow | undefined;
    return row && jobOfRow(row);
  }

  async changeMark(): Promise<string> {
    const row = this.prepare(MARK).get() as { newest: number | null; active: string | null };
    return `${row.newest ?? 0}|${row.active ?? ""}`;
  }

  async list(filter: { readonly ticket?: string; readonly limit?: number } = {}): Promise<Job[]> {
    const limit = filter.limit ?? 100;
    const rows = (
      filter.ticket === undefined
        ? this.prepare(`SELECT ${JOB_COLUMNS} FROM jobs ORDER BY seq DESC LIMIT ?`).all(limit)
        : this.prepare(`SELECT ${JOB_COLUMNS} FROM jobs WHERE ticket = ? ORDER BY seq DESC LIMIT ?`).all(
            filter.ticket,
            limit,
          )
    ) as JobRow[];
    return rows.map(jobOfRow);
  }

  async audit(entry: AuditEntry): Promise<void> {
    this.prepare("INSERT INTO audit (time, actor, action, ticket, job_id, outcome) VALUES (?, ?, ?, ?, ?, ?)").run(
      entry.time,
      entry.actor,
      entry.action,
      entry.ticket ?? null,
      entry.jobId ?? null,
      entry.outcome,
    );
  }

  async auditLog(filter: { readonly ticket?: string; readonly limit?: number } = {}): Promise<AuditEntry[]> {
    const limit = filter.limit ?? 100;
    const rows = (
      filter.ticket === undefined
        ? this.prepare("SELECT * FROM audit ORDER BY seq DESC LIMIT ?").all(limit)
        : this.prepare("SELECT * FROM audit WHERE ticket = ? ORDER BY seq DESC LIMIT ?").all(filter.ticket, limit)
    ) as {
      time: string;
      actor: string;
      action: string;
      ticket: string | null;
      job_id: string | null;
      outcome: string;
    }[];
    return rows.map((r) => ({
      time: r.time,
      actor: r.actor,
      action: r.action,
      ...(r.ticket ? { ticket: r.ticket } : {}),
      ...(r.job_id ? { jobId: r.job_id } : {}),
      outcome: r.outcome,
    }));
  }

  /** Whether the database answers (readyz). */
  ping(): boolean {
    return (this.prepare("SELECT 1 AS one").get() as { one: number }).one === 1;
  }

  async close(): Promise<void> {
    if (this.db.open) this.db.close();
  }
}
