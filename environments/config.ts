// Typed, validated settings of a feature environment. environments/index.ts reads pulumi.Config (the only place that
// does) into RawEnvironmentConfig; everything here is pure so each rule has a tested message.
import { isRegistryAddress } from "./registry";
import type { RolloutMode } from "./images";
import { isDns1123Label, reservedNamespaceProblem } from "./kubernetesNames";

export type EnvironmentMode = "full" | "overlay";

/** Values as read from config; undefined = not set (Pulumi.yaml defaults already applied by the engine). */
export interface RawEnvironmentConfig {
  readonly domain?: string;
  readonly registry?: string;
  readonly registryInsecure?: boolean;
  readonly registryUsername?: string;
  readonly registryTimeoutSeconds?: number;
  readonly catalog?: string;
  readonly ticket?: string;
  readonly featureTag?: string;
  readonly baselineTag?: string;
  readonly featureServices?: unknown;
  readonly rollout?: string;
  readonly mode?: string;
  readonly baseline?: string;
  readonly deploymentId?: string;
  readonly clusterStack?: string;
  readonly renderTo?: string;
  readonly tlsSecretName?: string;
  readonly nsqImage?: string;
  readonly waitImage?: string;
  readonly storageClass?: string;
}

export interface EnvironmentConfig {
  readonly domain: string;
  readonly registry: {
    readonly address: string;
    readonly insecure: boolean;
    readonly username?: string;
    readonly timeoutSeconds: number;
  };
  readonly catalogPath: string;
  readonly ticket?: string;
  readonly featureTagPattern: string;
  readonly baselineTagPattern: string;
  readonly featureServices?: readonly string[];
  readonly rollout: RolloutMode;
  /** full: every catalog service here; overlay: the feature-built ones, the rest resolved in `baseline`. */
  readonly mode: EnvironmentMode;
  /** Namespace (= stack) of the shared baseline environment. */
  readonly baseline: string;
  readonly deploymentId?: string;
  readonly clusterStack: string;
  readonly renderTo?: string;
  readonly tlsSecretName: string;
  readonly nsqImage: string;
  readonly waitImage: string;
  readonly storageClass: string;
}

// The same defaults as Pulumi.yaml: mocks and the Automation API's inline programs do not see Pulumi.yaml defaults.
export const ENVIRONMENT_DEFAULTS = {
  domain: "qa.example.test",
  registry: "nexus.example.test:5000/docker",
  registryTimeoutSeconds: 30,
  catalog: "environments/catalog.yaml",
  featureTag: "${ticket}_latest",
  baselineTag: "master_latest",
  rollout: "digest",
  mode: "full",
  baseline: "master",
  clusterStack: "qa",
  tlsSecretName: "qa-bu-ssl-certificate",
  nsqImage: "nsqio/nsq:v1.3.0",
  waitImage: "busybox:1.36",
  storageClass: "local-path",
} as const;

