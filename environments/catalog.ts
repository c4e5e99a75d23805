// The ONE service catalog shared by every environment: parsed, checked against the schema, then checked as a whole.
// All problems are reported at once, each naming file, service, field, value, rule and fix, before any resource exists.
import { parseDocument } from "yaml";
import type { ContainerResources, NamedPort, ReadinessProbe, ServiceRoute } from "../components/types";
import type { z } from "zod";
import { catalogSchema, RawCatalog, RawService } from "./catalogSchema";
import { isDnsLabel } from "./feature";
import { ENV_PLACEHOLDERS, placeholdersIn } from "./placeholders";
import { parseCpu, parseMemory } from "../components/specs/quantities";

/** An ingress route as the catalog gives it: `host` is a template whose placeholders are not yet expanded. */
export type IngressRoute = ServiceRoute;

export interface CatalogService {
  readonly name: string;
  readonly kind: "app" | "infra";
  readonly image: string;
  readonly port: number;
  readonly extraPorts: readonly NamedPort[];
  readonly replicas: number;
  readonly resources: ContainerResources;
  readonly env: Readonly<Record<string, string>>;
  readonly requiresNsq: boolean;
  readonly ingress: readonly IngressRoute[];
  readonly command?: readonly string[];
  readonly args?: readonly string[];
  readonly readinessProbe?: ReadinessProbe;
  readonly storage?: string;
}

export class CatalogError extends Error {
  constructor(readonly problems: readonly string[]) {
    super(
      `${problems.length === 1 ? "the catalog has a problem" : `the catalog has ${problems.length} problems`}:\n  ${problems.join("\n  ")}`,
    );
    this.name = "CatalogError";
  }
}

export const DEFAULT_MAIN_HOST = "services-${feature}.${domain}";
/** Set by qa-k8s on every app container; the catalog may not override them. */
export const RESERVED_ENV = ["FEATURE", "FQDN", "NODE_ENV", "NODE_MAX_PROCESSES"] as const;
const HOST_PLACEHOLDERS = ["feature", "ticket", "domain"];
const IMAGE_PLACEHOLDERS = ["nsqImage"];
const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;
const BUILTIN_DEFAULTS = {
  replicas: 1,
  resources: { requests: { cpu: "5m", memory: "64Mi" }, limits: { cpu: "250m", memory: "256Mi" } },
};

/** Parses and validates catalog text; `file` is the name used in messages. Throws CatalogError listing every problem. */
export function parseCatalog(text: string, file: string): CatalogService[] {
  const document = parseDocument(text, { uniqueKeys: true });
  if (document.errors.length > 0) {
    const first = document.errors[0];
    const line = first.linePos?.[0].line;
    throw new CatalogError([
      `${file}: not valid YAML${line ? ` at line ${line}` : ""}: ${first.message.split("\n")[0]}`,
    ]);
  }
  const parsed = catalogSchema.safeParse(document.toJS(), { reportInput: true });
  if (!parsed.success) {
    throw new CatalogError(parsed.error.issues.map((issue) => describeSchemaIssue(issue, document.toJS(), file)));
  }
  const services = parsed.data.services.map((service) => withDefaults(service, parsed.data.defaults));
  const problems = validateServices(services, parsed.data.services, file);
  if (problems.length > 0) throw new CatalogError(problems);
  return services;
}

function withDefaults(service: RawService, defaults: RawCatalog["defaults"]): CatalogService {
  const base = {
    requests: { ...BUILTIN_DEFAULTS.resources.requests, ...defaults?.resources?.requests },
    limits: { ...BUILTIN_DEFAULTS.resources.limits, ...defaults?.resources?.limits },
  };
  return {
    name: service.name,
    kind: service.kind,
    image: service.image,
    port: service.port,
    extraPorts: service.extraPorts ?? [],
    replicas: service.replicas ?? defaults?.replicas ?? BUILTIN_DEFAULTS.replicas,
    resources: {
      requests: { ...base.requests, ...service.resources?.requests },
      limits: { ...base.limits, ...service.resources?.limits },
    },
    env: Object.fromEntries(Object.entries(service.env ?? {}).map(([key, value]) => [key, String(value)])),
    requiresNsq: service.requiresNsq ?? false,
    ingress: (service.ingress ?? []).map((route) => ({
      host: route.host ?? DEFAULT_MAIN_HOST,
      path: route.path,
      stripPrefix: route.stripPrefix ?? false,
    })),
    command: service.command,
    args: service.args,
    readinessProbe: service.readinessProbe,
    storage: service.storage,
  };
}

