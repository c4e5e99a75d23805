// Who deployed an environment, when it was created and last deployed, from which build. Kept as stack tags: every
// backend stores them next to the stack (the file backend in .pulumi/stacks/<project>/<stack>.tags.json, apart from
// the state, so writing them never races an update's checkpoint), and `pulumi stack tag ls` reads them back without
// running the engine or reaching the cluster. Namespace annotations would need the cluster, and a JSON file of our
// own would work for the file backend only.
import * as os from "node:os";
import type { StackSummary } from "@pulumi/pulumi/automation";
import { ticketOf } from "./driverInput";
import { BadInputError } from "./exitCodes";
import type { EnvironmentSummary } from "./types";

export interface DeploymentRecord {
  readonly deployedBy: string;
  /** Where deployedBy came from: the caller's option, Bamboo's variables, or the OS user running the driver. */
  readonly deployedBySource: "option" | "bamboo" | "os-user";
  /** CI build (Bamboo's result key, e.g. QA-DEPLOY-123), when known. */
  readonly build?: string;
  /** ISO 8601. */
  readonly createdAt: string;
  readonly lastDeployedAt: string;
  /** Resources in the stack after the last deploy; lets progress show a total from the first event. */
  readonly resourceCount?: number;
}

/** Stack tag names (pulumi allows [a-zA-Z0-9-_.:], at most 40 characters). */
export const RECORD_TAGS = {
  deployedBy: "qa-k8s:deployed-by",
  deployedBySource: "qa-k8s:deployed-by-source",
  build: "qa-k8s:build",
  createdAt: "qa-k8s:created-at",
  lastDeployedAt: "qa-k8s:last-deployed-at",
  resourceCount: "qa-k8s:resource-count",
} as const;

// Bamboo's variables reach a job's environment as bamboo_<name>:
// https://confluence.atlassian.com/bamboo/bamboo-variables-289277087.html
export const BAMBOO_VARIABLES = {
  /** The user who started a manual build (absent for triggered builds). */
  manualUser: "bamboo_ManualBuildTriggerReason_userName",
  /** Plan key + build number, e.g. QA-DEPLOY-123: unique across plans. */
  buildResultKey: "bamboo_buildResultKey",
  /** The build number alone, when the result key is missing. */
  buildNumber: "bamboo_buildNumber",
} as const;

const DEPLOYER = /^[\p{L}\p{N} ._@+-]{1,100}$/u;
const BUILD = /^[A-Za-z0-9._-]{1,64}$/;

export interface Who {
  readonly deployedBy: string;
  readonly deployedBySource: DeploymentRecord["deployedBySource"];
  readonly build?: string;
}

/** Deployer and build: the explicit options first, then Bamboo's variables, then the OS user. Validated. */
export function whoDeploys(
  options: { deployer?: string; build?: string },
  env: Readonly<Record<string, string | undefined>>,
  osUser: () => string = () => os.userInfo().username,
): Who {
  const bambooUser = env[BAMBOO_VARIABLES.manualUser] || undefined;
  const [deployedBy, deployedBySource]: [string, Who["deployedBySource"]] = options.deployer
    ? [options.deployer, "option"]
    : bambooUser
      ? [bambooUser, "bamboo"]
      : [osUser(), "os-user"];
  if (!DEPLOYER.test(deployedBy)) {
    throw new BadInputError(
      `deployer "${deployedBy}" (from ${deployedBySource}) is not a plain name: use at most 100 letters, digits, ` +
        `spaces and . _ @ + - (e.g. "Jane Doe" or jane.doe@example.com)`,
    );
  }
  const build = options.build || env[BAMBOO_VARIABLES.buildResultKey] || env[BAMBOO_VARIABLES.buildNumber] || undefined;
  if (build !== undefined && !BUILD.test(build)) {
    throw new BadInputError(
      `build "${build}" is not a build identifier: use at most 64 letters, digits and . _ - (e.g. QA-DEPLOY-123)`,
    );
  }
  return { deployedBy, deployedBySource, build };
}

