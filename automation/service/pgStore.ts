// The QA service's job store on PostgreSQL (QA_DATABASE_URL), shared by several service replicas.
//
// Protocol between replicas (why each piece is there):
// - Every store opens ONE dedicated "lock session" (a pg.Client, not from the pool) beside its pool. It holds
//   session-level advisory locks, which PostgreSQL drops by itself when the session ends — a replica that dies, is
//   SIGKILLed or loses its network loses its locks within the server's TCP keepalive, with nobody having to clean up.
// - Owner lock (LOCK_SPACE.owner, hash of the owner name): taken by interruptOrphans/claimNext for `owner` and held for
//   the store's life. It is the replica's heartbeat: a "running" job whose owner's lock can be taken by someone else is
//   an orphan. interruptOrphans(owner) marks exactly those interrupted (and its own owner's jobs left by an earlier
//   process of the same name, never the ones this store is running). Another live replica's jobs are never touched:
//   its lock cannot be taken while it lives. Two live processes may not share an owner name (the second fails).
//   claimNext repeats the sweep for other owners every orphanSweepMs, so a replica dying while the others live does
//   not block its tickets until the next restart.
// - Ticket lock (LOCK_SPACE.ticket, hash of the ticket): claimNext takes it with pg_try_advisory_lock on the lock
//   session BEFORE claiming, and finish() releases it AFTER the job's final state is committed. So no two replicas
//   ever run one ticket at once, even when both saw "no running job" in their snapshots at the same moment; a replica
//   that sees the lock taken just moves on to the next ticket (never waits). The claim itself is one UPDATE whose
//   sub-select is `FOR UPDATE SKIP LOCKED` and re-checks "no running job" after the lock was taken; a partial unique
//   index (one running job per ticket) makes the database refuse what the locks should already prevent.
// - If the lock session breaks, this replica's locks are gone: the store refuses to claim from then on (close and
//   reopen it, i.e. restart the process), and other replicas may mark its running jobs interrupted.
// Every error leaving this file has the connection string's password removed (redact).
import { randomUUID } from "node:crypto";
import { Client, Pool, PoolClient } from "pg";
import type { AuditEntry, Job, JobRequest, JobStore } from "./contracts";
import {
  auditFromRow,
  AuditRow,
  describeUrl,
  jobFromRow,
  JobRow,
  listQuery,
  LOCK_SPACE,
  lockKey,
  SCHEMA,
  sliceOutput,
  SQL,
} from "./pgSql";
import { redact } from "../redact";

/** How many tickets one claimNext tries before it reports that none is free. */
const CLAIM_CANDIDATES = 32;
const ORPHAN_SWEEP_MS = 10_000;

export const INTERRUPTED_ERROR = {
  name: "InterruptedError",
  exitCode: 1,
  message: "the service process running this job stopped before it ended; the ticket's next job recovers the stack",
} as const;

export class PostgresJobStore implements JobStore {
  /** Owners whose lock this store's lock session holds. */
  private readonly owners = new Set<string>();
  /** Ticket → the id of the job this store claimed for it and has not finished. */
  private readonly running = new Map<string, string>();
  private broken?: string;
  /**
   * The lock session's users run one at a time: its advisory locks are re-entrant for the session, so two claims in
   * flight in one process would both "get" one ticket's lock.
   */
  private serial: Promise<unknown> = Promise.resolve();
  private lastSweep = 0;

  private constructor(
    private readonly url: string,
    private readonly pool: Pool,
    private readonly lockSession: Client,
    private readonly sweepMs: number,
  ) {
    lockSession.on("error", (error) => {
      this.broken = redact(error.message, url);
    });
    lockSession.on("end", () => {
      this.broken ??= "the lock session ended";
    });
    // An idle pooled connection that drops is replaced on the next query; the error must not crash the process.
    pool.on("error", () => undefined);
  }

  /** Connects, creates the schema if needed (safe when several replicas start at once) and opens the lock session. */
  /**
   * @param options.orphanSweepMs how often claimNext also interrupts the jobs of replicas that died while this one
   *   lives (interruptOrphans runs only at start) @default 10 s
   */
  static async open(url: string, options: { readonly orphanSweepMs?: number } = {}): Promise<PostgresJobStore> {
    const where = describeUrl(url);
    const pool = new Pool({ connectionString: url, max: 8, application_name: "qa-k8s-service" });
    const lockSession = new Client({ connectionString: url, application_name: "qa-k8s-service-locks" });
    try {
      await lockSession.connect();
      await inTransaction(pool, async (c) => {
        await c.query("SELECT pg_advisory_xact_lock($1, 0)", [LOCK_SPACE.schema]);
        for (const statement of SCHEMA) await c.query(statement);
      });
    } catch (error) {
      await lockSession.end().catch(() => undefined);
      await pool.end().catch(() => undefined);
      throw new Error(`job store: cannot open PostgreSQL at ${where}: ${redact(messageOf(error), url)}`);
    }
    return new PostgresJobStore(url, pool, lockSession, options.orphanSweepMs ?? ORPHAN_SWEEP_MS);
  }

