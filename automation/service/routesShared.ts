// What every route file shares: the HTTP errors, how a thrown error becomes a status code and a JSON body (driver
// errors keep their own messages; schema errors are reworded to name the field, the value, the rule and the fix),
// and the per-request audit details.
import { BadInputError, CapacityError, DriverError, LockedError } from "../exitCodes";
import type { CapacityReport } from "../observeTypes";

export class HttpError extends Error {
  constructor(
    readonly statusCode: number,
    message: string,
    readonly extra: Record<string, unknown> = {},
  ) {
    super(message);
    this.name = "HttpError";
  }
}

export const notFound = (message: string) => new HttpError(404, message);

/** A refusal of a NEW environment before it is queued: 409 with the capacity report. */
export const capacityRefusal = (message: string, capacity: CapacityReport) => new HttpError(409, message, { capacity });

const REASONS: Record<number, string> = {
  400: "Bad Request",
  401: "Unauthorized",
  403: "Forbidden",
  404: "Not Found",
  405: "Method Not Allowed",
  406: "Not Acceptable",
  409: "Conflict",
  413: "Payload Too Large",
  415: "Unsupported Media Type",
  500: "Internal Server Error",
  503: "Service Unavailable",
};

export interface ErrorReply {
  readonly statusCode: number;
  readonly body: { statusCode: number; error: string; message: string } & Record<string, unknown>;
}

export function errorReply(statusCode: number, message: string, extra: Record<string, unknown> = {}): ErrorReply {
  return { statusCode, body: { statusCode, error: REASONS[statusCode] ?? "Error", message, ...extra } };
}

interface AjvError {
  readonly keyword: string;
  readonly instancePath: string;
  readonly params: Record<string, unknown>;
  readonly message?: string;
  readonly data?: unknown;
}

const shown = (value: unknown) => {
  const text = JSON.stringify(value);
  return text === undefined ? String(value) : text.length > 80 ? `${text.slice(0, 77)}...` : text;
};

/** One schema error → "body.services[0] 12 must be string; fix it (see /openapi.json)". */
export function validationMessage(context: string, error: AjvError): string {
  const field =
    context +
    error.instancePath
      .split("/")
      .slice(1)
      .map((part) => (/^[0-9]+$/.test(part) ? `[${part}]` : `.${part}`))
      .join("");
  switch (error.keyword) {
    case "required":
      return `${field}.${String(error.params.missingProperty)} is required (e.g. ${field === "body" ? '{"ticket": "VERBU-6202"}' : "see /openapi.json"})`;
    case "additionalProperties":
      return `${field}.${String(error.params.additionalProperty)} is not a field of this request; remove it (the fields are in /openapi.json)`;
    default:
      return `${field} ${shown(error.data)} ${error.message ?? "is invalid"}; fix it (the rules are in /openapi.json)`;
  }
}

/** Any error a handler (or fastify itself) throws → status and body; never a 5xx for the client's mistake. */
export function toErrorReply(error: unknown): ErrorReply {
  const e = error as { validation?: AjvError[]; validationContext?: string; statusCode?: number; code?: string };
  if (e.validation && e.validation.length > 0)
    return errorReply(400, validationMessage(e.validationContext ?? "request", e.validation[0]));
  if (error instanceof HttpError) return errorReply(error.statusCode, error.message, error.extra);
  if (error instanceof BadInputError) return errorReply(400, error.message);
  if (error instanceof CapacityError) return errorReply(409, error.message);
  if (error instanceof LockedError) return errorReply(409, error.message);
  if (error instanceof DriverError) return errorReply(503, error.message);
  // fastify's own client errors (bad JSON, wrong content type, body too large) keep their 4xx and message.
  if (typeof e.statusCode === "number" && e.statusCode >= 400 && e.statusCode < 500)
    return errorReply(e.statusCode, (error as Error).message);
  return errorReply(500, "internal error; the service's log has the details");
}

/** What a changing request records in the audit log, filled in by its handler. */
export interface AuditNote {
  ticket?: string;
  jobId?: string;
  outcome?: string;
}

declare module "fastify" {
  interface FastifyRequest {
    caller?: import("./contracts").Caller;
    auditNote?: AuditNote;
  }
  interface FastifyContextConfig {
    /** The token scope a route needs; routes without one do their own authentication (or none). */
    scope?: import("./contracts").Scope;
  }
}