/** The record after a deploy at `now`: createdAt is kept from the previous record when there is one. */
export function nextRecord(
  previous: DeploymentRecord | undefined,
  who: Who,
  now: Date,
  resourceCount?: number,
): DeploymentRecord {
  return {
    deployedBy: who.deployedBy,
    deployedBySource: who.deployedBySource,
    build: who.build,
    createdAt: previous?.createdAt ?? now.toISOString(),
    lastDeployedAt: now.toISOString(),
    resourceCount,
  };
}

export function recordToTags(record: DeploymentRecord): Record<string, string> {
  const tags: Record<string, string> = {
    [RECORD_TAGS.deployedBy]: record.deployedBy,
    [RECORD_TAGS.deployedBySource]: record.deployedBySource,
    [RECORD_TAGS.createdAt]: record.createdAt,
    [RECORD_TAGS.lastDeployedAt]: record.lastDeployedAt,
  };
  if (record.build !== undefined) tags[RECORD_TAGS.build] = record.build;
  if (record.resourceCount !== undefined) tags[RECORD_TAGS.resourceCount] = String(record.resourceCount);
  return tags;
}

const SOURCES: readonly string[] = ["option", "bamboo", "os-user"];

/** Reads a record back from tags; undefined when the stack was never deployed by the driver. */
export function recordFromTags(tags: Readonly<Record<string, string | undefined>>): DeploymentRecord | undefined {
  const deployedBy = tags[RECORD_TAGS.deployedBy];
  const createdAt = tags[RECORD_TAGS.createdAt];
  const lastDeployedAt = tags[RECORD_TAGS.lastDeployedAt];
  if (!deployedBy || !createdAt || !lastDeployedAt) return undefined;
  const source = tags[RECORD_TAGS.deployedBySource] ?? "";
  const count = Number(tags[RECORD_TAGS.resourceCount]);
  return {
    deployedBy,
    deployedBySource: (SOURCES.includes(source) ? source : "os-user") as DeploymentRecord["deployedBySource"],
    build: tags[RECORD_TAGS.build] || undefined,
    createdAt,
    lastDeployedAt,
    resourceCount: Number.isInteger(count) && count >= 0 ? count : undefined,
  };
}

/** The tags that differ from what the stack already has: each tag is one CLI call, and most stay the same. */
export function changedTags(
  current: Readonly<Record<string, string | undefined>>,
  wanted: Readonly<Record<string, string>>,
): Record<string, string> {
  return Object.fromEntries(Object.entries(wanted).filter(([key, value]) => current[key] !== value));
}

/** A pin keeps an environment from idle cleanup; kept as stack tags next to the record, read back the same way. */
export interface Pin {
  readonly pinnedBy: string;
  /** ISO 8601. */
  readonly pinnedAt: string;
}

export const PIN_TAGS = { pinnedBy: "qa-k8s:pinned-by", pinnedAt: "qa-k8s:pinned-at" } as const;

export function pinToTags(pin: Pin): Record<string, string> {
  return { [PIN_TAGS.pinnedBy]: pin.pinnedBy, [PIN_TAGS.pinnedAt]: pin.pinnedAt };
}

/** The pin from tags; a pinned-by alone still pins (someone meant to keep it), with an unknown time. */
export function pinFromTags(tags: Readonly<Record<string, string | undefined>>): Pin | undefined {
  const pinnedBy = tags[PIN_TAGS.pinnedBy];
  if (!pinnedBy) return undefined;
  return { pinnedBy, pinnedAt: tags[PIN_TAGS.pinnedAt] ?? "" };
}

/** One row of the driver's list(): the stack's summary from `pulumi stack ls`, with the record from its tags. */
export function environmentSummary(stack: StackSummary, record: DeploymentRecord | undefined): EnvironmentSummary {
  return {
    ticket: ticketOf(stack.name),
    stack: stack.name,
    lastUpdate: stack.lastUpdate,
    updateInProgress: stack.updateInProgress ?? false,
    resourceCount: stack.resourceCount,
    record,
  };
}
