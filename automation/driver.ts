// The one place that drives feature stacks: deploy, preview, destroy and list, for CI, people and (later) the CLI,
// the HTTP service and overlay environments. Input is checked with the environment wing's own rules before anything
// starts; runs are queued per ticket; other processes' locks are waited for; a crashed run's lock and pending
// operations are cleaned up before the next run; progress comes from engine events.
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { LocalWorkspace, OpMap, Stack } from "@pulumi/pulumi/automation";
import { featureFromStack, Feature } from "../environments/feature";
import { CatalogError, parseCatalog } from "../environments/catalog";
import { checkFeatureServices, ENVIRONMENT_DEFAULTS } from "../environments/config";
import { BadInputError } from "./exitCodes";
import { capacityReport, CapacityOptions, preflightCapacity } from "./capacityGuard";
import { fileBackendDir, HostView, stackLockDir, THIS_HOST } from "./locks";
import { withLockWait } from "./lockWait";
import { KeyedQueue, QueueTicket } from "./queue";
import { changedTags, DeploymentRecord, nextRecord, recordFromTags, recordToTags, whoDeploys } from "./records";
import { recoverPendingOperations } from "./recoveryRun";
import { openStack, PROJECT_DIR, pulumiCommand } from "./stack";
import { asDriverError, checkParallel, progressHandler, resourceCount, setFeatureServices } from "./runSupport";
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
/** Engine operations at once. The engine's own default is 4 × CPUs (8 here); the issue measured 113 s at 8, 34 s at 64. */
export const DEFAULT_PARALLEL = 64;
export const DEFAULT_MAX_CONCURRENT_DEPLOYS = 4;
export const DEFAULT_LOCK_TIMEOUT_MS = 15 * 60_000;
/** The cluster stack is not a feature environment: list() skips it and deploy() refuses it. */
const CLUSTER_STACK = "qa";

export interface DriverSettings {
  /** Environment of every engine run (PATH, QA_PULUMI_BIN, PULUMI_CONFIG_PASSPHRASE, ...). @default process.env */
  readonly envVars?: Readonly<Record<string, string | undefined>>;
  /** @default envVars.PULUMI_BACKEND_URL, else file://~/.cache/qa-k8s/state */
  readonly backendUrl?: string;
  /** Tickets deployed at once by this driver; more wait in its queue. @default 4 */
  readonly maxConcurrentDeploys?: number;
  /** Engine operations at once within one run (`up --parallel`). @default 64 */
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

  constructor(private readonly settings: DriverSettings = {}) {
    const env = Object.fromEntries(
      Object.entries(settings.envVars ?? process.env).filter((e): e is [string, string] => e[1] !== undefined),
    );
    this.backendUrl = settings.backendUrl ?? env.PULUMI_BACKEND_URL ?? `file://${DEFAULT_BACKEND_DIR}`;
    const backendDir = fileBackendDir(this.backendUrl);
    if (backendDir) fs.mkdirSync(backendDir, { recursive: true });
    this.envVars = { ...env, PULUMI_BACKEND_URL: this.backendUrl };
    this.queue = new KeyedQueue(settings.maxConcurrentDeploys ?? DEFAULT_MAX_CONCURRENT_DEPLOYS);
    this.workDir = settings.workDir ?? PROJECT_DIR;
    this.parallel = checkParallel(settings.parallel ?? DEFAULT_PARALLEL, "parallel");
  }

