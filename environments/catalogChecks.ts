// The catalog's rules beyond its schema: each problem names file, service, field, value, rule and fix. Names, ports,
// paths and sizes are held to the API server's own rules (kubernetesNames.ts), so that a catalog that passes here is
// not refused by Kubernetes half-way through an up.
import type { CatalogService } from "./catalog";
import type { RawService } from "./catalogSchema";
import {
  DNS1035_RULE,
  ingressHostProblem,
  ingressPathProblem,
  isDns1035Label,
  isPortName,
  PORT_NAME_RULE,
  REVISION_HASH_MAX,
  STATEFULSET_NAME_MAX,
  suggestDns1035Label,
  suggestPortName,
} from "./kubernetesNames";
import { ENV_PLACEHOLDERS, expandPlaceholders, placeholdersIn } from "./placeholders";
import { parseCpu, parseMemory } from "../components/specs/quantities";
import { overlayOwnProblems } from "./overlay";

/** Set by qa-k8s on every app container; the catalog may not override them. */
export const RESERVED_ENV = ["FEATURE", "FQDN", "NODE_ENV", "NODE_MAX_PROCESSES"] as const;
const HOST_PLACEHOLDERS = ["feature", "ticket", "domain"];
const IMAGE_PLACEHOLDERS = ["nsqImage"];
const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;
/** The main port's name (workload.ts); Service targetPorts and Ingress backends refer to it. */
const MAIN_PORT_NAME = "http";
/** Suffix of the Ingress that holds a service's stripPrefix routes (components/specs/ingress.ts). */
const STRIPPED_INGRESS_SUFFIX = "-stripped";

export function validateServices(services: CatalogService[], raw: RawService[], file: string): string[] {
  const problems: string[] = [];
  const firstIndex = new Map<string, number>();
  const routes = new Map<string, string>();
  const hasNsqd = services.some((s) => s.name === "nsqd");
  services.forEach((service, index) => {
    const where = `${file}: service "${service.name}"`;
    const previous = firstIndex.get(service.name);
    if (previous !== undefined) {
      problems.push(
        `${where} is defined twice (services[${previous}] and services[${index}]); give each service a unique name`,
      );
    } else {
      firstIndex.set(service.name, index);
    }
    problems.push(...nameProblems(service, where));
    problems.push(...portProblems(service, where));
    problems.push(...resourceProblems(service, raw[index], where));
    problems.push(...envProblems(service, where));
    // The API server refuses an empty image and one with leading or trailing whitespace; a reference has none inside.
    if (!/^\S+$/.test(service.image)) {
      problems.push(
        `${where}: image ${JSON.stringify(service.image)} is empty or contains whitespace, which no image reference does; ` +
          `e.g. bu/auth (app) or mongo:7.0 (infra)`,
      );
    }
    for (const placeholder of placeholdersIn(service.image)) {
      if (service.kind === "app" || !IMAGE_PLACEHOLDERS.includes(placeholder)) {
        problems.push(
          `${where}: image uses unknown placeholder \${${placeholder}}; ${service.kind === "app" ? "app images take no placeholders" : `known: ${IMAGE_PLACEHOLDERS.join(", ")}`}`,
        );
      }
    }
    for (const route of service.ingress) {
      const pathProblem = ingressPathProblem(route.path);
      if (pathProblem) problems.push(`${where}: ingress path "${route.path}" ${pathProblem}`);
      for (const placeholder of placeholdersIn(route.host)) {
        if (!HOST_PLACEHOLDERS.includes(placeholder)) {
          problems.push(
            `${where}: ingress host "${route.host}" uses unknown placeholder \${${placeholder}}; known: ${HOST_PLACEHOLDERS.join(", ")}`,
          );
        }
      }
      const key = `${route.host} ${route.path}`;
      const owner = routes.get(key);
      if (owner !== undefined) {
        problems.push(
          `${where}: ingress path "${route.path}" on host "${route.host}" is already routed to service "${owner}"; use another path`,
        );
      } else {
        routes.set(key, service.name);
      }
    }
    if (service.requiresNsq && !hasNsqd) {
      problems.push(
        `${where}: requiresNsq is true but the catalog has no service "nsqd"; add nsqd or set requiresNsq: false`,
      );
    }
    const probe = service.readinessProbe;
    if (probe && (probe.path === undefined) === (probe.tcp !== true)) {
      problems.push(`${where}: readinessProbe needs exactly one of path (HTTP GET) or tcp: true`);
    }
    if (service.storage !== undefined) {
      const bytes = parseMemory(service.storage);
      if (bytes === undefined) {
        problems.push(`${where}: storage "${service.storage}" is not a Kubernetes quantity; use e.g. 1Gi`);
      } else if (bytes <= 0) {
        problems.push(
          `${where}: storage "${service.storage}" must be greater than zero (a claim's size); use e.g. 1Gi`,
        );
      }
    }
  });
  problems.push(...ingressNameClashes(services, file));
  problems.push(...overlayOwnProblems(services, file));
  return problems;
}

