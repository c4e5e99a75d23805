// What one environment asks the scheduler for, computed from the very pod templates and quota object the program
// creates (components/specs), never from a second copy of the catalog's numbers. Pure.
import type { ServiceSpec } from "../components/types";
import { resourceQuotaObject } from "../components/specs/namespace";
import { podTemplate } from "../components/specs/workload";
import type { CatalogService } from "./catalog";
import { cpuMillis, quantityValue } from "./capacityQuantity";
import { ENVIRONMENT_DEFAULTS } from "./config";
import type { Feature } from "./feature";
import type { ResolvedImage } from "./images";
import { overlayPlan } from "./overlay";
import { serviceSpecs } from "./services";

/** Requests of one environment or free room of a cluster, in the units the guard compares. */
export interface Resources {
  /** CPU in millicores. */
  readonly cpuMillis: number;
  readonly memoryBytes: number;
  readonly pods: number;
}

/** The parts of a core/v1 Container that scheduling reads (also what @kubernetes/client-node's V1Container has). */
export interface ContainerShape {
  readonly name?: string;
  readonly restartPolicy?: string;
  readonly resources?: {
    readonly requests?: Readonly<Record<string, string>>;
    readonly limits?: Readonly<Record<string, string>>;
  };
}

export interface Toleration {
  readonly key?: string;
  readonly operator?: string;
  readonly value?: string;
  readonly effect?: string;
}

/** The parts of a core/v1 PodSpec that scheduling reads. */
export interface PodSpecShape {
  readonly containers: readonly ContainerShape[];
  readonly initContainers?: readonly ContainerShape[];
  readonly overhead?: Readonly<Record<string, string>>;
  /** Pod-level resources (PodLevelResources, beta in 1.34): when set they replace the containers' sum. */
  readonly resources?: { readonly requests?: Readonly<Record<string, string>> };
  readonly tolerations?: readonly Toleration[];
  readonly nodeName?: string;
}

export const ZERO: Resources = { cpuMillis: 0, memoryBytes: 0, pods: 0 };

export function add(a: Resources, b: Resources): Resources {
  return { cpuMillis: a.cpuMillis + b.cpuMillis, memoryBytes: a.memoryBytes + b.memoryBytes, pods: a.pods + b.pods };
}

function max(a: Resources, b: Resources): Resources {
  return {
    cpuMillis: Math.max(a.cpuMillis, b.cpuMillis),
    memoryBytes: Math.max(a.memoryBytes, b.memoryBytes),
    pods: Math.max(a.pods, b.pods),
  };
}

// A container that sets only a limit gets the limit as its request (API defaulting); a live pod already has it.
function containerRequests(container: ContainerShape, where: string): Resources {
  const pick = (name: string) => container.resources?.requests?.[name] ?? container.resources?.limits?.[name];
  const cpu = pick("cpu");
  const memory = pick("memory");
  return {
    cpuMillis: cpu === undefined ? 0 : cpuMillis(cpu, `${where}: container "${container.name}" cpu request`),
    memoryBytes:
      memory === undefined ? 0 : quantityValue(memory, `${where}: container "${container.name}" memory request`),
    pods: 0,
  };
}

/**
 * The pod's effective request, as component-helpers' PodRequests computes it for the scheduler: the containers' sum
 * plus every sidecar (init container with restartPolicy Always, which keeps running), against the peak of the init
 * phase (each regular init container runs next to the sidecars started before it); the larger wins per resource;
 * then pod overhead. Counts as one pod. `where` names the pod in error messages.
 */
