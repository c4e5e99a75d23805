// The driver's side of the capacity guard: before the engine starts on a NEW environment, the same check the program
// makes (environments/capacityGuard.ts), so that a refusal is a CapacityError (exit code 3) with the numbers instead
// of a failed update; and capacity(), which reports how many more environments fit. The kubeconfig is the stack's
// qa-k8s:kubeconfig (decrypted by getAllConfig, never logged), else the cluster stack's output, else $KUBECONFIG.
import * as fs from "node:fs";
import * as path from "node:path";
import type { KubeConfig } from "@kubernetes/client-node";
import { ConfigMap, LocalWorkspace, Stack, Workspace } from "@pulumi/pulumi/automation";
import { catalogNeeds } from "../environments/capacity";
import { clusterView, loadKubeConfig } from "../environments/capacityCluster";
import { capacitySettings, CapacityRefusal, guardNewEnvironment, measureCapacity } from "../environments/capacityGuard";
import { parseCatalog } from "../environments/catalog";
import { ENVIRONMENT_DEFAULTS } from "../environments/config";
import { Feature, featureFromStack } from "../environments/feature";
import { BadInputError, CapacityError } from "./exitCodes";
import type { CapacityReport } from "./observeTypes";
import { ConfigEntry, pulumiCommand } from "./stack";

const KEY = (name: string) => `qa-k8s:${name}`;
/** capacity() sizes "an environment" with a ticket that no stack has; only its name length matters (none here). */
const SIZING_TICKET = "SIZING-1";

type ConfigValues = Readonly<Record<string, string | undefined>>;

// `pulumi config set --path capacity.guard false` stores object `qa-k8s:capacity`: read its fields as flat keys, as
// the program's root index.ts does (a flat key already set wins).
export function valuesOf(config: ConfigMap): ConfigValues {
  const values: Record<string, string> = {};
  for (const [key, entry] of Object.entries(config)) {
    values[key] = entry.value;
    let parsed: unknown;
    try {
      parsed = JSON.parse(entry.value);
    } catch {
      continue;
    }
    if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) continue;
    for (const [field, value] of Object.entries(parsed))
      values[`${key}.${field}`] ??= typeof value === "string" ? value : JSON.stringify(value);
  }
  return { ...values, ...Object.fromEntries(Object.entries(config).map(([key, entry]) => [key, entry.value])) };
}

/** The guard's settings from stack config values; a bad value is bad input (exit code 2), before the engine. */
export function settingsOf(values: ConfigValues) {
  try {
    return capacitySettings({
      guard: values[KEY("capacity.guard")],
      headroomCpu: values[KEY("capacity.headroomCpu")] || undefined,
      headroomMemory: values[KEY("capacity.headroomMemory")] || undefined,
      headroomPods: values[KEY("capacity.headroomPods")] || undefined,
    });
  } catch (error) {
    throw new BadInputError((error as Error).message);
  }
}

function needsOf(values: ConfigValues, workDir: string, feature: Feature, overlayOf?: readonly string[]) {
  const catalogPath = values[KEY("catalog")] || ENVIRONMENT_DEFAULTS.catalog;
  let text: string;
  try {
    text = fs.readFileSync(path.resolve(workDir, catalogPath), "utf8");
  } catch (error) {
    throw new BadInputError(
      `qa-k8s:catalog "${catalogPath}" cannot be read (${(error as NodeJS.ErrnoException).code})`,
    );
  }
  try {
    return catalogNeeds(parseCatalog(text, catalogPath), feature, { overlayOf });
  } catch (error) {
    throw new BadInputError((error as Error).message);
  }
}

/** The feature services named before the engine runs (the deploy's, else the stack's config); undefined = detect. */
export function knownFeatureServices(
  values: ConfigValues,
  services?: readonly string[],
): readonly string[] | undefined {
  if (services && services.length > 0) return services;
  try {
    const configured: unknown = JSON.parse(values[KEY("featureServices")] || "[]");
    return Array.isArray(configured) && configured.length > 0 ? configured.map(String) : undefined;
  } catch {
    return undefined;
  }
}

