// After a run was killed mid-update, the state holds "pending operations": steps the engine started and never saw
// finish. A pending CREATE is the dangerous one: the object may exist in the cluster while the state does not know it,
// so the next up would create it again, and the CLI warns on every run until an interactive refresh.
//
// `pulumi refresh --import-pending-creates URN ID` looks like the cure but is not one in the pinned CLI (3.248): it
// turns each pending create into a pending *import*, and the refresh drops every pending import from the new snapshot
// unread (backend/snapshot.go keeps only base pending creates), so the object is forgotten exactly as with
// --clear-pending-creates. The next up then "creates" it with a server-side apply under a new random field manager
// (the kubernetes provider draws one per create), which shares every field with the dead run's manager: it fails with
// a field conflict wherever a value differs, and every later change of such a field (a new image) conflicts too.
//
// So the driver imports for real: each pending create that exists on the cluster goes into the state's resources with
// the provider's id (`<namespace>/<name>`, or `<name>` for cluster-scoped kinds) and the field manager that created it
// (read from the live object's managedFields, kept in `__fieldManager` as the provider does), and the refresh that
// follows reads it back in full. The rest are cleared: never created, not ours, or in render mode, where the next up
// renders them again. Pure: it decides from the exported state and what the driver read from the cluster.

/** One entry of `deployment.pending_operations` in `pulumi stack export` (apitype.OperationV2). */
export interface PendingOperation {
  readonly resource: {
    readonly urn: string;
    readonly type: string;
    readonly inputs?: Record<string, unknown>;
    readonly [field: string]: unknown;
  };
  readonly type: string;
}

/** The part of `stack.exportStack()` recovery reads and rewrites (apitype.UntypedDeployment of a DeploymentV3). */
export interface ExportedState {
  readonly version: number;
  readonly deployment: {
    readonly resources?: readonly { readonly urn: string }[];
    readonly pending_operations?: readonly PendingOperation[];
    readonly [field: string]: unknown;
  };
}

/** A pending create the cluster may hold: where to look for it. */
export interface ImportCandidate {
  readonly urn: string;
  /** The kubernetes provider's id. */
  readonly id: string;
  readonly apiVersion: string;
  readonly kind: string;
  readonly name: string;
  readonly namespace?: string;
}

/** The field managers of a live object, as in `metadata.managedFields`. */
export interface ManagedField {
  readonly manager?: string;
  readonly operation?: string;
  readonly time?: string | Date;
}

export interface Resolution {
  readonly state: ExportedState;
  readonly imported: number;
  readonly cleared: number;
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
  return candidateOf(op)?.id;
}

function candidateOf(op: PendingOperation): ImportCandidate | undefined {
  if (!op.resource.type.startsWith("kubernetes:")) return undefined;
  const inputs = op.resource.inputs ?? {};
  const metadata = inputs.metadata as { name?: unknown; namespace?: unknown } | undefined;
  const { apiVersion, kind } = inputs;
  if (typeof metadata?.name !== "string" || metadata.name === "") return undefined;
  if (typeof apiVersion !== "string" || typeof kind !== "string") return undefined;
  const namespace =
    typeof metadata.namespace === "string" && metadata.namespace !== "" ? metadata.namespace : undefined;
  const id = namespace ? `${namespace}/${metadata.name}` : metadata.name;
  return { urn: op.resource.urn, id, apiVersion, kind, name: metadata.name, namespace };
}

/**
 * The pending creates worth looking for on the cluster: kubernetes objects the engine named, and not the new half of a
 * replacement (its URN is still in the resources, and two live entries of one URN would break the snapshot).
 */
export function importCandidates(state: ExportedState): ImportCandidate[] {
  const known = new Set((state.deployment.resources ?? []).map((r) => r.urn));
  return pendingOperations(state)
    .filter((op) => op.type === "creating" && !known.has(op.resource.urn))
    .flatMap((op) => candidateOf(op) ?? []);
}

/**
 * The field manager our provider created an object with: the newest server-side Apply by `pulumi-kubernetes-<hex>`.
 * None means the object is not ours to import.
 */
export function ownFieldManager(managedFields: readonly ManagedField[] | undefined): string | undefined {
  const ours = (managedFields ?? []).filter(
    (f) => f.operation === "Apply" && typeof f.manager === "string" && f.manager.startsWith("pulumi-kubernetes-"),
  );
  const newest = ours.sort((a, b) => String(timeOf(b)).localeCompare(String(timeOf(a))))[0];
  return newest?.manager;
}

const timeOf = (f: ManagedField) => (f.time instanceof Date ? f.time.toISOString() : (f.time ?? ""));

/**
 * The state with every pending create resolved: those found on the cluster (URN → field manager) become resources,
 * the others are dropped. Other pending operations stay for the refresh, which clears them after reading back.
 * Imported resources go last: whatever they depend on had finished before their create began, so it is already in
 * the resources, and nothing can depend on them yet.
 */
export function resolvePendingCreates(state: ExportedState, found: ReadonlyMap<string, string>): Resolution {
  const pending = pendingOperations(state);
  const ids = new Map(importCandidates(state).map((c) => [c.urn, c.id]));
  const imported = pending
    .filter((op) => op.type === "creating" && found.has(op.resource.urn) && ids.has(op.resource.urn))
    .map((op) => ({
      ...op.resource,
      id: ids.get(op.resource.urn)!,
      // What the provider's Read keeps of a stored state before it reads the object back: the field manager only
      // (the live object holds no secrets here, and the refresh fills in the rest with them marked).
      outputs: { __fieldManager: found.get(op.resource.urn)! },
    }));
  const creates = pending.filter((op) => op.type === "creating").length;
  const others = pending.filter((op) => op.type !== "creating");
  const deployment: Record<string, unknown> = {
    ...state.deployment,
    resources: [...(state.deployment.resources ?? []), ...imported],
    pending_operations: others,
  };
  // As the engine writes it: no key when nothing is pending (DeploymentV3, omitempty).
  if (others.length === 0) delete deployment.pending_operations;
  return {
    state: { version: state.version, deployment },
    imported: imported.length,
    cleared: creates - imported.length,
  };
}

export function describePending(pending: readonly PendingOperation[]): string {
  const byType = new Map<string, number>();
  for (const op of pending) byType.set(op.type, (byType.get(op.type) ?? 0) + 1);
  return [...byType].map(([type, n]) => `${n} ${type}`).join(", ");
}
