// The cluster's free room and how many more environments fit in it. Pure: nodes and pods come in as plain objects
// (what the API server returns), so the same arithmetic serves the program's guard, the driver and capacity().
//
// Method, deliberately conservative:
//  - a node counts when it is Ready, not cordoned, and has no NoSchedule/NoExecute taint the environment's pods do not
//    tolerate (the scheduler's NodeUnschedulable and TaintToleration filters);
//  - its free room is allocatable minus the effective requests of every non-terminal pod bound to it (what the
//    scheduler's NodeResourcesFit counts), minus a per-node headroom, never below zero;
//  - pods that exist but are not bound yet (Pending) are packed first: they will claim room before a new environment;
//  - then whole copies of the environment are packed first-fit decreasing (largest pod first, each onto the first
//    node with room for its CPU, memory and pod slot). The count is the number of complete copies. The scheduler
//    spreads pods rather than packing them, so the estimate can be optimistic on a fragmented cluster: the headroom
//    exists to absorb that, and the largest pod must fit on some node on its own.
import { add, EnvironmentNeeds, PodNeed, podRequests, PodSpecShape, Resources, Toleration, ZERO } from "./capacity";
import { cpuMillis, quantityValue } from "./capacityQuantity";

export interface NodeShape {
  readonly metadata?: { readonly name?: string };
  readonly spec?: {
    readonly unschedulable?: boolean;
    readonly taints?: readonly (Toleration & { readonly effect: string })[];
  };
  readonly status?: {
    readonly allocatable?: Readonly<Record<string, string>>;
    readonly conditions?: readonly { readonly type: string; readonly status: string }[];
  };
}

export interface PodShape {
  readonly metadata?: { readonly name?: string; readonly namespace?: string };
  readonly spec?: PodSpecShape;
  readonly status?: { readonly phase?: string };
}

export interface NodeRoom {
  readonly node: string;
  readonly allocatable: Resources;
  /** Allocatable minus what running (non-terminal) pods request, minus the headroom; never below zero. */
  readonly free: Resources;
}

/** What capacity() reports and the guard decides on. */
export interface FitReport {
  /** Schedulable nodes (not cordoned, Ready, no untolerated NoSchedule/NoExecute taint) and their room. */
  readonly nodes: readonly NodeRoom[];
  readonly free: Resources;
  /** What one environment of the catalog needs (every container incl. init containers × replicas, and its pods). */
  readonly perEnvironment: Resources;
  /** The largest single pod of the environment. */
  readonly largestPod: Resources & { readonly name: string };
  /** How many more environments of this size fit. */
  readonly environmentsThatFit: number;
  /** What runs out first. */
  readonly limitedBy: "cpu" | "memory" | "pods" | "largest-pod";
  /** The headroom kept free per node. */
  readonly headroom: Resources;
  /** The requests side of the ResourceQuota the program sets on each environment's namespace (a rollout ceiling). */
  readonly quota: Resources;
}

// Far beyond any real cluster; only bounds the loop when a catalog asks for (almost) nothing.
const MAX_ENVIRONMENTS = 1000;

/** upstream v1.Toleration.ToleratesTaint */
export function tolerates(toleration: Toleration, taint: Toleration & { effect: string }): boolean {
  if (toleration.effect && toleration.effect !== taint.effect) return false;
  if (toleration.key && toleration.key !== taint.key) return false;
  if (toleration.operator === "Exists") return true;
  if (!toleration.operator || toleration.operator === "Equal") return (toleration.value ?? "") === (taint.value ?? "");
  return false;
}

function schedulable(node: NodeShape, tolerations: readonly Toleration[]): boolean {
  const ready = node.status?.conditions?.some((c) => c.type === "Ready" && c.status === "True") ?? false;
  if (!ready || node.spec?.unschedulable) return false;
  return (node.spec?.taints ?? [])
    .filter((taint) => taint.effect === "NoSchedule" || taint.effect === "NoExecute")
    .every((taint) => tolerations.some((t) => tolerates(t, taint)));
}

function allocatableOf(node: NodeShape, name: string): Resources {
  const a = node.status?.allocatable ?? {};
  return {
    cpuMillis: a.cpu ? cpuMillis(a.cpu, `node "${name}" allocatable cpu`) : 0,
    memoryBytes: a.memory ? quantityValue(a.memory, `node "${name}" allocatable memory`) : 0,
    pods: a.pods ? quantityValue(a.pods, `node "${name}" allocatable pods`) : 0,
  };
}

function minus(a: Resources, b: Resources): Resources {
  return {
    cpuMillis: Math.max(0, a.cpuMillis - b.cpuMillis),
    memoryBytes: Math.max(0, a.memoryBytes - b.memoryBytes),
    pods: Math.max(0, a.pods - b.pods),
  };
}

function fits(need: Resources, room: Resources): boolean {
  return need.cpuMillis <= room.cpuMillis && need.memoryBytes <= room.memoryBytes && need.pods <= room.pods;
}

const terminal = (pod: PodShape) => pod.status?.phase === "Succeeded" || pod.status?.phase === "Failed";
const podName = (pod: PodShape) => `pod ${pod.metadata?.namespace ?? ""}/${pod.metadata?.name ?? ""}`;

