// Reads what the capacity guard compares against: nodes, non-terminal pods, and whether the environment's namespace
// already exists. Thin glue over @kubernetes/client-node; every decision is in capacityFit.ts.
import * as k8s from "@kubernetes/client-node";
import type { NodeShape, PodShape } from "./capacityFit";

export interface ClusterView {
  nodes(): Promise<NodeShape[]>;
  /** Pods that still hold room (phase not Succeeded/Failed), in every namespace. */
  pods(): Promise<PodShape[]>;
  namespaceExists(name: string): Promise<boolean>;
}

/**
 * A kubeconfig: the given text (qa-k8s:kubeconfig, a cluster stack's output), else $KUBECONFIG (one file or a
 * colon-separated list, as kubectl reads it). Never logged; errors name only where it came from.
 */
export function loadKubeConfig(text: string | undefined, env: Readonly<Record<string, string | undefined>>) {
  const kc = new k8s.KubeConfig();
  if (text) {
    try {
      kc.loadFromString(text);
    } catch (error) {
      throw new Error(`qa-k8s:kubeconfig is not a valid kubeconfig (${firstLine(error)})`);
    }
  } else if (env.KUBECONFIG) {
    for (const file of env.KUBECONFIG.split(":").filter(Boolean)) {
      try {
        kc.loadFromFile(file);
        break;
      } catch (error) {
        throw new Error(`KUBECONFIG file "${file}" cannot be read as a kubeconfig (${firstLine(error)})`);
      }
    }
  } else {
    throw new Error(
      "no kubeconfig for the capacity guard: set qa-k8s:kubeconfig (pulumi config set --secret kubeconfig < file) or KUBECONFIG",
    );
  }
  if (!kc.getCurrentCluster()) throw new Error("the kubeconfig names no current cluster (current-context)");
  return kc;
}

// YAML errors quote the offending lines after the first one: those could be a token or a key.
function firstLine(error: unknown): string {
  return String((error as Error).message ?? error).split("\n")[0];
}

const PAGE = 500;

async function allPages<T>(list: (next?: string) => Promise<{ items: T[]; metadata?: { _continue?: string } }>) {
  const items: T[] = [];
  let next: string | undefined;
  do {
    const page = await list(next);
    items.push(...page.items);
    next = page.metadata?._continue || undefined;
  } while (next);
  return items;
}

export function clusterView(kc: k8s.KubeConfig): ClusterView {
  const core = kc.makeApiClient(k8s.CoreV1Api);
  // The server's address is not secret; the credentials next to it never appear in an error.
  const server = kc.getCurrentCluster()?.server ?? "the cluster";
  const reading = async <T>(what: string, read: () => Promise<T>): Promise<T> => {
    try {
      return await read();
    } catch (error) {
      if ((error as { code?: number }).code === 404 && what.startsWith("namespace")) throw error;
      throw new Error(
        `capacity guard: cannot read ${what} from ${server} (${firstLine(error)}); ` +
          `check the kubeconfig, or skip the check: pulumi config set capacity.guard false`,
      );
    }
  };
  return {
    nodes: () =>
      reading("nodes", () => allPages((next) => core.listNode({ limit: PAGE, _continue: next }))) as Promise<
        NodeShape[]
      >,
    pods: () =>
      reading("pods", () =>
        allPages((next) =>
          core.listPodForAllNamespaces({
            fieldSelector: "status.phase!=Succeeded,status.phase!=Failed",
            limit: PAGE,
            _continue: next,
          }),
        ),
      ) as Promise<PodShape[]>,
    namespaceExists: async (name) => {
      try {
        await reading(`namespace ${name}`, () => core.readNamespace({ name }));
        return true;
      } catch (error) {
        if ((error as { code?: number }).code === 404) return false;
        throw error;
      }
    },
  };
}
