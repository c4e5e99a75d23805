// What cleanup reads and writes beside the driver: a stack's tags (pins) and whether its namespace exists on the
// cluster and carries qa-k8s's managed-by label. Thin glue over the Automation API workspace (tags are read without
// the engine, as Driver.list() reads them) and @kubernetes/client-node; every decision is in idle.ts and marker.ts.
import * as k8s from "@kubernetes/client-node";
import { LocalWorkspace } from "@pulumi/pulumi/automation";
import { environmentCluster } from "../capacityGuard";
import { PROJECT_DIR, pulumiCommand } from "../stack";

/** What the cluster says of an environment's namespace. */
export type NamespaceView =
  | { readonly state: "absent" }
  /** Rendered to files (qa-k8s:renderTo): no cluster to hold a namespace. */
  | { readonly state: "rendered" }
  | { readonly state: "present"; readonly labels: Readonly<Record<string, string>> };

export interface CleanupStore {
  /** Stack names of the backend (as listStacks gives them). */
  stackNames(): Promise<string[]>;
  listTags(stack: string): Promise<Record<string, string>>;
  setTag(stack: string, key: string, value: string): Promise<void>;
  removeTag(stack: string, key: string): Promise<void>;
  /** The namespace on the cluster of the stack's kubeconfig (its config, the cluster stack, else $KUBECONFIG). */
  namespace(stack: string, namespace: string): Promise<NamespaceView>;
}

/**
 * The real store, for the same backend as a Driver: pass the driver's `envVars` (they hold PULUMI_BACKEND_URL, the
 * passphrase that decrypts a stack's kubeconfig, and QA_PULUMI_BIN).
 */
export function workspaceStore(envVars: Record<string, string>, workDir: string = PROJECT_DIR): CleanupStore {
  let opened: Promise<{ workspace: LocalWorkspace; command: Awaited<ReturnType<typeof pulumiCommand>> }> | undefined;
  const open = () =>
    (opened ??= pulumiCommand(envVars).then(async (command) => ({
      command,
      workspace: await LocalWorkspace.create({ workDir, envVars, pulumiCommand: command }),
    })));
  return {
    stackNames: async () => (await (await open()).workspace.listStacks()).map((s) => s.name),
    listTags: async (stack) => ({ ...(await (await open()).workspace.listTags(stack)) }),
    setTag: async (stack, key, value) => (await open()).workspace.setTag(stack, key, value),
    removeTag: async (stack, key) => (await open()).workspace.removeTag(stack, key),
    namespace: async (stackName, namespace) => {
      const { command } = await open();
      const stack = await LocalWorkspace.selectStack({ stackName, workDir }, { envVars, pulumiCommand: command });
      const cluster = await environmentCluster(stack, envVars);
      if (!cluster) return { state: "rendered" };
      try {
        const found = await cluster.makeApiClient(k8s.CoreV1Api).readNamespace({ name: namespace });
        return { state: "present", labels: { ...(found.metadata?.labels ?? {}) } };
      } catch (error) {
        if ((error as { code?: number }).code === 404) return { state: "absent" };
        throw error;
      }
    },
  };
}
