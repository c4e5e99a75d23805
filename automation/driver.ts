// The one place that drives feature stacks: deploy, preview, destroy, list, status, logs and capacity, for the qa-env
// CLI (Bamboo and people) and, later, the HTTP service and overlay environments. Input is checked with the
// environment wing's own rules before anything starts; runs are queued per ticket; other processes' locks are waited
// for; a crashed run's lock and pending operations are cleaned up before the next run; progress comes from engine
// events.
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { LocalWorkspace, OpMap, PulumiCommand, Stack } from "@pulumi/pulumi/automation";
import type { Feature } from "../environments/feature";
import { checkedServices, featureOf, isClusterStack } from "./driverInput";
import { BadInputError } from "./exitCodes";
import { fileBackendDir, fileBackendPaths, HostView, THIS_HOST } from "./locks";
import { BackendPreparation } from "./backendReady";
import { capacityReport, CapacityOptions, environmentCluster, preflightCapacity } from "./capacityGuard";
import type { EnvironmentStatus, LogLine, LogOptions } from "./observeTypes";
import { absentEnvironment, readLogs, readStatus } from "./statusRead";
import { withLockWait } from "./lockWait";
import { KeyedQueue, QueueTicket } from "./queue";
import { changedTags, environmentSummary, nextRecord, recordFromTags, recordToTags, whoDeploys } from "./records";
import { recoverPendingOperations } from "./recoveryRun";
import { openStack, PROJECT_DIR, pulumiCommand } from "./stack";
import {
  asDriverError,
  checkParallel,
  DESTROY_ENV,
  engineOptions,
  resourceCount,
  setFeatureServices,
} from "./runSupport";
import { ProgressTracker } from "./progress";
import type {
  DeployOptions,
  DeployResult,
  DestroyResult,
  DriverMessage,
  EnvironmentSummary,
  PreviewResult,
  RunOptions,
  RunResult,
} from "./types";

/** State folder when PULUMI_BACKEND_URL is unset: the same default as scripts/toolchain and `npm start`. */
export const DEFAULT_BACKEND_DIR = path.join(os.homedir(), ".cache", "qa-k8s", "state");
/**
 * Engine operations at once: more than the environment's 236 resources, so none waits for a slot. A step holds its
 * slot while the provider awaits readiness (a Service used to take ~10 s for its endpoints; a Deployment still waits
 * for its pods), so at 64 the awaits held back other steps. First up measured by `npm run bench:e2e`: 118 s at the engine's default (4 × CPUs = 8 here), 38 s at 64,
 * 33 s at 256 (README, "Speed").
 */
export const DEFAULT_PARALLEL = 256;
export const DEFAULT_MAX_CONCURRENT_DEPLOYS = 4;
export const DEFAULT_LOCK_TIMEOUT_MS = 15 * 60_000;

export interface DriverSettings {
  /** Environment of every engine run (PATH, QA_PULUMI_BIN, PULUMI_CONFIG_PASSPHRASE, ...). @default process.env */
  readonly envVars?: Readonly<Record<string, string | undefined>>;
  /** @default envVars.PULUMI_BACKEND_URL, else file://~/.cache/qa-k8s/state */
  readonly backendUrl?: string;
  /** Tickets deployed at once by this driver; more wait in its queue. @default 4 */
  readonly maxConcurrentDeploys?: number;
  /** Engine operations at once within one run (`up --parallel`). @default 256 */
  readonly parallel?: number;
  /** How long to wait for another process's lock before LockedError. @default 15 minutes */
  readonly lockTimeoutMs?: number;
  /** @default 2000 */
  readonly lockPollMs?: number;
  /** @default the project directory */
  readonly workDir?: string;
  readonly onMessage?: (message: DriverMessage) => void;
  /** Host identity for stale-lock checks. @default this host */
  readonly host?: HostView;
}

export class Driver {
  readonly envVars: Record<string, string>;
  readonly backendUrl: string;
  private readonly queue: KeyedQueue;
  private readonly workDir: string;
  private readonly parallel: number;
  private stackOpening: Promise<unknown> = Promise.resolve();
  private command?: Promise<PulumiCommand | undefined>;
  // Before a command reads the backend: a file backend's broken sidecars go; a postgres:// one is opened past the race
  // to create its table (backendReady.ts).
  private readonly backend = new BackendPreparation(
    () => this.backendUrl,
    () => this.workspace().then((w) => w.listStacks()),
    (ticket, file) =>
      this.message(ticket, "repaired", `removed ${file}: a metadata sidecar that a killed run left half-written`),
  );

