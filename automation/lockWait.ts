// Runs an engine operation that takes the stack lock (up, refresh, destroy), waiting while ANOTHER process holds it.
// On a file backend the lock files are read first: a lock whose process is gone on this host is a crashed run's and
// is removed (a live one never is, and `pulumi cancel` is never run: on a DIY backend it only deletes the lock file
// and leaves a live update running). Any backend reports a held lock as ConcurrentUpdateError, which is waited out too.
import * as fs from "node:fs";
import { ConcurrentUpdateError } from "@pulumi/pulumi/automation";
import { CancelledError, LockedError } from "./exitCodes";
import {
  describeHolder,
  describeLocks,
  holdersFromErrorText,
  HostView,
  isStale,
  readStackLocks,
  StackLock,
} from "./locks";
import type { DriverMessage } from "./types";

export interface LockWaitOptions {
  readonly ticket: string;
  readonly stackName: string;
  /** The stack's lock folder on a file backend; undefined on other backends. */
  readonly lockDir?: string;
  readonly timeoutMs: number;
  readonly pollMs: number;
  readonly host: HostView;
  readonly signal?: AbortSignal;
  readonly onMessage: (kind: DriverMessage["kind"], text: string) => void;
  readonly now?: () => number;
}

export async function withLockWait<T>(
  run: () => Promise<T>,
  options: LockWaitOptions,
): Promise<{ result: T; lockWaitMs: number }> {
  const now = options.now ?? Date.now;
  const started = now();
  let lastHolders = "";
  for (;;) {
    throwIfAborted(options);
    const live = options.lockDir ? clearStaleLocks(readStackLocks(options.lockDir), options) : [];
    let held: readonly StackLock[] = live;
    if (held.length === 0) {
      try {
        // The wait ends when the run starts; the run's own duration is not lock waiting.
        const lockWaitMs = waited(started, now);
        return { result: await run(), lockWaitMs };
      } catch (error) {
        if (!(error instanceof ConcurrentUpdateError)) throw error;
        held = holdersFromErrorText(error.message).map((holder) => ({ holder }));
      }
    }
    const holders = describeLocks(held);
    const waitedMs = waited(started, now);
    if (waitedMs >= options.timeoutMs) {
      throw new LockedError(
        `${options.ticket}: stack ${options.stackName} is still locked by ${holders} after waiting ` +
          `${Math.round(waitedMs / 1000)} s; wait for that run to end, or, if its process is gone on its host, remove ` +
          `the lock with: pulumi cancel --stack ${options.stackName}`,
        { ticket: options.ticket },
      );
    }
    if (holders !== lastHolders) {
      options.onMessage(
        "waiting-for-lock",
        `${options.ticket}: stack ${options.stackName} is locked by ${holders}; waiting up to ` +
          `${Math.round(options.timeoutMs / 1000)} s`,
      );
      lastHolders = holders;
    }
    await sleep(Math.min(options.pollMs, Math.max(1, options.timeoutMs - waitedMs)), options.signal);
  }
}

function clearStaleLocks(locks: StackLock[], options: LockWaitOptions): StackLock[] {
  return locks.filter((lock) => {
    if (!lock.file || !isStale(lock, options.host)) return true;
    // The file backend (gocloud's fileblob) keeps a `<lock>.json.attrs` beside each lock: remove both.
    fs.rmSync(lock.file, { force: true });
    fs.rmSync(`${lock.file}.attrs`, { force: true });
    options.onMessage(
      "cleared-stale-lock",
      `${options.ticket}: removed the lock of a crashed run, ${describeHolder(lock.holder)}: that process no ` +
        `longer exists on ${options.host.hostname}`,
    );
    return false;
  });
}

function waited(started: number, now: () => number): number {
  return Math.max(0, now() - started);
}

function throwIfAborted(options: LockWaitOptions): void {
  if (options.signal?.aborted) {
    throw new CancelledError(`${options.ticket}: cancelled before the engine started`, { ticket: options.ticket });
  }
}

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(done, ms);
    signal?.addEventListener("abort", done, { once: true });
    function done() {
      clearTimeout(timer);
      signal?.removeEventListener("abort", done);
      resolve();
    }
  });
}
