// What went wrong, as a status code and words for the page: bad input and refusals are the request's fault (4xx, with
// the field, the value, the rule and the fix); only the page's own failures are 5xx.
import { featureFromStack } from "../../../environments/feature";
import { messageOf } from "./gather";
import { describeValidation, ValidationProblem } from "./schemas";

/** Thrown inside handlers; the plugin's error handler renders it as a page (or a fragment for the page's script). */
export class PageProblem extends Error {
  constructor(
    readonly statusCode: number,
    readonly title: string,
    message: string,
  ) {
    super(message);
  }
}

/** The environment wing's own rules for a ticket (reserved namespaces, label length), as the driver applies them. */
export function checkedTicket(ticket: string, where: string): string {
  try {
    return featureFromStack(ticket).ticket;
  } catch (error) {
    throw new PageProblem(400, "Bad input", `${where} field "ticket": ${messageOf(error)}`);
  }
}

/** The driver's error classes by name (a job store may rethrow them across a process boundary as plain objects). */
const DRIVER_ERRORS: Readonly<Record<string, [number, string]>> = {
  BadInputError: [400, "Bad input"],
  CapacityError: [409, "No room on the cluster"],
  LockedError: [409, "Busy"],
};

export interface Problem {
  readonly status: number;
  readonly title: string;
  readonly message: string;
}

/** A 4xx for errors the request caused; undefined for the page's own failures (the caller answers 500 and logs). */
export function describeError(
  error: unknown,
  input: Readonly<Record<string, unknown>> | undefined,
): Problem | undefined {
  const e = error as {
    validation?: ValidationProblem[];
    validationContext?: string;
    name?: string;
    code?: unknown;
    statusCode?: number;
  };
  if (e.validation?.length) {
    return {
      status: 400,
      title: "Bad input",
      message: describeValidation(e.validationContext ?? "request", e.validation[0], input),
    };
  }
  if (error instanceof PageProblem) return { status: error.statusCode, title: error.title, message: error.message };
  const known = e.name ? DRIVER_ERRORS[e.name] : undefined;
  if (known) return { status: known[0], title: known[1], message: messageOf(error) };
  // @kubernetes/client-node's ApiException carries the API server's status as a numeric `code` (e.g. 400 for a
  // previous log of a container that never restarted): the request's fault, not the page's.
  if (typeof e.code === "number" && e.code >= 400 && e.code < 500) {
    return { status: e.code, title: "Refused by the cluster", message: messageOf(error) };
  }
  if (e.statusCode && e.statusCode >= 400 && e.statusCode < 500) {
    const title = e.statusCode === 404 ? "Not found" : e.statusCode === 409 ? "Refused" : "Bad request";
    return { status: e.statusCode, title, message: messageOf(error) };
  }
  return undefined;
}