function describeSchemaIssue(issue: z.core.$ZodIssue, raw: unknown, file: string): string {
  const path = issue.path.map(String);
  let where = file;
  let fieldPath = path;
  if (path[0] === "services" && path.length >= 2) {
    const name = serviceNameAt(raw, Number(path[1]));
    where = `${file}: ${name ? `service "${name}"` : `services[${path[1]}]`}`;
    fieldPath = path.slice(2);
  }
  const field = fieldPath.join(".");
  switch (issue.code) {
    case "unrecognized_keys":
      return `${where}: unknown key${issue.keys.length > 1 ? "s" : ""} ${issue.keys.map((k) => `"${k}"`).join(", ")}${field ? ` in ${field}` : ""}; remove it or check the spelling`;
    case "invalid_type":
      return issue.input === undefined
        ? `${where}: ${field} is required (${issue.expected})`
        : `${where}: ${field} must be ${article(issue.expected)}, got ${JSON.stringify(issue.input)}`;
    case "invalid_value":
      return `${where}: ${field} ${JSON.stringify(issue.input)} is not one of ${issue.values.map((v) => JSON.stringify(v)).join(", ")}`;
    case "too_small":
      return `${where}: ${field || "services"} ${JSON.stringify(issue.input)} is too small (minimum ${String(issue.minimum)})`;
    default:
      return `${where}: ${field}: ${issue.message}`;
  }
}

function article(expected: string): string {
  return /^[aeiou]/.test(expected) ? `an ${expected}` : `a ${expected}`;
}

function serviceNameAt(raw: unknown, index: number): string | undefined {
  const services = (raw as { services?: unknown[] } | undefined)?.services;
  const name = (services?.[index] as { name?: unknown } | undefined)?.name;
  return typeof name === "string" ? name : undefined;
}

function validateServices(services: CatalogService[], raw: RawService[], file: string): string[] {
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
    if (!isDnsLabel(service.name)) {
      problems.push(
        `${where}: name must be a DNS-1123 label (lower-case letters, digits and '-', at most 63 characters); ` +
          `rename it, e.g. "${suggestLabel(service.name)}"`,
      );
    }
    const ports: [string, number][] = [
      ["port", service.port],
      ...service.extraPorts.map((p): [string, number] => [`extraPorts.${p.name}`, p.port]),
    ];
    for (const [field, port] of ports) {
      if (port < 1 || port > 65535) problems.push(`${where}: ${field} ${port} is out of range 1–65535`);
    }
    problems.push(...resourceProblems(service, raw[index], where));
    problems.push(...envProblems(service, where));
    for (const placeholder of placeholdersIn(service.image)) {
      if (service.kind === "app" || !IMAGE_PLACEHOLDERS.includes(placeholder)) {
        problems.push(
          `${where}: image uses unknown placeholder \${${placeholder}}; ${service.kind === "app" ? "app images take no placeholders" : `known: ${IMAGE_PLACEHOLDERS.join(", ")}`}`,
        );
      }
    }
    for (const route of service.ingress) {
      if (!route.path.startsWith("/")) {
        problems.push(`${where}: ingress path "${route.path}" must start with "/"`);
      }
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
    if (service.storage !== undefined && parseMemory(service.storage) === undefined) {
      problems.push(`${where}: storage "${service.storage}" is not a Kubernetes quantity; use e.g. 1Gi`);
    }
  });
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

function suggestLabel(name: string): string {
  return (
    name
      .toLowerCase()
      .replace(/[^a-z0-9-]+/g, "-")
      .replace(/^-+|-+$/g, "")
      .slice(0, 63) || "service"
  );
}
