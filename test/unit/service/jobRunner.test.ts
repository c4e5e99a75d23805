// The job runner on a real SQLite store with the fake driver: the concurrency limit, orphans at start, driver
// notices in the running job's output, and errors recorded with the driver's class and exit code.
import { expect } from "chai";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { BadInputError } from "../../../automation/exitCodes";
import { JobEvents } from "../../../automation/service/events";
import { jobError, JobRunner, newOwnerId } from "../../../automation/service/jobRunner";
import { SqliteJobStore } from "../../../automation/service/sqliteStore";
import { FakeDriver, Gate } from "./fakes";

const quiet = { info: () => undefined, error: () => undefined };
const settle = () => new Promise((r) => setTimeout(r, 100));

describe("JobRunner (real SQLite store, fake driver)", () => {
  let dir: string;
  let store: SqliteJobStore;
  let runner: JobRunner | undefined;
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "qa-svc-runner-"));
    store = SqliteJobStore.open(dir);
  });
  afterEach(async () => {
    await runner?.stop();
    await store.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  const request = (ticket: string) => ({ kind: "deploy" as const, ticket, requestedBy: "jane", reason: "api" });

  it("runs at most maxJobs at once; the rest wait queued and start as others end", async () => {
    const driver = new FakeDriver();
    const gate = new Gate();
    driver.gates.set("VERBU-9580", gate);
    const a = await store.enqueue(request("VERBU-9580"));
    const b = await store.enqueue(request("VERBU-9581"));
    runner = new JobRunner({ store, driver, events: new JobEvents(), log: quiet, maxJobs: 1, pollMs: 20 });
    await runner.start();
    await settle();
    expect([(await store.get(a.id))?.state, (await store.get(b.id))?.state]).to.deep.equal(["running", "queued"]);
    gate.release();
    await settle();
    expect([(await store.get(a.id))?.state, (await store.get(b.id))?.state]).to.deep.equal(["succeeded", "succeeded"]);
  });

  it("marks a dead owner's running jobs interrupted at start and runs the queue after them", async () => {
    const orphan = await store.enqueue(request("VERBU-9582"));
    await store.claimNext("dead:1:x");
    const next = await store.enqueue(request("VERBU-9582"));
    runner = new JobRunner({ store, driver: new FakeDriver(), events: new JobEvents(), log: quiet, pollMs: 20 });
    expect((await runner.start()).map((j) => j.id)).to.deep.equal([orphan.id]);
    await settle();
    expect((await store.get(orphan.id))?.state).to.equal("interrupted");
    expect((await store.get(next.id))?.state).to.equal("succeeded");
  });

  it("puts the driver's notices for a ticket into its running job's output", async () => {
    const driver = new FakeDriver();
    const gate = new Gate();
    driver.gates.set("VERBU-9583", gate);
    const job = await store.enqueue(request("VERBU-9583"));
    runner = new JobRunner({ store, driver, events: new JobEvents(), log: quiet, pollMs: 20 });
    await runner.start();
    await settle();
    runner.driverMessage({
      time: "2026-12-03T06:00:00.000Z",
      ticket: "VERBU-9583",
      kind: "waiting-for-lock",
      text: "waiting for the lock of host-b",
    });
    runner.driverMessage({
      time: "2026-12-03T06:00:00.000Z",
      ticket: "VERBU-9599",
      kind: "queued",
      text: "another ticket",
    });
    gate.release();
    await settle();
    const output = await store.output(job.id);
    expect(output).to.include("2026-12-03T06:00:00.000Z waiting for the lock of host-b\n");
    expect(output).not.to.include("another ticket");
    expect(output.indexOf("Updating (verbu-9583)")).to.be.lessThan(output.indexOf("Resources: 2 created"));
  });

  it("records an error's class and exit code; anything that is no driver error is internal (exit code 1)", () => {
    expect(jobError(new BadInputError("bad"))).to.deep.equal({ name: "BadInputError", exitCode: 2, message: "bad" });
    expect(jobError(new TypeError("x is undefined"))).to.deep.equal({
      name: "TypeError",
      exitCode: 1,
      message: "x is undefined",
    });
    expect(jobError("boom")).to.deep.equal({ name: "InternalError", exitCode: 1, message: "boom" });
    expect(newOwnerId()).to.match(new RegExp(`^${os.hostname()}:${process.pid}:[0-9a-f]{8}$`));
    expect(newOwnerId()).not.to.equal(newOwnerId());
  });
});
