// The driver's input checks, before anything starts: a ticket becomes a feature stack by the environment wing's own
// naming rules, and services built on the branch must be apps of the catalog the program will read. Every refusal is
// a BadInputError (exit code 2) carrying the wing's own message.
import * as fs from "node:fs";
import * as path from "node:path";
import { CatalogError, parseCatalog } from "../environments/catalog";
import { checkFeatureServices, ENVIRONMENT_DEFAULTS } from "../environments/config";
import { featureFromStack, Feature } from "../environments/feature";
import { BadInputError } from "./exitCodes";
import type { RunOptions } from "./types";

/** The cluster stack is not a feature environment: list() skips it and deploy() refuses it. */
const CLUSTER_STACK = "qa";

export function isClusterStack(stackName: string): boolean {
  return stackName.split("/").pop() === CLUSTER_STACK;
}

export function featureOf(ticket: string): Feature {
  // featureFromStack reads `org/project/stack` and keeps the last segment: from a ticket that would turn
  // "x; touch /tmp/verbu-1" into the stack verbu-1. A ticket is one name.
  if (ticket.includes("/")) {
    throw new BadInputError(
      `ticket "${ticket}" contains '/': give the Jira ticket alone (e.g. VERBU-6202), or a branch with --branch`,
      { ticket },
    );
  }
  let feature: Feature;
  try {
    feature = featureFromStack(ticket);
  } catch (error) {
    // The environment wing's own message: it names the stack the ticket would become and the rule.
    throw new BadInputError((error as Error).message, { ticket });
  }
  if (feature.name === CLUSTER_STACK) {
    throw new BadInputError(`ticket "${ticket}" names the cluster stack "qa"; use a Jira ticket such as VERBU-6202`, {
      ticket,
    });
  }
  return feature;
}

// The catalog the program will read: the run's qa-k8s:catalog when it sets one, else the project's (a catalog set
// earlier in Pulumi.<stack>.yaml alone is not seen here; the program still refuses unknown services then).
export function checkedServices(services: readonly string[], options: RunOptions, workDir: string): string[] {
  const catalogPath = options.config?.catalog?.value ?? ENVIRONMENT_DEFAULTS.catalog;
  const file = path.resolve(workDir, catalogPath);
  let text: string;
  try {
    text = fs.readFileSync(file, "utf8");
  } catch (error) {
    throw new BadInputError(
      `services: catalog "${catalogPath}" cannot be read (${(error as NodeJS.ErrnoException).code})`,
    );
  }
  try {
    const apps = parseCatalog(text, catalogPath)
      .filter((s) => s.kind === "app")
      .map((s) => s.name);
    checkFeatureServices(services, apps, catalogPath);
  } catch (error) {
    if (error instanceof CatalogError) throw new BadInputError(error.message);
    throw new BadInputError(`services: ${(error as Error).message}`);
  }
  return [...services];
}

// A stack made by hand may not follow the naming rules; list it under its own name rather than fail the whole list.
export function ticketOf(stackName: string): string {
  try {
    return featureFromStack(stackName).ticket;
  } catch {
    return stackName;
  }
}
