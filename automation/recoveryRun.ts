// Carries out recovery.ts's plan on a stack: one refresh that imports or clears a crashed run's pending creates, then
// a check that nothing is left pending. Runs inside the lock wait, so a live run's lock is waited for, never broken.
import * as fs from "node:fs";
import * as zlib from "node:zlib";
import type { LocalWorkspace, Stack } from "@pulumi/pulumi/automation";
import { DeployFailedError } from "./exitCodes";
import { describePending, mayHoldPendingOperations, pendingOperations, recoveryPlan, refreshArgs } from "./recovery";
import type { DriverMessage } from "./types";

export interface RecoveryOptions {
  /** Asked only when there is something to recover (it reads the stack's config, a CLI call). */
  readonly mode: () => Promise<"cluster" | "render">;
  /**
   * The stack's state file on a file backend: a clean state is seen there without `pulumi stack export` (a CLI call
   * of ~1.5 s that loads the whole state). @default always export
   */
  readonly stateFile?: string;
  readonly signal?: AbortSignal;
  readonly onMessage: (kind: DriverMessage["kind"], text: string) => void;
}

/** Returns how many pending operations were resolved (0 when the state was clean). */
export async function recoverPendingOperations(stack: Stack, options: RecoveryOptions): Promise<number> {
  if (options.stateFile && !mayHoldPendingOperations(readState(options.stateFile))) return 0;
  const pending = pendingOperations(await stack.exportStack());
  if (pending.length === 0) return 0;
  const mode = await options.mode();
  const plan = recoveryPlan(pending, mode);
  options.onMessage(
    "recovering",
    `${stack.name}: a previous run stopped with ${pending.length} pending operations (${describePending(pending)}); ` +
      `refreshing: ${plan.imports.length} to import from the cluster` +
      `${plan.clearRemainingCreates ? ", the other pending creates to clear" : ""}`,
  );
  // LocalWorkspace is the only workspace this project uses; its CLI runs the refresh the Node SDK cannot express
  // (it has clearPendingCreates but no importPendingCreates).
  const workspace = stack.workspace as LocalWorkspace;
  const env: Record<string, string> = { ...workspace.envVars };
  // In render mode the provider has no cluster to read; this makes refresh keep what was rendered (README).
  if (mode === "render") env.PULUMI_K8S_SKIP_UPDATE_UNREACHABLE = "true";
  await runCli(workspace, [...refreshArgs(plan), "--stack", stack.name], env, options.signal);
  const left = pendingOperations(await stack.exportStack()).filter((op) => op.type === "creating");
  if (left.length > 0) {
    throw new DeployFailedError(
      `${stack.name}: ${left.length} pending creates are still in the state after the refresh ` +
        `(${left.map((op) => op.resource.urn).join(", ")}); run: pulumi refresh --stack ${stack.name}`,
    );
  }
  options.onMessage("recovered", `${stack.name}: pending operations resolved`);
  return pending.length;
}

// A state file that vanished or cannot be read says nothing: report "may hold", so the export decides.
function readState(file: string): string {
  try {
    const raw = fs.readFileSync(file);
    return file.endsWith(".gz") ? zlib.gunzipSync(raw).toString("utf8") : raw.toString("utf8");
  } catch {
    return '"pending_operations"';
  }
}

type CliRun = (
  args: string[],
  cwd: string,
  env: Record<string, string>,
  onOutput?: (out: string) => void,
  onError?: (err: string) => void,
  signal?: AbortSignal,
) => Promise<unknown>;

// PulumiCommand.run is what every Stack method uses (it turns a held lock into ConcurrentUpdateError and forwards the
// AbortSignal as SIGINT) but it is marked @internal in the typings; check it exists rather than trust a cast blindly.
async function runCli(workspace: LocalWorkspace, args: string[], env: Record<string, string>, signal?: AbortSignal) {
  const command = workspace.pulumiCommand as unknown as { run?: CliRun };
  if (typeof command.run !== "function") {
    throw new Error("@pulumi/pulumi's PulumiCommand has no run(); pin @pulumi/pulumi 3.248.x (package.json)");
  }
  await command.run.call(workspace.pulumiCommand, args, workspace.workDir, env, undefined, undefined, signal);
}