const DNS_NAME = /^(?=.{1,253}$)[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const IMAGE_REFERENCE = /^[A-Za-z0-9][A-Za-z0-9._/:@-]*$/;
const STACK_NAME = /^[A-Za-z0-9_.-]+(\/[A-Za-z0-9_.-]+){0,2}$/;

class ConfigProblems {
  readonly problems: string[] = [];
  check(ok: boolean, message: string) {
    if (!ok) this.problems.push(message);
  }
}

export function validateEnvironmentConfig(raw: RawEnvironmentConfig): EnvironmentConfig {
  const d = ENVIRONMENT_DEFAULTS;
  const c = new ConfigProblems();
  const domain = raw.domain ?? d.domain;
  c.check(
    DNS_NAME.test(domain),
    `qa-k8s:domain "${domain}" is not a DNS name; use lower-case labels separated by dots (e.g. qa.example.test)`,
  );
  const address = raw.registry ?? d.registry;
  c.check(
    isRegistryAddress(address),
    `qa-k8s:registry "${address}" is not host[:port][/path]; e.g. nexus.example.test:5000/docker`,
  );
  const timeoutSeconds = raw.registryTimeoutSeconds ?? d.registryTimeoutSeconds;
  c.check(
    Number.isInteger(timeoutSeconds) && timeoutSeconds >= 1 && timeoutSeconds <= 600,
    `qa-k8s:registryTimeoutSeconds ${timeoutSeconds} is out of range 1–600`,
  );
  const rollout = raw.rollout ?? d.rollout;
  c.check(
    rollout === "digest" || rollout === "restart",
    `qa-k8s:rollout "${rollout}" is not one of digest, restart; run: pulumi config set rollout digest`,
  );
  const mode = raw.mode ?? d.mode;
  c.check(
    mode === "full" || mode === "overlay",
    `qa-k8s:mode "${mode}" is not one of full, overlay; run: pulumi config set mode overlay (or full)`,
  );
  const baseline = raw.baseline ?? d.baseline;
  const reserved = isDns1123Label(baseline) ? reservedNamespaceProblem(baseline) : undefined;
  c.check(
    isDns1123Label(baseline) && reserved === undefined,
    `qa-k8s:baseline "${baseline}" ${reserved ?? "is not a namespace name (lower-case letters, digits and '-')"}; ` +
      `name the baseline environment's stack, e.g. pulumi config set baseline master`,
  );
  const featureServices = parseFeatureServices(raw.featureServices, c);
  const clusterStack = raw.clusterStack ?? d.clusterStack;
  c.check(
    STACK_NAME.test(clusterStack),
    `qa-k8s:clusterStack "${clusterStack}" is not a stack name (stack or org/project/stack)`,
  );
  const tlsSecretName = raw.tlsSecretName ?? d.tlsSecretName;
  c.check(
    DNS_NAME.test(tlsSecretName),
    `qa-k8s:tls.secretName "${tlsSecretName}" is not a valid Secret name; use lower-case letters, digits, '-' and '.'`,
  );
  const storageClass = raw.storageClass ?? d.storageClass;
  c.check(
    DNS_NAME.test(storageClass),
    `qa-k8s:storageClass "${storageClass}" is not a valid StorageClass name; use lower-case letters, digits, '-' and '.'`,
  );
  const nsqImage = raw.nsqImage ?? d.nsqImage;
  const waitImage = raw.waitImage ?? d.waitImage;
  for (const [key, image] of [
    ["nsq.image", nsqImage],
    ["waitImage", waitImage],
  ]) {
    c.check(IMAGE_REFERENCE.test(image), `qa-k8s:${key} "${image}" is not an image reference; e.g. busybox:1.36`);
  }
  const deploymentId = raw.deploymentId;
  c.check(
    deploymentId === undefined || /^[A-Za-z0-9_.:+-]{1,63}$/.test(deploymentId),
    `qa-k8s:deploymentId "${deploymentId}" must be 1–63 letters, digits or _.:+- (e.g. the CI build number)`,
  );
  if (c.problems.length > 0) {
    throw new Error(`invalid configuration:\n  ${c.problems.join("\n  ")}`);
  }
  return {
    domain,
    registry: { address, insecure: raw.registryInsecure ?? false, username: raw.registryUsername, timeoutSeconds },
    catalogPath: raw.catalog ?? d.catalog,
    ticket: raw.ticket,
    featureTagPattern: raw.featureTag ?? d.featureTag,
    baselineTagPattern: raw.baselineTag ?? d.baselineTag,
    featureServices,
    rollout: rollout as RolloutMode,
    mode: mode as EnvironmentMode,
    baseline,
    deploymentId,
    clusterStack,
    renderTo: raw.renderTo,
    tlsSecretName,
    nsqImage,
    waitImage,
    storageClass,
  };
}

function parseFeatureServices(value: unknown, c: ConfigProblems): string[] | undefined {
  // Empty is Pulumi.yaml's default: detect from the registry.
  if (value === undefined || (Array.isArray(value) && value.length === 0)) return undefined;
  if (!Array.isArray(value) || value.some((item) => typeof item !== "string")) {
    c.check(
      false,
      `qa-k8s:featureServices must be a list of service names, got ${JSON.stringify(value)}; e.g. ["auth","wallet"]`,
    );
    return undefined;
  }
  const seen = new Set<string>();
  for (const name of value as string[]) {
    c.check(!seen.has(name), `qa-k8s:featureServices lists "${name}" twice; list each service once`);
    seen.add(name);
  }
  return value as string[];
}

/** Every listed feature service must be an app of the catalog: a typo would silently deploy the baseline image. */
export function checkFeatureServices(
  featureServices: readonly string[] | undefined,
  apps: readonly string[],
  catalogPath: string,
): void {
  const unknown = (featureServices ?? []).filter((name) => !apps.includes(name));
  if (unknown.length > 0) {
    throw new Error(
      `qa-k8s:featureServices: ${unknown.map((n) => `"${n}"`).join(", ")} ${unknown.length === 1 ? "is not an app service" : "are not app services"} ` +
        `of ${catalogPath}; use the catalog's service names (infra services always use their configured image)`,
    );
  }
}

/** The baseline is a full environment: an overlay of itself would resolve every service to itself. */
export function checkOverlayMode(settings: Pick<EnvironmentConfig, "mode" | "baseline">, namespace: string): void {
  if (settings.mode === "overlay" && namespace === settings.baseline) {
    throw new Error(
      `qa-k8s:mode "overlay" on stack "${namespace}", which is the baseline (qa-k8s:baseline "${namespace}"): the ` +
        `baseline must be a full environment; run: pulumi config set mode full, or set qa-k8s:baseline to another stack`,
    );
  }
}