  constructor(private readonly settings: DriverSettings = {}) {
    const env = Object.fromEntries(
      Object.entries(settings.envVars ?? process.env).filter((e): e is [string, string] => e[1] !== undefined),
    );
    this.backendUrl = settings.backendUrl ?? env.PULUMI_BACKEND_URL ?? `file://${DEFAULT_BACKEND_DIR}`;
    const backendDir = fileBackendDir(this.backendUrl);
    if (backendDir) fs.mkdirSync(backendDir, { recursive: true });
    // Type-checking is `npm run typecheck`'s job (CI, before any deploy); the engine would otherwise type-check the
    // whole program again on every run, seconds of every no-op deploy (README, "Speed").
    this.envVars = { PULUMI_NODEJS_TRANSPILE_ONLY: "true", ...env, PULUMI_BACKEND_URL: this.backendUrl };
    this.queue = new KeyedQueue(settings.maxConcurrentDeploys ?? DEFAULT_MAX_CONCURRENT_DEPLOYS);
    this.workDir = settings.workDir ?? PROJECT_DIR;
    this.parallel = checkParallel(settings.parallel ?? DEFAULT_PARALLEL, "parallel");
  }

  async deploy(ticket: string, options: DeployOptions = {}): Promise<DeployResult> {
    const feature = featureOf(ticket);
    const services = options.services && checkedServices(options.services, options, this.workDir);
    const who = whoDeploys(options, this.envVars);
    const parallel = checkParallel(options.parallel ?? this.parallel, "parallel");
    return this.run(feature, "up", options, async (stack, base) => {
      const tags = await stack.workspace.listTags(stack.name);
      const previous = recordFromTags(tags);
      // A NEW environment must fit (exit code 3). One the driver deployed before is an update, never refused: skip
      // the config read and cluster queries (the program's own guard still checks a namespace that has gone).
      if (!previous) await preflightCapacity(stack, feature, this.envVars, this.workDir, services);
      await setFeatureServices(stack, services);
      const tracker = new ProgressTracker(feature.name, "up", Date.now(), previous?.resourceCount ?? 0);
      const up = await stack.up(engineOptions(tracker, options, parallel));
      const outputs = Object.fromEntries(
        Object.entries(up.outputs).map(([k, v]) => [k, v.secret ? "[secret]" : v.value]),
      );
      const changes = tracker.summaryChanges ?? up.summary.resourceChanges ?? {};
      const record = nextRecord(previous, who, new Date(), resourceCount(changes));
      for (const [key, value] of Object.entries(changedTags(tags, recordToTags(record))))
        await stack.workspace.setTag(stack.name, key, value);
      return {
        ...base(changes),
        outputs,
        namespace: String(outputs.namespace ?? feature.name),
        url: String(outputs.url ?? ""),
        images: (outputs.images ?? {}) as Record<string, string>,
        featureServices: (outputs.featureServices ?? []) as string[],
        record,
      };
    });
  }

  async preview(ticket: string, options: DeployOptions = {}): Promise<PreviewResult> {
    const feature = featureOf(ticket);
    const services = options.services && checkedServices(options.services, options, this.workDir);
    const parallel = checkParallel(options.parallel ?? this.parallel, "parallel");
    return this.run(feature, "preview", options, async (stack, base) => {
      await setFeatureServices(stack, services);
      const tracker = new ProgressTracker(feature.name, "preview", Date.now());
      const preview = await stack.preview(engineOptions(tracker, options, parallel));
      return base(preview.changeSummary);
    });
  }

  /** Destroys the environment's resources and removes its stack (and Pulumi.<stack>.yaml). */
  async destroy(ticket: string, options: RunOptions = {}): Promise<DestroyResult> {
    const feature = featureOf(ticket);
    const parallel = checkParallel(options.parallel ?? this.parallel, "parallel");
    return this.run(feature, "destroy", options, async (stack, base) => {
      const tracker = new ProgressTracker(feature.name, "destroy", Date.now());
      const destroyed = await stack.destroy(engineOptions(tracker, options, parallel));
      await stack.workspace.removeStack(stack.name);
      return base(tracker.summaryChanges ?? destroyed.summary.resourceChanges ?? {});
    });
  }

  /** Every feature environment of the backend, with who and when from its tags; never runs the engine. */
  async list(): Promise<EnvironmentSummary[]> {
    await this.backend.ready("");
    const workspace = await this.workspace();
    const stacks = (await workspace.listStacks()).filter((s) => !isClusterStack(s.name));
    return Promise.all(
      stacks.map(async (s) => environmentSummary(s, recordFromTags(await workspace.listTags(s.name)))),
    );
  }

  /** Per service: image, branch or master, replicas, restarts, active/updating/failing/pending/scaled-down and why. */
  async status(ticket: string): Promise<EnvironmentStatus> {
    const feature = featureOf(ticket);
    const stack = await this.existing(feature);
    if (!stack) return absentEnvironment(feature);
    return readStatus(stack, feature, this.envVars);
  }

