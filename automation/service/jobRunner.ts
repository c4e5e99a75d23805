// Runs queued jobs through the driver: claims from the store (one ticket at a time, across replicas), at most
// `maxJobs` at once in this process, the driver's output and progress appended to the job's output, the outcome
// recorded with the driver error's name and exit code. Stopping aborts the runs (the engine gets SIGINT and stops
// safely) and waits for them to record "cancelled".
import * as os from "node:os";
import * as crypto from "node:crypto";
import { CancelledError, exitCodeOf, EXIT_CODES } from "../exitCodes";
import { redact } from "../redact";
import { ProgressReporter } from "../progress";
import type { DriverApi } from "../cli/driverApi";
import type { ConfigEntry } from "../stack";
import type { DriverMessage } from "../types";
import type { Job, JobStore } from "./contracts";
import type { JobEvents } from "./events";

export interface RunnerLog {
  info(object: object, message: string): void;
  error(object: object, message: string): void;
}

export interface RunnerDeps {
  readonly store: JobStore;
  readonly driver: DriverApi;
  readonly events: JobEvents;
  readonly log: RunnerLog;
  readonly owner?: string;
  /** @default 4 */
  readonly maxJobs?: number;
  /** Stack config for a ticket's runs (QA_STACK_CONFIG, placeholders filled). */
  readonly stackConfig?: (ticket: string) => Record<string, ConfigEntry> | undefined;
  /** How often to look for jobs other replicas (or a restart) left queued. @default 1000 */
  readonly pollMs?: number;
}

/** How often a running job's new output is written (and SSE readers woken). */
export const OUTPUT_BATCH_MS = 200;

export const newOwnerId = (): string => `${os.hostname()}:${process.pid}:${crypto.randomBytes(4).toString("hex")}`;

/** The recorded error of a failed run: driver errors keep their class and exit code, anything else is internal. */
export function jobError(error: unknown): NonNullable<Job["error"]> {
  const code = exitCodeOf(error);
  return {
    name: error instanceof Error ? error.name : "InternalError",
    exitCode: code === EXIT_CODES.OK ? EXIT_CODES.INTERNAL : code,
    // An engine error can quote PULUMI_BACKEND_URL (postgres://user:password@…): the job history never holds it.
    message: redact(error instanceof Error ? error.message : String(error)),
  };
}

export class JobRunner {
  readonly owner: string;
  private readonly maxJobs: number;
  private readonly running = new Map<string, { job: Job; abort: AbortController; done: Promise<void> }>();
  private timer?: NodeJS.Timeout;
  private pumping?: Promise<void>;
  private again = false;
  private stopping = false;

  constructor(private readonly deps: RunnerDeps) {
    this.owner = deps.owner ?? newOwnerId();
    this.maxJobs = deps.maxJobs ?? 4;
  }

  /** Marks what a dead process left running as interrupted, then works the queue. */
  async start(): Promise<Job[]> {
    const orphans = await this.deps.store.interruptOrphans(this.owner);
    for (const job of orphans) {
      this.deps.log.info({ jobId: job.id, ticket: job.ticket }, "job interrupted by a previous stop of the service");
      this.deps.events.changed(job.id);
    }
    this.timer = setInterval(() => this.wake(), this.deps.pollMs ?? 1000);
    this.timer.unref();
    this.wake();
    return orphans;
  }

  get active(): number {
    return this.running.size;
  }

  /** Look for work now (after an enqueue); concurrent calls coalesce. */
  wake(): void {
    if (this.stopping) return;
    if (this.pumping) {
      this.again = true;
      return;
    }
    this.pumping = this.pump()
      .catch((error) => this.deps.log.error({ err: String(error) }, "claiming jobs failed; retrying at the next poll"))
      .finally(() => {
        this.pumping = undefined;
        if (this.again) {
          this.again = false;
          this.wake();
        }
      });
  }

  /** A driver notice (queued, waiting for a lock, recovering) goes into the output of the ticket's running job. */
  driverMessage(message: DriverMessage): void {
    for (const { job } of this.running.values())
      if (job.ticket.toUpperCase() === message.ticket.toUpperCase())
        void this.deps.store
          .appendOutput(job.id, `${message.time} ${message.text}\n`)
          .then(() => this.deps.events.changed(job.id));
  }

  private async pump(): Promise<void> {
    while (!this.stopping && this.running.size < this.maxJobs) {
      const job = await this.deps.store.claimNext(this.owner);
      if (!job) return;
      const abort = new AbortController();
      const entry = { job, abort, done: Promise.resolve() };
      entry.done = this.run(job, abort.signal).finally(() => {
        this.running.delete(job.id);
        this.wake();
      });
      this.running.set(job.id, entry);
    }
  }

  private async run(job: Job, signal: AbortSignal): Promise<void> {
    const { store, driver, events, log } = this.deps;
    // The engine prints thousands of lines: they are written in batches (one write per OUTPUT_BATCH_MS), in order,
    // and the last batch is written before the job is finished.
    let pending = "";
    let timer: NodeJS.Timeout | undefined;
    let writes = Promise.resolve();
    const flush = () => {
      timer = undefined;
      const text = pending;
      pending = "";
      if (text) writes = writes.then(() => store.appendOutput(job.id, redact(text))).then(() => events.changed(job.id));
    };
    const append = (text: string) => {
      pending += text;
      timer ??= setTimeout(flush, OUTPUT_BATCH_MS);
    };
    const reporter = new ProgressReporter({ mode: "plain", write: append });
    const base = {
      config: this.deps.stackConfig?.(job.ticket),
      signal,
      onOutput: append,
      onProgress: (snapshot: Parameters<ProgressReporter["update"]>[0]) => reporter.update(snapshot),
    };
    log.info({ jobId: job.id, ticket: job.ticket, kind: job.kind, requestedBy: job.requestedBy }, "job started");
    append(`${new Date().toISOString()} ${job.kind} ${job.ticket} for ${job.requestedBy} (${job.reason})\n`);
    let outcome: Pick<Job, "state" | "result" | "error">;
    try {
      const result =
        job.kind === "deploy"
          ? await driver.deploy(job.ticket, { ...base, services: job.services, deployer: job.requestedBy })
          : await driver.destroy(job.ticket, base);
      outcome = { state: "succeeded", result };
    } catch (error) {
      const cancelled = error instanceof CancelledError || signal.aborted;
      outcome = { state: cancelled ? "cancelled" : "failed", error: jobError(error) };
    }
    append(
      `${new Date().toISOString()} ${job.kind} ${job.ticket} ${outcome.state}${outcome.error ? `: ${outcome.error.message}` : ""}\n`,
    );
    if (timer) clearTimeout(timer);
    flush();
    await writes.catch((error) => log.error({ jobId: job.id, err: String(error) }, "job output could not be saved"));
    const finished = await store.finish(job.id, outcome);
    events.changed(job.id);
    log.info({ jobId: job.id, ticket: job.ticket, state: finished.state }, "job ended");
  }

  /** Cancels every run (SIGINT to the engine), waits for each to record its outcome, stops claiming. */
  async stop(): Promise<void> {
    this.stopping = true;
    if (this.timer) clearInterval(this.timer);
    await this.pumping;
    const runs = [...this.running.values()];
    for (const run of runs) run.abort.abort();
    await Promise.all(runs.map((run) => run.done.catch(() => undefined)));
  }
}
