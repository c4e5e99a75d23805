// What a Jira webhook means for an environment: an issue that moved to a released status (default Released, Closed,
// Done) has its environment destroyed; every other event is ignored, with the reason. Pure: the service's
// POST /hooks/jira turns a BadInputError into a 400 and a "destroy" into a destroy job.
//
// Payload (Jira's webhook for jira:issue_updated): { webhookEvent, issue: { key, fields: { status: { name } } },
// changelog: { items: [{ field: "status", fromString, toString }] } }. The changelog says what this update changed;
// issue.fields.status is the issue's status after it.
import { BadInputError } from "../exitCodes";
import { featureOf } from "../driverInput";

export const DEFAULT_RELEASED_STATUSES: readonly string[] = ["Released", "Closed", "Done"];

export interface JiraSettings {
  /** Statuses that end an environment; compared case-insensitively. @default Released, Closed, Done */
  readonly releasedStatuses?: readonly string[];
}

export interface JiraDecision {
  readonly action: "destroy" | "ignore";
  /** The ticket as the driver names it (VERBU-6202), when the payload names an issue. */
  readonly ticket?: string;
  readonly reason: string;
}

/** Quoted with control characters escaped and long values cut: a hostile payload cannot garble a log line. */
function quoted(value: string): string {
  return JSON.stringify(value.length > 80 ? `${value.slice(0, 80)}...` : value);
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function bad(message: string, ticket?: string): BadInputError {
  return new BadInputError(`Jira webhook: ${message}`, { ticket });
}

/** `Released, Closed,Done` (a setting such as QA_JIRA_RELEASED_STATUSES) → the statuses; empty or blank names refused. */
export function parseReleasedStatuses(text: string, setting = "released statuses"): string[] {
  const names = text.split(",").map((s) => s.trim());
  if (names.length === 0 || names.some((s) => s === "")) {
    throw new BadInputError(
      `${setting} ${quoted(text)} must be a comma-separated list of Jira status names, none empty (e.g. Released,Closed,Done)`,
    );
  }
  return names;
}

function ticketOfIssue(issue: Record<string, unknown>): string {
  const key = issue.key;
  if (typeof key !== "string" || key === "") {
    throw bad(
      `issue.key must be the issue's key as a string (e.g. "VERBU-6202"), got ${JSON.stringify(key) ?? "nothing"}`,
    );
  }
  if ([...key].some((c) => c < " " || c === "\u007f"))
    throw bad(`issue.key ${quoted(key)} contains control characters`);
  try {
    return featureOf(key).ticket;
  } catch (error) {
    // The environment wing's own message names the namespace the key would become and the rule.
    throw bad(`issue.key: ${(error as Error).message}`, key);
  }
}

/** The status this update moved the issue to: the changelog's status item, else the issue's current status. */
function newStatus(payload: Record<string, unknown>, issue: Record<string, unknown>): string | undefined | null {
  const changelog = payload.changelog;
  if (changelog !== undefined && changelog !== null) {
    if (!isObject(changelog) || !Array.isArray(changelog.items)) {
      throw bad("changelog must be an object with an items array, as Jira sends it");
    }
    const items = changelog.items.filter(
      (item): item is Record<string, unknown> => isObject(item) && item.field === "status",
    );
    const last = items[items.length - 1];
    // A changelog without a status item: this update changed something else (a comment, a field), not the status.
    if (!last) return null;
    // An own property: every object inherits a toString function.
    const to: unknown = Object.prototype.hasOwnProperty.call(last, "toString") ? last["toString"] : undefined;
    if (typeof to !== "string") {
      throw bad(
        `changelog item "status" must carry the new status name in toString, got ${JSON.stringify(to) ?? "nothing"}`,
      );
    }
    return to;
  }
  const fields = issue.fields;
  if (fields === undefined) return undefined;
  const status = isObject(fields) ? fields.status : undefined;
  const name = isObject(status) ? status.name : undefined;
  if (status !== undefined && typeof name !== "string") {
    throw bad(`issue.fields.status.name must be the status name as a string, got ${JSON.stringify(name) ?? "nothing"}`);
  }
  return name as string | undefined;
}

export function jiraDecision(payload: unknown, settings: JiraSettings = {}): JiraDecision {
  const released = settings.releasedStatuses ?? DEFAULT_RELEASED_STATUSES;
  if (!isObject(payload)) throw bad("the body must be a JSON object (Jira's webhook payload)");
  const event = payload.webhookEvent;
  if (typeof event !== "string") {
    throw bad(
      `webhookEvent must name the event as a string (e.g. "jira:issue_updated"), got ${JSON.stringify(event) ?? "nothing"}`,
    );
  }
  if (event !== "jira:issue_updated") {
    return { action: "ignore", reason: `event ${quoted(event)} is not an issue update (jira:issue_updated)` };
  }
  if (!isObject(payload.issue)) throw bad('issue must be an object with the issue\'s key (e.g. {"key": "VERBU-6202"})');
  const ticket = ticketOfIssue(payload.issue);
  const status = newStatus(payload, payload.issue);
  if (status === null) return { action: "ignore", ticket, reason: `${ticket}: this update did not change the status` };
  if (status === undefined) {
    throw bad(
      `${ticket}: neither changelog.items (field "status") nor issue.fields.status.name gives the new status`,
      ticket,
    );
  }
  const wanted = status.trim().toLowerCase();
  const list = released.join(", ");
  if (released.some((name) => name.trim().toLowerCase() === wanted)) {
    return {
      action: "destroy",
      ticket,
      reason: `${ticket} moved to Jira status ${quoted(status)} (released: ${list})`,
    };
  }
  return {
    action: "ignore",
    ticket,
    reason: `${ticket}: Jira status ${quoted(status)} is not a released status (${list})`,
  };
}