  async interruptOrphans(owner: string): Promise<Job[]> {
    return this.guard("interrupt orphaned jobs", () =>
      this.oneAtATime(async () => {
        await this.holdOwner(owner);
        return this.sweepOrphans(owner, true);
      }),
    );
  }

  async enqueue(request: JobRequest): Promise<Job> {
    return this.guard("enqueue a job", async () => {
      const { rows } = await this.pool.query<JobRow>(SQL.insertJob, [
        randomUUID(),
        request.kind,
        request.ticket,
        request.services === undefined ? null : JSON.stringify(request.services),
        request.requestedBy,
        request.reason,
      ]);
      return jobFromRow(rows[0]);
    });
  }

  async claimNext(owner: string): Promise<Job | undefined> {
    return this.guard("claim a job", () =>
      this.oneAtATime(async () => {
        if (this.broken) throw new Error(`the lock session is broken (${this.broken}); restart the service`);
        await this.holdOwner(owner);
        // A replica that died while others live would block its tickets until a restart: sweep now and then here.
        if (Date.now() - this.lastSweep >= this.sweepMs) {
          this.lastSweep = Date.now();
          await this.sweepOrphans(owner, false);
        }
        const { rows } = await this.pool.query<{ ticket: string }>(SQL.candidateTickets, [CLAIM_CANDIDATES]);
        for (const { ticket } of rows) {
          // Session advisory locks are re-entrant for their own session: a ticket this store runs must be skipped here.
          if (this.running.has(ticket)) continue;
          if (!(await this.tryLock(LOCK_SPACE.ticket, ticket))) continue;
          let claimed: JobRow | undefined;
          try {
            claimed = (await this.pool.query<JobRow>(SQL.claimTicket, [ticket, owner])).rows[0];
          } finally {
            if (!claimed) await this.unlock(LOCK_SPACE.ticket, ticket);
          }
          if (claimed) {
            this.running.set(ticket, claimed.id);
            return jobFromRow(claimed);
          }
        }
        return undefined;
      }),
    );
  }

  async appendOutput(id: string, text: string): Promise<void> {
    if (text.length === 0) return;
    await this.guard("append job output", async () => {
      try {
        await this.pool.query(SQL.appendOutput, [id, text, text.length]);
      } catch (error) {
        if ((error as { code?: string }).code === "23503") throw new Error(`job ${id} does not exist`);
        throw error;
      }
    });
  }

  async output(id: string, fromOffset = 0): Promise<string> {
    return this.guard("read job output", async () => {
      const from = Math.max(0, Math.floor(fromOffset));
      const { rows } = await this.pool.query<{ start_offset: string; text: string }>(SQL.outputFrom, [id, from]);
      return sliceOutput(rows, from);
    });
  }

  async finish(id: string, outcome: Pick<Job, "state" | "result" | "error">): Promise<Job> {
    return this.guard("finish a job", async () => {
      const { rows } = await this.pool.query<JobRow>(SQL.finish, [
        id,
        outcome.state,
        outcome.result === undefined ? null : JSON.stringify(outcome.result),
        outcome.error === undefined ? null : JSON.stringify(outcome.error),
      ]);
      if (rows.length === 0) throw new Error(`job ${id} does not exist`);
      const job = jobFromRow(rows[0]);
      // Only after the final state is committed may another replica take the ticket.
      if (this.running.get(job.ticket) === id) {
        await this.oneAtATime(async () => {
          this.running.delete(job.ticket);
          // A broken lock session has lost the lock already: the final state is committed either way.
          await this.unlock(LOCK_SPACE.ticket, job.ticket).catch(() => undefined);
        });
      }
      return job;
    });
  }

  async get(id: string): Promise<Job | undefined> {
    return this.guard("read a job", async () => {
      const { rows } = await this.pool.query<JobRow>(SQL.get, [id]);
      return rows[0] ? jobFromRow(rows[0]) : undefined;
    });
  }

