// Per-service status from the cluster's own objects, as the seed's Cockpit showed it (`restartCount: 0  status:
// active`): pure functions from a Deployment or StatefulSet and its pods to a ServiceStatus. The kubelet writes the
// reasons read here (containerStatuses[].state.waiting.reason, lastState.terminated) and the scheduler the
// PodScheduled condition; nothing is guessed from timings.
import type { V1ContainerStatus, V1Pod } from "@kubernetes/client-node";
import { selectorLabels } from "../components/specs/labels";
import type { ServiceState, ServiceStatus } from "./observeTypes";

/** The parts of a Deployment or StatefulSet the status needs (both kinds have them under the same names). */
export interface WorkloadShape {
  readonly metadata?: { readonly name?: string; readonly generation?: number };
  readonly spec?: {
    readonly replicas?: number;
    readonly template?: { readonly spec?: { readonly containers?: readonly { readonly image?: string }[] } };
  };
  readonly status?: {
    readonly observedGeneration?: number;
    readonly replicas?: number;
    readonly readyReplicas?: number;
    readonly updatedReplicas?: number;
  };
}

/** Waiting reasons that will not clear by themselves: the image, the container config, or the process is at fault. */
const FAILING_WAIT_REASONS = new Set([
  "ImagePullBackOff",
  "ErrImagePull",
  "InvalidImageName",
  "CrashLoopBackOff",
  "CreateContainerConfigError",
  "CreateContainerError",
  "RunContainerError",
]);

/** The init container the program adds in front of services that talk to nsqd (components/specs/workload.ts). */
const WAIT_FOR_NSQD = "wait-for-nsqd";

/** `registry/repo:tag@sha256:…` → its tag and digest (either may be missing). */
export function imageParts(image: string): { tag: string; digest?: string } {
  const [name, digest] = image.split("@");
  const lastSegment = name.slice(name.lastIndexOf("/") + 1);
  const colon = lastSegment.lastIndexOf(":");
  return { tag: colon >= 0 ? lastSegment.slice(colon + 1) : "latest", ...(digest ? { digest } : {}) };
}

/** The digest a running container reports (`docker-pullable://repo@sha256:…`, `repo@sha256:…`). */
function reportedDigest(statuses: readonly V1ContainerStatus[]): string | undefined {
  for (const s of statuses) {
    const match = /@(sha256:[0-9a-f]{64})$/.exec(s.imageID ?? "");
    if (match) return match[1];
  }
  return undefined;
}

/** Pods of a service: those carrying its selector labels, newest first. */
export function podsOf(service: string, pods: readonly V1Pod[]): V1Pod[] {
  const selector = Object.entries(selectorLabels(service));
  return pods
    .filter((pod) => selector.every(([key, value]) => pod.metadata?.labels?.[key] === value))
    .sort((a, b) =>
      String(b.metadata?.creationTimestamp ?? "").localeCompare(String(a.metadata?.creationTimestamp ?? "")),
    );
}

function failingReason(pod: V1Pod): string | undefined {
  const statuses = [...(pod.status?.initContainerStatuses ?? []), ...(pod.status?.containerStatuses ?? [])];
  for (const s of statuses) {
    const waiting = s.state?.waiting;
    if (!waiting?.reason || !FAILING_WAIT_REASONS.has(waiting.reason)) continue;
    if (waiting.reason === "CrashLoopBackOff") {
      const last = s.lastState?.terminated;
      const exit = last ? ` (last exit: ${last.reason ?? "unknown"}, code ${last.exitCode})` : "";
      return `CrashLoopBackOff${exit}, ${s.restartCount} restarts`;
    }
    return waiting.message ? `${waiting.reason}: ${waiting.message}` : waiting.reason;
  }
  return undefined;
}

function pendingReason(pod: V1Pod): string | undefined {
  const scheduled = pod.status?.conditions?.find((c) => c.type === "PodScheduled");
  if (scheduled?.status === "False") {
    return `${scheduled.reason ?? "Unschedulable"}: ${scheduled.message ?? "not scheduled yet"}`;
  }
  const waitingForNsqd = pod.status?.initContainerStatuses?.find(
    (s) => s.name === WAIT_FOR_NSQD && (s.state?.running || s.state?.waiting),
  );
  if (waitingForNsqd) return "waiting for nsqd (init container wait-for-nsqd)";
  if (pod.status?.phase === "Pending") {
    const waiting = pod.status.containerStatuses?.find((s) => s.state?.waiting)?.state?.waiting;
    return waiting?.reason ? `Pending: ${waiting.reason}` : "Pending";
  }
  return undefined;
}

/** One service's status from its workload and the pods in its namespace. */
export function serviceStatus(
  service: string,
  workload: WorkloadShape,
  allPods: readonly V1Pod[],
  ticket: string,
): ServiceStatus {
  const image = workload.spec?.template?.spec?.containers?.[0]?.image ?? "";
  const { tag, digest: pinned } = imageParts(image);
  const pods = podsOf(service, allPods).filter((p) => !p.metadata?.deletionTimestamp);
  const statuses = pods.flatMap((p) => [
    ...(p.status?.initContainerStatuses ?? []),
    ...(p.status?.containerStatuses ?? []),
  ]);
  const desired = workload.spec?.replicas ?? 1;
  const ready = workload.status?.readyReplicas ?? 0;
  const updated = workload.status?.updatedReplicas ?? 0;
  const { state, reason } = classify(workload, pods, desired, ready, updated);
  const digest = reportedDigest(pods.flatMap((p) => p.status?.containerStatuses ?? [])) ?? pinned;
  return {
    service,
    image,
    tag,
    ...(digest ? { digest } : {}),
    builtOnBranch: tag === `${ticket}_latest`,
    readyReplicas: ready,
    desiredReplicas: desired,
    restartCount: statuses.reduce((sum, s) => sum + (s.restartCount ?? 0), 0),
    state,
    ...(reason ? { reason } : {}),
  };
}

function classify(
  workload: WorkloadShape,
  pods: readonly V1Pod[],
  desired: number,
  ready: number,
  updated: number,
): { state: ServiceState; reason?: string } {
  if (desired === 0) return { state: "scaled-down", reason: "0 replicas wanted" };
  for (const pod of pods) {
    const reason = failingReason(pod);
    if (reason) return { state: "failing", reason: `${pod.metadata?.name}: ${reason}` };
  }
  const observed = (workload.status?.observedGeneration ?? 0) >= (workload.metadata?.generation ?? 0);
  if (observed && ready >= desired && updated >= desired && (workload.status?.replicas ?? desired) <= desired) {
    return { state: "active" };
  }
  for (const pod of pods) {
    const reason = pendingReason(pod);
    if (reason) return { state: "pending", reason: `${pod.metadata?.name}: ${reason}` };
  }
  if (pods.length === 0) return { state: "pending", reason: "no pod yet" };
  return { state: "updating", reason: `rollout: ${updated}/${desired} updated, ${ready}/${desired} ready` };
}
