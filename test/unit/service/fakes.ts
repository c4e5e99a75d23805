// Test doubles for the service's unit tests: a driver that behaves like the real one where the service depends on
// it (the wing's ticket and service checks, per-ticket records, cancellation through the signal, capacity, streamed
// logs), tokens with known values, and a harness that builds the real server on a temp SQLite store.
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { Writable } from "node:stream";
import type { DriverApi } from "../../../automation/cli/driverApi";
import { checkedServices, featureOf } from "../../../automation/driverInput";
import { BadInputError, CancelledError } from "../../../automation/exitCodes";
import type { CapacityReport, EnvironmentStatus, LogLine } from "../../../automation/observeTypes";
import { PROJECT_DIR } from "../../../automation/stack";
import type { DeployResult, DestroyResult, EnvironmentSummary } from "../../../automation/types";
import { hashToken, TokenEntry } from "../../../automation/service/auth";
import { JobEvents } from "../../../automation/service/events";
import { JobRunner } from "../../../automation/service/jobRunner";
import { buildServer, ServerDeps } from "../../../automation/service/server";
import { SqliteJobStore } from "../../../automation/service/sqliteStore";
import type { DeploymentRecord } from "../../../automation/records";

export const TOKENS = {
  read: "read-token-0123456789",
  deploy: "deploy-token-0123456789",
  admin: "admin-token-0123456789",
};
export const TOKEN_ENTRIES: TokenEntry[] = [
  { name: "reader", sha256: hashToken(TOKENS.read), scopes: ["read"] },
  { name: "deployer", sha256: hashToken(TOKENS.deploy), scopes: ["deploy"] },
  { name: "root", sha256: hashToken(TOKENS.admin), scopes: ["admin"] },
];
export const auth = (scope: keyof typeof TOKENS) => ({ authorization: `Bearer ${TOKENS[scope]}` });

export const CAPACITY: CapacityReport = {
  nodes: [],
  free: { cpuMillis: 8000, memoryBytes: 16e9, pods: 200 },
  perEnvironment: { cpuMillis: 3000, memoryBytes: 6e9, pods: 40 },
  largestPod: { cpuMillis: 500, memoryBytes: 1e9, pods: 1, name: "mysql" },
  environmentsThatFit: 2,
  limitedBy: "memory",
  headroom: { cpuMillis: 0, memoryBytes: 0, pods: 0 },
  quota: { cpuMillis: 4000, memoryBytes: 8e9, pods: 60 },
};

const durations = { queuedMs: 0, lockWaitMs: 0, recoveryMs: 0, engineMs: 5, totalMs: 5 };

/** A deploy held open until release(), to test running/queued/cancelled states. */
export class Gate {
  private opened!: () => void;
  readonly promise = new Promise<void>((resolve) => (this.opened = resolve));
  release = () => this.opened();
}

export class FakeDriver implements DriverApi {
  readonly environments = new Map<string, { record: DeploymentRecord; services: readonly string[] }>();
  readonly calls: { method: string; ticket?: string; services?: readonly string[] }[] = [];
  capacityReport: CapacityReport | Error = CAPACITY;
  /** When set, deploys of that ticket wait for the gate (or the signal). */
  gates = new Map<string, Gate>();
  failWith?: Error;

  async deploy(ticket: string, options: Parameters<DriverApi["deploy"]>[1] = {}): Promise<DeployResult> {
    const feature = featureOf(ticket);
    const services = options.services ? checkedServices(options.services, options, PROJECT_DIR) : [];
    this.calls.push({ method: "deploy", ticket: feature.ticket, services });
    options.onOutput?.(`Updating (${feature.name})\n`);
    options.onProgress?.({
      ticket: feature.ticket,
      operation: "up",
      done: 1,
      total: 2,
      failed: 0,
      byOp: { create: 1 },
      elapsedMs: 10,
    });
    await this.wait(feature.ticket, options.signal);
    if (this.failWith) throw this.failWith;
    const now = new Date().toISOString();
    const previous = this.environments.get(feature.name)?.record;
    const record: DeploymentRecord = {
      deployedBy: options.deployer ?? "os-user",
      deployedBySource: options.deployer ? "option" : "os-user",
      createdAt: previous?.createdAt ?? now,
      lastDeployedAt: now,
      resourceCount: 2,
    };
    this.environments.set(feature.name, { record, services });
    options.onOutput?.(`Resources: 2 created\n`);
    return {
      ticket: feature.ticket,
      stack: feature.name,
      changes: { create: 2 },
      durations,
      waitedForSameTicket: false,
      recoveredPendingOperations: 0,
      outputs: { url: `http://${feature.name}.qa.test`, kubeconfig: "[secret]" },
      namespace: feature.name,
      url: `http://${feature.name}.qa.test`,
      images: { auth: "registry.test/bu/auth:master_latest" },
      featureServices: services,
      record,
    };
  }