  /** The service's container log, every replica, each line with its pod (`kubectl logs` through the API server). */
  async logs(ticket: string, service: string, options: LogOptions = {}): Promise<LogLine[]> {
    const feature = featureOf(ticket);
    const stack = await this.existing(feature);
    if (!stack) throw new BadInputError(`${feature.ticket}: no environment (stack ${feature.name} does not exist)`);
    return readLogs(stack, feature, service, options, this.envVars);
  }

  /** How many more environments of the catalog's size fit on the cluster, and what limits them. */
  capacity(options: CapacityOptions = {}) {
    return capacityReport(this.envVars, this.workDir, options);
  }

  // Queue → open → (lock wait → recover → operation) → result; engine errors become driver errors.
  private async run<T extends RunResult>(
    feature: Feature,
    operation: "up" | "preview" | "destroy",
    options: RunOptions,
    body: (stack: Stack, base: (changes: OpMap) => RunResult) => Promise<T>,
  ): Promise<T> {
    const started = Date.now();
    return this.queue.run(feature.name, async (queued: QueueTicket) => {
      if (queued.waitedForSameKey)
        this.message(
          feature.ticket,
          "queued",
          `${feature.name}: waited ${queued.waitedMs} ms behind another run of this ticket`,
        );
      try {
        const stack = await this.open(feature, options, operation);
        const files = fileBackendPaths(this.backendUrl, "qa-k8s", feature.name);
        let recovered = 0;
        let recoveryMs = 0;
        let engineStarted = 0;
        const work = async () => {
          const recoveryStart = Date.now();
          // Preview takes no lock and must not change state: it only reports; the next up recovers.
          if (operation !== "preview") {
            recovered = await recoverPendingOperations(stack, {
              cluster: () => environmentCluster(stack, this.envVars),
              stateFile: files.stateFile,
              locksVisible: files.lockDir !== undefined,
              signal: options.signal,
              onMessage: (kind, text) => this.message(feature.ticket, kind, text),
            });
          }
          recoveryMs = Date.now() - recoveryStart;
          engineStarted = Date.now();
          return body(stack, (changes) => ({
            ticket: feature.ticket,
            stack: feature.name,
            changes,
            waitedForSameTicket: queued.waitedForSameKey,
            recoveredPendingOperations: recovered,
            durations: {
              queuedMs: queued.waitedMs,
              lockWaitMs: 0,
              recoveryMs,
              engineMs: Date.now() - engineStarted,
              totalMs: Date.now() - started,
            },
          }));
        };
        const { result, lockWaitMs } = await withLockWait(work, {
          ticket: feature.ticket,
          stackName: feature.name,
          lockDir: files.lockDir,
          timeoutMs: this.settings.lockTimeoutMs ?? DEFAULT_LOCK_TIMEOUT_MS,
          pollMs: this.settings.lockPollMs ?? 2000,
          host: this.settings.host ?? THIS_HOST,
          signal: options.signal,
          onMessage: (kind, text) => this.message(feature.ticket, kind, text),
        });
        return { ...result, durations: { ...result.durations, lockWaitMs, totalMs: Date.now() - started } };
      } catch (error) {
        throw asDriverError(error, feature, operation, options.signal);
      }
    });
  }

  // createOrSelectStack writes the CLI's per-project "current stack" (pulumi/pulumi#8186); every later command passes
  // --stack, so only the opening itself is serialised in this process.
  private async open(feature: Feature, options: RunOptions, operation: "up" | "preview" | "destroy"): Promise<Stack> {
    await this.backend.ready(feature.ticket);
    const envVars = operation === "destroy" ? { ...this.envVars, ...DESTROY_ENV } : this.envVars;
    const opening = this.stackOpening.then(async () =>
      openStack({
        stackName: feature.name,
        envVars,
        workDir: this.workDir,
        config: options.config,
        pulumiCommand: await this.pulumiCommand(),
      }),
    );
    this.stackOpening = opening.catch(() => undefined);
    return opening;
  }

  // A stack that is there, without creating one (status and logs of an unknown ticket must not add it to list()).
  private async existing(feature: Feature): Promise<Stack | undefined> {
    await this.backend.ready(feature.ticket);
    const opts = { envVars: this.envVars, pulumiCommand: await this.pulumiCommand() };
    return LocalWorkspace.selectStack({ stackName: feature.name, workDir: this.workDir }, opts).catch(() => undefined);
  }

  private pulumiCommand(): Promise<PulumiCommand | undefined> {
    this.command ??= pulumiCommand(this.envVars);
    return this.command;
  }

  private async workspace() {
    return LocalWorkspace.create({
      workDir: this.workDir,
      envVars: this.envVars,
      pulumiCommand: await this.pulumiCommand(),
    });
  }

  private message(ticket: string, kind: DriverMessage["kind"], text: string): void {
    this.settings.onMessage?.({ time: new Date().toISOString(), ticket, kind, text });
  }
}
