// After a run was killed mid-update, the state holds "pending operations": steps the engine started and never saw
// finish. A pending CREATE is the dangerous one: the object may exist in the cluster while the state does not know it,
// so a plain `up` would try to create it again and fail ("already exists"), and the CLI warns on every run until an
// interactive refresh. Which resolution is right depends on where the environment lives:
// - on a cluster, import each pending create by the id the kubernetes provider gives it (`<namespace>/<name>`, or
//   `<name>` for cluster-scoped kinds); the refresh then reads the object back, and drops it when it never got created;
// - in render mode there is nothing to read back: clear the pending creates, and the next up renders them again.
// Pure: it decides from the exported state, the driver runs the refresh.

/** One entry of `deployment.pending_operations` in `pulumi stack export` (apitype.OperationV2). */
export interface PendingOperation {
  readonly resource: {
    readonly urn: string;
    readonly type: string;
    readonly inputs?: Record<string, unknown>;
  };
  readonly type: string;
}

export interface RecoveryPlan {
  /** URN → provider id of pending creates to import (`refresh --import-pending-creates`). */
  readonly imports: readonly (readonly [urn: string, id: string])[];
  /** Whether pending creates remain that must be cleared (`refresh --clear-pending-creates`). */
  readonly clearRemainingCreates: boolean;
  /** Every pending operation found, for the message. */
  readonly pending: readonly PendingOperation[];
}

/** Reads the pending operations out of `stack.exportStack()`'s deployment (absent on a never-deployed stack). */
export function pendingOperations(deployment: unknown): PendingOperation[] {
  const inner = (deployment as { deployment?: { pending_operations?: unknown } } | undefined)?.deployment;
  const list = inner?.pending_operations;
  return Array.isArray(list) ? (list as PendingOperation[]) : [];
}

/**
 * Whether a state file's text could hold pending operations: the engine writes the key only when there are some
 * (apitype.DeploymentV3, `pending_operations,omitempty`). A cheap, one-sided pre-check: false means none for sure, true
 * means export the state and look.
 */
export function mayHoldPendingOperations(stateText: string): boolean {
  return stateText.includes('"pending_operations"');
}

/** The kubernetes provider's id of an object, from the inputs the engine recorded when it started creating it. */
export function kubernetesId(op: PendingOperation): string | undefined {
  if (!op.resource.type.startsWith("kubernetes:")) return undefined;
  const metadata = op.resource.inputs?.metadata as { name?: unknown; namespace?: unknown } | undefined;
  if (typeof metadata?.name !== "string" || metadata.name === "") return undefined;
  return typeof metadata.namespace === "string" && metadata.namespace !== ""
    ? `${metadata.namespace}/${metadata.name}`
    : metadata.name;
}

export function recoveryPlan(pending: readonly PendingOperation[], mode: "cluster" | "render"): RecoveryPlan {
  const creates = pending.filter((op) => op.type === "creating");
  const imports =
    mode === "cluster"
      ? creates.flatMap((op) => {
          const id = kubernetesId(op);
          return id ? [[op.resource.urn, id] as const] : [];
        })
      : [];
  return { imports, clearRemainingCreates: creates.length > imports.length, pending };
}

/** CLI arguments of the refresh that carries out a plan (the Node Automation API has no import-pending-creates). */
export function refreshArgs(plan: RecoveryPlan): string[] {
  const args = ["refresh", "--yes", "--skip-preview", "--non-interactive"];
  // pflag StringArray: every occurrence appends one value; the CLI reads them as URN, ID, URN, ID, ...
  for (const [urn, id] of plan.imports) args.push("--import-pending-creates", urn, "--import-pending-creates", id);
  if (plan.clearRemainingCreates) args.push("--clear-pending-creates");
  return args;
}

export function describePending(pending: readonly PendingOperation[]): string {
  const byType = new Map<string, number>();
  for (const op of pending) byType.set(op.type, (byType.get(op.type) ?? 0) + 1);
  return [...byType].map(([type, n]) => `${n} ${type}`).join(", ");
}