function nameProblems(service: CatalogService, where: string): string[] {
  if (!isDns1035Label(service.name)) {
    return [
      `${where}: name "${service.name}" is not a DNS-1035 label, which a Service name must be (${DNS1035_RULE}); ` +
        `rename it, e.g. "${suggestDns1035Label(service.name)}"`,
    ];
  }
  if (service.storage !== undefined && service.name.length > STATEFULSET_NAME_MAX) {
    return [
      `${where}: name "${service.name}" has ${service.name.length} characters, too many for a service with storage: ` +
        `it runs as a StatefulSet, whose controller labels every pod controller-revision-hash=<name>-<hash of up to ` +
        `${REVISION_HASH_MAX} characters>, and a label value holds at most 63; use at most ${STATEFULSET_NAME_MAX} characters`,
    ];
  }
  return [];
}

function portProblems(service: CatalogService, where: string): string[] {
  const problems: string[] = [];
  if (service.port === undefined) {
    // A background worker: nothing to route to, expose or probe.
    const needsPort: [string, boolean][] = [
      ["extraPorts", service.extraPorts.length > 0],
      ["ingress", service.ingress.length > 0],
      ["readinessProbe", service.readinessProbe !== undefined],
    ];
    for (const [field, used] of needsPort) {
      if (used)
        problems.push(`${where}: ${field} needs the main port, and the service has none; set port or remove ${field}`);
    }
    return problems;
  }
  const ports: [string, number][] = [
    ["port", service.port],
    ...service.extraPorts.map((p): [string, number] => [`extraPorts.${p.name}`, p.port]),
  ];
  for (const [field, port] of ports) {
    if (port < 1 || port > 65535) problems.push(`${where}: ${field} ${port} is out of range 1–65535`);
  }
  const names = new Set([MAIN_PORT_NAME]);
  for (const extra of service.extraPorts) {
    if (!isPortName(extra.name)) {
      problems.push(
        `${where}: extraPorts name "${extra.name}" is not a valid port name (${PORT_NAME_RULE}); ` +
          `rename it, e.g. "${suggestPortName(extra.name)}"`,
      );
    }
    if (names.has(extra.name)) {
      problems.push(
        `${where}: extraPorts name "${extra.name}" is used twice (the main port is named "${MAIN_PORT_NAME}"); ` +
          `give every extra port its own name`,
      );
    }
    names.add(extra.name);
  }
  const fieldOfPort = new Map<number, string>();
  for (const [field, port] of ports) {
    const first = fieldOfPort.get(port);
    if (first !== undefined) {
      problems.push(
        `${where}: ${field} ${port} repeats ${first}; a Service exposes each port number once, so remove one of them`,
      );
    } else {
      fieldOfPort.set(port, field);
    }
  }
  return problems;
}

