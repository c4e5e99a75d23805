// Catalog + chosen images + the feature → the final ServiceSpecs the ServiceSet deploys. Pure: same input, same specs,
// which is what makes "an up with nothing changed changes nothing" hold.
import type { ServiceSpec } from "../components/types";
import type { CatalogService } from "./catalog";
import { Feature, mainHost } from "./feature";
import type { ResolvedImage, RolloutMode } from "./images";
import { expandPlaceholders } from "./placeholders";

export const DEPLOYMENT_ID_ANNOTATION = "qa-k8s/deployment-id";

export interface EnvironmentContext {
  readonly feature: Feature;
  readonly domain: string;
  readonly waitImage: string;
  readonly storageClass: string;
  readonly rollout: RolloutMode;
  /** restart mode: written into the pod template of feature-built services so that they roll on every up. */
  readonly deploymentId: string;
}

/** Values of `${...}` in catalog env values and hosts. */
export function placeholderValues(context: Pick<EnvironmentContext, "feature" | "domain">): Record<string, string> {
  return {
    feature: context.feature.name,
    ticket: context.feature.ticket,
    namespace: context.feature.name,
    domain: context.domain,
    fqdn: mainHost(context.feature, context.domain),
  };
}

/** Env every app container gets (seed): which environment it is in, and one Node.js process per container. */
export function platformEnv(context: EnvironmentContext): Record<string, string> {
  return {
    FEATURE: context.feature.name,
    FQDN: mainHost(context.feature, context.domain),
    NODE_ENV: "qa",
    NODE_MAX_PROCESSES: "1",
  };
}

export function serviceSpecs(
  catalog: readonly CatalogService[],
  images: ReadonlyMap<string, ResolvedImage>,
  context: EnvironmentContext,
): ServiceSpec[] {
  const values = placeholderValues(context);
  return catalog.map((service) => {
    const image = images.get(service.name);
    if (!image) throw new Error(`no image was resolved for service "${service.name}"`);
    const catalogEnv = Object.fromEntries(
      Object.entries(service.env).map(([key, value]) => [key, expandPlaceholders(value, values)]),
    );
    const restart = context.rollout === "restart" && image.builtOnBranch;
    return {
      name: service.name,
      kind: service.kind,
      image: image.reference,
      port: service.port,
      extraPorts: service.extraPorts,
      replicas: service.replicas,
      resources: service.resources,
      env: service.kind === "app" ? { ...platformEnv(context), ...catalogEnv } : catalogEnv,
      waitForNsqImage: service.requiresNsq ? context.waitImage : undefined,
      routes: service.ingress.map((route) => ({
        host: expandPlaceholders(route.host, values),
        path: route.path,
        stripPrefix: route.stripPrefix,
      })),
      command: service.command,
      args: service.args,
      readinessProbe: service.readinessProbe,
      storage: service.storage ? { size: service.storage, storageClass: context.storageClass } : undefined,
      podAnnotations: restart ? { [DEPLOYMENT_ID_ANNOTATION]: context.deploymentId } : ({} as Record<string, string>),
    };
  });
}