/** Room per schedulable node for pods with these tolerations. */
export function nodeRooms(
  nodes: readonly NodeShape[],
  pods: readonly PodShape[],
  headroom: Resources,
  tolerations: readonly Toleration[] = [],
): NodeRoom[] {
  const used = new Map<string, Resources>();
  for (const pod of pods) {
    const node = pod.spec?.nodeName;
    if (!node || terminal(pod) || !pod.spec) continue;
    used.set(node, add(used.get(node) ?? ZERO, podRequests(pod.spec, podName(pod))));
  }
  return nodes
    .filter((node) => schedulable(node, tolerations))
    .map((node) => {
      const name = node.metadata?.name ?? "";
      const allocatable = allocatableOf(node, name);
      return { node: name, allocatable, free: minus(minus(allocatable, used.get(name) ?? ZERO), headroom) };
    });
}

// First fit: the first node with room takes the pod. Mutates `free`.
function place(need: Resources, free: Resources[]): boolean {
  const index = free.findIndex((room) => fits(need, room));
  if (index < 0) return false;
  free[index] = minus(free[index], need);
  return true;
}

const bySizeDescending = (a: Resources, b: Resources) => b.memoryBytes - a.memoryBytes || b.cpuMillis - a.cpuMillis;

export function fitEnvironments(
  needs: EnvironmentNeeds,
  nodes: readonly NodeShape[],
  pods: readonly PodShape[],
  headroom: Resources,
): FitReport {
  const rooms = nodeRooms(nodes, pods, headroom, needs.largestPod.tolerations);
  const free = rooms.map((room) => room.free);
  // Pending pods (no node yet) are demand the scheduler serves before ours; one that fits nowhere holds nothing.
  const pendingRequests = pods
    .filter((pod) => !pod.spec?.nodeName && !terminal(pod) && pod.spec)
    .map((pod) => podRequests(pod.spec as PodSpecShape, podName(pod)))
    .sort(bySizeDescending);
  for (const request of pendingRequests) place(request, free);
  const afterPending = free.reduce(add, ZERO);
  const order: PodNeed[] = [...needs.pods].sort((a, b) => bySizeDescending(a.requests, b.requests));
  let environmentsThatFit = 0;
  while (environmentsThatFit < MAX_ENVIRONMENTS && order.every((pod) => place(pod.requests, free)))
    environmentsThatFit++;
  return {
    nodes: rooms,
    free: rooms.reduce((sum, room) => add(sum, room.free), ZERO),
    perEnvironment: needs.total,
    largestPod: { ...needs.largestPod.requests, name: needs.largestPod.name },
    environmentsThatFit,
    limitedBy: limitedBy(needs, rooms, afterPending),
    headroom,
    quota: needs.quota,
  };
}

// What runs out first: a largest pod that fits on no node at all, else the resource with the fewest environments'
// worth of free room in total.
function limitedBy(needs: EnvironmentNeeds, rooms: readonly NodeRoom[], free: Resources): FitReport["limitedBy"] {
  if (!rooms.some((room) => fits(needs.largestPod.requests, room.free))) return "largest-pod";
  const ratio = (have: number, need: number) => (need === 0 ? Infinity : have / need);
  const candidates = [
    ["cpu", ratio(free.cpuMillis, needs.total.cpuMillis)],
    ["memory", ratio(free.memoryBytes, needs.total.memoryBytes)],
    ["pods", ratio(free.pods, needs.total.pods)],
  ] as const;
  return candidates.reduce((a, b) => (b[1] < a[1] ? b : a))[0];
}

// Needs are rounded up and free room down, so the numbers never suggest room that is not there.
const cores = (millis: number, up: boolean) =>
  ((up ? Math.ceil(millis / 10) : Math.floor(millis / 10)) / 100).toFixed(2);
const gib = (bytes: number, up: boolean) => {
  // × 10 / 2^30 is exact in floating point for any realistic size: only the rounding direction matters.
  const tenths = (bytes * 10) / 1024 ** 3;
  return ((up ? Math.ceil(tenths) : Math.floor(tenths)) / 10).toFixed(1);
};

export function formatResources(r: Resources, roundUp: boolean): string {
  return `${cores(r.cpuMillis, roundUp)} CPU / ${gib(r.memoryBytes, roundUp)} GiB / ${r.pods} pods`;
}

/** `VERBU-7001 needs 0.52 CPU / 5.6 GiB / 72 pods; free: 0.31 CPU / 2.0 GiB / 40 pods (5 nodes); 0 more environments of this size fit` */
export function capacityMessage(
  ticket: string,
  report: Pick<FitReport, "nodes" | "free" | "perEnvironment" | "largestPod" | "environmentsThatFit" | "limitedBy">,
): string {
  const count = report.environmentsThatFit;
  const nodes = `${report.nodes.length} ${report.nodes.length === 1 ? "node" : "nodes"}`;
  const fitText = `${count} more ${count === 1 ? "environment" : "environments"} of this size ${count === 1 ? "fits" : "fit"}`;
  const largest =
    report.limitedBy === "largest-pod"
      ? `; its largest pod (${report.largestPod.name}: ${formatResources(report.largestPod, true).replace(/ \/ 1 pods$/, "")}) fits on no node`
      : "";
  return (
    `${ticket} needs ${formatResources(report.perEnvironment, true)}; ` +
    `free: ${formatResources(report.free, false)} (${nodes}); ${fitText}${largest}`
  );
}
