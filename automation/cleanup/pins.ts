// Pinning keeps an environment from idle cleanup (a demo next week, a long test): two stack tags, set and removed
// without the engine, read back with the record by listEnvironments(). A ticket without a stack is an error: a pin
// on nothing would silently protect the next environment of that name.
import { featureOf } from "../driverInput";
import { BadInputError } from "../exitCodes";
import { PIN_TAGS, Pin, pinFromTags, pinToTags, whoDeploys } from "../records";
import type { EnvironmentSummary } from "../types";
import type { CleanupStore } from "./store";

/** An environment as cleanup sees it: the driver's summary and its pin. */
export interface CleanupEnvironment extends EnvironmentSummary {
  readonly pin?: Pin;
}

export interface PinResult {
  readonly ticket: string;
  readonly stack: string;
  readonly pinned: boolean;
  readonly pin?: Pin;
  /** unpin: whether there was a pin to remove. */
  readonly wasPinned?: boolean;
}

async function existingStack(
  store: CleanupStore,
  ticket: string,
  verb: string,
): Promise<{ ticket: string; stack: string }> {
  const feature = featureOf(ticket);
  const stack = (await store.stackNames()).find((name) => name.split("/").pop() === feature.name);
  if (!stack) {
    throw new BadInputError(
      `${feature.ticket}: no environment to ${verb} (stack ${feature.name} does not exist); check the ticket with qa-env list`,
      { ticket: feature.ticket },
    );
  }
  return { ticket: feature.ticket, stack };
}

/** Pins the ticket's environment; `by` is checked like a deployer (default: Bamboo's user, else the OS user). */
export async function pin(
  store: CleanupStore,
  ticket: string,
  options: { by?: string; now?: Date; env?: Readonly<Record<string, string | undefined>> } = {},
): Promise<PinResult> {
  const target = await existingStack(store, ticket, "pin");
  let who;
  try {
    who = whoDeploys({ deployer: options.by }, options.env ?? process.env);
  } catch (error) {
    // whoDeploys names the deployer; here the same rule checks who pins.
    throw new BadInputError((error as Error).message.replace(/^deployer/, "pinned-by"), { ticket: target.ticket });
  }
  const value: Pin = { pinnedBy: who.deployedBy, pinnedAt: (options.now ?? new Date()).toISOString() };
  for (const [key, tag] of Object.entries(pinToTags(value))) await store.setTag(target.stack, key, tag);
  return { ...target, pinned: true, pin: value };
}

export async function unpin(store: CleanupStore, ticket: string): Promise<PinResult> {
  const target = await existingStack(store, ticket, "unpin");
  const tags = await store.listTags(target.stack);
  const wasPinned = pinFromTags(tags) !== undefined;
  for (const key of Object.values(PIN_TAGS)) if (tags[key] !== undefined) await store.removeTag(target.stack, key);
  return { ...target, pinned: false, wasPinned };
}

/** The driver's list with each environment's pin (one more tag read per stack, no engine). */
export async function listEnvironments(
  driver: { list(): Promise<EnvironmentSummary[]> },
  store: CleanupStore,
): Promise<CleanupEnvironment[]> {
  const environments = await driver.list();
  return Promise.all(
    environments.map(async (environment) => {
      const pinned = pinFromTags(await store.listTags(environment.stack));
      return pinned ? { ...environment, pin: pinned } : environment;
    }),
  );
}
