// Entry of a feature environment (any stack but `qa`): config → feature → catalog → images → ServiceSet. The only
// file of this wing that reads pulumi.Config or the file system.
import * as fs from "node:fs";
import * as path from "node:path";
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { ServiceSet } from "../components/serviceSet";
import { CatalogError, parseCatalog } from "./catalog";
import { checkFeatureServices, checkOverlayMode, EnvironmentConfig, validateEnvironmentConfig } from "./config";
import { featureFromStack, mainHost, tagFromPattern } from "./feature";
import { resolveImages } from "./images";
import { ImageRegistry, RegistryClient, RegistryError } from "./registry";
import { routeHostProblems } from "./catalogChecks";
import { placeholderValues, serviceSpecs } from "./services";
import type { ServiceSpec } from "../components/types";
import { ClusterView, clusterView, loadKubeConfig } from "./capacityCluster";
import { capacitySettings, CapacityRefusal } from "./capacityGuard";
import { checksBeforeResources } from "./clusterChecks";
import { environmentShape } from "./overlay";

const NAMESPACE = "qa-k8s";
// Paths in config (catalog, renderTo) are relative to the project, wherever the engine starts the program from.
const PROJECT_ROOT = path.resolve(__dirname, "..");

export interface EnvironmentOutputs {
  namespace: pulumi.Output<string>;
  ticket: string;
  url: string;
  urls: pulumi.Output<Record<string, string[]>>;
  images: pulumi.Output<Record<string, string>>;
  featureServices: string[];
  /** full | overlay */
  mode: string;
  /** The baseline this overlay resolves to; "" for a full environment. */
  baseline: string;
}

export interface EnvironmentDependencies {
  /** Registry to resolve images in. @default a RegistryClient for qa-k8s:registry */
  readonly registry?: ImageRegistry;
  /** Clock for restart mode's default deployment id. @default the current time */
  readonly now?: () => Date;
  /** What the capacity guard reads the cluster with. @default the API server of the kubeconfig */
  readonly cluster?: (kubeconfig: string) => ClusterView;
}

export default async function environmentProgram(deps: EnvironmentDependencies = {}): Promise<EnvironmentOutputs> {
  try {
    return await environment(deps);
  } catch (error) {
    // Bad input (config, catalog, registry, stack name) is reported as its message alone, without a stack trace.
    if (isInputError(error)) throw new pulumi.RunError(error.message);
    throw error;
  }
}

function isInputError(error: unknown): error is Error {
  return (
    error instanceof Error &&
    [Error, CatalogError, RegistryError, CapacityRefusal].some((type) => error.constructor === type)
  );
}

async function environment(deps: EnvironmentDependencies): Promise<EnvironmentOutputs> {
  const config = new pulumi.Config(NAMESPACE);
  // Pulumi.yaml declares optional keys with "" (or []) defaults, because the engine requires declared keys that have none.
  const get = (key: string) => config.get(key) || undefined;
  const settings = validateEnvironmentConfig({
    domain: config.get("domain"),
    registry: config.get("registry"),
    registryInsecure: config.getBoolean("registryInsecure"),
    registryUsername: get("registryUsername"),
    registryTimeoutSeconds: config.getNumber("registryTimeoutSeconds"),
    catalog: config.get("catalog"),
    ticket: get("ticket"),
    featureTag: config.get("featureTag"),
    baselineTag: config.get("baselineTag"),
    featureServices: config.getObject<unknown>("featureServices"),
    rollout: config.get("rollout"),
    mode: config.get("mode"),
    baseline: config.get("baseline"),
    deploymentId: get("deploymentId"),
    clusterStack: config.get("clusterStack"),
    renderTo: get("renderTo"),
    // Dotted keys arrive flat whichever way they were set: the root index.ts flattens `--path` objects first.
    tlsSecretName: config.get("tls.secretName"),
    nsqImage: config.get("nsq.image"),
    waitImage: config.get("waitImage"),
    storageClass: config.get("storageClass"),
  });
  const capacity = capacitySettings({
    guard: config.getBoolean("capacity.guard"),
    headroomCpu: get("capacity.headroomCpu"),
    headroomMemory: get("capacity.headroomMemory"),
    headroomPods: config.getNumber("capacity.headroomPods"),
  });
  const registryPassword = await encryptedSecret(config, "registryPassword");
  const kubeconfig = await encryptedSecret(config, "kubeconfig");
  const catalogText = readCatalog(settings.catalogPath);
  const registry =
    deps.registry ??
    new RegistryClient({
      address: settings.registry.address,
      insecure: settings.registry.insecure,
      username: settings.registry.username,
      password: registryPassword && (await unsecret(registryPassword)),
    });
  const cluster = clusterSource(settings, kubeconfig);
  const readCluster = deps.cluster ?? ((text) => clusterView(loadKubeConfig(text, {})));
  return deployEnvironment(
    settings,
    catalogText,
    registry,
    () => clusterProvider(settings, cluster),
    registryPassword,
    deps.now ?? (() => new Date()),
    checksBeforeResources(settings, capacity, cluster, readCluster),
  );
}

/**
 * Everything after config: validation, image resolution, then the resources. The provider (and the StackReference
 * behind it) is made only once every check has passed, so bad input creates nothing. Exported for tests and bench.
 */