/** A service named `<other>-stripped` would share its Ingress name with the stripPrefix Ingress of `<other>`. */
function ingressNameClashes(services: readonly CatalogService[], file: string): string[] {
  const plainIngress = new Set(services.filter((s) => s.ingress.some((r) => !r.stripPrefix)).map((s) => s.name));
  return services
    .filter((s) => s.ingress.some((r) => r.stripPrefix) && plainIngress.has(`${s.name}${STRIPPED_INGRESS_SUFFIX}`))
    .map(
      (s) =>
        `${file}: service "${s.name}${STRIPPED_INGRESS_SUFFIX}": its Ingress would have the name ` +
        `"${s.name}${STRIPPED_INGRESS_SUFFIX}" of the stripPrefix Ingress of service "${s.name}"; rename one of them`,
    );
}

/**
 * Hosts as the Ingress will carry them: placeholders expanded for this feature. Checked once the stack is known,
 * before any resource: `${ticket}` is upper-case by default, and a long feature or domain can overflow a DNS name.
 */
export function routeHostProblems(
  services: readonly CatalogService[],
  values: Readonly<Record<string, string>>,
  file: string,
): string[] {
  const problems: string[] = [];
  for (const service of services) {
    const hosts = new Set(service.ingress.map((route) => route.host));
    for (const template of hosts) {
      const host = expandPlaceholders(template, values);
      const problem = ingressHostProblem(host);
      if (problem === undefined) continue;
      const fix = template.includes("${ticket}")
        ? "use ${feature} (lower-case) instead of ${ticket}"
        : problem.startsWith("is an IP address")
          ? "an Ingress routes by host name, so use one"
          : "use a shorter host, or lower-case letters, digits, '-' and '.'";
      problems.push(
        `${file}: service "${service.name}": ingress host "${template}" gives "${host}" for feature ` +
          `${values.feature}, which ${problem}; ${fix}`,
      );
    }
  }
  return problems;
}

function resourceProblems(service: CatalogService, raw: RawService, where: string): string[] {
  const problems: string[] = [];
  const parsers = { cpu: parseCpu, memory: parseMemory };
  const examples = { cpu: "10m or 0.5", memory: "64Mi" };
  for (const resource of ["cpu", "memory"] as const) {
    const parse = parsers[resource];
    const request = service.resources.requests[resource];
    const limit = service.resources.limits[resource];
    const requestValue = parse(request);
    const limitValue = parse(limit);
    for (const [kind, text, value] of [
      ["requests", request, requestValue],
      ["limits", limit, limitValue],
    ] as const) {
      if (value === undefined) {
        problems.push(
          `${where}: resources.${kind}.${resource} "${text}" is not a Kubernetes quantity; use e.g. ${examples[resource]}`,
        );
      }
    }
    if (requestValue !== undefined && limitValue !== undefined && requestValue > limitValue) {
      // Say where the offending value came from: a default limit below a service's request is fixed elsewhere.
      const fromDefault = raw.resources?.limits?.[resource] === undefined ? " (the catalog default)" : "";
      problems.push(
        `${where}: resources.requests.${resource} ${request} is above resources.limits.${resource} ${limit}${fromDefault}; ` +
          `raise the limit or lower the request`,
      );
    }
  }
  return problems;
}

function envProblems(service: CatalogService, where: string): string[] {
  const problems: string[] = [];
  for (const [key, value] of Object.entries(service.env)) {
    if (!ENV_NAME.test(key)) {
      problems.push(
        `${where}: env name "${key}" is not a valid variable name; use letters, digits and '_', not starting with a digit`,
      );
    }
    if ((RESERVED_ENV as readonly string[]).includes(key) && service.kind === "app") {
      problems.push(`${where}: env.${key} is set by qa-k8s on every app container; remove it from the catalog`);
    }
    for (const placeholder of placeholdersIn(value)) {
      if (!(ENV_PLACEHOLDERS as readonly string[]).includes(placeholder)) {
        problems.push(
          `${where}: env.${key} uses unknown placeholder \${${placeholder}}; known: ${ENV_PLACEHOLDERS.join(", ")}`,
        );
      }
    }
  }
  return problems;
}
