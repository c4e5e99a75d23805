// JSON schemas of every route: fastify validates requests with them, serialises responses with them, and
// @fastify/swagger turns them into /openapi.json. Nested driver shapes keep `additionalProperties: true` so that a
// field the driver adds later is passed on, not dropped by the serialiser.
const str = { type: "string" } as const;
const int = { type: "integer" } as const;
const bool = { type: "boolean" } as const;
const open = { type: "object", additionalProperties: true } as const;

export const errorBody = {
  type: "object",
  required: ["statusCode", "error", "message"],
  properties: { statusCode: int, error: str, message: str },
} as const;

const resources = {
  type: "object",
  required: ["cpuMillis", "memoryBytes", "pods"],
  properties: { cpuMillis: { type: "number" }, memoryBytes: { type: "number" }, pods: { type: "number" } },
} as const;

export const capacityReport = {
  type: "object",
  required: ["environmentsThatFit", "limitedBy", "free", "perEnvironment"],
  properties: {
    nodes: { type: "array", items: open },
    free: resources,
    perEnvironment: resources,
    largestPod: open,
    environmentsThatFit: int,
    limitedBy: { type: "string", enum: ["cpu", "memory", "pods", "largest-pod"] },
    headroom: resources,
    quota: resources,
  },
} as const;

export const capacityRefusal = {
  type: "object",
  required: ["statusCode", "error", "message", "capacity"],
  properties: { ...errorBody.properties, capacity: capacityReport },
} as const;

const jobError = {
  type: "object",
  required: ["name", "exitCode", "message"],
  properties: { name: str, exitCode: int, message: str },
} as const;

export const job = {
  type: "object",
  required: ["id", "kind", "ticket", "state", "requestedBy", "reason", "createdAt"],
  properties: {
    id: str,
    kind: { type: "string", enum: ["deploy", "destroy"] },
    ticket: str,
    services: { type: "array", items: str },
    requestedBy: str,
    reason: str,
    state: { type: "string", enum: ["queued", "running", "succeeded", "failed", "cancelled", "interrupted"] },
    createdAt: str,
    startedAt: str,
    finishedAt: str,
    result: open,
    error: jobError,
  },
} as const;

export const jobWithOutput = {
  type: "object",
  required: [...job.required, "output"],
  properties: { ...job.properties, output: str },
} as const;

export const jobAccepted = { type: "object", required: ["job"], properties: { job } } as const;

const record = open;

export const environmentSummary = {
  type: "object",
  required: ["ticket", "stack", "updateInProgress"],
  properties: { ticket: str, stack: str, lastUpdate: str, updateInProgress: bool, resourceCount: int, record },
} as const;

const serviceStatus = {
  type: "object",
  required: ["service", "image", "tag", "builtOnBranch", "readyReplicas", "desiredReplicas", "restartCount", "state"],
  properties: {
    service: str,
    image: str,
    tag: str,
    digest: str,
    builtOnBranch: bool,
    readyReplicas: int,
    desiredReplicas: int,
    restartCount: int,
    state: { type: "string", enum: ["active", "updating", "failing", "pending", "scaled-down"] },
    reason: str,
  },
} as const;

export const environmentStatus = {
  type: "object",
  required: ["ticket", "stack", "namespace", "exists", "appLinks", "services"],
  properties: {
    ticket: str,
    stack: str,
    namespace: str,
    exists: bool,
    url: str,
    appLinks: { type: "object", additionalProperties: str },
    record,
    ageMs: { type: "number" },
    services: { type: "array", items: serviceStatus },
  },
} as const;

export const logLines = {
  type: "object",
  required: ["ticket", "service", "lines"],
  properties: {
    ticket: str,
    service: str,
    lines: {
      type: "array",
      items: {
        type: "object",
        required: ["pod", "container", "text"],
        properties: { pod: str, container: str, text: str },
      },
    },
  },
} as const;

export const ticketParams = {
  type: "object",
  required: ["ticket"],
  properties: { ticket: { type: "string", minLength: 1, maxLength: 100, description: "Jira ticket, e.g. VERBU-6202" } },
} as const;

export const serviceParams = {
  type: "object",
  required: ["ticket", "service"],
  properties: { ...ticketParams.properties, service: { type: "string", minLength: 1, maxLength: 63 } },
} as const;

export const logsQuery = {
  type: "object",
  additionalProperties: false,
  properties: {
    tail: { type: "integer", minimum: 1, maximum: 100000, description: "only the last N lines of each pod" },
    previous: { type: "boolean", description: "the previous (crashed) container's log" },
    follow: { type: "boolean", description: "stream text/plain until the client disconnects" },
  },
} as const;

export const deployBody = {
  type: "object",
  required: ["ticket"],
  additionalProperties: false,
  properties: {
    ticket: { type: "string", minLength: 1, maxLength: 100, description: "Jira ticket, e.g. VERBU-6202" },
    services: {
      type: "array",
      maxItems: 100,
      items: { type: "string", minLength: 1, maxLength: 63 },
      description: "services built on the branch (as the CLI's --services); omitted = detected from the registry",
    },
  },
} as const;

export const jobParams = {
  type: "object",
  required: ["id"],
  properties: { id: { type: "string", minLength: 1, maxLength: 64 } },
} as const;

export const jobsQuery = {
  type: "object",
  additionalProperties: false,
  properties: {
    ticket: { type: "string", minLength: 1, maxLength: 100 },
    limit: { type: "integer", minimum: 1, maximum: 1000 },
  },
} as const;

export const jiraAnswer = {
  type: "object",
  required: ["action"],
  properties: { action: str, ticket: str, jobId: str },
} as const;

export const health = {
  type: "object",
  required: ["ok"],
  properties: { ok: bool, checks: { type: "object", additionalProperties: str } },
} as const;

/** The error responses a route can give, by status code. */
export function errors(...codes: number[]): Record<number, typeof errorBody> {
  return Object.fromEntries([...codes, 500].map((code) => [code, errorBody]));
}

/** Routes behind a token; the OpenAPI document says which scope. */
export const bearer = (scope: string) => ({
  security: [{ bearer: [] }],
  description: `Needs a token with scope ${scope}.`,
});
