// The service's POST /hooks/jira behind its route: the payload's decision (jira.ts; bad payloads throw
// BadInputError → 400), the managed-by check, and a destroy job through the service's own job queue, so that the
// destroy is serialized with every other run of the ticket and shows in the job history.
import { jiraDecision } from "./jira";

export interface JiraEventOutcome {
  readonly action: "destroy" | "ignore";
  readonly ticket?: string;
  readonly jobId?: string;
  readonly reason: string;
}

export interface JiraHandlerOptions {
  /** @default Released, Closed, Done */
  readonly releasedStatuses?: readonly string[];
  /** Queues the destroy as a job; `reason` goes into the job's output and audit. */
  readonly enqueueDestroy: (ticket: string, reason: string) => Promise<{ id: string }>;
  /**
   * Why this ticket's environment must not be destroyed (no stack, not created by qa-env), or undefined when it may
   * be: pass `destroyRefusal(driver, store)` from sweep.ts; without it every released ticket is queued.
   */
  readonly refusal?: (ticket: string) => Promise<string | undefined>;
}

export function jiraHandler(options: JiraHandlerOptions): (payload: unknown) => Promise<JiraEventOutcome> {
  return async (payload) => {
    const decision = jiraDecision(payload, { releasedStatuses: options.releasedStatuses });
    if (decision.action === "ignore" || !decision.ticket) return decision;
    const refused = await options.refusal?.(decision.ticket);
    if (refused) return { action: "ignore", ticket: decision.ticket, reason: `${decision.reason}, but ${refused}` };
    const job = await options.enqueueDestroy(decision.ticket, decision.reason);
    return { action: "destroy", ticket: decision.ticket, jobId: job.id, reason: decision.reason };
  };
}