  async changeMark(): Promise<string> {
    return this.guard("read the change mark", async () => {
      const row = (await this.pool.query<{ newest: string | null; active: string | null }>(SQL.changeMark)).rows[0];
      return `${row.newest ?? 0}|${row.active ?? ""}`;
    });
  }

  async list(filter?: { readonly ticket?: string; readonly limit?: number }): Promise<Job[]> {
    const query = listQuery("qa_jobs", filter);
    return this.guard("list jobs", async () => (await this.pool.query<JobRow>(query)).rows.map(jobFromRow));
  }

  async audit(entry: AuditEntry): Promise<void> {
    await this.guard("write the audit log", async () => {
      const { time, actor, action, ticket, jobId, outcome } = entry;
      await this.pool.query(SQL.insertAudit, [time, actor, action, ticket ?? null, jobId ?? null, outcome]);
    });
  }

  async auditLog(filter?: { readonly ticket?: string; readonly limit?: number }): Promise<AuditEntry[]> {
    const query = listQuery("qa_audit", filter);
    return this.guard("read the audit log", async () =>
      (await this.pool.query<AuditRow>(query)).rows.map(auditFromRow),
    );
  }

  /** Ends both sessions: this replica's owner and ticket locks are released with the lock session. */
  async close(): Promise<void> {
    this.broken ??= "the store was closed";
    await this.lockSession.end().catch(() => undefined);
    await this.pool.end().catch(() => undefined);
  }

  /**
   * Interrupts the running jobs of every owner whose lock session is gone; `own`: also `owner`'s, left by an earlier
   * process of that name (at start), except those this store runs.
   */
  private async sweepOrphans(owner: string, own: boolean): Promise<Job[]> {
    const interrupted: Job[] = [];
    const owners = await this.pool.query<{ owner: string | null }>(SQL.runningOwners);
    for (const { owner: other } of owners.rows) {
      if (other === null || (other === owner && !own)) continue;
      if (other === owner) {
        interrupted.push(...(await this.interruptOwner(other)));
        continue;
      }
      if (this.owners.has(other)) continue;
      // Taken = that owner's session is gone. Held while its jobs are marked, so no new process of that name can
      // claim in between; released right after.
      if (!(await this.tryLock(LOCK_SPACE.owner, other))) continue;
      try {
        interrupted.push(...(await this.interruptOwner(other)));
      } finally {
        await this.unlock(LOCK_SPACE.owner, other);
      }
    }
    return interrupted;
  }

  private oneAtATime<T>(work: () => Promise<T>): Promise<T> {
    const result = this.serial.then(work);
    this.serial = result.catch(() => undefined);
    return result;
  }

  private async holdOwner(owner: string): Promise<void> {
    if (this.owners.has(owner)) return;
    if (!(await this.tryLock(LOCK_SPACE.owner, owner))) {
      throw new Error(`owner "${owner}" is in use by another live service process; give each replica its own name`);
    }
    this.owners.add(owner);
  }

  private async interruptOwner(owner: string): Promise<Job[]> {
    const mine = [...this.running.values()];
    const { rows } = await this.pool.query<JobRow>(SQL.interruptOwner, [
      owner,
      mine,
      JSON.stringify(INTERRUPTED_ERROR),
    ]);
    return rows.map(jobFromRow);
  }

  private async tryLock(space: number, name: string): Promise<boolean> {
    const { rows } = await this.lockSession.query<{ ok: boolean }>("SELECT pg_try_advisory_lock($1, $2) AS ok", [
      space,
      lockKey(name),
    ]);
    return rows[0].ok;
  }

  private async unlock(space: number, name: string): Promise<void> {
    await this.lockSession.query("SELECT pg_advisory_unlock($1, $2)", [space, lockKey(name)]);
  }

  /** Runs one operation; any failure comes out as "job store: <what>: <reason>", password removed. */
  private async guard<T>(what: string, work: () => Promise<T>): Promise<T> {
    try {
      return await work();
    } catch (error) {
      throw new Error(`job store: cannot ${what}: ${redact(messageOf(error), this.url)}`);
    }
  }
}

async function inTransaction(pool: Pool, work: (client: PoolClient) => Promise<void>): Promise<void> {
  const client = await pool.connect();
  try {
    await client.query("BEGIN");
    await work(client);
    await client.query("COMMIT");
  } catch (error) {
    await client.query("ROLLBACK").catch(() => undefined);
    throw error;
  } finally {
    client.release();
  }
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