  private async wait(ticket: string, signal?: AbortSignal): Promise<void> {
    const gate = this.gates.get(ticket);
    if (!gate) return;
    await new Promise<void>((resolve, reject) => {
      if (signal?.aborted) return reject(new CancelledError(`${ticket}: cancelled`, { ticket }));
      signal?.addEventListener("abort", () =>
        reject(new CancelledError(`${ticket}: cancelled; the engine stopped safely`, { ticket })),
      );
      void gate.promise.then(resolve);
    });
  }

  async preview(): Promise<never> {
    throw new Error("the service never previews");
  }

  async destroy(ticket: string, options: Parameters<DriverApi["destroy"]>[1] = {}): Promise<DestroyResult> {
    const feature = featureOf(ticket);
    this.calls.push({ method: "destroy", ticket: feature.ticket });
    await this.wait(feature.ticket, options.signal);
    this.environments.delete(feature.name);
    return {
      ticket: feature.ticket,
      stack: feature.name,
      changes: { delete: 2 },
      durations,
      waitedForSameTicket: false,
      recoveredPendingOperations: 0,
    };
  }

  async list(): Promise<EnvironmentSummary[]> {
    return [...this.environments].map(([stack, e]) => ({
      ticket: stack.toUpperCase(),
      stack,
      updateInProgress: false,
      resourceCount: 2,
      record: e.record,
    }));
  }

  async status(ticket: string): Promise<EnvironmentStatus> {
    const feature = featureOf(ticket);
    const env = this.environments.get(feature.name);
    return {
      ticket: feature.ticket,
      stack: feature.name,
      namespace: feature.name,
      exists: Boolean(env),
      ...(env ? { url: `http://${feature.name}.qa.test`, record: env.record, ageMs: 1000 } : {}),
      appLinks: env ? { "desktop-web": `http://${feature.name}.qa.test/` } : ({} as Record<string, string>),
      services: env
        ? [
            {
              service: "auth",
              image: "r/bu/auth:master_latest",
              tag: "master_latest",
              builtOnBranch: false,
              readyReplicas: 1,
              desiredReplicas: 1,
              restartCount: 0,
              state: "active" as const,
            },
          ]
        : [],
    };
  }

  async logs(ticket: string, service: string, options: Parameters<DriverApi["logs"]>[2]): Promise<LogLine[]> {
    const feature = featureOf(ticket);
    if (!this.environments.has(feature.name)) throw new Error("no environment");
    if (service !== "auth")
      throw new BadInputError(`${feature.ticket}: service "${service}" is not in the environment (its services: auth)`);
    const lines = [1, 2, 3]
      .map((n) => ({ pod: "auth-0", container: "auth", text: `line ${n}` }))
      .slice(-(options.tail ?? 3));
    if (!options.follow) return lines;
    for (const line of lines) options.onLine?.(line);
    await new Promise<void>((resolve) => options.signal?.addEventListener("abort", () => resolve()));
    return [];
  }

  async capacity(): Promise<CapacityReport> {
    if (this.capacityReport instanceof Error) throw this.capacityReport;
    return this.capacityReport;
  }
}

/** Everything fastify logs, as text, to assert that no token ever appears. */
export class LogCapture extends Writable {
  text = "";
  _write(chunk: Buffer, _encoding: string, done: () => void) {
    this.text += chunk.toString("utf8");
    done();
  }
}

export interface Harness {
  app: Awaited<ReturnType<typeof buildServer>>;
  driver: FakeDriver;
  store: SqliteJobStore;
  runner: JobRunner;
  logs: LogCapture;
  dir: string;
  close(): Promise<void>;
}

export async function harness(extra: Partial<ServerDeps> = {}, driver = new FakeDriver()): Promise<Harness> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "qa-svc-unit-"));
  const store = SqliteJobStore.open(dir);
  const events = new JobEvents();
  const logs = new LogCapture();
  const quiet = { info: () => undefined, error: () => undefined };
  const runner = new JobRunner({ store, driver, events, log: quiet, owner: "test-owner", pollMs: 50 });
  const app = await buildServer({
    driver,
    store,
    tokens: TOKEN_ENTRIES,
    runner,
    events,
    engineProblem: () => undefined,
    logger: { level: "info", stream: logs },
    ...extra,
  });
  await runner.start();
  return {
    app,
    driver,
    store,
    runner,
    logs,
    dir,
    close: async () => {
      await runner.stop();
      await app.close();
      await store.close();
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Polls until the job has ended (the runner works in the background). */
export async function jobEnd(h: Harness, id: string, timeoutMs = 5000) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const job = await h.store.get(id);
    if (job && !["queued", "running"].includes(job.state)) return job;
    if (Date.now() > deadline) throw new Error(`job ${id} still ${job?.state} after ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 10));
  }
}
