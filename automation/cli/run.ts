// One CLI command from start to exit code: cancellation from signals, the driver from its factory, progress and the
// driver's messages on stderr, the result on stdout (text, or one JSON document with --json), every error mapped to
// its exit code. The commands themselves (commands.ts) only say what to call and how to print it.
import { exitCodeOf, DriverError, ExitCode, EXIT_CODES } from "../exitCodes";
import type { DriverSettings } from "../driver";
import { ProgressReporter, progressMode, ProgressSnapshot, StepUpdate } from "../progress";
import type { DriverMessage } from "../types";
import type { CleanupStore } from "../cleanup/store";
import type { DriverApi, DriverFactory } from "./driverApi";
import { cancelOnSignals, SignalSource } from "./signals";

export interface CliIo {
  readonly out: (text: string) => void;
  readonly err: (text: string) => void;
  /** The engine's environment and Bamboo's variables. */
  readonly env: Readonly<Record<string, string | undefined>>;
  readonly stderrIsTTY: boolean;
  readonly signals: SignalSource;
}

export interface GlobalOptions {
  readonly json: boolean;
  readonly parallel?: number;
  readonly lockTimeoutMs?: number;
  readonly backendUrl?: string;
}

export interface CliContext {
  readonly io: CliIo;
  readonly makeDriver: DriverFactory;
  /** Stack tags and namespaces for cleanup and pins, on the driver's backend. @default the real workspace's */
  readonly makeStore?: (driver: DriverApi) => CleanupStore;
}

/** What a command body gets: the driver, the cancel signal, and progress wired to stderr. */
export interface RunScope {
  readonly driver: DriverApi;
  readonly signal: AbortSignal;
  readonly onProgress: (snapshot: ProgressSnapshot, step?: StepUpdate) => void;
}

export interface CommandOutcome<T> {
  readonly result: T;
  /** The human rendering of result; empty when the body printed as it went (logs --follow). */
  readonly text: string;
}

/** The one JSON document a command prints on stdout with --json. */
export type JsonDocument = { ok: true; command: string; result: unknown } | ErrorDocument;

export interface ErrorDocument {
  ok: false;
  command: string;
  exitCode: ExitCode;
  error: { type: string; message: string; ticket?: string };
}

export function errorDocument(command: string, error: unknown): ErrorDocument {
  const code = exitCodeOf(error);
  const message = error instanceof Error ? error.message : String(error);
  const type = error instanceof DriverError ? error.name : "InternalError";
  const ticket = error instanceof DriverError ? error.ticket : undefined;
  return {
    ok: false,
    command,
    exitCode: code === EXIT_CODES.OK ? EXIT_CODES.INTERNAL : code,
    error: { type, message, ticket },
  };
}

const EXIT_NAMES: Record<ExitCode, string> = {
  0: "ok",
  1: "internal error",
  2: "bad input, nothing was started",
  3: "no capacity for a new environment",
  4: "locked by another run",
  5: "failed",
  6: "cancelled",
};

export function errorText(command: string, error: unknown): string {
  const code = errorDocument(command, error).exitCode;
  const message = error instanceof Error ? error.message : String(error);
  return `qa-env ${command}: ${message}\n(exit ${code}: ${EXIT_NAMES[code]})\n`;
}

/** Prints an error (a JSON document on stdout with --json, text on stderr otherwise) and returns its exit code. */
export function reportError(io: CliIo, json: boolean, command: string, error: unknown): ExitCode {
  const document = errorDocument(command, error);
  if (json) io.out(`${JSON.stringify(document)}\n`);
  else io.err(errorText(command, error));
  return document.exitCode;
}

export async function runCommand<T>(
  context: CliContext,
  command: string,
  globals: GlobalOptions,
  /** Checks the input (throwing BadInputError) and returns the work; runs before the driver is built. */
  prepare: () => Promise<(scope: RunScope) => Promise<CommandOutcome<T>>>,
): Promise<ExitCode> {
  const { io } = context;
  const mode = progressMode(globals.json, io.stderrIsTTY);
  const reporter = new ProgressReporter({ mode, write: io.err });
  let last: ProgressSnapshot | undefined;
  const notice = (line: string, record: object) => {
    if (mode === "json") io.err(`${JSON.stringify(record)}\n`);
    else io.err(`${mode === "tty" ? "\r\x1b[2K" : `${new Date().toISOString()} `}${line}\n`);
  };
  const cancellation = cancelOnSignals(io.signals, (text) =>
    notice(text, { time: new Date().toISOString(), kind: "signal", text }),
  );
  const settings: DriverSettings = {
    envVars: io.env,
    backendUrl: globals.backendUrl,
    parallel: globals.parallel,
    lockTimeoutMs: globals.lockTimeoutMs,
    onMessage: (message: DriverMessage) => notice(`${message.ticket}: ${message.text}`, message),
  };
  try {
    const body = await prepare();
    const driver = context.makeDriver(settings);
    const onProgress = (snapshot: ProgressSnapshot, step?: StepUpdate) => {
      last = snapshot;
      reporter.update(snapshot, step);
    };
    const outcome = await body({ driver, signal: cancellation.signal, onProgress });
    if (last) reporter.finish(last, "done");
    if (globals.json)
      io.out(`${JSON.stringify({ ok: true, command, result: outcome.result } satisfies JsonDocument)}\n`);
    else if (outcome.text) io.out(`${outcome.text}\n`);
    return EXIT_CODES.OK;
  } catch (error) {
    if (last) reporter.finish(last, exitCodeOf(error) === EXIT_CODES.CANCELLED ? "cancelled" : "failed");
    return reportError(io, globals.json, command, error);
  } finally {
    cancellation.dispose();
  }
}
