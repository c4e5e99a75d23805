import { expect } from "chai";
import { formatDuration, idleDecisions } from "../../../automation/cleanup/idle";
import type { CleanupEnvironment } from "../../../automation/cleanup/pins";
import { record } from "./fakes";

const DAY = 86_400_000;
const now = new Date("2026-12-03T12:00:00.000Z");
const env = (ticket: string, extra: Partial<CleanupEnvironment> = {}): CleanupEnvironment => ({
  ticket,
  stack: ticket.toLowerCase(),
  updateInProgress: false,
  ...extra,
});

describe("idleDecisions", () => {
  it("counts idle from the last deploy, not from creation", () => {
    const created = "2026-01-01T00:00:00.000Z";
    const decisions = idleDecisions(
      [
        env("VERBU-9701", { record: record("2026-11-25T12:00:00.000Z", created) }),
        env("VERBU-9702", { record: record("2026-12-02T12:00:00.000Z", created) }),
      ],
      { idleTtlMs: 7 * DAY, now },
    );
    expect(decisions).to.deep.equal([
      {
        ticket: "VERBU-9701",
        stack: "verbu-9701",
        action: "destroy",
        reason: "idle 8d since the last deploy at 2026-11-25T12:00:00.000Z (idle TTL 7d)",
      },
      {
        ticket: "VERBU-9702",
        stack: "verbu-9702",
        action: "keep",
        reason: "last deployed 1d ago at 2026-12-02T12:00:00.000Z (idle TTL 7d)",
      },
    ]);
  });

  it("removes at exactly the TTL, keeps a millisecond before it", () => {
    const at = (ms: number) => new Date(now.getTime() - ms).toISOString();
    const [exact, before] = idleDecisions(
      [env("VERBU-9701", { record: record(at(DAY)) }), env("VERBU-9702", { record: record(at(DAY - 1)) })],
      { idleTtlMs: DAY, now },
    );
    expect(exact.action).to.equal("destroy");
    expect(before.action).to.equal("keep");
  });

  it("keeps pinned environments, runs in progress, stacks without a record and unreadable dates, saying why", () => {
    const old = record("2026-01-01T00:00:00.000Z");
    const reasons = idleDecisions(
      [
        env("VERBU-9701", { record: old, pin: { pinnedBy: "jane.doe", pinnedAt: "2026-12-01T09:00:00.000Z" } }),
        env("VERBU-9702", { record: old, updateInProgress: true }),
        env("VERBU-9703"),
        env("VERBU-9704", { record: { ...old, lastDeployedAt: "yesterday" } }),
      ],
      { idleTtlMs: DAY, now },
    ).map((d) => [d.action, d.reason]);
    expect(reasons).to.deep.equal([
      ["keep", "pinned by jane.doe at 2026-12-01T09:00:00.000Z"],
      ["keep", "a run is in progress on the stack"],
      ["keep", "no qa-k8s record tags on the stack: not created by qa-env, never removed"],
      ["keep", 'last-deployed-at "yesterday" is not a date'],
    ]);
  });

  it("never removes the shared baseline of overlays (stack master by default, or the ones named)", () => {
    const old = record("2026-01-01T00:00:00.000Z", "2026-01-01T00:00:00.000Z");
    const environments = [env("MASTER", { record: old }), env("BASE-1", { record: old })];
    const byDefault = idleDecisions(environments, { idleTtlMs: 7 * DAY, now });
    expect(byDefault.map((d) => d.action)).to.deep.equal(["keep", "destroy"]);
    expect(byDefault[0].reason).to.equal(
      "the shared baseline of overlay environments (qa-k8s:baseline): never removed",
    );
    const named = idleDecisions(environments, { idleTtlMs: 7 * DAY, now, baselines: ["base-1"] });
    expect(named.map((d) => d.action)).to.deep.equal(["destroy", "keep"]);
  });

  it("refuses a TTL that is not a positive number", () => {
    for (const idleTtlMs of [0, -1, NaN, Infinity])
      expect(() => idleDecisions([], { idleTtlMs, now }), String(idleTtlMs)).to.throw(RangeError, "idleTtlMs");
  });
});

describe("formatDuration", () => {
  it("shows the two largest units, skipping a zero second one", () => {
    expect(formatDuration(0)).to.equal("0s");
    expect(formatDuration(999)).to.equal("0s");
    expect(formatDuration(12_000)).to.equal("12s");
    expect(formatDuration(3 * DAY + 4 * 3_600_000 + 5 * 60_000)).to.equal("3d 4h");
    expect(formatDuration(3 * DAY + 5 * 60_000)).to.equal("3d");
    expect(formatDuration(5 * 3_600_000 + 12 * 60_000 + 9000)).to.equal("5h 12m");
  });
});
