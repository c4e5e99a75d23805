// The table of test/e2e/apiserver-rules.e2e.ts: for every rule of environments/kubernetesNames.ts, an input that breaks
// it and the boundary value just inside it. Each input goes through the program's own check (catalog or stack name)
// and through the program's own builders, so the API server judges exactly the objects an up would send it.
import { stringify } from "yaml";
import { CatalogError, CatalogService, parseCatalog } from "../../../environments/catalog";
import { routeHostProblems } from "../../../environments/catalogChecks";
import { Feature, featureFromStack } from "../../../environments/feature";
import type { ResolvedImage } from "../../../environments/images";
import { placeholderValues, serviceSpecs } from "../../../environments/services";
import { ingressObjects, MIDDLEWARE_API_VERSION, stripPrefixMiddlewareObject } from "../../../components/specs/ingress";
import { limitRangeObject, namespaceObject } from "../../../components/specs/namespace";
import { deploymentObject, serviceObject, statefulSetObject } from "../../../components/specs/workload";
import { appService } from "../../support/fixtures";

export const FEATURE = featureFromStack("apirules-e2e");
export const DOMAIN = "qa.example.test";
const FILE = "catalog.yaml";

export interface KubeObject {
  readonly apiVersion: string;
  readonly kind: string;
  readonly metadata: { readonly name: string; readonly namespace?: string };
  readonly [field: string]: unknown;
}

/** What the program is given: catalog services (with the environment's domain), or a stack name and ticket. */
export type Input =
  | { readonly catalog: readonly CatalogService[]; readonly domain?: string }
  | { readonly stack: string; readonly ticket?: string };

export interface Example {
  /** The value under test, as the table shows it. */
  readonly value: string;
  readonly input: Input;
  /** The objects to send instead of what the builders make of `input`, e.g. what an older builder made. */
  readonly objects?: (namespace: string) => KubeObject[];
}

export interface RuleCase {
  readonly rule: string;
  readonly bad: Example;
  readonly good: Example;
  /**
   * dry-run: every object is dry-run on the server. create-first: all but the last are created for real, then the last
   * is dry-run (a clash of names). controller: the workload is created for real and its controller's answer awaited.
   */
  readonly mode?: "dry-run" | "create-first" | "controller";
  /** A rule of this project's own, which the API server does not hold: the bad example is accepted there. */
  readonly projectRule?: string;
  /** A rule the builders now keep for every valid input: the program accepts both, the bad objects are the old ones. */
  readonly builderRule?: string;
}

/** The program's message for an input, or undefined when the program accepts it. */
export function programCheck(input: Input): string | undefined {
  if ("stack" in input) {
    try {
      featureFromStack(input.stack, input.ticket);
      return undefined;
    } catch (error) {
      return (error as Error).message;
    }
  }
  try {
    const catalog = parseCatalog(stringify({ services: input.catalog }), FILE);
    const hosts = routeHostProblems(
      catalog,
      placeholderValues({ feature: FEATURE, domain: input.domain ?? DOMAIN }),
      FILE,
    );
    return hosts.length > 0 ? hosts.join("\n") : undefined;
  } catch (error) {
    if (error instanceof CatalogError) return error.problems.join("\n");
    throw error;
  }
}

/** The objects an up would create from the example, built by the program's own builders, in `namespace`. */
export function programObjects(example: Example, namespace: string): KubeObject[] {
  if (example.objects) return example.objects(namespace);
  const input = example.input;
  if ("stack" in input) {
    const name = (input.stack.split("/").pop() ?? input.stack).toLowerCase();
    const labels = { "qa-k8s/feature": name, "qa-k8s/ticket": input.ticket ?? name.toUpperCase() };
    return [{ apiVersion: "v1", kind: "Namespace", ...namespaceObject({ namespace: name, labels }) }];
  }
  return catalogObjects(input.catalog, namespace, FEATURE, input.domain ?? DOMAIN);
}

function specsOf(catalog: readonly CatalogService[], feature: Feature, domain: string) {
  const images = new Map<string, ResolvedImage>(
    // As resolveImages does: an app's repository under the registry, an infra image as it is.
    catalog.map((s) => [
      s.name,
      { reference: s.kind === "infra" ? s.image : `registry.test/${s.image}:master_latest`, builtOnBranch: false },
    ]),
  );
  return serviceSpecs(catalog, images, {
    feature,
    domain,
    waitImage: "busybox:1.36",
    storageClass: "local-path",
    rollout: "digest",
    deploymentId: "e2e",
  });
}