export function podRequests(spec: PodSpecShape, where: string): Resources {
  let sum = ZERO;
  for (const container of spec.containers) sum = add(sum, containerRequests(container, where));
  let sidecars = ZERO;
  let initPeak = ZERO;
  for (const container of spec.initContainers ?? []) {
    const requests = containerRequests(container, where);
    if (container.restartPolicy === "Always") {
      sum = add(sum, requests);
      sidecars = add(sidecars, requests);
      initPeak = max(initPeak, sidecars);
    } else {
      initPeak = max(initPeak, add(requests, sidecars));
    }
  }
  let effective = max(sum, initPeak);
  const podLevel = spec.resources?.requests;
  if (podLevel) {
    effective = {
      cpuMillis:
        podLevel.cpu !== undefined ? cpuMillis(podLevel.cpu, `${where}: pod cpu request`) : effective.cpuMillis,
      memoryBytes:
        podLevel.memory !== undefined
          ? quantityValue(podLevel.memory, `${where}: pod memory request`)
          : effective.memoryBytes,
      pods: 0,
    };
  }
  const overhead = containerRequests({ name: "overhead", resources: { requests: spec.overhead } }, where);
  return { ...add(effective, overhead), pods: 1 };
}

/** One pod the environment will create: which workload it belongs to, what it asks for, what it tolerates. */
export interface PodNeed {
  readonly name: string;
  readonly requests: Resources;
  readonly tolerations: readonly Toleration[];
}

export interface EnvironmentNeeds {
  readonly total: Resources;
  readonly pods: readonly PodNeed[];
  readonly largestPod: PodNeed;
  /** The namespace's ResourceQuota (requests), the ceiling the environment may claim during rollouts. */
  readonly quota: Resources;
}

/** Needs of an environment from the ServiceSpecs the program hands to its ServiceSet. */
export function environmentNeeds(services: readonly ServiceSpec[], namespace: string): EnvironmentNeeds {
  if (services.length === 0) throw new Error("the environment has no services; the catalog lists none");
  const pods: PodNeed[] = [];
  for (const spec of services) {
    // The same builder the Deployment/StatefulSet uses, so init containers and defaults are counted as deployed.
    const template = podTemplate(spec, { namespace });
    const requests = podRequests(template.spec as PodSpecShape, `service "${spec.name}"`);
    const tolerations = (template.spec as PodSpecShape).tolerations ?? [];
    for (let i = 0; i < spec.replicas; i++) pods.push({ name: spec.name, requests, tolerations });
  }
  const total = pods.reduce((sum, pod) => add(sum, pod.requests), ZERO);
  const largestPod = pods.reduce((a, b) => (dominates(b.requests, a.requests) ? b : a));
  const hard = resourceQuotaObject(namespace, services).spec.hard;
  const quota = {
    cpuMillis: cpuMillis(hard["requests.cpu"]),
    memoryBytes: quantityValue(hard["requests.memory"]),
    pods: quantityValue(hard.pods),
  };
  return { total, pods, largestPod, quota };
}

// "Largest" for reporting: more memory first (what runs out on the seed's nodes), then more CPU.
function dominates(a: Resources, b: Resources): boolean {
  return a.memoryBytes > b.memoryBytes || (a.memoryBytes === b.memoryBytes && a.cpuMillis > b.cpuMillis);
}

/**
 * Needs of a new environment from the catalog alone (the driver's pre-flight, capacity()), before any image is
 * resolved: images change nothing in a pod's requests, so a placeholder reference stands in for each. With
 * `overlayOf` (the services built on the branch), the needs of an overlay: only what it runs itself (overlay.ts).
 */
export function catalogNeeds(
  catalog: readonly CatalogService[],
  feature: Feature,
  options: { readonly overlayOf?: readonly string[] } = {},
): EnvironmentNeeds {
  if (options.overlayOf !== undefined) {
    const deployed = overlayPlan(catalog, options.overlayOf).deployed;
    return catalogNeeds(
      catalog.filter((s) => deployed.includes(s.name)),
      feature,
    );
  }
  const images = new Map(
    catalog.map((s): [string, ResolvedImage] => [
      s.name,
      { reference: `sizing.invalid/${s.name}:sizing`, tag: "sizing", builtOnBranch: false },
    ]),
  );
  const specs = serviceSpecs(catalog, images, {
    feature,
    domain: "sizing.invalid",
    waitImage: ENVIRONMENT_DEFAULTS.waitImage,
    storageClass: ENVIRONMENT_DEFAULTS.storageClass,
    rollout: "digest",
    deploymentId: "sizing",
  });
  return environmentNeeds(specs, feature.name);
}