export async function deployEnvironment(
  settings: EnvironmentConfig,
  catalogText: string,
  registry: ImageRegistry,
  makeProvider: () => k8s.Provider,
  registryPassword: pulumi.Output<string> | undefined,
  now: () => Date,
  beforeResources?: (services: readonly ServiceSpec[]) => Promise<void>,
): Promise<EnvironmentOutputs> {
  const feature = featureFromStack(pulumi.getStack(), settings.ticket);
  checkOverlayMode(settings, feature.name);
  const catalog = parseCatalog(catalogText, settings.catalogPath);
  const hostProblems = routeHostProblems(
    catalog,
    placeholderValues({ feature, domain: settings.domain }),
    settings.catalogPath,
  );
  if (hostProblems.length > 0) throw new CatalogError(hostProblems);
  checkFeatureServices(
    settings.featureServices,
    catalog.filter((s) => s.kind === "app").map((s) => s.name),
    settings.catalogPath,
  );
  const images = await resolveImages(catalog, {
    registry,
    featureTag: tagFromPattern(settings.featureTagPattern, feature, "featureTag"),
    baselineTag: tagFromPattern(settings.baselineTagPattern, feature, "baselineTag"),
    featureServices: settings.featureServices,
    rollout: settings.rollout,
    infraImages: { nsqImage: settings.nsqImage },
    timeoutMs: settings.registry.timeoutSeconds * 1000,
  });
  const services = serviceSpecs(catalog, images, {
    feature,
    domain: settings.domain,
    waitImage: settings.waitImage,
    storageClass: settings.storageClass,
    rollout: settings.rollout,
    deploymentId:
      settings.deploymentId ??
      now()
        .toISOString()
        .replace(/[^0-9TZ]/g, ""),
  });
  const builtOnBranch = catalog.filter((s) => images.get(s.name)?.builtOnBranch).map((s) => s.name);
  const shape = environmentShape({
    mode: settings.mode,
    baseline: settings.baseline,
    namespace: feature.name,
    catalog,
    services,
    builtOnBranch,
  });
  // The baseline and capacity checks: last, so that a refused environment registers nothing of its own. The guard
  // measures what this namespace runs: an overlay's own services only.
  await beforeResources?.(shape.deployed);
  const serviceSet = new ServiceSet(
    feature.name,
    {
      namespace: feature.name,
      namespaceLabels: { "qa-k8s/feature": feature.name, "qa-k8s/ticket": feature.ticket, ...shape.namespaceLabels },
      services: shape.deployed,
      resolvedElsewhere: shape.baseline,
      admittedNamespaceLabels: shape.admittedNamespaceLabels,
      tlsSecretName: settings.tlsSecretName,
      deleteWithNamespace: settings.renderTo === undefined,
      registryCredentials:
        settings.registry.username !== undefined
          ? {
              address: settings.registry.address,
              username: settings.registry.username,
              password: registryPassword ?? "",
            }
          : undefined,
    },
    { provider: makeProvider() },
  );
  return {
    namespace: serviceSet.namespace,
    ticket: feature.ticket,
    url: `https://${mainHost(feature, settings.domain)}/`,
    urls: serviceSet.urls,
    images: serviceSet.images,
    // Catalog order, not the order in which the registry happened to answer: outputs stay stable between runs.
    featureServices: builtOnBranch,
    mode: settings.mode,
    baseline: settings.mode === "overlay" ? settings.baseline : "",
  };
}

function readCatalog(catalogPath: string): string {
  const file = path.resolve(PROJECT_ROOT, catalogPath);
  try {
    return fs.readFileSync(file, "utf8");
  } catch (error) {
    throw new Error(
      `qa-k8s:catalog "${catalogPath}" cannot be read (${(error as NodeJS.ErrnoException).code}); ` +
        `the path is relative to the project directory`,
    );
  }
}

/** The kubeconfig of the cluster: explicit, or the cluster stack's output (referenced on first use only). */
function clusterSource(settings: EnvironmentConfig, kubeconfig: pulumi.Output<string> | undefined) {
  let source: pulumi.Output<string> | undefined = kubeconfig;
  // A StackReference output is known at preview, so the provider (and everything under it) is not replaced.
  return () =>
    (source ??= new pulumi.StackReference("cluster", { name: settings.clusterStack }).requireOutput(
      "kubeconfig",
    ) as pulumi.Output<string>);
}

/** The cluster to deploy to: rendered files, or the kubeconfig (explicit or the cluster stack's). */
function clusterProvider(settings: EnvironmentConfig, kubeconfig: () => pulumi.Output<string>): k8s.Provider {
  if (settings.renderTo !== undefined) {
    return new k8s.Provider("kubernetes", { renderYamlToDirectory: path.resolve(PROJECT_ROOT, settings.renderTo) });
  }
  return new k8s.Provider("kubernetes", { kubeconfig: pulumi.secret(kubeconfig()) as pulumi.Output<string> });
}

/**
 * A secret config value, or undefined when unset or empty. A value stored in plain text is refused: it would sit
 * unencrypted in Pulumi.<stack>.yaml, and Pulumi.yaml cannot enforce `secret: true` on a key that has a default.
 */
async function encryptedSecret(config: pulumi.Config, key: string): Promise<pulumi.Output<string> | undefined> {
  const value = config.getSecret(key);
  if (!value || (await unsecret(value)) === "") return undefined;
  // The SDK's runtime has this lookup without typing it; where it is missing, every key counts as secret.
  const runtime = pulumi.runtime as unknown as { isConfigSecret?: (fullKey: string) => boolean };
  if (!(runtime.isConfigSecret?.(`${NAMESPACE}:${key}`) ?? true)) {
    throw new Error(
      `${NAMESPACE}:${key} is stored in plain text; store it encrypted: pulumi config set --secret ${key} <value> ` +
        `(and remove the plain value from Pulumi.${pulumi.getStack()}.yaml history)`,
    );
  }
  return value;
}

/** Plain value of a secret config Output; used only for the registry API's credentials, never in resource inputs. */
function unsecret(value: pulumi.Output<string>): Promise<string> {
  return new Promise((resolve) => value.apply(resolve));
}