export async function kubeconfigOf(workspace: Workspace, values: ConfigValues, env: ConfigValues) {
  let text = values[KEY("kubeconfig")];
  if (!text) {
    const clusterStack = values[KEY("clusterStack")] || ENVIRONMENT_DEFAULTS.clusterStack;
    // The program's own fallback; a backend without that stack falls through to $KUBECONFIG.
    const outputs = await workspace.stackOutputs(clusterStack).catch(() => undefined);
    const fromClusterStack = outputs?.kubeconfig?.value;
    text = typeof fromClusterStack === "string" ? fromClusterStack : undefined;
  }
  try {
    return loadKubeConfig(text, env);
  } catch (error) {
    throw new BadInputError((error as Error).message);
  }
}

/** The cluster a stack's environment lives on; undefined when it is rendered to files (qa-k8s:renderTo). */
export async function environmentCluster(stack: Stack, env: ConfigValues): Promise<KubeConfig | undefined> {
  const values = valuesOf(await stack.getAllConfig());
  return values[KEY("renderTo")] ? undefined : kubeconfigOf(stack.workspace, values, env);
}

/**
 * Refuses a new environment that does not fit (CapacityError, with the program's message) before the engine starts;
 * a refused, never-deployed stack is removed again (its Pulumi.<stack>.yaml kept) so that list() shows nothing.
 */
export async function preflightCapacity(
  stack: Stack,
  feature: Feature,
  env: ConfigValues,
  workDir: string,
  services?: readonly string[],
) {
  const values = valuesOf(await stack.getAllConfig());
  if (values[KEY("renderTo")]) return; // rendered manifests: no cluster, no guard (as in the program)
  const settings = settingsOf(values);
  if (!settings.enabled) return;
  const overlay = values[KEY("mode")] === "overlay";
  const overlayOf = overlay ? knownFeatureServices(values, services) : undefined;
  // An overlay runs only its feature-built services (and what they bring): sizing it as the whole catalog refused
  // overlays once less than a FULL environment's room was left. When they are left to registry detection, only the
  // program knows them; its own guard refuses before any resource.
  if (overlay && overlayOf === undefined) return;
  try {
    await guardNewEnvironment({
      ticket: feature.ticket,
      namespace: feature.name,
      needs: needsOf(values, workDir, feature, overlayOf),
      settings,
      cluster: clusterView(await kubeconfigOf(stack.workspace, values, env)),
    });
  } catch (error) {
    if (!(error instanceof CapacityRefusal)) throw error;
    if ((await stack.history(1)).length === 0) await stack.workspace.removeStack(stack.name, { preserveConfig: true });
    throw new CapacityError(error.message, { ticket: feature.ticket, cause: error });
  }
}

export interface CapacityOptions {
  /** Config as for a deploy (without `qa-k8s:`): kubeconfig (secret), clusterStack, catalog, capacity.headroom*. */
  readonly config?: Readonly<Record<string, ConfigEntry>>;
}

/** How many more environments of the catalog's size fit, and what limits them (the guard admits while it is ≥ 1). */
export async function capacityReport(
  env: Record<string, string>,
  workDir: string,
  options: CapacityOptions = {},
): Promise<CapacityReport> {
  const values = Object.fromEntries(Object.entries(options.config ?? {}).map(([key, e]) => [KEY(key), e.value]));
  const settings = settingsOf(values);
  const needs = needsOf(values, workDir, featureFromStack(SIZING_TICKET));
  const workspace = await LocalWorkspace.create({ workDir, envVars: env, pulumiCommand: await pulumiCommand(env) });
  return measureCapacity(needs, clusterView(await kubeconfigOf(workspace, values, env)), settings.headroom);
}
