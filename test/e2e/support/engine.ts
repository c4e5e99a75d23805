// What every real-engine test needs around a stack: a private file backend, and checks that nothing is left behind
// and nothing secret leaked into the state.
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import type { Stack } from "@pulumi/pulumi/automation";
import { pulumiEnv } from "../../../scripts/lib/toolchain";

export interface Engine {
  /** Environment for LocalWorkspace: the offline toolchain with this test's own backend directory. */
  readonly envVars: Record<string, string>;
  readonly backendDir: string;
  /** Removes the backend directory. */
  dispose(): void;
}

/** @param extraEnv added to the engine's environment, e.g. `PULUMI_DIY_BACKEND_GZIP: "true"` */
export async function privateEngine(label: string, extraEnv: Record<string, string> = {}): Promise<Engine> {
  const base = await pulumiEnv();
  const backendDir = fs.mkdtempSync(path.join(os.tmpdir(), `qa-k8s-${label}-state-`));
  return {
    envVars: { ...base, ...extraEnv, PULUMI_BACKEND_URL: `file://${backendDir}` },
    backendDir,
    dispose: () => fs.rmSync(backendDir, { recursive: true, force: true }),
  };
}

function filesUnder(dir: string): string[] {
  if (!fs.existsSync(dir)) return [];
  return fs
    .readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile())
    .map((e) => path.join(e.parentPath, e.name));
}

/** Lock files the file backend holds for running (or crashed) updates. */
export function stackLocks(engine: Engine): string[] {
  return filesUnder(path.join(engine.backendDir, ".pulumi", "locks"));
}

/** Stacks the backend still knows of. */
export function remainingStacks(engine: Engine): string[] {
  return filesUnder(path.join(engine.backendDir, ".pulumi", "stacks")).filter((f) => /\.json(\.gz)?$/.test(f));
}

/** The file backend's state file of a stack of this project. */
export function stateFilePath(engine: Engine, stack: string): string {
  return path.join(engine.backendDir, ".pulumi", "stacks", "qa-k8s", `${stack}.json`);
}

/**
 * A stack's state as `pulumi stack export` gives it ({version, deployment}), read from the file backend's state file
 * itself: right after a SIGKILL the CLI may not read the stack at all (a half-written metadata sidecar, which the
 * driver repairs before its own next run: automation/sidecars.ts), and a test must not depend on it to look.
 */
export function stateOnDisk(engine: Engine, stack: string): { version: number; deployment: Record<string, unknown> } {
  const state = JSON.parse(fs.readFileSync(stateFilePath(engine, stack), "utf8"));
  return { version: state.version, deployment: state.checkpoint.latest ?? {} };
}

/** After a failed test: destroy and remove the stack if it still exists, then drop the backend. */
export async function abandon(engine: Engine | undefined, stack: Stack | undefined): Promise<void> {
  if (engine && stack && remainingStacks(engine).length > 0) {
    await stack.destroy().catch(() => undefined);
    await stack.workspace.removeStack(stack.name).catch(() => undefined);
  }
  engine?.dispose();
}
