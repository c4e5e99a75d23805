// The PostgreSQL job store against a real PostgreSQL 15 started by the test: the JobStore contract, two stores (two
// "replicas") racing claimNext, orphans found after a replica's session is killed, and no password in any error.
// The Pulumi postgres:// backend with the driver is in service.pgBackend.e2e.ts.
import { expect } from "chai";
import { Client } from "pg";
import { LOCK_SPACE, lockKey } from "../../automation/service/pgSql";
import { PostgresJobStore } from "../../automation/service/pgStore";
import type { Job, JobRequest } from "../../automation/service/contracts";
import { startPostgres, TestPostgres } from "./support/postgres";

const request = (ticket: string, over: Partial<JobRequest> = {}): JobRequest => ({
  kind: "deploy",
  ticket,
  requestedBy: "qa-bot",
  reason: "api",
  ...over,
});

describe("PostgreSQL job store, real PostgreSQL 15", function () {
  this.timeout(5 * 60_000);
  let pg: TestPostgres;
  let admin: Client;
  const stores: PostgresJobStore[] = [];
  const open = async () => {
    const store = await PostgresJobStore.open(pg.url);
    stores.push(store);
    return store;
  };

  before(async () => {
    pg = await startPostgres("svc-pg");
    admin = new Client({ connectionString: pg.adminUrl });
    await admin.connect();
  });

  after(async () => {
    for (const store of stores) await store.close();
    await admin?.end();
    await pg?.stop();
  });

  afterEach(async () => {
    // Each test's replicas end with it (their owner names and locks with them).
    for (const store of stores.splice(0)) await store.close();
    // Each test starts from empty tables (the schema stays: it is created once, by the first open).
    await admin.query("TRUNCATE qa_jobs, qa_job_output, qa_audit CASCADE").catch(() => undefined);
  });

  it("creates its schema once when three replicas open at the same moment", async () => {
    const opened = await Promise.all([open(), open(), open()]);
    expect(opened).to.have.length(3);
    const { rows } = await admin.query(
      "SELECT table_name FROM information_schema.tables WHERE table_schema = 'public' ORDER BY table_name",
    );
    expect(rows.map((r) => r.table_name)).to.deep.equal(["qa_audit", "qa_job_output", "qa_jobs"]);
    // Opening again on an existing schema is a no-op.
    await open();
  });

  it("enqueues, claims oldest first with one ticket at a time, finishes, lists and reads back", async () => {
    const store = await open();
    const a1 = await store.enqueue(request("VERBU-9601", { services: ["auth"] }));
    const a2 = await store.enqueue(request("VERBU-9601", { kind: "destroy", reason: "idle for 7 days" }));
    const b1 = await store.enqueue(request("VERBU-9602"));
    expect(a1).to.deep.include({ kind: "deploy", ticket: "VERBU-9601", state: "queued", services: ["auth"] });
    expect(a1.id).to.match(/^[A-Za-z0-9_-]+$/);
    expect(b1).to.not.have.property("services");
    expect(Date.parse(a1.createdAt)).to.be.closeTo(Date.now(), 60_000);

    const first = await store.claimNext("replica-a");
    expect(first).to.deep.include({ id: a1.id, state: "running" });
    expect(first!.startedAt).to.be.a("string");
    // VERBU-9601 runs: its second job waits, the other ticket's goes.
    expect((await store.claimNext("replica-a"))!.id).to.equal(b1.id);
    expect(await store.claimNext("replica-a")).to.equal(undefined);

    const done = await store.finish(a1.id, {
      state: "failed",
      error: { name: "DeployFailedError", exitCode: 5, message: "x" },
    });
    expect(done).to.deep.include({ state: "failed", error: { name: "DeployFailedError", exitCode: 5, message: "x" } });
    expect(done.finishedAt).to.be.a("string");
    expect((await store.claimNext("replica-a"))!.id).to.equal(a2.id);

    expect((await store.get(a2.id))!.state).to.equal("running");
    expect(await store.get("no-such-job")).to.equal(undefined);
    expect((await store.list()).map((j) => j.id)).to.deep.equal([b1.id, a2.id, a1.id]);
    expect((await store.list({ ticket: "VERBU-9601", limit: 1 })).map((j) => j.id)).to.deep.equal([a2.id]);
    await expectRejected(store.finish("no-such-job", { state: "succeeded" }), /job no-such-job does not exist/);
    await expectRejected(store.list({ limit: 0 }), /list limit 0 is not an integer in 1–10000/);
  });

  it("moves its change mark, as another replica reads it, when a job is queued or ends, not when it starts", async () => {
    const [a, b] = [await open(), await open()];
    const marks = [await b.changeMark()];
    const job = await a.enqueue(request("VERBU-9603"));
    marks.push(await b.changeMark());
    await a.claimNext("replica-a");
    await a.appendOutput(job.id, "step 1\n");
    expect(await b.changeMark()).to.equal(marks[1]);
    await a.finish(job.id, { state: "succeeded" });
    marks.push(await b.changeMark());
    expect(new Set(marks).size, marks.join(" → ")).to.equal(3);
  });

  it("appends output and reads it from any offset, counting as JavaScript does", async () => {
    const store = await open();
    const job = await store.enqueue(request("VERBU-9603"));
    const parts = ["Updating (verbu-9603)\n", "héllo 😀 ", "", "world\n", "+ 236 created\n"];
    for (const part of parts) await store.appendOutput(job.id, part);
    const whole = parts.join("");
    expect(await store.output(job.id)).to.equal(whole);
    for (let offset = 0; offset <= whole.length + 2; offset++) {
      expect(await store.output(job.id, offset), `offset ${offset}`).to.equal(whole.slice(offset));
    }
    expect(await store.output("no-such-job")).to.equal("");
    await expectRejected(store.appendOutput("no-such-job", "x"), /job no-such-job does not exist/);
  });

  it("keeps the audit log, newest first, by ticket", async () => {
    const store = await open();
    await store.audit({
      time: "2026-12-03T06:00:00.000Z",
      actor: "jane",
      action: "deploy",
      ticket: "VERBU-9604",
      jobId: "j1",
      outcome: "accepted",
    });
    await store.audit({
      time: "2026-12-03T06:00:01.000Z",
      actor: "bob",
      action: "deploy",
      outcome: "refused: scope read",
    });
    await store.audit({
      time: "2026-12-03T06:00:02.000Z",
      actor: "jira",
      action: "destroy",
      ticket: "VERBU-9604",
      outcome: "accepted",
    });
    const all = await store.auditLog();
    expect(all.map((e) => e.actor)).to.deep.equal(["jira", "bob", "jane"]);
    expect(all[1]).to.deep.equal({
      time: "2026-12-03T06:00:01.000Z",
      actor: "bob",
      action: "deploy",
      outcome: "refused: scope read",
    });
    expect((await store.auditLog({ ticket: "VERBU-9604" })).map((e) => e.actor)).to.deep.equal(["jira", "jane"]);
    expect(await store.auditLog({ ticket: "VERBU-9604", limit: 1 })).to.have.length(1);
  });

  it("never runs one ticket on two replicas at once while they race claimNext (200 jobs, 4 tickets)", async () => {
    const [a, b] = [await open(), await open()];
    const tickets = ["VERBU-9605", "VERBU-9606", "VERBU-9607", "VERBU-9608"];
    const enqueued: Job[] = [];
    for (let i = 0; i < 200; i++) enqueued.push(await a.enqueue(request(tickets[i % tickets.length])));
    const active = new Map<string, string>();
    const overlaps: string[] = [];
    const claimed: { job: Job; by: string }[] = [];
    // Two workers per replica: claims race between the replicas and within each one.
    const worker = async (store: PostgresJobStore, owner: string) => {
      for (;;) {
        const job = await store.claimNext(owner);
        if (!job) {
          if (claimed.length >= enqueued.length) return;
          await sleep(2);
          continue;
        }
        claimed.push({ job, by: owner });
        if (active.has(job.ticket)) overlaps.push(`${job.ticket}: ${active.get(job.ticket)} and ${job.id}`);
        active.set(job.ticket, job.id);
        await sleep(Math.random() * 4);
        active.delete(job.ticket);
        await store.finish(job.id, { state: "succeeded" });
      }
    };
    await Promise.all([worker(a, "replica-a"), worker(a, "replica-a"), worker(b, "replica-b"), worker(b, "replica-b")]);
    expect(overlaps).to.deep.equal([]);
    expect(claimed.map((c) => c.job.id).sort()).to.deep.equal(enqueued.map((j) => j.id).sort());
    const byReplica = (owner: string) => claimed.filter((c) => c.by === owner).length;
    console.log(`      replica-a claimed ${byReplica("replica-a")}, replica-b ${byReplica("replica-b")}`);
    expect(byReplica("replica-a")).to.be.greaterThan(0);
    expect(byReplica("replica-b")).to.be.greaterThan(0);
    // Oldest first within each ticket: the claims of one ticket came in the order its jobs were enqueued.
    for (const ticket of tickets) {
      const order = claimed.filter((c) => c.job.ticket === ticket).map((c) => c.job.id);
      expect(order, ticket).to.deep.equal(enqueued.filter((j) => j.ticket === ticket).map((j) => j.id));
    }
    const states = await admin.query("SELECT state, count(*)::int AS n FROM qa_jobs GROUP BY state");
    expect(states.rows).to.deep.equal([{ state: "succeeded", n: 200 }]);
  });

  it("interrupts only the jobs of a replica whose session died, and frees their tickets", async () => {
    const [a, b, c] = [await open(), await open(), await open()];
    const ja = await a.enqueue(request("VERBU-9610"));
    const jb = await a.enqueue(request("VERBU-9611"));
    expect((await a.claimNext("replica-a"))!.id).to.equal(ja.id);
    expect((await b.claimNext("replica-b"))!.id).to.equal(jb.id);
    // Both alive: a third replica starting finds no orphan.
    expect(await c.interruptOrphans("replica-c")).to.deep.equal([]);
    await expectRejected(c.claimNext("replica-a"), /owner "replica-a" is in use by another live service process/);

    // Replica A's process "dies": its lock session goes, as a SIGKILL or a lost network would end it.
    const killed = await admin.query(
      "SELECT pg_terminate_backend(pid) FROM pg_locks WHERE locktype = 'advisory' AND classid = $1 AND objid = $2",
      [LOCK_SPACE.owner, lockKey("replica-a") >>> 0],
    );
    expect(killed.rowCount).to.equal(1);
    await sleep(200);
    const orphans = await c.interruptOrphans("replica-c");
    expect(orphans.map((j) => [j.id, j.state])).to.deep.equal([[ja.id, "interrupted"]]);
    expect(orphans[0].error!.name).to.equal("InterruptedError");
    expect((await b.get(jb.id))!.state).to.equal("running");
    // A's store knows its locks are gone and claims nothing more.
    await expectRejected(a.claimNext("replica-a"), /lock session is broken/);

    // The dead replica's ticket is free again; the live one's is not.
    const next = await c.enqueue(request("VERBU-9610"));
    await c.enqueue(request("VERBU-9611"));
    expect((await c.claimNext("replica-c"))!.id).to.equal(next.id);
    expect(await c.claimNext("replica-c")).to.equal(undefined);
  });

  it("frees a ticket of a replica that died while the others live, at a later claim (no restart needed)", async () => {
    const a = await open();
    const live = await PostgresJobStore.open(pg.url, { orphanSweepMs: 0 });
    stores.push(live);
    expect(await live.interruptOrphans("replica-live")).to.deep.equal([]);
    const dead = await a.enqueue(request("VERBU-9614"));
    await a.claimNext("replica-dying");
    const next = await live.enqueue(request("VERBU-9614"));
    expect(await live.claimNext("replica-live"), "the ticket is busy while its replica lives").to.equal(undefined);
    await admin.query(
      "SELECT pg_terminate_backend(pid) FROM pg_locks WHERE locktype = 'advisory' AND classid = $1 AND objid = $2",
      [LOCK_SPACE.owner, lockKey("replica-dying") >>> 0],
    );
    await sleep(200);
    expect((await live.claimNext("replica-live"))!.id).to.equal(next.id);
    expect((await live.get(dead.id))!.state).to.equal("interrupted");
  });

  it("marks its own jobs left by an earlier process of the same name interrupted at start", async () => {
    const first = await PostgresJobStore.open(pg.url);
    const job = await first.enqueue(request("VERBU-9612"));
    await first.claimNext("replica-a2");
    await first.close();
    const restarted = await open();
    const orphans = await restarted.interruptOrphans("replica-a2");
    expect(orphans.map((j) => j.id)).to.deep.equal([job.id]);
    // Its own running jobs are never interrupted by a later call.
    await restarted.enqueue(request("VERBU-9613"));
    await restarted.claimNext("replica-a2");
    expect(await restarted.interruptOrphans("replica-a2")).to.deep.equal([]);
  });

  it("never shows the password in an error", async () => {
    const wrong = pg.url.replace(encodeURIComponent(pg.password), "Wr0ngPassw0rd");
    const failures = await Promise.all([
      PostgresJobStore.open(wrong).then(
        () => "opened",
        (e: Error) => e.message,
      ),
      PostgresJobStore.open(pg.url.replace(`:${pg.port}/`, ":1/")).then(
        () => "opened",
        (e: Error) => e.message,
      ),
      PostgresJobStore.open(`${pg.url.replace(/\/qa$/, "/no_such_db")}`).then(
        () => "opened",
        (e: Error) => e.message,
      ),
    ]);
    expect(failures[0]).to.match(
      /job store: cannot open PostgreSQL at postgres:\/\/qa_service@127\.0\.0\.1:\d+\/qa: .*password authentication failed/,
    );
    expect(failures[1]).to.match(
      /cannot open PostgreSQL at postgres:\/\/qa_service@127\.0\.0\.1:1\/qa: .*ECONNREFUSED/,
    );
    expect(failures[2]).to.match(/database "no_such_db" does not exist/);
    for (const message of failures) {
      expect(message).to.not.include(pg.password);
      expect(message).to.not.include("Wr0ngPassw0rd");
    }
  });
});

async function expectRejected(promise: Promise<unknown>, pattern: RegExp): Promise<void> {
  const error = await promise.then(
    () => undefined,
    (e: Error) => e,
  );
  expect(error, `expected a rejection matching ${pattern}`).to.be.instanceOf(Error);
  expect(error!.message).to.match(pattern);
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