function catalogObjects(
  catalog: readonly CatalogService[],
  namespace: string,
  feature: Feature,
  domain: string,
): KubeObject[] {
  const context = { namespace };
  const specs = specsOf(catalog, feature, domain);
  return specs.flatMap((spec): KubeObject[] => {
    const service = serviceObject(spec, context);
    const middleware = stripPrefixMiddlewareObject(spec, namespace);
    return [
      spec.storage
        ? { apiVersion: "apps/v1", kind: "StatefulSet", ...statefulSetObject(spec, context) }
        : { apiVersion: "apps/v1", kind: "Deployment", ...deploymentObject(spec, context) },
      ...(service ? [{ apiVersion: "v1", kind: "Service", ...service }] : []),
      ...(middleware ? [{ ...middleware, apiVersion: MIDDLEWARE_API_VERSION }] : []),
      ...ingressObjects(spec, namespace, "qa-bu-ssl-certificate").map(({ object }) => ({
        apiVersion: "networking.k8s.io/v1",
        kind: "Ingress",
        ...object,
      })),
    ];
  });
}

const app = (name: string, overrides: Partial<CatalogService> = {}) => appService(name, overrides);
const route = (path: string, host = "services-${feature}.${domain}", stripPrefix = false) => ({
  host,
  path,
  stripPrefix,
});
const one = (service: CatalogService, domain?: string): Input => ({ catalog: [service], domain });
/** A domain that makes the main host `services-apirules-e2e.<domain>` exactly `length` characters long. */
function domainForHostLength(length: number): string {
  const rest = length - "services-apirules-e2e.".length;
  const labels = [];
  for (let left = rest; left > 0; left -= 64) labels.push("d".repeat(Math.min(63, left)));
  const domain = labels.join(".");
  return domain.endsWith(".") ? `${domain.slice(0, -1)}d` : domain;
}
const SMALL_LIMITS = { requests: { cpu: "5m", memory: "32Mi" }, limits: { cpu: "50m", memory: "64Mi" } };
/** The LimitRange of a catalog, as the builder makes it now (`clamped`) or as it made it before (default 100m, 128Mi). */
function limitRange(clamped: boolean) {
  return (namespace: string): KubeObject[] => {
    const built = limitRangeObject(namespace, specsOf([app("auth", { resources: SMALL_LIMITS })], FEATURE, DOMAIN));
    const [item] = built.spec.limits;
    const limits = clamped
      ? [item]
      : [{ ...item, default: { cpu: "100m", memory: "128Mi" }, defaultRequest: { cpu: "5m", memory: "64Mi" } }];
    return [{ apiVersion: "v1", kind: "LimitRange", ...built, spec: { limits } }];
  };
}
/** What a feature of `length` characters would create: its namespace and an Ingress on its main host. */
function longFeature(length: number) {
  return (namespace: string): KubeObject[] => {
    const feature = { name: "f".repeat(length), ticket: "F" };
    return catalogObjects([app("auth", { ingress: [route("/")] })], namespace, feature, DOMAIN).filter(
      (o) => o.kind === "Ingress",
    );
  };
}

const m52 = "m".repeat(52);
const m63 = "m".repeat(63);

