import { expect } from "chai";
import type { EngineEvent, OpType } from "@pulumi/pulumi/automation";
import { formatProgress, progressMode, ProgressReporter, ProgressTracker } from "../../../automation/progress";
import { progressHandler } from "../../../automation/runSupport";

let sequence = 0;
const meta = (urn: string, op: OpType) => ({ urn, op, type: "kubernetes:apps/v1:Deployment", provider: "" });
const pre = (urn: string, op: OpType, planning?: boolean): EngineEvent =>
  ({ sequence: sequence++, timestamp: 0, resourcePreEvent: { metadata: meta(urn, op), planning } }) as EngineEvent;
const outputs = (urn: string, op: OpType): EngineEvent =>
  ({ sequence: sequence++, timestamp: 0, resOutputsEvent: { metadata: meta(urn, op) } }) as EngineEvent;
const failed = (urn: string, op: OpType): EngineEvent =>
  ({
    sequence: sequence++,
    timestamp: 0,
    resOpFailedEvent: { metadata: meta(urn, op), status: 1, steps: 0 },
  }) as EngineEvent;

describe("progress from engine events", () => {
  it("counts finished steps against the resources seen so far", () => {
    const tracker = new ProgressTracker("verbu-1", "up", 1000);
    expect(tracker.observe(pre("a", "create"))).to.deep.include({ urn: "a", op: "create", status: "started" });
    tracker.observe(pre("b", "create"));
    tracker.observe(pre("c", "same"));
    tracker.observe(outputs("a", "create"));
    tracker.observe(outputs("c", "same"));
    expect(tracker.snapshot(3500)).to.deep.equal({
      ticket: "verbu-1",
      operation: "up",
      done: 2,
      total: 3,
      failed: 0,
      byOp: { create: 1, same: 1 },
      elapsedMs: 2500,
    });
  });

  it("shows the expected total (the last deploy's count) until more resources are seen", () => {
    const tracker = new ProgressTracker("verbu-1", "up", 0, 236);
    tracker.observe(pre("a", "create"));
    tracker.observe(outputs("a", "create"));
    expect(formatProgress(tracker.snapshot(12_400))).to.equal("verbu-1 up: 1/236 done (1 created), 12.4 s");
  });

  it("counts a failed step once, as failed", () => {
    const tracker = new ProgressTracker("verbu-1", "up", 0);
    tracker.observe(pre("a", "update"));
    expect(tracker.observe(failed("a", "update"))).to.deep.include({ status: "failed" });
    tracker.observe(outputs("a", "update"));
    expect(tracker.snapshot(0)).to.deep.include({ done: 1, failed: 1, byOp: {} });
  });

  it("ignores planning events of an up, and counts a preview's planned steps as done", () => {
    const up = new ProgressTracker("verbu-1", "up", 0);
    expect(up.observe(pre("a", "create", true))).to.equal(undefined);
    expect(up.snapshot(0).total).to.equal(0);
    const preview = new ProgressTracker("verbu-1", "preview", 0);
    preview.observe(pre("a", "create", true));
    preview.observe(pre("b", "same", true));
    expect(formatProgress(preview.snapshot(0))).to.equal("verbu-1 preview: 2/2 done (1 created, 1 unchanged), 0.0 s");
  });

  it("ignores events that are not about a resource step", () => {
    const tracker = new ProgressTracker("verbu-1", "up", 0);
    expect(
      tracker.observe({ sequence: 1, timestamp: 0, stdoutEvent: { message: "hi", color: "never" } } as EngineEvent),
    ).to.equal(undefined);
  });

  it("formats every operation in a stable order, unknown ones last", () => {
    const line = formatProgress({
      ticket: "verbu-1",
      operation: "up",
      done: 9,
      total: 10,
      failed: 1,
      elapsedMs: 1000,
      byOp: { same: 1, "create-replacement": 2, update: 3, create: 3 },
    });
    expect(line).to.equal(
      "verbu-1 up: 9/10 done (3 created, 3 updated, 1 unchanged, 1 failed, 2 create-replacement), 1.0 s",
    );
  });

  it("rewrites one live line on a terminal and ends it with a newline", () => {
    const written: string[] = [];
    const reporter = new ProgressReporter({ mode: "tty", write: (t) => written.push(t), now: () => 0 });
    const tracker = new ProgressTracker("verbu-1", "up", 0);
    tracker.observe(pre("a", "create"));
    reporter.update(tracker.snapshot(0));
    reporter.update(tracker.snapshot(0));
    tracker.observe(outputs("a", "create"));
    reporter.finish(tracker.snapshot(0), "succeeded");
    expect(written).to.deep.equal([
      "\r\x1b[2Kverbu-1 up: 0/1 done, 0.0 s",
      "\r\x1b[2Kverbu-1 up: 1/1 done (1 created), 0.0 s: succeeded\n",
    ]);
  });

  it("prints plain timestamped lines at most once per interval without a terminal, and always the last", () => {
    let now = Date.UTC(2026, 11, 2, 18, 0, 0);
    const written: string[] = [];
    const reporter = new ProgressReporter({
      mode: "plain",
      write: (t) => written.push(t),
      now: () => now,
      plainIntervalMs: 5000,
    });
    const tracker = new ProgressTracker("verbu-1", "up", now);
    reporter.update(tracker.snapshot(now));
    now += 1000;
    reporter.update(tracker.snapshot(now));
    now += 5000;
    reporter.update(tracker.snapshot(now));
    reporter.finish(tracker.snapshot(now), "succeeded");
    expect(written).to.deep.equal([
      "2026-12-02T18:00:00.000Z verbu-1 up: 0/0 done, 0.0 s\n",
      "2026-12-02T18:00:06.000Z verbu-1 up: 0/0 done, 6.0 s\n",
      "2026-12-02T18:00:06.000Z verbu-1 up: 0/0 done, 6.0 s: succeeded\n",
    ]);
  });

  it("writes one JSON object per step in json mode, and a final one", () => {
    const written: string[] = [];
    const reporter = new ProgressReporter({ mode: "json", write: (t) => written.push(t), now: () => 0 });
    const tracker = new ProgressTracker("verbu-1", "up", 0);
    reporter.update(tracker.snapshot(0)); // no step: nothing to say
    const step = tracker.observe(pre("a", "create"));
    reporter.update(tracker.snapshot(0), step);
    reporter.finish(tracker.snapshot(0), "succeeded");
    const lines = written
      .join("")
      .trimEnd()
      .split("\n")
      .map((l) => JSON.parse(l));
    expect(lines).to.have.length(2);
    expect(lines[0]).to.deep.include({
      kind: "step",
      urn: "a",
      op: "create",
      status: "started",
      done: 0,
      total: 1,
      ticket: "verbu-1",
    });
    expect(lines[1]).to.deep.include({ kind: "finished", outcome: "succeeded", time: "1970-01-01T00:00:00.000Z" });
  });

  it("picks json when asked, a live line on a terminal, plain lines otherwise", () => {
    expect(progressMode(true, true)).to.equal("json");
    expect(progressMode(false, true)).to.equal("tty");
    expect(progressMode(false, undefined)).to.equal("plain");
  });
});

describe("a run's own summary", () => {
  it("is taken from its summary event, with or without a progress listener", () => {
    for (const onProgress of [undefined, () => undefined]) {
      const tracker = new ProgressTracker("VERBU-1", "up", 0);
      const seen: EngineEvent[] = [];
      const handler = progressHandler(tracker, { onEvent: (e) => seen.push(e), onProgress });
      handler({ sequence: 1, timestamp: 0, cancelEvent: {} } as EngineEvent);
      expect(tracker.summaryChanges).to.equal(undefined);
      const summary = {
        sequence: 2,
        timestamp: 0,
        summaryEvent: { maybeCorrupt: false, durationSeconds: 9, resourceChanges: { create: 236 }, PolicyPacks: {} },
      } as unknown as EngineEvent;
      handler(summary);
      expect(tracker.summaryChanges).to.deep.equal({ create: 236 });
      expect(seen).to.have.length(2);
    }
  });
});
