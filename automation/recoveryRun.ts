// Carries out recovery.ts's plan on a stack: one refresh that imports or clears a crashed run's pending creates, then
// a check that nothing is left pending. Runs inside the lock wait, so a live run's lock is waited for, never broken.
import type { LocalWorkspace, Stack } from "@pulumi/pulumi/automation";
import { DeployFailedError } from "./exitCodes";
import { describePending, pendingOperations, recoveryPlan, refreshArgs } from "./recovery";
import type { DriverMessage } from "./types";

export interface RecoveryOptions {
  readonly mode: "cluster" | "render";
  readonly signal?: AbortSignal;
  readonly onMessage: (kind: DriverMessage["kind"], text: string) => void;
}

/** Returns how many pending operations were resolved (0 when the state was clean). */
export async function recoverPendingOperations(stack: Stack, options: RecoveryOptions): Promise<number> {
  const pending = pendingOperations(await stack.exportStack());
  if (pending.length === 0) return 0;
  const plan = recoveryPlan(pending, options.mode);
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
  if (options.mode === "render") env.PULUMI_K8S_SKIP_UPDATE_UNREACHABLE = "true";
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