export const RULE_CASES: readonly RuleCase[] = [
  {
    rule: "Service name is a DNS-1035 label (starts with a letter)",
    bad: { value: "3d-viewer", input: one(app("3d-viewer")) },
    good: { value: "d3-viewer", input: one(app("d3-viewer")) },
  },
  {
    rule: "Service name has at most 63 characters",
    bad: { value: `a×64`, input: one(app("a".repeat(64))) },
    good: { value: `a×63 (a Deployment: ReplicaSet and pod names fit)`, input: one(app("a".repeat(63))) },
    mode: "controller",
  },
  {
    rule: "StatefulSet name leaves room for controller-revision-hash=<name>-<hash> (label value ≤ 63)",
    bad: { value: "m×63 with storage", input: one(app(m63, { storage: "1Gi" })) },
    good: { value: "m×52 with storage", input: one(app(m52, { storage: "1Gi" })) },
    mode: "controller",
  },
  {
    rule: "claim size is greater than zero",
    bad: { value: "storage: 0Gi", input: one(app("mongodb", { storage: "0Gi" })) },
    good: { value: "storage: 1Ki", input: one(app("mongodb", { storage: "1Ki" })) },
    mode: "controller",
  },
  {
    rule: "port name is IsValidPortName (≤ 15, lower-case, a letter, no '--')",
    bad: {
      value: "metrics-exporter (16)",
      input: one(app("auth", { extraPorts: [{ name: "metrics-exporter", port: 9100 }] })),
    },
    good: {
      value: "metrics-exporte (15)",
      input: one(app("auth", { extraPorts: [{ name: "metrics-exporte", port: 9100 }] })),
    },
  },
  {
    rule: "port names are unique in a pod (the main port is http)",
    bad: { value: "extraPorts name http", input: one(app("auth", { extraPorts: [{ name: "http", port: 8080 }] })) },
    good: { value: "extraPorts name https", input: one(app("auth", { extraPorts: [{ name: "https", port: 8080 }] })) },
  },
  {
    rule: "a Service exposes each port number once",
    bad: {
      value: "extraPorts admin 3000 = port 3000",
      input: one(app("auth", { extraPorts: [{ name: "admin", port: 3000 }] })),
    },
    good: { value: "extraPorts admin 3001", input: one(app("auth", { extraPorts: [{ name: "admin", port: 3001 }] })) },
  },
  {
    rule: "Prefix path has no '/../' (nor //, /./, %2f)",
    bad: { value: "/a/../b", input: one(app("auth", { ingress: [route("/a/../b")] })) },
    good: { value: "/a/..b", input: one(app("auth", { ingress: [route("/a/..b")] })) },
  },
  {
    rule: "Prefix path does not end with '/..' or '/.'",
    bad: { value: "/auth/..", input: one(app("auth", { ingress: [route("/auth/..")] })) },
    good: { value: "/auth/..x", input: one(app("auth", { ingress: [route("/auth/..x")] })) },
  },
  {
    // Checked on Pods only, not on pod templates: the Deployment is accepted and its ReplicaSet's pods are refused.
    rule: "a pod's image has no leading or trailing whitespace",
    bad: { value: '"mongo:7.0 " (infra)', input: one(app("mongodb", { kind: "infra", image: "mongo:7.0 " })) },
    good: { value: '"mongo:7.0" (infra)', input: one(app("mongodb", { kind: "infra", image: "mongo:7.0" })) },
    mode: "controller",
  },
  {
    rule: "Ingress host is a DNS-1123 subdomain (lower-case)",
    bad: { value: "${ticket}.${domain}", input: one(app("auth", { ingress: [route("/", "${ticket}.${domain}")] })) },
    good: { value: "${feature}.${domain}", input: one(app("auth", { ingress: [route("/", "${feature}.${domain}")] })) },
  },
  {
    rule: "Ingress host has at most 253 characters",
    bad: { value: "main host of 254", input: one(app("auth", { ingress: [route("/")] }), domainForHostLength(254)) },
    good: { value: "main host of 253", input: one(app("auth", { ingress: [route("/")] }), domainForHostLength(253)) },
  },
  {
    rule: "Ingress host is not an IP address",
    bad: { value: "10.0.0.1", input: one(app("auth", { ingress: [route("/", "10.0.0.1")] })) },
    good: {
      value: "10.0.0.1.example.test",
      input: one(app("auth", { ingress: [route("/", "10.0.0.1.example.test")] })),
    },
  },
  {
    rule: "one Ingress name per namespace (<service>-stripped)",
    bad: {
      value: "auth (stripPrefix) + auth-stripped",
      input: {
        catalog: [
          app("auth", { ingress: [route("/auth", undefined, true)] }),
          app("auth-stripped", { ingress: [route("/x")] }),
        ],
      },
    },
    good: {
      value: "auth (stripPrefix) + auth-strip",
      input: {
        catalog: [
          app("auth", { ingress: [route("/auth", undefined, true)] }),
          app("auth-strip", { ingress: [route("/x")] }),
        ],
      },
    },
    mode: "create-first",
  },
  {
    rule: "namespace name is a DNS-1123 label",
    bad: { value: "stack verbu_6202", input: { stack: "verbu_6202" } },
    good: { value: "stack verbu-6202", input: { stack: "verbu-6202" } },
  },
  {
    rule: "namespace does not exist yet (kube-node-lease)",
    bad: { value: "stack kube-node-lease", input: { stack: "kube-node-lease" } },
    good: { value: "stack kubenode-lease", input: { stack: "kubenode-lease" } },
  },
  {
    rule: "namespace does not exist yet (default)",
    bad: { value: "stack default", input: { stack: "default" } },
    good: { value: "stack defaults", input: { stack: "defaults" } },
  },
  {
    rule: "namespaces kube-* are Kubernetes'",
    bad: { value: "stack kube-qa", input: { stack: "kube-qa" } },
    good: { value: "stack kubeqa", input: { stack: "kubeqa" } },
    projectRule: "kube- is reserved for Kubernetes' own namespaces; the API server creates kube-qa",
  },
  {
    rule: "namespace label qa-k8s/ticket is a label value",
    bad: { value: "ticket VERBU-6202_", input: { stack: "verbu-6202", ticket: "VERBU-6202_" } },
    good: { value: "ticket VERBU-6202", input: { stack: "verbu-6202", ticket: "VERBU-6202" } },
  },
  {
    rule: "host label services-<feature> has at most 63 characters",
    bad: { value: "feature of 55", input: { stack: "f".repeat(55) }, objects: longFeature(55) },
    good: { value: "feature of 54", input: { stack: "f".repeat(54) }, objects: longFeature(54) },
    projectRule: "a DNS label holds 63, but the API server checks only the host's 253",
  },
  {
    rule: "LimitRange default ≤ max",
    builderRule: "the builder lowers default and defaultRequest to the catalog's largest limit",
    bad: {
      value: "limits 50m, default 100m (before the fix)",
      input: one(app("auth", { resources: SMALL_LIMITS })),
      objects: limitRange(false),
    },
    good: {
      value: "limits 50m (the builder's object)",
      input: one(app("auth", { resources: SMALL_LIMITS })),
      objects: limitRange(true),
    },
  },
];
