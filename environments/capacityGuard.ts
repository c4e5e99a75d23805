// The capacity guard shared by the program (`pulumi up/preview --stack <new-ticket>`) and the driver's pre-flight:
// a NEW environment (its namespace does not exist yet) is refused with the numbers when not one more copy of it fits;
// an existing environment is never refused, whatever the cluster looks like.
import type { EnvironmentNeeds, Resources } from "./capacity";
import { capacityMessage, fitEnvironments, FitReport } from "./capacityFit";
import { cpuMillis, quantityValue, QuantityError } from "./capacityQuantity";
import type { ClusterView } from "./capacityCluster";

/** Per-node room kept free for rollouts (one surge pod per updated workload) and the scheduler's spreading. */
export const CAPACITY_DEFAULTS = {
  guard: true,
  headroomCpu: "100m",
  headroomMemory: "256Mi",
  headroomPods: 2,
} as const;

export interface RawCapacityConfig {
  readonly guard?: boolean | string;
  readonly headroomCpu?: string;
  readonly headroomMemory?: string;
  readonly headroomPods?: number | string;
}

export interface CapacitySettings {
  readonly enabled: boolean;
  readonly headroom: Resources;
}

/** Thrown when a new environment does not fit; the message is the one the issue asks for. */
export class CapacityRefusal extends Error {
  constructor(
    readonly ticket: string,
    readonly report: FitReport,
  ) {
    super(capacityMessage(ticket, report));
    this.name = "CapacityRefusal";
  }
}

// Values arrive typed from pulumi.Config in the program and as strings from the driver's stack config.
export function capacitySettings(raw: RawCapacityConfig): CapacitySettings {
  const problems: string[] = [];
  const guard = raw.guard ?? CAPACITY_DEFAULTS.guard;
  if (guard !== true && guard !== false && guard !== "true" && guard !== "false")
    problems.push(`qa-k8s:capacity.guard "${guard}" is not true or false; run: pulumi config set capacity.guard true`);
  const quantity = (key: string, value: string, parse: (q: string, what: string) => number) => {
    try {
      return parse(value, `qa-k8s:capacity.${key}`);
    } catch (error) {
      if (!(error instanceof QuantityError)) throw error;
      problems.push(error.message);
      return 0;
    }
  };
  const cpu = quantity("headroomCpu", raw.headroomCpu ?? CAPACITY_DEFAULTS.headroomCpu, cpuMillis);
  const memory = quantity("headroomMemory", raw.headroomMemory ?? CAPACITY_DEFAULTS.headroomMemory, quantityValue);
  const podsText = String(raw.headroomPods ?? CAPACITY_DEFAULTS.headroomPods);
  if (!/^\d{1,4}$/.test(podsText))
    problems.push(`qa-k8s:capacity.headroomPods "${podsText}" is not a whole number of pods 0–9999; e.g. 2`);
  for (const [key, value] of [
    ["headroomCpu", cpu],
    ["headroomMemory", memory],
  ] as const)
    if (value < 0) problems.push(`qa-k8s:capacity.${key} must not be negative`);
  if (problems.length > 0) throw new Error(`invalid configuration:\n  ${problems.join("\n  ")}`);
  return {
    enabled: guard === true || guard === "true",
    headroom: { cpuMillis: cpu, memoryBytes: memory, pods: Number(podsText) },
  };
}

/** The cluster's room for environments of this size (what capacity() reports). */
export async function measureCapacity(
  needs: EnvironmentNeeds,
  cluster: ClusterView,
  headroom: Resources,
): Promise<FitReport> {
  const [nodes, pods] = await Promise.all([cluster.nodes(), cluster.pods()]);
  return fitEnvironments(needs, nodes, pods, headroom);
}

export type GuardOutcome =
  | { readonly decision: "disabled" }
  | { readonly decision: "existing" }
  | { readonly decision: "admitted"; readonly report: FitReport };

/** Refuses (CapacityRefusal) a new environment that does not fit; says why anything else passes. */
export async function guardNewEnvironment(args: {
  readonly ticket: string;
  readonly namespace: string;
  readonly needs: EnvironmentNeeds;
  readonly settings: CapacitySettings;
  readonly cluster: ClusterView;
}): Promise<GuardOutcome> {
  if (!args.settings.enabled) return { decision: "disabled" };
  if (await args.cluster.namespaceExists(args.namespace)) return { decision: "existing" };
  const report = await measureCapacity(args.needs, args.cluster, args.settings.headroom);
  if (report.environmentsThatFit < 1) throw new CapacityRefusal(args.ticket, report);
  return { decision: "admitted", report };
}
