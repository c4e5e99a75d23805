// qa-env cleanup, pin and unpin: the sweep (automation/cleanup/sweep.ts) for cron, and the pins it respects. Each
// line the sweep logs goes to stderr as it happens (a JSON line with --json); the decisions are the result.
import { Driver } from "../driver";
import { pin, unpin, PinResult } from "../cleanup/pins";
import { CleanupStore, workspaceStore } from "../cleanup/store";
import { DAY_MS, sweep, SweepResult } from "../cleanup/sweep";
import { BadInputError, DeployFailedError, ExitCode } from "../exitCodes";
import { parseWholeNumber, resolveTicket, shown } from "./args";
import type { DriverApi } from "./driverApi";
import { CliContext, GlobalOptions, runCommand } from "./run";
import { table, when } from "./table";

export const DEFAULT_IDLE_DAYS = 7;

export interface CleanupCliOptions {
  readonly dryRun?: boolean;
  readonly idleDays?: string;
}

/** The real store reads the same backend as the real driver (its envVars hold the backend URL and passphrase). */
export function defaultStore(driver: DriverApi): CleanupStore {
  if (!(driver instanceof Driver)) throw new Error("cleanup needs the real driver's backend (no store given)");
  return workspaceStore(driver.envVars);
}

const OUTCOME: Record<SweepResult["entries"][number]["outcome"], string> = {
  destroyed: "destroyed",
  queued: "queued",
  "would-destroy": "would destroy",
  kept: "kept",
  failed: "FAILED",
};

export function formatCleanup(result: SweepResult): string {
  const head = result.dryRun
    ? `dry run: ${result.entries.filter((e) => e.outcome === "would-destroy").length} would be destroyed, ${result.kept} kept`
    : `${result.destroyed} destroyed, ${result.kept} kept, ${result.failed} failed`;
  if (result.entries.length === 0) return `${head} (no environments)`;
  const rows = result.entries.map((e) => [
    OUTCOME[e.outcome],
    e.ticket,
    e.error ? `${e.reason}: ${e.error}` : e.reason,
  ]);
  return `${head}\n${table(["OUTCOME", "TICKET", "WHY"], rows)}`;
}

export function formatPin(result: PinResult): string {
  if (result.pinned)
    return `${result.ticket} pinned by ${result.pin?.pinnedBy} at ${when(result.pin?.pinnedAt)}: idle cleanup keeps it until qa-env unpin ${result.ticket}`;
  return result.wasPinned
    ? `${result.ticket} unpinned: idle cleanup may remove it after its idle time`
    : `${result.ticket} was not pinned`;
}

export function cleanup(ctx: CliContext, g: GlobalOptions, o: CleanupCliOptions): Promise<ExitCode> {
  return runCommand<SweepResult>(ctx, "cleanup", g, async () => {
    const days =
      o.idleDays === undefined ? DEFAULT_IDLE_DAYS : parseWholeNumber(o.idleDays, "--idle-days", 1, 3650, "7");
    return async ({ driver, signal }) => {
      const store = (ctx.makeStore ?? defaultStore)(driver);
      const log = (text: string) =>
        ctx.io.err(
          g.json
            ? `${JSON.stringify({ time: new Date().toISOString(), kind: "cleanup", text })}\n`
            : `${new Date().toISOString()} ${text}\n`,
        );
      const result = await sweep({ driver, store, idleTtlMs: days * DAY_MS, dryRun: o.dryRun, log, signal });
      const failed = result.entries.filter((e) => e.outcome === "failed");
      if (failed.length > 0) {
        // Exit 5 like a failed destroy; the log lines above said what was removed and kept.
        throw new DeployFailedError(
          `${failed.length} of ${failed.length + result.destroyed} destroy(s) failed: ` +
            failed.map((e) => `${e.ticket} (${e.error})`).join("; "),
        );
      }
      return { result, text: formatCleanup(result) };
    };
  });
}

export function pinCommand(
  ctx: CliContext,
  g: GlobalOptions,
  ticketArg: string | undefined,
  o: { by?: string },
): Promise<ExitCode> {
  return runCommand<PinResult>(ctx, "pin", g, async () => {
    const ticket = resolveTicket(ticketArg, undefined);
    if (o.by !== undefined && o.by.trim() === "")
      throw new BadInputError(`--by ${shown(o.by)} is empty: name who pins (e.g. --by jane.doe), or leave it out`);
    return async ({ driver }) => {
      const result = await pin((ctx.makeStore ?? defaultStore)(driver), ticket, { by: o.by, env: ctx.io.env });
      return { result, text: formatPin(result) };
    };
  });
}

export function unpinCommand(ctx: CliContext, g: GlobalOptions, ticketArg: string | undefined): Promise<ExitCode> {
  return runCommand<PinResult>(ctx, "unpin", g, async () => {
    const ticket = resolveTicket(ticketArg, undefined);
    return async ({ driver }) => {
      const result = await unpin((ctx.makeStore ?? defaultStore)(driver), ticket);
      return { result, text: formatPin(result) };
    };
  });
}
