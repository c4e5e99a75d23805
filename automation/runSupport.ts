// Small pieces of one driver run that talk to a Stack: the feature-services config, progress wiring, and turning the
// engine's errors into the driver's error classes (and so exit codes).
import { CommandError, EngineEvent, OpMap, Stack } from "@pulumi/pulumi/automation";
import type { Feature } from "../environments/feature";
import { BadInputError, CancelledError, DeployFailedError, DriverError } from "./exitCodes";
import { ProgressTracker } from "./progress";
import { redact } from "./redact";
import type { RunOptions } from "./types";

/**
 * Destroy saves the state once at the end instead of after every step. Each checkpoint rewrites the whole state
 * (~1.2 MB for 236 resources, plus its .bak) in one serial loop, and with the namespace's objects left to the namespace
 * (deletedWith) those writes were most of a destroy: 40 s of it, 15 s without (README, "Speed"). Safe for destroy
 * only: a destroy killed half-way leaves the state from before it, and the next destroy converges, since deleting
 * what is already gone succeeds. Up keeps its checkpoints: crash recovery needs their pending operations.
 */
export const DESTROY_ENV = { PULUMI_SKIP_CHECKPOINTS: "true" };

const FEATURE_SERVICES = "qa-k8s:featureServices";

/**
 * Sets qa-k8s:featureServices to the list (an empty list is "nothing built on the branch"), or removes it when the
 * caller gave none so the program detects them from the registry. Set through `config set-all --json` with an
 * objectValue: Pulumi.yaml declares the key as an array, which a plain string value would not satisfy.
 */
export async function setFeatureServices(stack: Stack, services: readonly string[] | undefined): Promise<void> {
  if (services) {
    const entry = { value: JSON.stringify(services), objectValue: services, secret: false };
    await stack.setAllConfigJson(JSON.stringify({ [FEATURE_SERVICES]: entry }));
  } else if (FEATURE_SERVICES in (await stack.getAllConfig())) {
    await stack.removeConfig(FEATURE_SERVICES);
  }
}

/** The onEvent of one run: the caller's own handler, then the tracker's snapshot to the caller's progress handler. */
export function progressHandler(tracker: ProgressTracker, options: RunOptions): (event: EngineEvent) => void {
  return (event) => {
    options.onEvent?.(event);
    if (event.summaryEvent) tracker.summaryChanges = event.summaryEvent.resourceChanges;
    if (!options.onProgress) return;
    const step = tracker.observe(event);
    if (step) options.onProgress(tracker.snapshot(Date.now()), step);
  };
}

/** What every engine call of a run gets: parallelism, the cancel signal, the text output, events → progress. */
export function engineOptions(tracker: ProgressTracker, options: RunOptions, parallel: number) {
  return { parallel, signal: options.signal, onOutput: options.onOutput, onEvent: progressHandler(tracker, options) };
}

/** Resources in the stack after an up: everything but what it deleted. */
export function resourceCount(changes: OpMap): number {
  return Object.entries(changes)
    .filter(([op]) => op !== "delete" && op !== "delete-replaced" && op !== "discard")
    .reduce((sum, [, n]) => sum + (n ?? 0), 0);
}

export function checkParallel(value: number, field: string): number {
  if (!Number.isInteger(value) || value < 1 || value > 1024) {
    throw new BadInputError(
      `${field} ${value} must be a whole number from 1 to 1024 (engine operations at once; default 256)`,
    );
  }
  return value;
}

/** Driver errors pass through; an aborted run is CancelledError; any other engine failure is DeployFailedError. */
export function asDriverError(error: unknown, feature: Feature, operation: string, signal?: AbortSignal): unknown {
  if (error instanceof DriverError) return error;
  if (signal?.aborted) {
    return new CancelledError(
      `${feature.ticket}: ${operation} cancelled; the next deploy continues from the saved state`,
      {
        ticket: feature.ticket,
        cause: error,
      },
    );
  }
  if (error instanceof CommandError) {
    return new DeployFailedError(`${feature.ticket}: ${operation} failed: ${engineErrorText(error)}`, {
      ticket: feature.ticket,
      cause: error,
    });
  }
  return error;
}

// The CLI's error lines, without the long progress display that precedes them in stdout; a postgres:// backend's
// password, which Pulumi quotes when it cannot open the backend, removed.
function engineErrorText(error: CommandError): string {
  const text = error.message;
  const stderr = /stderr: ([\s\S]*?)(?:\n\s*err\?:|$)/.exec(text)?.[1]?.trim();
  const lines = (stderr || text).split("\n").filter((line) => line.trim() !== "");
  return redact(lines.slice(-15).join("\n"));
}
