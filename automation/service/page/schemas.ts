// JSON schemas of the page's routes, and the plain-words rule and fix for each field a person can get wrong.

const TICKET = { type: "string", minLength: 1, maxLength: 63, pattern: "^[A-Za-z0-9][A-Za-z0-9_.-]*$" } as const;
const SERVICE = { type: "string", minLength: 1, maxLength: 63, pattern: "^[a-z0-9]([a-z0-9-]*[a-z0-9])?$" } as const;
const CSRF = { type: "string", maxLength: 200 } as const;
const CONFIRMED = { type: "string", enum: ["yes"] } as const;
const EXPANDED = { type: "string", maxLength: 4000, pattern: "^[A-Za-z0-9_.,-]*$" } as const;

export const FIELD_HELP: Readonly<Record<string, string>> = {
  ticket:
    "a Jira ticket: letters, digits, '_', '.' and '-', starting with a letter or digit, at most 63 (e.g. VERBU-6202)",
  service: "a catalog service name: lower-case letters, digits and '-' (e.g. wallet)",
  services: "catalog service names separated by commas or spaces (e.g. auth,wallet), or empty to detect them",
  tail: "a whole number of lines from 1 to 5000 (e.g. 200)",
  previous: "true or false",
  expanded: "tickets separated by commas (e.g. VERBU-6202,VERBU-6203)",
  token: "the API token you were given (from QA_TOKENS_FILE), 1 to 4096 characters",
  id: "a job id as the page shows it",
  csrf: "the page's own form field: reload the page and try again",
  confirmed: "yes (sent by the confirmation step)",
};

const strictObject = (properties: Record<string, unknown>, required: string[] = []) => ({
  type: "object",
  additionalProperties: false,
  properties,
  required,
});

// The page's routes answer HTML to browsers: @fastify/swagger leaves them out of the API's /openapi.json (and so out
// of its fuzzing, whose status-code checks expect JSON answers); their schemas still validate every request.
const PAGE = { hide: true } as const;

export const SCHEMAS = {
  signInForm: { ...PAGE },
  list: {
    ...PAGE,
    querystring: strictObject({ expanded: EXPANDED }),
  },
  environment: {
    ...PAGE,
    params: strictObject({ ticket: TICKET }, ["ticket"]),
    querystring: strictObject({ expanded: { type: "boolean" } }),
  },
  deploy: {
    ...PAGE,
    body: strictObject(
      {
        ticket: TICKET,
        services: { type: "string", maxLength: 2000, pattern: "^[a-z0-9, -]*$" },
        csrf: CSRF,
        confirmed: CONFIRMED,
      },
      ["ticket"],
    ),
  },
  remove: {
    ...PAGE,
    params: strictObject({ ticket: TICKET }, ["ticket"]),
    body: strictObject({ csrf: CSRF, confirmed: CONFIRMED }),
  },
  logs: {
    ...PAGE,
    params: strictObject({ ticket: TICKET, service: SERVICE }, ["ticket", "service"]),
    querystring: strictObject({
      previous: { type: "boolean", default: false },
      tail: { type: "integer", minimum: 1, maximum: 5000, default: 200 },
    }),
  },
  job: {
    ...PAGE,
    params: strictObject({ id: { type: "string", minLength: 1, maxLength: 100, pattern: "^[A-Za-z0-9_-]+$" } }, ["id"]),
  },
  signIn: {
    ...PAGE,
    body: strictObject({ token: { type: "string", minLength: 1, maxLength: 4096 } }, ["token"]),
  },
  signOut: {
    ...PAGE,
    body: strictObject({ csrf: CSRF }),
  },
} as const;

export interface ValidationProblem {
  readonly instancePath: string;
  readonly keyword: string;
  readonly message?: string;
  readonly params?: Record<string, unknown>;
}

/**
 * ajv's first complaint in words a person can act on: the field, the value given (never for the token), the rule
 * and the fix. `input` is the part of the request that was checked (body, params or querystring).
 */
export function describeValidation(
  where: string,
  problem: ValidationProblem,
  input: Readonly<Record<string, unknown>> | undefined,
): string {
  const field =
    problem.keyword === "required" || problem.keyword === "additionalProperties"
      ? String(problem.params?.missingProperty ?? problem.params?.additionalProperty ?? "")
      : problem.instancePath.replace(/^\//, "");
  if (problem.keyword === "additionalProperties") {
    return `${where} field "${field}" is not expected here: send only ${where === "body" ? "the form's fields" : "the documented ones"}`;
  }
  if (problem.keyword === "required") return `${where} field "${field}" is missing: give ${FIELD_HELP[field] ?? "it"}`;
  const value = input?.[field];
  const shown =
    field === "token"
      ? "(not shown)"
      : JSON.stringify(typeof value === "string" && value.length > 80 ? `${value.slice(0, 80)}...` : value);
  return `${where} field "${field}" is ${shown}, which ${problem.message ?? "is not valid"}: use ${FIELD_HELP[field] ?? "a valid value"}`;
}
