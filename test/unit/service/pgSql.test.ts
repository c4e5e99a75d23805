import { expect } from "chai";
import { createHash } from "node:crypto";
import {
  auditFromRow,
  describeUrl,
  jobFromRow,
  JobRow,
  listQuery,
  LOCK_SPACE,
  lockKey,
  SCHEMA,
  sliceOutput,
  SQL,
} from "../../../automation/service/pgSql";

const URL_ = "postgres://qa_service:s3cr%2Ft-Pa55@db.internal:5432/qa?sslmode=require";

describe("PostgreSQL job store: pure parts", () => {
  describe("lockKey", () => {
    it("is a stable signed 32-bit integer per name", () => {
      const key = lockKey("VERBU-9601");
      expect(key).to.equal(lockKey("VERBU-9601"));
      expect(Number.isInteger(key)).to.equal(true);
      expect(key).to.be.within(-(2 ** 31), 2 ** 31 - 1);
      // The first 4 bytes of SHA-256("VERBU-9601"), read big-endian and signed: the same in every replica.
      expect(key).to.equal(createHash("sha256").update("VERBU-9601").digest().readInt32BE(0));
    });

    it("spreads names: 2000 tickets give (almost) 2000 keys", () => {
      const keys = new Set(Array.from({ length: 2000 }, (_, i) => lockKey(`VERBU-${i}`)));
      expect(keys.size).to.be.greaterThan(1995);
    });

    it("keeps its namespaces apart from each other", () => {
      expect(new Set(Object.values(LOCK_SPACE)).size).to.equal(3);
    });
  });

  describe("statements", () => {
    it("claims with FOR UPDATE SKIP LOCKED and re-checks the ticket has no running job", () => {
      expect(SQL.claimTicket).to.match(/FOR UPDATE SKIP LOCKED/);
      expect(SQL.claimTicket).to.match(
        /NOT EXISTS \(SELECT 1 FROM qa_jobs r WHERE r\.ticket = \$1 AND r\.state = 'running'\)/,
      );
      expect(SQL.claimTicket).to.match(/ORDER BY seq LIMIT 1/);
    });

    it("creates everything idempotently, with the database's one-running-job-per-ticket guarantee", () => {
      for (const statement of SCHEMA) expect(statement).to.match(/^CREATE (UNIQUE )?(TABLE|INDEX) IF NOT EXISTS/);
      expect(SCHEMA.join("\n")).to.include(
        "UNIQUE INDEX IF NOT EXISTS qa_jobs_one_running_per_ticket ON qa_jobs (ticket) WHERE state = 'running'",
      );
    });

    it("interrupts only one owner's running jobs, never those listed as its own", () => {
      expect(SQL.interruptOwner).to.match(
        /WHERE state = 'running' AND owner = \$1 AND NOT \(id = ANY\(\$2::text\[\]\)\)/,
      );
    });
  });

  describe("listQuery", () => {
    it("lists newest first with the default limit", () => {
      expect(listQuery("qa_jobs")).to.deep.equal({
        text:
          "SELECT id, kind, ticket, services, requested_by, reason, state, owner, created_at, started_at, finished_at, " +
          "result, error FROM qa_jobs ORDER BY seq DESC LIMIT $1",
        values: [100],
      });
    });

    it("filters by ticket with a parameter, never by splicing the value in", () => {
      const q = listQuery("qa_audit", { ticket: "VERBU-1'; DROP TABLE qa_jobs; --", limit: 5 });
      expect(q.text).to.equal(
        "SELECT time, actor, action, ticket, job_id, outcome FROM qa_audit WHERE ticket = $1 ORDER BY seq DESC LIMIT $2",
      );
      expect(q.values).to.deep.equal(["VERBU-1'; DROP TABLE qa_jobs; --", 5]);
    });

    for (const limit of [0, -1, 1.5, 10_001, Number.NaN]) {
      it(`refuses limit ${limit}, naming the rule`, () => {
        expect(() => listQuery("qa_jobs", { limit })).to.throw(
          RangeError,
          `list limit ${limit} is not an integer in 1–10000; pass a whole number from 1 to 10000`,
        );
      });
    }
  });

  describe("row mapping", () => {
    const row: JobRow = {
      id: "j1",
      kind: "deploy",
      ticket: "VERBU-9601",
      services: null,
      requested_by: "jane",
      reason: "api",
      state: "queued",
      owner: null,
      created_at: new Date("2026-12-03T06:00:00.000Z"),
      started_at: null,
      finished_at: null,
      result: null,
      error: null,
    };

    it("leaves absent fields out instead of null", () => {
      expect(jobFromRow(row)).to.deep.equal({
        id: "j1",
        kind: "deploy",
        ticket: "VERBU-9601",
        requestedBy: "jane",
        reason: "api",
        state: "queued",
        createdAt: "2026-12-03T06:00:00.000Z",
      });
    });

    it("carries services, times, result and error", () => {
      const error = { name: "DeployFailedError", exitCode: 5, message: "boom" };
      const job = jobFromRow({
        ...row,
        services: [],
        state: "failed",
        owner: "replica-a",
        started_at: new Date("2026-12-03T06:00:01.000Z"),
        finished_at: new Date("2026-12-03T06:00:02.000Z"),
        error,
      });
      expect(job).to.deep.include({
        services: [],
        startedAt: "2026-12-03T06:00:01.000Z",
        finishedAt: "2026-12-03T06:00:02.000Z",
        error,
      });
      expect(job).to.not.have.property("owner");
    });

    it("maps audit rows", () => {
      const base = { time: "t", actor: "a", action: "deploy", outcome: "accepted" };
      expect(auditFromRow({ ...base, ticket: null, job_id: null })).to.deep.equal(base);
      expect(auditFromRow({ ...base, ticket: "VERBU-1", job_id: "j" })).to.deep.equal({
        ...base,
        ticket: "VERBU-1",
        jobId: "j",
      });
    });
  });

  describe("sliceOutput", () => {
    it("cuts the first chunk where the offset falls", () => {
      const chunks = [
        { start_offset: "5", text: "fghij" },
        { start_offset: "10", text: "klm" },
      ];
      expect(sliceOutput(chunks, 7)).to.equal("hijklm");
      expect(sliceOutput(chunks, 5)).to.equal("fghijklm");
      expect(sliceOutput(chunks, 0)).to.equal("fghijklm");
      expect(sliceOutput([], 3)).to.equal("");
    });
  });

  describe("describeUrl", () => {
    it("shows user, host, port and database, never the password or the query", () => {
      expect(describeUrl(URL_)).to.equal("postgres://qa_service@db.internal:5432/qa");
      expect(describeUrl("postgres://h/db")).to.equal("postgres://h/db");
      expect(describeUrl("::")).to.equal("postgres://(unparseable URL)");
    });
  });
});
