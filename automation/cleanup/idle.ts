// Which environments idle cleanup removes: idle is counted from the LAST DEPLOY (the record's lastDeployedAt), not
// from creation as Pulumi's TTL stacks do, so an environment redeployed yesterday stays however old it is. Pinned
// environments, a run in progress, and stacks without the driver's record (not made by this tool) are kept. Pure.
import type { CleanupEnvironment } from "./pins";

export interface IdleSettings {
  readonly idleTtlMs: number;
  readonly now: Date;
  /**
   * Stacks of shared baselines: every overlay environment resolves its other services into one, so it is kept
   * however long ago it was deployed. @default ["master"], the default of qa-k8s:baseline
   */
  readonly baselines?: readonly string[];
}

export const DEFAULT_BASELINES: readonly string[] = ["master"];

export interface CleanupDecision {
  readonly ticket: string;
  readonly stack: string;
  readonly action: "destroy" | "keep";
  readonly reason: string;
}

/** 3d 4h, 5h 12m, 42m, 12s: the two largest units, enough for a log line. */
export function formatDuration(ms: number): string {
  const units: [string, number][] = [
    ["d", 86_400_000],
    ["h", 3_600_000],
    ["m", 60_000],
    ["s", 1000],
  ];
  const counts: [string, number][] = [];
  let rest = Math.max(0, Math.floor(ms));
  for (const [unit, size] of units) {
    counts.push([unit, Math.floor(rest / size)]);
    rest %= size;
  }
  const first = counts.findIndex(([, count]) => count > 0);
  if (first < 0) return "0s";
  const shown = counts.slice(first, first + 2).filter(([, count]) => count > 0);
  return shown.map(([unit, count]) => `${count}${unit}`).join(" ");
}

function decide(environment: CleanupEnvironment, settings: IdleSettings): Omit<CleanupDecision, "ticket" | "stack"> {
  const { record, pin } = environment;
  if (!record) {
    return { action: "keep", reason: "no qa-k8s record tags on the stack: not created by qa-env, never removed" };
  }
  if (environment.updateInProgress) return { action: "keep", reason: "a run is in progress on the stack" };
  if ((settings.baselines ?? DEFAULT_BASELINES).includes(environment.stack)) {
    return { action: "keep", reason: "the shared baseline of overlay environments (qa-k8s:baseline): never removed" };
  }
  if (pin) return { action: "keep", reason: `pinned by ${pin.pinnedBy}${pin.pinnedAt ? ` at ${pin.pinnedAt}` : ""}` };
  const last = Date.parse(record.lastDeployedAt);
  if (Number.isNaN(last)) {
    return { action: "keep", reason: `last-deployed-at ${JSON.stringify(record.lastDeployedAt)} is not a date` };
  }
  const idle = settings.now.getTime() - last;
  const ttl = formatDuration(settings.idleTtlMs);
  if (idle >= settings.idleTtlMs) {
    return {
      action: "destroy",
      reason: `idle ${formatDuration(idle)} since the last deploy at ${record.lastDeployedAt} (idle TTL ${ttl})`,
    };
  }
  return {
    action: "keep",
    reason: `last deployed ${formatDuration(idle)} ago at ${record.lastDeployedAt} (idle TTL ${ttl})`,
  };
}

export function idleDecisions(environments: readonly CleanupEnvironment[], settings: IdleSettings): CleanupDecision[] {
  if (!Number.isFinite(settings.idleTtlMs) || settings.idleTtlMs <= 0) {
    throw new RangeError(`idleTtlMs must be a positive number of milliseconds, got ${settings.idleTtlMs}`);
  }
  return environments.map((environment) => ({
    ticket: environment.ticket,
    stack: environment.stack,
    ...decide(environment, settings),
  }));
}
