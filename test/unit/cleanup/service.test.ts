import { expect } from "chai";
import { cleanupService, cleanupSettings } from "../../../automation/cleanup/service";
import type { SweepResult } from "../../../automation/cleanup/sweep";
import type { DriverApi } from "../../../automation/cli/driverApi";
import { BadInputError } from "../../../automation/exitCodes";
import { fakeBackend, ours } from "./fakes";

const daysAgo = (days: number) => new Date(Date.now() - days * 86_400_000).toISOString();
const released = (key: string) => ({
  webhookEvent: "jira:issue_updated",
  issue: { key, fields: { status: { name: "Done" } } },
  changelog: { items: [{ field: "status", fromString: "In QA", toString: "Done" }] },
});

describe("cleanup in the service", () => {
  it("reads its settings from the environment, with defaults", () => {
    expect(cleanupSettings({})).to.deep.equal({
      idleTtlMs: 7 * 86_400_000,
      sweepIntervalMs: 3_600_000,
      releasedStatuses: ["Released", "Closed", "Done"],
    });
    expect(
      cleanupSettings({ QA_IDLE_TTL: "36h", QA_SWEEP_INTERVAL: "off", QA_JIRA_RELEASED_STATUSES: "Shipped" }),
    ).to.deep.equal({ idleTtlMs: 36 * 3_600_000, sweepIntervalMs: undefined, releasedStatuses: ["Shipped"] });
  });

  it("refuses bad settings naming the variable", () => {
    expect(() => cleanupSettings({ QA_IDLE_TTL: "7 days" })).to.throw(
      BadInputError,
      'QA_IDLE_TTL "7 days" is not a duration: use a whole number with s, m, h or d (e.g. 10m, 90s, 2h)',
    );
    expect(() => cleanupSettings({ QA_SWEEP_INTERVAL: "-1" })).to.throw(BadInputError, "QA_SWEEP_INTERVAL");
    expect(() => cleanupSettings({ QA_JIRA_RELEASED_STATUSES: "," })).to.throw(
      BadInputError,
      "QA_JIRA_RELEASED_STATUSES",
    );
  });

  it("runs one sweep at a time, each removal a destroy job of the service", async () => {
    const { store, driver, destroyed } = fakeBackend({
      "verbu-9701": ours(daysAgo(9)),
      "verbu-9702": ours(daysAgo(1)),
    });
    const lines: string[] = [];
    const jobs: [string, string, string][] = [];
    const service = cleanupService({
      driver: driver as unknown as DriverApi,
      store,
      settings: cleanupSettings({}),
      log: (l) => lines.push(l),
      enqueueDestroy: async (ticket, reason, by) => (jobs.push([ticket, reason, by]), { id: "job-7" }),
    });
    expect(service.sweep?.intervalMs).to.equal(3_600_000);
    const [first, second] = await Promise.all([service.sweep!.run(), service.sweep!.run()]);
    expect(second).to.deep.equal({ skipped: "the previous sweep is still running" });
    expect(first).to.include({ destroyed: 0, queued: 1, kept: 1 });
    expect((first as SweepResult).entries[0]).to.include({ outcome: "queued", jobId: "job-7" });
    expect(destroyed).to.deep.equal([]);
    expect(jobs).to.have.length(1);
    expect(jobs[0][0]).to.equal("VERBU-9701");
    expect(jobs[0][2]).to.equal("cleanup");
    expect(jobs[0][1]).to.match(/^idle cleanup: idle 9d since the last deploy at \S+ \(idle TTL 7d\)$/);
    expect(lines).to.include("cleanup: queued VERBU-9701: destroy job job-7");
    expect(lines).to.include("cleanup: sweep skipped, the previous one is still running");
  });

  it("the Jira hook queues a destroy job for its own environments only", async () => {
    const { store, driver } = fakeBackend({ "verbu-9701": ours(daysAgo(1)), "verbu-9703": { tags: {} } });
    const jobs: string[] = [];
    const service = cleanupService({
      driver: driver as unknown as DriverApi,
      store,
      settings: cleanupSettings({ QA_SWEEP_INTERVAL: "off" }),
      log: () => undefined,
      enqueueDestroy: async (ticket, reason, by) => (
        jobs.push(`${ticket} ${by} ${reason}`),
        { id: `job-${jobs.length}` }
      ),
    });
    expect(service.sweep).to.equal(undefined);
    expect(await service.onJiraEvent(released("VERBU-9701"))).to.include({ action: "destroy", jobId: "job-1" });
    expect(await service.onJiraEvent(released("VERBU-9703"))).to.deep.include({
      action: "ignore",
      ticket: "VERBU-9703",
    });
    expect((await service.onJiraEvent(released("VERBU-9799"))).reason).to.match(
      /, but VERBU-9799 has no environment \(no stack verbu-9799\)$/,
    );
    expect(jobs).to.deep.equal([
      'VERBU-9701 jira jira: VERBU-9701 moved to Jira status "Done" (released: Released, Closed, Done)',
    ]);
  });
});
