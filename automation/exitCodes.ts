// Exit codes of the driver, for the qa-env CLI that Bamboo runs and for any caller that must tell "fix your
// input" from "try again later" from "the deploy itself failed". Every error the driver throws on purpose is one of
// the classes below; anything else is a bug or an unexpected environment and maps to INTERNAL.

export const EXIT_CODES = {
  OK: 0,
  INTERNAL: 1,
  /** Bad ticket, unknown service, bad option: nothing was started. */
  BAD_INPUT: 2,
  /** The cluster has no room for a new environment (the capacity guard). */
  CAPACITY: 3,
  /** Another process held the stack longer than the lock timeout. */
  LOCKED: 4,
  /** The engine ran and the update (or destroy) failed. */
  FAILED: 5,
  /** Cancelled through the AbortSignal (Ctrl-C, Bamboo stopping the job). */
  CANCELLED: 6,
} as const;

export type ExitCode = (typeof EXIT_CODES)[keyof typeof EXIT_CODES];

/** Base of every error the driver throws on purpose; `exitCode` tells the CLI what to return. */
export abstract class DriverError extends Error {
  abstract readonly exitCode: ExitCode;
  /** The ticket the error is about, when there is one. */
  readonly ticket?: string;

  constructor(message: string, options: { ticket?: string; cause?: unknown } = {}) {
    super(message, { cause: options.cause });
    this.name = new.target.name;
    this.ticket = options.ticket;
  }
}

export class BadInputError extends DriverError {
  readonly exitCode = EXIT_CODES.BAD_INPUT;
}

export class CapacityError extends DriverError {
  readonly exitCode = EXIT_CODES.CAPACITY;
}

export class LockedError extends DriverError {
  readonly exitCode = EXIT_CODES.LOCKED;
}

export class DeployFailedError extends DriverError {
  readonly exitCode = EXIT_CODES.FAILED;
}

export class CancelledError extends DriverError {
  readonly exitCode = EXIT_CODES.CANCELLED;
}

/** The exit code for an outcome: 0 without an error, the error's own code for driver errors, INTERNAL otherwise. */
export function exitCodeOf(error: unknown): ExitCode {
  if (error === undefined || error === null) return EXIT_CODES.OK;
  if (error instanceof DriverError) return error.exitCode;
  return EXIT_CODES.INTERNAL;
}