  async deploy(ticket: string, options: DeployOptions = {}): Promise<DeployResult> {
    const feature = this.feature(ticket);
    const services = options.services && this.checkServices(options.services, options);
    const who = whoDeploys(options, this.envVars);
    const parallel = checkParallel(options.parallel ?? this.parallel, "parallel");
    return this.run(feature, "up", options, async (stack, base) => {
      await preflightCapacity(stack, feature, this.envVars, this.workDir); // a NEW environment must fit (exit code 3)
      await setFeatureServices(stack, services);
      const tags = await stack.workspace.listTags(stack.name);
      const previous = recordFromTags(tags);
      const tracker = new ProgressTracker(feature.name, "up", Date.now(), previous?.resourceCount ?? 0);
      const up = await stack.up({
        parallel,
        signal: options.signal,
        onOutput: options.onOutput,
        onEvent: progressHandler(tracker, options),
      });
      const outputs = Object.fromEntries(
        Object.entries(up.outputs).map(([k, v]) => [k, v.secret ? "[secret]" : v.value]),
      );
      const changes = up.summary.resourceChanges ?? {};
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
    const feature = this.feature(ticket);
    const services = options.services && this.checkServices(options.services, options);
    const parallel = checkParallel(options.parallel ?? this.parallel, "parallel");
    return this.run(feature, "preview", options, async (stack, base) => {
      await setFeatureServices(stack, services);
      const tracker = new ProgressTracker(feature.name, "preview", Date.now());
      const preview = await stack.preview({
        parallel,
        signal: options.signal,
        onOutput: options.onOutput,
        onEvent: progressHandler(tracker, options),
      });
      return base(preview.changeSummary);
    });
  }

  /** Destroys the environment's resources and removes its stack (and Pulumi.<stack>.yaml). */
  async destroy(ticket: string, options: RunOptions = {}): Promise<DestroyResult> {
    const feature = this.feature(ticket);
    const parallel = checkParallel(options.parallel ?? this.parallel, "parallel");
    return this.run(feature, "destroy", options, async (stack, base) => {
      const tracker = new ProgressTracker(feature.name, "destroy", Date.now());
      const destroyed = await stack.destroy({
        parallel,
        signal: options.signal,
        onOutput: options.onOutput,
        onEvent: progressHandler(tracker, options),
      });
      await stack.workspace.removeStack(stack.name);
      return base(destroyed.summary.resourceChanges ?? {});
    });
  }

  /** Every feature environment of the backend, with who and when from its tags; never runs the engine. */
  async list(): Promise<EnvironmentSummary[]> {
    const workspace = await LocalWorkspace.create({
      workDir: this.workDir,
      envVars: this.envVars,
      pulumiCommand: await pulumiCommand(this.envVars),
    });
    const stacks = (await workspace.listStacks()).filter((s) => s.name.split("/").pop() !== CLUSTER_STACK);
    return Promise.all(
      stacks.map(async (summary): Promise<EnvironmentSummary> => {
        const record: DeploymentRecord | undefined = recordFromTags(await workspace.listTags(summary.name));
        return {
          ticket: ticketOf(summary.name),
          stack: summary.name,
          lastUpdate: summary.lastUpdate,
          updateInProgress: summary.updateInProgress ?? false,
          resourceCount: summary.resourceCount,
          record,
        };
      }),
    );
  }

  /** How many more environments of the catalog's size fit on the cluster, and what limits them. */
  capacity(options: CapacityOptions = {}) {
    return capacityReport(this.envVars, this.workDir, options);
  }

  private feature(ticket: string): Feature {
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
  private checkServices(services: readonly string[], options: RunOptions): string[] {
    const catalogPath = options.config?.catalog?.value ?? ENVIRONMENT_DEFAULTS.catalog;
    const file = path.resolve(this.workDir, catalogPath);
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
          feature,
          "queued",
          `${feature.name}: waited ${queued.waitedMs} ms behind another run of this ticket`,
        );
      try {
        const stack = await this.open(feature, options);
        let recovered = 0;
        let recoveryMs = 0;
        let engineStarted = 0;
        const work = async () => {
          const recoveryStart = Date.now();
          // Preview takes no lock and must not change state: it only reports; the next up recovers.
          if (operation !== "preview") {
            const render = Boolean((await stack.getAllConfig())["qa-k8s:renderTo"]?.value);
            recovered = await recoverPendingOperations(stack, {
              mode: render ? "render" : "cluster",
              signal: options.signal,
              onMessage: (kind, text) => this.message(feature, kind, text),
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
          lockDir: this.lockDir(feature),
          timeoutMs: this.settings.lockTimeoutMs ?? DEFAULT_LOCK_TIMEOUT_MS,
          pollMs: this.settings.lockPollMs ?? 2000,
          host: this.settings.host ?? THIS_HOST,
          signal: options.signal,
          onMessage: (kind, text) => this.message(feature, kind, text),
        });
        return { ...result, durations: { ...result.durations, lockWaitMs, totalMs: Date.now() - started } };
      } catch (error) {
        throw asDriverError(error, feature, operation, options.signal);
      }
    });
  }

  // createOrSelectStack writes the CLI's per-project "current stack" (pulumi/pulumi#8186); every later command passes
  // --stack, so only the opening itself is serialised in this process.
  private async open(feature: Feature, options: RunOptions): Promise<Stack> {
    const opening = this.stackOpening.then(async () =>
      openStack({ stackName: feature.name, envVars: this.envVars, workDir: this.workDir, config: options.config }),
    );
    this.stackOpening = opening.catch(() => undefined);
    return opening;
  }

  private lockDir(feature: Feature): string | undefined {
    const dir = fileBackendDir(this.backendUrl);
    return dir && stackLockDir(dir, "qa-k8s", feature.name);
  }

  private message(feature: Feature, kind: DriverMessage["kind"], text: string): void {
    this.settings.onMessage?.({ time: new Date().toISOString(), ticket: feature.ticket, kind, text });
  }
}

// A stack made by hand may not follow the naming rules; list it under its own name rather than fail the whole list.
function ticketOf(stackName: string): string {
  try {
    return featureFromStack(stackName).ticket;
  } catch {
    return stackName;
  }
}
