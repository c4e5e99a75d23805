// Engine events → progress. The tracker is pure (events in, counts out); the reporter turns its snapshots into one of
// three renderings: a live line rewritten in place on a terminal, plain timestamped lines in CI logs (Bamboo captures
// stdout without a TTY, where carriage returns become noise), or one JSON object per line for machines.
import type { EngineEvent, OpMap, OpType } from "@pulumi/pulumi/automation";

export interface ProgressSnapshot {
  readonly ticket: string;
  readonly operation: "up" | "preview" | "destroy" | "refresh";
  /** Resources whose step finished (or, in a preview, was planned). */
  readonly done: number;
  /** Resources known so far, or the expected count when that is larger (the total grows as the program runs). */
  readonly total: number;
  readonly failed: number;
  /** Finished steps by operation: { create: 30, same: 5, update: 2 }. */
  readonly byOp: Readonly<Partial<Record<OpType, number>>>;
  readonly elapsedMs: number;
}

/** What one engine event meant, when it was about a resource step. */
export interface StepUpdate {
  readonly urn: string;
  readonly type: string;
  readonly op: OpType;
  readonly status: "started" | "done" | "failed";
}

export class ProgressTracker {
  private readonly seen = new Set<string>();
  private readonly finished = new Set<string>();
  private readonly failures = new Set<string>();
  private readonly ops: Partial<Record<OpType, number>> = {};
  /**
   * The run's own summary event. `up()` and `destroy()` of the Automation API report the stack's newest history entry
   * instead, which another process's run on the same stack (a second replica's crash-recovery refresh) can have
   * written after ours ended: CI saw a first deploy of 236 creates reported as the other's no-op.
   */
  summaryChanges?: OpMap;

  constructor(
    private readonly ticket: string,
    private readonly operation: ProgressSnapshot["operation"],
    private readonly startedAtMs: number,
    /** e.g. the resource count of the last deploy; 0 when unknown. */
    private readonly expectedTotal = 0,
  ) {}

  /** Takes one engine event; returns what it meant for a resource, or undefined for other events. */
  observe(event: EngineEvent): StepUpdate | undefined {
    // A preview reports every step as "planning" and never finishes it: a planned step counts as done there.
    const planning = this.operation === "preview";
    const pre = event.resourcePreEvent;
    if (pre && (planning || !pre.planning)) {
      const { urn, type, op } = pre.metadata;
      this.seen.add(urn);
      if (planning) return this.finish(urn, type, op, "done");
      return { urn, type, op, status: "started" };
    }
    const outputs = event.resOutputsEvent;
    if (outputs && !outputs.planning && !planning) {
      return this.finish(outputs.metadata.urn, outputs.metadata.type, outputs.metadata.op, "done");
    }
    const failed = event.resOpFailedEvent;
    if (failed) {
      this.failures.add(failed.metadata.urn);
      return this.finish(failed.metadata.urn, failed.metadata.type, failed.metadata.op, "failed");
    }
    return undefined;
  }

  snapshot(nowMs: number): ProgressSnapshot {
    return {
      ticket: this.ticket,
      operation: this.operation,
      done: this.finished.size,
      total: Math.max(this.seen.size, this.expectedTotal),
      failed: this.failures.size,
      byOp: { ...this.ops },
      elapsedMs: Math.max(0, nowMs - this.startedAtMs),
    };
  }

  private finish(urn: string, type: string, op: OpType, status: "done" | "failed"): StepUpdate {
    this.seen.add(urn);
    if (!this.finished.has(urn)) {
      this.finished.add(urn);
      if (status === "done") this.ops[op] = (this.ops[op] ?? 0) + 1;
    }
    return { urn, type, op, status };
  }
}

// Past-tense labels in a stable order, so lines of consecutive runs compare at a glance.
const OP_LABELS: readonly [OpType, string][] = [
  ["create", "created"],
  ["update", "updated"],
  ["replace", "replaced"],
  ["delete", "deleted"],
  ["same", "unchanged"],
  ["refresh", "refreshed"],
  ["import", "imported"],
];

/** `verbu-6202 up: 37/236 done (30 created, 2 updated, 5 unchanged), 12.4 s` */
export function formatProgress(snapshot: ProgressSnapshot): string {
  const parts = OP_LABELS.filter(([op]) => snapshot.byOp[op]).map(([op, label]) => `${snapshot.byOp[op]} ${label}`);
  const other = Object.entries(snapshot.byOp)
    .filter(([op]) => !OP_LABELS.some(([known]) => known === op))
    .map(([op, n]) => `${n} ${op}`);
  if (snapshot.failed) parts.push(`${snapshot.failed} failed`);
  const detail = [...parts, ...other].join(", ");
  return (
    `${snapshot.ticket} ${snapshot.operation}: ${snapshot.done}/${snapshot.total} done` +
    `${detail ? ` (${detail})` : ""}, ${(snapshot.elapsedMs / 1000).toFixed(1)} s`
  );
}

export type ProgressMode = "tty" | "plain" | "json";

export interface ProgressReporterOptions {
  readonly mode: ProgressMode;
  readonly write: (text: string) => void;
  /** Plain mode prints at most one line per interval (and always the last one). @default 5000 */
  readonly plainIntervalMs?: number;
  readonly now?: () => number;
}

/** Renders a tracker's progress as it changes. Call `update` after each event and `finish` once at the end. */
export class ProgressReporter {
  private lastPlainMs = Number.NEGATIVE_INFINITY;
  private lastLine = "";

  constructor(private readonly options: ProgressReporterOptions) {}

  update(snapshot: ProgressSnapshot, step?: StepUpdate): void {
    const now = (this.options.now ?? Date.now)();
    const line = formatProgress(snapshot);
    switch (this.options.mode) {
      case "json":
        if (step) this.options.write(jsonLine(now, snapshot, step));
        return;
      case "tty":
        // Erase the line and rewrite it; \r alone would leave the tail of a longer previous line.
        if (line !== this.lastLine) this.options.write(`\r\x1b[2K${line}`);
        break;
      case "plain":
        if (now - this.lastPlainMs >= (this.options.plainIntervalMs ?? 5000)) {
          this.options.write(`${new Date(now).toISOString()} ${line}\n`);
          this.lastPlainMs = now;
        }
        break;
    }
    this.lastLine = line;
  }

  finish(snapshot: ProgressSnapshot, outcome: string): void {
    const now = (this.options.now ?? Date.now)();
    const line = `${formatProgress(snapshot)}: ${outcome}`;
    if (this.options.mode === "json") {
      this.options.write(
        `${JSON.stringify({ time: new Date(now).toISOString(), kind: "finished", outcome, ...snapshot })}\n`,
      );
    } else if (this.options.mode === "tty") {
      this.options.write(`\r\x1b[2K${line}\n`);
    } else {
      this.options.write(`${new Date(now).toISOString()} ${line}\n`);
    }
  }
}

function jsonLine(now: number, snapshot: ProgressSnapshot, step: StepUpdate): string {
  return `${JSON.stringify({ time: new Date(now).toISOString(), kind: "step", ...step, ...snapshot })}\n`;
}

/** The mode for a stream: json when asked, a live line on a terminal, plain lines otherwise. */
export function progressMode(json: boolean, isTTY: boolean | undefined): ProgressMode {
  if (json) return "json";
  return isTTY ? "tty" : "plain";
}
