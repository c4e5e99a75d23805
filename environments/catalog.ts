// The ONE service catalog shared by every environment: parsed, checked against the schema, then checked as a whole.
// All problems are reported at once, each naming file, service, field, value, rule and fix, before any resource exists.
import { parseDocument } from "yaml";
import type { ContainerResources, NamedPort, ReadinessProbe, ServiceRoute } from "../components/types";
import type { z } from "zod";
import { catalogSchema, RawCatalog, RawService } from "./catalogSchema";
import { validateServices } from "./catalogChecks";

/** An ingress route as the catalog gives it: `host` is a template whose placeholders are not yet expanded. */
export type IngressRoute = ServiceRoute;

export interface CatalogService {
  readonly name: string;
  readonly kind: "app" | "infra";
  readonly image: string;
  /** The main port, named "http"; a background worker has none (no Service, no Ingress, no probe). */
  readonly port?: number;
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
  /** What an overlay deploys itself next to this service when it is built on the branch; undefined = the default. */
  readonly overlayOwn?: readonly string[];
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
    overlayOwn: service.overlayOwn,
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
