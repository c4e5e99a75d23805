// What the CLI needs of the driver, as an interface: the command layer is unit-tested against a fake, and the real
// Driver (which implements it) is built behind a factory that first checks an engine can run at all.
import * as fs from "node:fs";
import * as path from "node:path";
import type { CapacityOptions } from "../capacityGuard";
import { Driver, DriverSettings } from "../driver";
import type { CapacityReport, EnvironmentStatus, LogLine, LogOptions } from "../observeTypes";
import type {
  DeployOptions,
  DeployResult,
  DestroyResult,
  EnvironmentSummary,
  PreviewResult,
  RunOptions,
} from "../types";

export interface DriverApi {
  deploy(ticket: string, options?: DeployOptions): Promise<DeployResult>;
  preview(ticket: string, options?: DeployOptions): Promise<PreviewResult>;
  destroy(ticket: string, options?: RunOptions): Promise<DestroyResult>;
  list(): Promise<EnvironmentSummary[]>;
  status(ticket: string): Promise<EnvironmentStatus>;
  logs(ticket: string, service: string, options: LogOptions): Promise<LogLine[]>;
  /** `options.config` as a deploy's (kubeconfig, clusterStack, catalog, capacity.headroom*). */
  capacity(options?: CapacityOptions): Promise<CapacityReport>;
}

export type DriverFactory = (settings: DriverSettings) => DriverApi;

/** The real driver. */
export const createDriver: DriverFactory = (settings) => {
  const problem = missingEngine(settings.envVars ?? process.env);
  if (problem) throw new Error(problem);
  return new Driver(settings);
};

/** Why no engine can run (no QA_PULUMI_BIN, no pulumi on the PATH), else undefined: says so instead of "spawn ENOENT". */
export function missingEngine(env: Readonly<Record<string, string | undefined>>): string | undefined {
  if (env.QA_PULUMI_BIN) {
    return fs.existsSync(env.QA_PULUMI_BIN) ? undefined : `QA_PULUMI_BIN ${env.QA_PULUMI_BIN} does not exist`;
  }
  const onPath = (env.PATH ?? "").split(path.delimiter).some((dir) => dir && fs.existsSync(path.join(dir, "pulumi")));
  return onPath
    ? undefined
    : 'the pulumi CLI is not on the PATH and QA_PULUMI_BIN is unset: run eval "$(bash scripts/toolchain --print-env)" ' +
        "for the project's pinned toolchain, or install pulumi 3.248";
}
