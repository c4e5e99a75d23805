// The checks that read the cluster before any resource is registered: an overlay's baseline must exist, and a new
// environment must fit (the capacity guard). No cluster in render mode, none while the kubeconfig is unknown.
import * as pulumi from "@pulumi/pulumi";
import type { ServiceSpec } from "../components/types";
import { checkBaselineExists } from "./baselineCheck";
import { environmentNeeds } from "./capacity";
import type { ClusterView } from "./capacityCluster";
import { CapacitySettings, guardNewEnvironment } from "./capacityGuard";
import type { EnvironmentConfig } from "./config";
import { featureFromStack } from "./feature";

/** What deployEnvironment runs with the services this namespace will run, before it registers any resource. */
export function checksBeforeResources(
  settings: EnvironmentConfig,
  capacity: CapacitySettings,
  kubeconfig: () => pulumi.Output<string>,
  readCluster: (kubeconfig: string) => ClusterView,
) {
  return async (services: readonly ServiceSpec[]): Promise<void> => {
    const needed = settings.mode === "overlay" || (capacity.enabled && services.length > 0);
    const view = await clusterToCheck(settings, kubeconfig, readCluster, needed);
    if (view) await checkBaselineExists(settings, view);
    await checkCapacity(settings, capacity, view, services);
  };
}

/**
 * The cluster the checks before any resource read: none in render mode, and none while the kubeconfig is unknown (a
 * cluster stack not yet deployed, in preview). Read only when a check needs it (an overlay, or the capacity guard).
 */
async function clusterToCheck(
  settings: EnvironmentConfig,
  kubeconfig: () => pulumi.Output<string>,
  readCluster: (kubeconfig: string) => ClusterView,
  needed: boolean,
): Promise<ClusterView | undefined> {
  if (settings.renderTo !== undefined || !needed) return undefined;
  const source = kubeconfig();
  if (!(await (source as unknown as { isKnown: Promise<boolean> }).isKnown)) return undefined;
  return readCluster(await new Promise<string>((resolve) => source.apply(resolve)));
}

/** Refuses a new environment the cluster has no room for, in preview as in up. No cluster, no guard. */
async function checkCapacity(
  settings: EnvironmentConfig,
  capacity: CapacitySettings,
  cluster: ClusterView | undefined,
  services: readonly ServiceSpec[],
): Promise<void> {
  // An overlay with nothing built on the branch runs no pods: nothing to place.
  if (!cluster || !capacity.enabled || services.length === 0) return;
  const feature = featureFromStack(pulumi.getStack(), settings.ticket);
  const outcome = await guardNewEnvironment({
    ticket: feature.ticket,
    namespace: feature.name,
    needs: environmentNeeds(services, feature.name),
    settings: capacity,
    cluster,
  });
  if (outcome.decision === "admitted")
    pulumi.log.info(
      `capacity: room for ${outcome.report.environmentsThatFit} environment(s) of this size, ${feature.ticket} included`,
    );
}
