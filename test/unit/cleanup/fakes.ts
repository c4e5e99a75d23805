// A backend and cluster in memory that behave like the real ones where cleanup depends on them: the driver's list
// reads records from the same tags the store writes (recordFromTags, as Driver.list does), destroy removes the stack,
// its tags and its namespace, and an unknown stack's tags cannot be read.
import type { CleanupStore, NamespaceView } from "../../../automation/cleanup/store";
import { recordFromTags, recordToTags, DeploymentRecord } from "../../../automation/records";
import type { DestroyResult, EnvironmentSummary } from "../../../automation/types";
import { ticketOf } from "../../../automation/driverInput";

export interface FakeStack {
  tags: Record<string, string>;
  namespace?: NamespaceView;
  updateInProgress?: boolean;
  failDestroy?: string;
}

export function record(lastDeployedAt: string, createdAt = "2026-01-01T00:00:00.000Z"): DeploymentRecord {
  return { deployedBy: "jane", deployedBySource: "option", createdAt, lastDeployedAt, resourceCount: 12 };
}

export function fakeBackend(stacks: Record<string, FakeStack>) {
  const destroyed: string[] = [];
  const known = (stack: string) => {
    const found = stacks[stack];
    if (!found) throw new Error(`stack '${stack}' not found`);
    return found;
  };
  const store: CleanupStore = {
    stackNames: async () => Object.keys(stacks),
    listTags: async (stack) => ({ ...known(stack).tags }),
    setTag: async (stack, key, value) => void (known(stack).tags[key] = value),
    removeTag: async (stack, key) => void delete known(stack).tags[key],
    namespace: async (stack) => known(stack).namespace ?? { state: "absent" },
  };
  const driver = {
    list: async (): Promise<EnvironmentSummary[]> =>
      Object.entries(stacks).map(([stack, s]) => ({
        ticket: ticketOf(stack),
        stack,
        updateInProgress: s.updateInProgress ?? false,
        record: recordFromTags(s.tags),
      })),
    destroy: async (ticket: string): Promise<DestroyResult> => {
      const stack = ticket.toLowerCase();
      if (known(stack).failDestroy) throw new Error(known(stack).failDestroy);
      delete stacks[stack];
      destroyed.push(ticket);
      return {
        ticket,
        stack,
        changes: { delete: 12 },
        durations: { queuedMs: 0, lockWaitMs: 0, recoveryMs: 0, engineMs: 1, totalMs: 1 },
        waitedForSameTicket: false,
        recoveredPendingOperations: 0,
      };
    },
  };
  return { store, driver, destroyed, stacks };
}

export const ours = (lastDeployedAt: string, extra: Record<string, string> = {}): FakeStack => ({
  tags: { ...recordToTags(record(lastDeployedAt)), ...extra },
  namespace: { state: "present", labels: { "app.kubernetes.io/managed-by": "qa-k8s", "qa-k8s/ticket": "X" } },
});
