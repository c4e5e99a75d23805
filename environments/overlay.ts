// Overlay mode: which catalog services an overlay environment deploys itself (the ones built on the branch and what
// they own), and which resolve to the shared baseline through ExternalName Services. Pure.
import type { ServiceSpec } from "../components/types";
import type { CatalogService } from "./catalog";

/** The nsqd that `requiresNsq` services wait for and publish to (components/specs/workload.ts waits on nsqd:4151). */
const NSQD = "nsqd";

export const MODE_LABEL = "qa-k8s/mode";
export const BASELINE_LABEL = "qa-k8s/baseline";

// A host as an env value or a flag names it: after `scheme://`, `=`, `@`, a separator or at the start, optionally
// with a port, and followed by the end, a path, a query or a separator: `mongodb://mongodb:27017/x`, `nsqd:4151`,
// `--lookupd-tcp-address=nsqlookupd:4160`.
const HOST = /(?:^|:\/\/|[\s,;=@])([a-z](?:[-a-z0-9]*[a-z0-9])?)(?::\d{1,5})?(?=$|[/\s,;?])/g;

/** Host names in one value (env value or argument), in order of appearance. */
export function hostsIn(value: string): string[] {
  return [...value.matchAll(HOST)].map((match) => match[1]);
}

/**
 * What an overlay deploys next to `service` by default: NSQ when it requires NSQ, and every infra service it names as
 * a host in an env value or an argument (its MongoDB, nsqd's nsqlookupd). Apps it calls stay the baseline's.
 */
export function defaultOverlayOwn(service: CatalogService, catalog: readonly CatalogService[]): string[] {
  const infra = new Set(catalog.filter((s) => s.kind === "infra" && s.name !== service.name).map((s) => s.name));
  const named = [...Object.values(service.env), ...(service.args ?? [])].flatMap(hostsIn);
  const own = [...(service.requiresNsq ? [NSQD] : []), ...named].filter((name) => infra.has(name));
  return [...new Set(own)];
}

export function overlayOwnOf(service: CatalogService, catalog: readonly CatalogService[]): readonly string[] {
  return service.overlayOwn ?? defaultOverlayOwn(service, catalog);
}

/** Catalog rule: overlayOwn names other services of the catalog. */
export function overlayOwnProblems(services: readonly CatalogService[], file: string): string[] {
  const names = new Set(services.map((s) => s.name));
  const problems: string[] = [];
  for (const service of services) {
    for (const own of service.overlayOwn ?? []) {
      if (own === service.name) {
        problems.push(
          `${file}: service "${service.name}": overlayOwn lists the service itself; an overlay deploys a ` +
            `feature-built service anyway, so list only what it needs next to it (or [] for the baseline's)`,
        );
      } else if (!names.has(own)) {
        problems.push(
          `${file}: service "${service.name}": overlayOwn "${own}" is not a service of the catalog; ` +
            `use catalog service names (e.g. mongodb, nsqd), or [] to use the baseline's`,
        );
      }
    }
  }
  return problems;
}

export interface OverlayPlan {
  /** Deployed in the overlay: the feature-built services and, transitively, what they own. Catalog order. */
  readonly deployed: readonly string[];
  /** Every other service with a port: an ExternalName Service into the baseline. Catalog order. */
  readonly resolvedInBaseline: readonly string[];
}

/** Splits the catalog for an overlay; background workers (no port) not deployed get nothing. */
export function overlayPlan(catalog: readonly CatalogService[], builtOnBranch: Iterable<string>): OverlayPlan {
  const byName = new Map(catalog.map((s) => [s.name, s]));
  const deployed = new Set<string>();
  const pending = [...builtOnBranch];
  while (pending.length > 0) {
    const name = pending.pop()!;
    const service = byName.get(name);
    if (!service || deployed.has(name)) continue;
    deployed.add(name);
    pending.push(...overlayOwnOf(service, catalog));
  }
  return {
    deployed: catalog.filter((s) => deployed.has(s.name)).map((s) => s.name),
    resolvedInBaseline: catalog.filter((s) => !deployed.has(s.name) && s.port !== undefined).map((s) => s.name),
  };
}

export interface EnvironmentShape {
  /** Services whose workloads run in this namespace. */
  readonly deployed: readonly ServiceSpec[];
  /** Services answered by the baseline namespace (overlay only). */
  readonly baseline?: { readonly namespace: string; readonly services: readonly ServiceSpec[] };
  /** Labels of the namespace beyond feature and ticket. */
  readonly namespaceLabels: Readonly<Record<string, string>>;
  /** Namespace labels whose pods this environment's NetworkPolicy admits (the baseline admits its overlays). */
  readonly admittedNamespaceLabels?: Readonly<Record<string, string>>;
}

/**
 * What one environment deploys, per mode. A full environment that IS the baseline admits its overlays; its objects
 * are otherwise those of any full environment, so it is kept up to date like one.
 */
export function environmentShape(args: {
  readonly mode: "full" | "overlay";
  readonly baseline: string;
  readonly namespace: string;
  readonly catalog: readonly CatalogService[];
  readonly services: readonly ServiceSpec[];
  readonly builtOnBranch: readonly string[];
}): EnvironmentShape {
  if (args.mode === "full") {
    return {
      deployed: args.services,
      namespaceLabels: {},
      admittedNamespaceLabels: args.namespace === args.baseline ? { [BASELINE_LABEL]: args.baseline } : undefined,
    };
  }
  const plan = overlayPlan(args.catalog, args.builtOnBranch);
  const pick = (names: readonly string[]) => args.services.filter((s) => names.includes(s.name));
  return {
    deployed: pick(plan.deployed),
    baseline: { namespace: args.baseline, services: pick(plan.resolvedInBaseline) },
    namespaceLabels: { [MODE_LABEL]: "overlay", [BASELINE_LABEL]: args.baseline },
  };
}
