// One request reads everything the list shows: the driver's list, each environment's status (a few at a time: each
// is several API-server calls) and the capacity, all at once. A failing status or capacity read is shown, not fatal.
import type { CapacityReport, EnvironmentStatus } from "../../observeTypes";
import type { EnvironmentSummary } from "../../types";
import type { DriverApi } from "../../cli/driverApi";
import type { EnvironmentView, ListView } from "./view";

export type PageDriver = Pick<DriverApi, "list" | "status" | "logs" | "capacity">;

const STATUS_READS_AT_ONCE = 8;

async function mapLimited<T, R>(items: readonly T[], limit: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const results: R[] = new Array(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      results[i] = await fn(items[i]);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return results;
}

export const messageOf = (error: unknown): string => (error instanceof Error ? error.message : String(error));

export async function environmentView(driver: PageDriver, summary: EnvironmentSummary): Promise<EnvironmentView> {
  try {
    const status: EnvironmentStatus = await driver.status(summary.ticket);
    return { summary, status };
  } catch (error) {
    return { summary, error: messageOf(error) };
  }
}

/** Tickets sorted as people read them: newest deploy first, then by name. */
function byLastDeploy(a: EnvironmentSummary, b: EnvironmentSummary): number {
  const at = (s: EnvironmentSummary) => s.record?.lastDeployedAt ?? s.lastUpdate ?? "";
  return at(b).localeCompare(at(a)) || a.ticket.localeCompare(b.ticket);
}

export async function gatherList(driver: PageDriver, expanded: ReadonlySet<string>): Promise<ListView> {
  const capacityRead: Promise<{ report?: CapacityReport; error?: string }> = driver.capacity().then(
    (report) => ({ report }),
    (error: unknown) => ({ error: messageOf(error) }),
  );
  const [summaries, capacity] = await Promise.all([driver.list(), capacityRead]);
  const sorted = [...summaries].sort(byLastDeploy);
  const environments = await mapLimited(sorted, STATUS_READS_AT_ONCE, (s) => environmentView(driver, s));
  return { environments, capacity: capacity.report, capacityError: capacity.error, expanded };
}

/** "A,B" → {A, B}; empty parts dropped. */
export function expandedSet(query: string | undefined): ReadonlySet<string> {
  return new Set((query ?? "").split(",").filter(Boolean));
}
