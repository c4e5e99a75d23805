// An overlay resolves every service it does not build to its baseline's namespace: without that namespace its
// ExternalName Services would point at nothing. Checked on the cluster before any resource is registered.
import type { ClusterView } from "./capacityCluster";
import type { EnvironmentMode } from "./config";

export async function checkBaselineExists(
  settings: { readonly mode: EnvironmentMode; readonly baseline: string },
  cluster: Pick<ClusterView, "namespaceExists">,
): Promise<void> {
  if (settings.mode !== "overlay") return;
  let exists: boolean;
  try {
    exists = await cluster.namespaceExists(settings.baseline);
  } catch (error) {
    throw new Error(
      `qa-k8s:baseline "${settings.baseline}": cannot check that its namespace exists ` +
        `(${String((error as Error).message ?? error).split("\n")[0]})`,
    );
  }
  if (!exists) {
    throw new Error(
      `qa-k8s:baseline "${settings.baseline}": namespace "${settings.baseline}" does not exist on the cluster, and an ` +
        `overlay resolves every service it does not build there; deploy the baseline first ` +
        `(pulumi up --stack ${settings.baseline}, mode full), or set qa-k8s:baseline to a deployed baseline`,
    );
  }
}
