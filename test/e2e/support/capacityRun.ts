// Shared by the capacity proof (test/bench/capacity.e2e.bench.ts) and its small e2e (test/e2e/capacity.overlay.e2e.ts):
// admitting environments through the Driver until the capacity guard refuses one, several at once where that cannot
// over-admit, and counting what landed on the cluster (pods per namespace, pods not Running on a node).
import type { CatalogService } from "../../../environments/catalog";
import { add, catalogNeeds, EnvironmentNeeds, ZERO } from "../../../environments/capacity";
import { fitEnvironments } from "../../../environments/capacityFit";
import type { NodeShape, PodShape } from "../../../environments/capacityFit";
import type { Resources } from "../../../environments/capacity";
import { featureFromStack } from "../../../environments/feature";
import { CapacityError } from "../../../automation/exitCodes";
import type { DeployResult } from "../../../automation/types";
import type { LocalCluster } from "./localCluster";

export interface Pod {
  readonly metadata: { readonly name: string; readonly namespace: string };
  readonly spec: PodShape["spec"] & { readonly nodeName?: string };
  readonly status: { readonly phase: string };
}

/** Every pod of the cluster, as the API server lists it. */
export async function listPods(cluster: LocalCluster): Promise<Pod[]> {
  return (await cluster.kubectlJson<{ items: Pod[] }>("get", "pods", "--all-namespaces")).items;
}

export async function listNodes(cluster: LocalCluster): Promise<NodeShape[]> {
  return (await cluster.kubectlJson<{ items: NodeShape[] }>("get", "nodes")).items;
}

/** Pods of these namespaces, by namespace (a namespace without pods counts 0). */
export function podsPerNamespace(pods: readonly Pod[], namespaces: readonly string[]): Map<string, number> {
  const counts = new Map(namespaces.map((ns): [string, number] => [ns, 0]));
  for (const pod of pods)
    if (counts.has(pod.metadata.namespace))
      counts.set(pod.metadata.namespace, (counts.get(pod.metadata.namespace) ?? 0) + 1);
  return counts;
}

/** `namespace/name (phase)` of every pod of these namespaces that is not Running on a node: Pending, or unbound. */
export function notRunning(pods: readonly Pod[], namespaces: readonly string[]): string[] {
  const wanted = new Set(namespaces);
  return pods
    .filter((p) => wanted.has(p.metadata.namespace))
    .filter((p) => p.status.phase !== "Running" || !p.spec?.nodeName)
    .map((p) => `${p.metadata.namespace}/${p.metadata.name} (${p.status.phase}${p.spec?.nodeName ? "" : ", no node"})`);
}

/**
 * The `count`-th overlay's feature-built services: 1–5 app services, varied deterministically (sizes cycle 1..5,
 * services walk the catalog's apps with strides coprime to nothing in particular, so neighbours differ).
 */
export function overlayServices(apps: readonly string[], count: number): string[] {
  if (apps.length === 0) throw new Error("the catalog has no app services to build on a branch");
  const size = Math.min(1 + (count % 5), apps.length);
  const picked: string[] = [];
  for (let j = 0; picked.length < size; j++) {
    const name = apps[(count * 7 + j * 13) % apps.length];
    if (!picked.includes(name)) picked.push(name);
  }
  return picked;
}

/** What an overlay with these feature-built services runs itself, by the program's own sizing (overlay.ts). */
export function overlayBound(catalog: readonly CatalogService[], services: readonly string[]): EnvironmentNeeds {
  return catalogNeeds(catalog, featureFromStack("SIZING-1"), { overlayOf: services });
}

function together(needs: readonly EnvironmentNeeds[]): EnvironmentNeeds {
  const pods = needs.flatMap((n) => n.pods);
  const total = pods.reduce((sum: Resources, p) => add(sum, p.requests), ZERO);
  const largestPod = needs
    .map((n) => n.largestPod)
    .reduce((a, b) => (b.requests.memoryBytes > a.requests.memoryBytes ? b : a));
  return { total, pods, largestPod, quota: ZERO };
}

/** Whether all of these fit at once by the guard's own arithmetic (so deploying them together cannot over-admit). */
export function fitTogether(
  needs: readonly EnvironmentNeeds[],
  nodes: readonly NodeShape[],
  pods: readonly PodShape[],
  headroom: Resources,
): boolean {
  return fitEnvironments(together(needs), nodes, pods, headroom).environmentsThatFit >= 1;
}

export interface Candidate {
  readonly ticket: string;
  /** What it may create at most (for batching only). */
  readonly bound: EnvironmentNeeds;
  readonly deploy: () => Promise<DeployResult>;
}

export interface AdmissionRun {
  readonly admitted: DeployResult[];
  /** The first refusal (CapacityError), undefined when every candidate was admitted. */
  readonly refused?: { readonly ticket: string; readonly error: CapacityError };
  /** How many deploys ran at once, batch by batch. */
  readonly batches: number[];
}

/**
 * Deploys candidates in order until the guard refuses one. Each batch is the longest run of next candidates (at most
 * `maxAtOnce`) whose bounds fit the cluster together, measured afresh: the guard does not reserve room between its
 * check and the scheduler (README, "Known limit"), so only deploys that cannot crowd each other out run together.
 * Near the end this falls back to one at a time, so the refusal is the first one that does not fit.
 */
export async function admitUntilRefused(args: {
  readonly candidates: readonly Candidate[];
  readonly maxAtOnce: number;
  readonly headroom: Resources;
  readonly cluster: LocalCluster;
  readonly onAdmitted?: (result: DeployResult) => void;
}): Promise<AdmissionRun> {
  const admitted: DeployResult[] = [];
  const batches: number[] = [];
  let next = 0;
  while (next < args.candidates.length) {
    const [nodes, pods] = await Promise.all([listNodes(args.cluster), listPods(args.cluster)]);
    let size = 1;
    while (
      size < args.maxAtOnce &&
      next + size < args.candidates.length &&
      fitTogether(
        args.candidates.slice(next, next + size + 1).map((c) => c.bound),
        nodes,
        pods,
        args.headroom,
      )
    )
      size++;
    const batch = args.candidates.slice(next, next + size);
    batches.push(batch.length);
    const outcomes = await Promise.allSettled(batch.map((c) => c.deploy()));
    let refused: AdmissionRun["refused"];
    for (const [i, outcome] of outcomes.entries()) {
      if (outcome.status === "fulfilled") {
        admitted.push(outcome.value);
        args.onAdmitted?.(outcome.value);
      } else if (outcome.reason instanceof CapacityError) {
        refused ??= { ticket: batch[i].ticket, error: outcome.reason };
      } else {
        throw outcome.reason;
      }
    }
    if (refused) return { admitted, refused, batches };
    next += size;
  }
  return { admitted, batches };
}

/** Median, min and max of some numbers, for printing. */
export function spread(values: readonly number[]): { median: number; min: number; max: number } {
  if (values.length === 0) return { median: NaN, min: NaN, max: NaN };
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  const median = sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
  return { median, min: sorted[0], max: sorted[sorted.length - 1] };
}
