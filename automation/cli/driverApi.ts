// What the CLI needs of the driver, as an interface: the command layer is unit-tested against a fake, and the real
// Driver is built behind a factory. status, logs and capacity are built in parallel with the CLI; until they are on
// Driver, the factory answers them with a clear "not available in this build" (and uses them as soon as they exist).
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
  capacity(): Promise<CapacityReport>;
}

export type DriverFactory = (settings: DriverSettings) => DriverApi;

type ObserveMethods = Pick<DriverApi, "status" | "logs" | "capacity">;

/** The real driver. The three observe methods go to Driver's own when it has them. */
export const createDriver: DriverFactory = (settings) => wrapDriver(new Driver(settings));

export function wrapDriver(driver: Driver & Partial<ObserveMethods>): DriverApi {
  const missing = (name: string): never => {
    throw new Error(`qa-env ${name} is not available in this build: the driver has no ${name}() yet`);
  };
  return {
    deploy: (ticket, options) => driver.deploy(ticket, options),
    preview: (ticket, options) => driver.preview(ticket, options),
    destroy: (ticket, options) => driver.destroy(ticket, options),
    list: () => driver.list(),
    status: async (ticket) => (driver.status ? driver.status(ticket) : missing("status")),
    logs: async (ticket, service, options) => (driver.logs ? driver.logs(ticket, service, options) : missing("logs")),
    capacity: async () => (driver.capacity ? driver.capacity() : missing("capacity")),
  };
}
