// Which image each service runs: the feature tag for services built on the branch, the baseline tag otherwise, pinned
// to its digest in `digest` rollout mode. Detection and resolution ask the registry for all services concurrently,
// bounded in parallelism and in time.
import { setMaxListeners } from "node:events";
import type { CatalogService } from "./catalog";
import { expandPlaceholders } from "./placeholders";
import { ImageRegistry, RegistryError } from "./registry";

export type RolloutMode = "digest" | "restart";

export interface ImagePlan {
  readonly registry: ImageRegistry;
  readonly featureTag: string;
  readonly baselineTag: string;
  /** Services built on the branch; undefined = detect (a service uses the feature tag iff that tag exists). */
  readonly featureServices?: readonly string[];
  readonly rollout: RolloutMode;
  /** Expansion of `${nsqImage}` and friends in infra images. */
  readonly infraImages: Readonly<Record<string, string>>;
  readonly timeoutMs: number;
  /** Registry requests in flight at once. @default 16 */
  readonly concurrency?: number;
}

export interface ResolvedImage {
  /** What the pod runs: `<registry>/<repo>:<tag>[@<digest>]`, or the infra image as configured. */
  readonly reference: string;
  readonly tag?: string;
  readonly digest?: string;
  /** Built on the feature branch (uses the feature tag). */
  readonly builtOnBranch: boolean;
}

export async function resolveImages(
  services: readonly CatalogService[],
  plan: ImagePlan,
): Promise<Map<string, ResolvedImage>> {
  const signal = AbortSignal.timeout(plan.timeoutMs);
  const concurrency = plan.concurrency ?? 16;
  // Every request in flight listens on the one deadline; more than Node's default 10 listeners is expected here.
  setMaxListeners(concurrency * 2 + 10, signal);
  const resolved = new Map<string, ResolvedImage>();
  const jobs = services.map((service) => async () => {
    resolved.set(service.name, await resolveOne(service, plan, signal));
  });
  const failures = await runPooled(jobs, concurrency, signal);
  if (failures.length > 0) {
    if (signal.aborted) {
      throw new RegistryError(
        `resolving images in registry ${plan.registry.address} timed out after ${plan.timeoutMs / 1000}s ` +
          `(${resolved.size} of ${services.length} services done); check that the registry answers, or raise ` +
          `qa-k8s:registryTimeoutSeconds`,
      );
    }
    const messages = failures.map((f) => (f instanceof Error ? f.message : String(f)));
    throw new RegistryError(
      messages.length === 1
        ? messages[0]
        : `${messages.length} services could not be resolved:\n  ${groupByReason(messages).join("\n  ")}`,
    );
  }
  return resolved;
}

/**
 * One line per distinct reason: a registry that is down fails every service the same way, and 66 copies of one
 * sentence would hide the one that differs.
 */
function groupByReason(messages: string[]): string[] {
  const services = new Map<string, string[]>();
  for (const message of messages) {
    const match = /^service "([^"]+)": ([\s\S]*)$/.exec(message);
    const [name, reason] = match ? [match[1], match[2]] : [undefined, message];
    services.set(reason, [...(services.get(reason) ?? []), ...(name ? [name] : [])]);
  }
  return [...services].map(([reason, names]) => {
    if (names.length === 0) return reason;
    if (names.length === 1) return `service "${names[0]}": ${reason}`;
    const shown = names
      .slice(0, 5)
      .map((n) => `"${n}"`)
      .join(", ");
    const more = names.length > 5 ? ` and ${names.length - 5} more` : "";
    return `services ${shown}${more}: ${reason}`;
  });
}

async function resolveOne(service: CatalogService, plan: ImagePlan, signal: AbortSignal): Promise<ResolvedImage> {
  if (service.kind === "infra") {
    return { reference: expandPlaceholders(service.image, plan.infraImages), builtOnBranch: false };
  }
  const repository = `${plan.registry.address}/${service.image}`;
  const lookup = async (tag: string) => {
    try {
      return await plan.registry.digestOf(service.image, tag, signal);
    } catch (error) {
      if (signal.aborted) throw error;
      throw new RegistryError(
        `service "${service.name}": ${(error as Error).message}` +
          (plan.rollout === "digest"
            ? "; for a registry that cannot be queried use qa-k8s:rollout restart with qa-k8s:featureServices"
            : "; set qa-k8s:featureServices to deploy without asking the registry"),
      );
    }
  };
  const missing = (tag: string, why: string) =>
    new RegistryError(
      `service "${service.name}": registry ${plan.registry.address} has no image ${service.image}:${tag}; ${why}`,
    );

  const listed = plan.featureServices?.includes(service.name);
  if (listed !== undefined && plan.rollout === "restart") {
    // Nothing to ask the registry: the list says which tag, and restart mode does not pin digests.
    const tag = listed ? plan.featureTag : plan.baselineTag;
    return { reference: `${repository}:${tag}`, tag, builtOnBranch: listed };
  }
  if (listed === true) {
    const digest = await lookup(plan.featureTag);
    if (!digest) throw missing(plan.featureTag, "push it, or remove the service from qa-k8s:featureServices");
    return pinned(repository, plan, plan.featureTag, digest, true);
  }
  if (listed === undefined) {
    const featureDigest = await lookup(plan.featureTag);
    if (featureDigest) return pinned(repository, plan, plan.featureTag, featureDigest, true);
  }
  const baselineDigest = await lookup(plan.baselineTag);
  if (!baselineDigest) {
    throw missing(
      plan.baselineTag,
      `every service needs a baseline image (qa-k8s:baselineTag) unless built on the branch`,
    );
  }
  return pinned(repository, plan, plan.baselineTag, baselineDigest, false);
}

function pinned(repository: string, plan: ImagePlan, tag: string, digest: string, builtOnBranch: boolean) {
  const reference = plan.rollout === "digest" ? `${repository}:${tag}@${digest}` : `${repository}:${tag}`;
  return { reference, tag, digest, builtOnBranch };
}

/** Runs jobs with at most `limit` in flight, starting none after `signal` aborts; returns the failures. */
async function runPooled(jobs: (() => Promise<void>)[], limit: number, signal: AbortSignal): Promise<unknown[]> {
  const failures: unknown[] = [];
  let next = 0;
  const worker = async () => {
    while (next < jobs.length) {
      if (signal.aborted) {
        failures.push(signal.reason);
        return;
      }
      const job = jobs[next++];
      await job().catch((error: unknown) => failures.push(error));
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, jobs.length) }, worker));
  return failures;
}
