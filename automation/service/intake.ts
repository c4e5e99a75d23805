// The one way a job is queued: the API's routes, the status page and automatic cleanup all come through here, so a
// deploy passes the same checks wherever it is asked for (the environment wing's ticket and catalog-service rules; a
// NEW ticket measured against the cluster's room, 409 with the numbers), a removal needs an environment, and the
// runner is woken.
import type { DriverApi } from "../cli/driverApi";
import { checkedServices, featureOf } from "../driverInput";
import { PROJECT_DIR } from "../stack";
import type { ConfigEntry } from "../stack";
import type { Job, JobStore } from "./contracts";
import { capacityRefusal, notFound, toErrorReply } from "./routesShared";

export interface IntakeDeps {
  readonly driver: Pick<DriverApi, "list" | "capacity">;
  readonly store: JobStore;
  readonly runner: { wake(): void };
  readonly stackConfig?: (ticket: string) => Record<string, ConfigEntry> | undefined;
  readonly log: { warn(details: object, message: string): void };
}

export interface Intake {
  /** Queues a deploy (or update); `services` as the CLI's --services. */
  deploy(ticket: string, requestedBy: string, reason: string, services?: readonly string[]): Promise<Job>;
  /** Queues a removal of an environment that exists (or is being deployed). */
  destroy(ticket: string, requestedBy: string, reason: string): Promise<Job>;
}

export function jobIntake(deps: IntakeDeps): Intake {
  const stackOf = async (ticket: string) => {
    const feature = featureOf(ticket);
    return { feature, summary: (await deps.driver.list()).find((e) => e.stack === feature.name) };
  };
  const queue = async (request: Parameters<JobStore["enqueue"]>[0]) => {
    const job = await deps.store.enqueue(request);
    deps.runner.wake();
    return job;
  };
  const admitNew = async (ticket: string) => {
    let report;
    try {
      report = await deps.driver.capacity();
    } catch (error) {
      // No cluster to measure (render mode, cluster down): the driver's own guard decides when the job runs.
      deps.log.warn({ ticket, reason: toErrorReply(error).body.message }, "capacity not measured before queueing");
      return;
    }
    if (report.environmentsThatFit < 1)
      throw capacityRefusal(
        `${ticket}: no room for a new environment (${report.environmentsThatFit} more fit, limited by ` +
          `${report.limitedBy}); remove an environment or add a node, then try again`,
        report,
      );
  };
  return {
    async deploy(ticket, requestedBy, reason, services) {
      const { feature, summary } = await stackOf(ticket);
      const checked =
        services && checkedServices(services, { config: deps.stackConfig?.(feature.ticket) }, PROJECT_DIR);
      if (!summary?.record) await admitNew(feature.ticket);
      return queue({
        kind: "deploy",
        ticket: feature.ticket,
        ...(checked ? { services: checked } : {}),
        requestedBy,
        reason,
      });
    },
    async destroy(ticket, requestedBy, reason) {
      const { feature, summary } = await stackOf(ticket);
      const deploying = (await deps.store.list({ ticket: feature.ticket, limit: 20 })).some(
        (j) => j.kind === "deploy" && (j.state === "queued" || j.state === "running"),
      );
      if (!summary && !deploying)
        throw notFound(`${feature.ticket}: no environment (stack ${feature.name} does not exist)`);
      return queue({ kind: "destroy", ticket: feature.ticket, requestedBy, reason });
    },
  };
}
