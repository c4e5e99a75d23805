// The embedded job store on a real SQLite file: history across a reopen (a restart), running jobs of a dead process
// interrupted, the queue resumed, one running job per ticket, output offsets for resumable SSE, the audit log.
import { expect } from "chai";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { INTERRUPTED_ERROR, SqliteJobStore } from "../../../automation/service/sqliteStore";
import type { JobRequest } from "../../../automation/service/contracts";

const request = (ticket: string, kind: JobRequest["kind"] = "deploy"): JobRequest => ({
  kind,
  ticket,
  requestedBy: "jane",
  reason: "api",
});

describe("SqliteJobStore (real SQLite file)", () => {
  let dir: string;
  let store: SqliteJobStore;
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "qa-svc-store-"));
    store = SqliteJobStore.open(dir);
  });
  afterEach(async () => {
    await store.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it("creates its schema in WAL mode on first open", () => {
    expect(fs.existsSync(path.join(dir, "jobs.sqlite"))).to.equal(true);
    expect(fs.existsSync(path.join(dir, "jobs.sqlite-wal"))).to.equal(true);
    expect(store.ping()).to.equal(true);
  });

  it("claims the oldest queued job whose ticket has nothing running: one ticket at a time", async () => {
    const a1 = await store.enqueue(request("VERBU-9520"));
    const a2 = await store.enqueue(request("VERBU-9520", "destroy"));
    const b1 = await store.enqueue({ ...request("VERBU-9521"), services: ["auth", "wallet"] });
    const first = await store.claimNext("owner-1");
    expect(first).to.include({ id: a1.id, state: "running" });
    expect(first?.startedAt).to.be.a("string");
    const second = await store.claimNext("owner-1");
    expect(second?.id).to.equal(b1.id);
    expect(second?.services).to.deep.equal(["auth", "wallet"]);
    expect(await store.claimNext("owner-2")).to.equal(undefined);
    await store.finish(a1.id, { state: "succeeded" });
    expect((await store.claimNext("owner-2"))?.id).to.equal(a2.id);
  });

  it("moves its change mark when a job is queued or ends, not when it starts or writes output", async () => {
    const marks = [await store.changeMark()];
    const job = await store.enqueue(request("VERBU-9522"));
    marks.push(await store.changeMark());
    await store.claimNext("owner-1");
    await store.appendOutput(job.id, "step 1\n");
    expect(await store.changeMark()).to.equal(marks[1]);
    await store.finish(job.id, { state: "succeeded" });
    marks.push(await store.changeMark());
    expect(new Set(marks).size).to.equal(3);
  });

  it("keeps every job, output and audit entry across a reopen; orphans become interrupted and the queue resumes", async () => {
    const running = await store.enqueue(request("VERBU-9522"));
    const queued = await store.enqueue(request("VERBU-9522"));
    const done = await store.enqueue(request("VERBU-9523"));
    await store.claimNext("dead-owner");
    await store.claimNext("dead-owner");
    await store.appendOutput(running.id, "Updating (verbu-9522)\n");
    await store.finish(done.id, { state: "succeeded", result: { ticket: "VERBU-9523" } as never });
    await store.audit({
      time: "2026-12-03T06:00:00.000Z",
      actor: "jane",
      action: "POST /environments",
      ticket: "VERBU-9522",
      jobId: running.id,
      outcome: "202 queued",
    });
    await store.close();

    store = SqliteJobStore.open(dir);
    const orphans = await store.interruptOrphans("new-owner");
    expect(orphans.map((j) => j.id)).to.deep.equal([running.id]);
    const interrupted = await store.get(running.id);
    expect(interrupted).to.include({ state: "interrupted" });
    expect(interrupted?.error).to.deep.equal(INTERRUPTED_ERROR);
    expect(interrupted?.finishedAt).to.be.a("string");
    expect(await store.output(running.id)).to.equal("Updating (verbu-9522)\n");
    expect((await store.get(done.id))?.result).to.deep.equal({ ticket: "VERBU-9523" });
    expect((await store.claimNext("new-owner"))?.id).to.equal(queued.id);
    expect((await store.auditLog({ ticket: "VERBU-9522" }))[0]).to.deep.equal({
      time: "2026-12-03T06:00:00.000Z",
      actor: "jane",
      action: "POST /environments",
      ticket: "VERBU-9522",
      jobId: running.id,
      outcome: "202 queued",
    });
  });

  it("does not interrupt the jobs of the owner that asks (it is alive)", async () => {
    await store.enqueue(request("VERBU-9524"));
    await store.claimNext("me");
    expect(await store.interruptOrphans("me")).to.deep.equal([]);
  });

  it("returns output from a character offset, lists newest first, filters by ticket, limits", async () => {
    const job = await store.enqueue(request("VERBU-9525"));
    await store.appendOutput(job.id, "héllo ");
    await store.appendOutput(job.id, "wörld\n");
    expect(await store.output(job.id, 6)).to.equal("wörld\n");
    expect(await store.output(job.id, 100)).to.equal("");
    const other = await store.enqueue(request("VERBU-9526"));
    expect((await store.list()).map((j) => j.id)).to.deep.equal([other.id, job.id]);
    expect((await store.list({ ticket: "VERBU-9525" })).map((j) => j.id)).to.deep.equal([job.id]);
    expect(await store.list({ limit: 1 })).to.have.length(1);
    expect(await store.get("nope")).to.equal(undefined);
  });
});
