// Pure formatting of the driver's data for people: ages, digests, health rollups, capacity figures.
import type { CapacityReport, EnvironmentStatus, ServiceStatus } from "../../observeTypes";
import type { Caller, JobState, Scope } from "../contracts";

/** 93_784_000 → "1d 2h"; 150_000 → "2m"; under a minute → "<1m". Two units at most: glanceable, not exact. */
export function formatDuration(ms: number): string {
  if (!Number.isFinite(ms) || ms < 60_000) return "<1m";
  const units: [string, number][] = [
    ["d", 86_400_000],
    ["h", 3_600_000],
    ["m", 60_000],
  ];
  const parts: string[] = [];
  let rest = ms;
  for (const [name, size] of units) {
    const n = Math.floor(rest / size);
    if (n > 0 || parts.length > 0) parts.push(`${n}${name}`);
    rest -= n * size;
    if (parts.length === 2) break;
  }
  return parts.filter((p) => !p.startsWith("0")).join(" ") || "<1m";
}

/** "2h ago" from an ISO time; "" when there is none or it does not parse. */
export function ago(iso: string | undefined, now: Date): string {
  if (!iso) return "";
  const then = Date.parse(iso);
  if (Number.isNaN(then)) return "";
  return `${formatDuration(now.getTime() - then)} ago`;
}

/** "sha256:0123…" → "sha256:0123456789ab" (12 hex digits, as docker shows image ids). */
export function shortDigest(digest: string | undefined): string {
  if (!digest) return "";
  const [algorithm, hex] = digest.includes(":") ? digest.split(":", 2) : ["", digest];
  return algorithm ? `${algorithm}:${hex.slice(0, 12)}` : hex.slice(0, 12);
}

export type Health = "healthy" | "failing" | "progressing" | "not-deployed" | "deploying" | "empty";

export interface HealthRollup {
  readonly health: Health;
  readonly ready: number;
  readonly total: number;
  /** "2 failing, 1 pending" — what is not active, by state. */
  readonly summary: string;
}

/** One word for an environment: failing beats progressing beats healthy; a running deploy says so first. */
export function healthRollup(status: EnvironmentStatus, updateInProgress: boolean): HealthRollup {
  const services: readonly ServiceStatus[] = status.services;
  const ready = services.filter((s) => s.state === "active" || s.state === "scaled-down").length;
  const counts = new Map<string, number>();
  for (const s of services) if (s.state !== "active") counts.set(s.state, (counts.get(s.state) ?? 0) + 1);
  const summary = [...counts].map(([state, n]) => `${n} ${state}`).join(", ");
  const base = { ready, total: services.length, summary };
  if (updateInProgress) return { health: "deploying", ...base };
  if (!status.exists) return { health: "not-deployed", ...base };
  if (services.length === 0) return { health: "empty", ...base };
  if (counts.has("failing")) return { health: "failing", ...base };
  if (counts.has("pending") || counts.has("updating")) return { health: "progressing", ...base };
  return { health: "healthy", ...base };
}

export interface CapacityFigures {
  readonly cpu: { readonly usedMillis: number; readonly totalMillis: number };
  readonly memory: { readonly usedBytes: number; readonly totalBytes: number };
  readonly pods: { readonly used: number; readonly total: number };
  readonly environmentsThatFit: number;
  readonly limitedBy: CapacityReport["limitedBy"];
}

/** Used = allocatable of the schedulable nodes minus their free room (the headroom counts as used: it is kept). */
export function capacityFigures(report: CapacityReport): CapacityFigures {
  const total = report.nodes.reduce(
    (sum, n) => ({
      cpu: sum.cpu + n.allocatable.cpuMillis,
      memory: sum.memory + n.allocatable.memoryBytes,
      pods: sum.pods + n.allocatable.pods,
    }),
    { cpu: 0, memory: 0, pods: 0 },
  );
  return {
    cpu: { usedMillis: Math.max(0, total.cpu - report.free.cpuMillis), totalMillis: total.cpu },
    memory: { usedBytes: Math.max(0, total.memory - report.free.memoryBytes), totalBytes: total.memory },
    pods: { used: Math.max(0, total.pods - report.free.pods), total: total.pods },
    environmentsThatFit: report.environmentsThatFit,
    limitedBy: report.limitedBy,
  };
}

/** 1536 Mi → "1.5 GiB"; below a GiB in MiB. */
export function formatBytes(bytes: number): string {
  const gib = bytes / 2 ** 30;
  if (gib >= 1) return `${gib.toFixed(1)} GiB`;
  return `${Math.round(bytes / 2 ** 20)} MiB`;
}

export function formatCpu(millis: number): string {
  return millis >= 1000 ? `${(millis / 1000).toFixed(1)} CPU` : `${millis}m CPU`;
}

/** admin includes deploy, deploy includes read: one who may change environments may see them. */
export function hasScope(caller: Caller, wanted: Scope): boolean {
  const order: Scope[] = ["read", "deploy", "admin"];
  return caller.scopes.some((s) => order.indexOf(s) >= order.indexOf(wanted));
}

export const FINISHED_STATES: ReadonlySet<JobState> = new Set(["succeeded", "failed", "cancelled", "interrupted"]);

/** The last `max` lines of a job's output: enough to follow progress without shipping megabytes every poll. */
export function tailLines(text: string, max: number): { text: string; omitted: number } {
  const lines = text.split("\n");
  if (lines.length <= max) return { text, omitted: 0 };
  return { text: lines.slice(-max).join("\n"), omitted: lines.length - max };
}
