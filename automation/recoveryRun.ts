// Carries out recovery.ts's resolution on a stack: the pending creates a killed run left are looked up on the
// cluster, imported into the state or cleared (`pulumi stack import` of the edited export), then one refresh reads
// everything back and clears the other pending operations, and a check that nothing is left pending. Runs inside the
// lock wait, so a live run's lock is waited for, never broken.
import * as fs from "node:fs";
import * as zlib from "node:zlib";
import * as k8s from "@kubernetes/client-node";
import type { LocalWorkspace, Stack } from "@pulumi/pulumi/automation";
import { DeployFailedError } from "./exitCodes";
import {
  describePending,
  ExportedState,
  ImportCandidate,
  importCandidates,
  mayHoldPendingOperations,
  ownFieldManager,
  PendingOperation,
  pendingOperations,
  resolvePendingCreates,
} from "./recovery";
import type { DriverMessage } from "./types";

export interface RecoveryOptions {
  /**
   * The environment's cluster, asked only when there is something to recover (it reads the stack's config, a CLI
   * call); undefined in render mode, where nothing can be read back and pending creates are cleared.
   */
  readonly cluster: () => Promise<k8s.KubeConfig | undefined>;
  /**
   * The stack's state file on a file backend: a clean state is seen there without `pulumi stack export` (a CLI call
   * of ~1.5 s that loads the whole state). @default always export
   */
  readonly stateFile?: string;
  /**
   * Whether the driver sees the backend's locks (a file backend) and has waited out live ones before this runs. On
   * any other backend the export may be a LIVE run's state, whose creates are in flight, not crashed.
   */
  readonly locksVisible: boolean;
  readonly signal?: AbortSignal;
  readonly onMessage: (kind: DriverMessage["kind"], text: string) => void;
}

/** How many objects are looked up on the cluster at once. */
const LOOKUP_PARALLEL = 16;

/** Returns how many pending operations were resolved (0 when the state was clean). */
export async function recoverPendingOperations(stack: Stack, options: RecoveryOptions): Promise<number> {
  if (options.stateFile && !mayHoldPendingOperations(readState(options.stateFile))) return 0;
  const state = (await stack.exportStack()) as ExportedState;
  const pending = pendingOperations(state);
  if (pending.length === 0) return 0;
  if (!options.locksVisible) return clearUnderTheLock(stack, pending, options);
  const cluster = await options.cluster();
  const found = cluster ? await fieldManagersOnCluster(stack.name, cluster, importCandidates(state)) : new Map();
  const resolution = resolvePendingCreates(state, found);
  options.onMessage(
    "recovering",
    `${stack.name}: a previous run stopped with ${pending.length} pending operations (${describePending(pending)}); ` +
      `${resolution.imported} found on the cluster imported into the state, ${resolution.cleared} pending creates ` +
      `cleared (${cluster ? "never created" : "rendered again by the up"}); refreshing`,
  );
  await stack.importStack(resolution.state);
  // LocalWorkspace is the only workspace this project uses; its CLI runs the refresh with an environment of its own.
  const workspace = stack.workspace as LocalWorkspace;
  const env: Record<string, string> = { ...workspace.envVars };
  // In render mode the provider has no cluster to read; this makes refresh keep what was rendered (README).
  if (!cluster) env.PULUMI_K8S_SKIP_UPDATE_UNREACHABLE = "true";
  const refresh = ["refresh", "--yes", "--skip-preview", "--non-interactive", "--stack", stack.name];
  await runCli(workspace, refresh, env, options.signal);
  const left = pendingOperations(await stack.exportStack()).filter((op) => op.type === "creating");
  if (left.length > 0) {
    throw new DeployFailedError(
      `${stack.name}: ${left.length} pending creates are still in the state after the refresh ` +
        `(${left.map((op) => op.resource.urn).join(", ")}); run: pulumi refresh --stack ${stack.name}`,
    );
  }
  options.onMessage(
    "recovered",
    `${stack.name}: pending operations resolved (${resolution.imported} imported, ${resolution.cleared} cleared)`,
  );
  return pending.length;
}

/**
 * Recovery where the locks are out of sight: only a refresh may resolve, since it takes the lock (a live run's
 * makes it fail with ConcurrentUpdateError, which the lock wait waits out) and reads the state under it. It clears
 * the pending creates; the up after it applies with force (PULUMI_K8S_ENABLE_PATCH_FORCE), so objects a crashed run
 * created are taken over instead of failing with a field conflict against the dead run's field manager.
 */
async function clearUnderTheLock(stack: Stack, pending: readonly PendingOperation[], options: RecoveryOptions) {
  options.onMessage(
    "recovering",
    `${stack.name}: the state holds ${pending.length} pending operations (${describePending(pending)}) and this ` +
      "backend's locks cannot be read: refreshing under the stack's lock, clearing the pending creates; the up " +
      "then takes over what a crashed run created (forced server-side apply)",
  );
  const workspace = stack.workspace as LocalWorkspace;
  const env: Record<string, string> = { ...workspace.envVars };
  const onCluster = (await options.cluster()) !== undefined;
  // In render mode the provider has no cluster to read; this makes refresh keep what was rendered (README).
  if (!onCluster) env.PULUMI_K8S_SKIP_UPDATE_UNREACHABLE = "true";
  const refresh = ["refresh", "--yes", "--skip-preview", "--non-interactive", "--clear-pending-creates"];
  await runCli(workspace, [...refresh, "--stack", stack.name], env, options.signal);
  // Rendered files have no field managers to conflict with; only a cluster needs the forced apply.
  if (onCluster) workspace.envVars.PULUMI_K8S_ENABLE_PATCH_FORCE = "true";
  options.onMessage("recovered", `${stack.name}: pending operations cleared under the lock`);
  return pending.length;
}

/** URN → the field manager that created it, for each candidate the cluster holds and our provider made. */
async function fieldManagersOnCluster(
  stackName: string,
  cluster: k8s.KubeConfig,
  candidates: readonly ImportCandidate[],
): Promise<Map<string, string>> {
  const client = k8s.KubernetesObjectApi.makeApiClient(cluster);
  const found = new Map<string, string>();
  const queue = [...candidates];
  const lookUp = async (c: ImportCandidate) => {
    try {
      const live = await client.read({
        apiVersion: c.apiVersion,
        kind: c.kind,
        metadata: { name: c.name, ...(c.namespace ? { namespace: c.namespace } : {}) },
      });
      const manager = ownFieldManager(live.metadata?.managedFields);
      if (manager) found.set(c.urn, manager);
    } catch (error) {
      // Not there, or of a kind the cluster does not serve (a custom resource without its definition): never created.
      if ((error as { code?: number }).code === 404) return;
      if (/^Unrecognized API version and kind/.test((error as Error).message)) return;
      throw new DeployFailedError(
        `${stackName}: could not look up ${c.kind} ${c.id} on the cluster to recover a crashed run ` +
          `(${(error as Error).message}); nothing was changed, run the deploy again`,
        { cause: error },
      );
    }
  };
  const worker = async () => {
    for (let next = queue.shift(); next; next = queue.shift()) await lookUp(next);
  };
  await Promise.all(Array.from({ length: Math.min(LOOKUP_PARALLEL, queue.length) }, worker));
  return found;
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
