// The shared parts of an environment: its namespace, a quota sized from the catalog, default container limits, and a
// NetworkPolicy that keeps other feature environments out.
import { formatCpu, formatMemory, parseCpu, parseMemory } from "./quantities";
import type { ServiceSpec } from "../types";
import { MANAGED_BY } from "./labels";

export interface NamespaceSpecArgs {
  readonly namespace: string;
  readonly labels: Readonly<Record<string, string>>;
}

export function namespaceObject(args: NamespaceSpecArgs) {
  return { metadata: { name: args.namespace, labels: { ...args.labels, ...MANAGED_BY } } };
}

// Room for a rolling update of every workload at once (maxSurge: one extra pod each) plus the NSQ wait containers.
const ROLLOUT_HEADROOM = 2;

/** Totals of the catalog's requests and limits × replicas, with room for a full rollout. */
export function resourceQuotaObject(namespace: string, services: readonly ServiceSpec[]) {
  const sum = (pick: (s: ServiceSpec) => number) =>
    services.reduce((total, s) => total + pick(s) * Math.max(s.replicas, 1), 0) * ROLLOUT_HEADROOM;
  const pods = services.reduce((total, s) => total + Math.max(s.replicas, 1), 0) * ROLLOUT_HEADROOM;
  return {
    metadata: { name: "environment-quota", namespace, labels: { ...MANAGED_BY } },
    spec: {
      hard: {
        pods: String(pods),
        "requests.cpu": formatCpu(sum((s) => parseCpu(s.resources.requests.cpu) ?? 0) + INIT_CONTAINER_CPU * pods),
        "requests.memory": formatMemory(
          sum((s) => parseMemory(s.resources.requests.memory) ?? 0) + INIT_CONTAINER_MEMORY * pods,
        ),
        "limits.cpu": formatCpu(sum((s) => parseCpu(s.resources.limits.cpu) ?? 0) + INIT_CONTAINER_CPU * pods),
        "limits.memory": formatMemory(
          sum((s) => parseMemory(s.resources.limits.memory) ?? 0) + INIT_CONTAINER_MEMORY * pods,
        ),
        persistentvolumeclaims: String(services.filter((s) => s.storage).length * ROLLOUT_HEADROOM),
      },
    },
  };
}

// What the NSQ wait container asks for (see workload.ts); kept here so the quota counts it.
export const INIT_CONTAINER_CPU = 10;
export const INIT_CONTAINER_MEMORY = 16 * 1024 ** 2;

const DEFAULT_LIMIT = { cpu: 100, memory: 128 * 1024 ** 2 };
const DEFAULT_REQUEST = { cpu: 5, memory: 64 * 1024 ** 2 };

/**
 * Defaults for containers that declare nothing, and a ceiling at the catalog's largest limit (the NSQ wait container's
 * included: LimitRanger refuses a pod with any container above it). The API server refuses a LimitRange whose default
 * is above its max, or whose defaultRequest is above its default, so a catalog of small limits lowers the defaults.
 */
export function limitRangeObject(namespace: string, services: readonly ServiceSpec[]) {
  const waits = services.some((s) => s.waitForNsqImage !== undefined);
  // An overlay with nothing built on the branch runs no pods; the API server refuses a zero max below the defaults.
  const none = services.length === 0;
  const maxCpu = Math.max(
    ...services.map((s) => parseCpu(s.resources.limits.cpu) ?? 0),
    waits ? INIT_CONTAINER_CPU : 0,
    none ? DEFAULT_LIMIT.cpu : 0,
  );
  const maxMemory = Math.max(
    ...services.map((s) => parseMemory(s.resources.limits.memory) ?? 0),
    waits ? INIT_CONTAINER_MEMORY : 0,
    none ? DEFAULT_LIMIT.memory : 0,
  );
  const defaultCpu = Math.min(DEFAULT_LIMIT.cpu, maxCpu);
  const defaultMemory = Math.min(DEFAULT_LIMIT.memory, maxMemory);
  return {
    metadata: { name: "container-defaults", namespace, labels: { ...MANAGED_BY } },
    spec: {
      limits: [
        {
          type: "Container",
          default: { cpu: formatCpu(defaultCpu), memory: formatMemory(defaultMemory) },
          defaultRequest: {
            cpu: formatCpu(Math.min(DEFAULT_REQUEST.cpu, defaultCpu)),
            memory: formatMemory(Math.min(DEFAULT_REQUEST.memory, defaultMemory)),
          },
          max: { cpu: formatCpu(maxCpu), memory: formatMemory(maxMemory) },
        },
      ],
    },
  };
}

/**
 * Pods accept traffic only from their own namespace and from the ingress controller's namespace (K3s runs Traefik in
 * kube-system), so one feature environment cannot reach another; a baseline also admits the namespaces labelled as
 * its overlays. Egress stays open: services call external APIs (and an overlay the baseline).
 */
export function networkPolicyObject(
  namespace: string,
  ingressNamespaces: readonly string[],
  admittedNamespaceLabels?: Readonly<Record<string, string>>,
) {
  return {
    metadata: { name: "isolate-environment", namespace, labels: { ...MANAGED_BY } },
    spec: {
      podSelector: {},
      policyTypes: ["Ingress"],
      ingress: [
        {
          from: [
            { podSelector: {} },
            ...ingressNamespaces.map((name) => ({
              namespaceSelector: { matchLabels: { "kubernetes.io/metadata.name": name } },
            })),
            // The baseline's overlays: namespaces that carry qa-k8s/baseline=<this namespace>.
            ...(admittedNamespaceLabels && Object.keys(admittedNamespaceLabels).length > 0
              ? [{ namespaceSelector: { matchLabels: { ...admittedNamespaceLabels } } }]
              : []),
          ],
        },
      ],
    },
  };
}
