// The commands: turn parsed options into one driver call and its rendering. Argument checks happen here, before the
// driver is built, so bad input never starts the engine.
import type { ExitCode } from "../exitCodes";
import { BadInputError } from "../exitCodes";
import { PROJECT_DIR } from "../stack";
import type { ConfigEntry } from "../stack";
import type { LogLine } from "../observeTypes";
import {
  declaredConfigKeys,
  parseConfigPairs,
  parseDurationSeconds,
  parseServices,
  parseWholeNumber,
  readKubeconfig,
  resolveTicket,
} from "./args";
import { formatCapacity, formatLogLine, formatLogs, formatStatus } from "./formatObserve";
import { formatDeploy, formatDestroy, formatList, formatPreview } from "./formatRun";
import { CliContext, GlobalOptions, runCommand } from "./run";

export interface TargetOptions {
  readonly branch?: string;
}

export interface StackOptions extends TargetOptions {
  readonly config?: readonly string[];
  readonly kubeconfig?: string;
}

export interface DeployCliOptions extends StackOptions {
  readonly services?: string;
  readonly by?: string;
  readonly build?: string;
}

export interface LogsCliOptions extends TargetOptions {
  readonly previous?: boolean;
  readonly follow?: boolean;
  readonly since?: string;
  readonly tail?: string;
}

/** Everything a stack command passes to the driver besides the ticket, checked. */
function stackInput(options: StackOptions): { config?: Record<string, ConfigEntry> } {
  const config: Record<string, ConfigEntry> = parseConfigPairs(options.config ?? [], declaredConfigKeys(PROJECT_DIR));
  if (options.kubeconfig !== undefined) config.kubeconfig = readKubeconfig(options.kubeconfig);
  return Object.keys(config).length ? { config } : {};
}

export function deploy(
  ctx: CliContext,
  g: GlobalOptions,
  ticketArg: string | undefined,
  o: DeployCliOptions,
): Promise<ExitCode> {
  return runCommand(ctx, "deploy", g, async () => {
    const ticket = resolveTicket(ticketArg, o.branch);
    const services = o.services === undefined ? undefined : parseServices(o.services);
    const input = stackInput(o);
    return async ({ driver, signal, onProgress }) => {
      const result = await driver.deploy(ticket, {
        ...input,
        services,
        deployer: o.by,
        build: o.build,
        signal,
        onProgress,
      });
      return { result, text: formatDeploy(result) };
    };
  });
}

export function preview(
  ctx: CliContext,
  g: GlobalOptions,
  ticketArg: string | undefined,
  o: DeployCliOptions,
): Promise<ExitCode> {
  return runCommand(ctx, "preview", g, async () => {
    const ticket = resolveTicket(ticketArg, o.branch);
    const services = o.services === undefined ? undefined : parseServices(o.services);
    const input = stackInput(o);
    return async ({ driver, signal, onProgress }) => {
      const result = await driver.preview(ticket, { ...input, services, signal, onProgress });
      return { result, text: formatPreview(result) };
    };
  });
}

export function destroy(
  ctx: CliContext,
  g: GlobalOptions,
  ticketArg: string | undefined,
  o: StackOptions,
): Promise<ExitCode> {
  return runCommand(ctx, "destroy", g, async () => {
    const ticket = resolveTicket(ticketArg, o.branch);
    const input = stackInput(o);
    return async ({ driver, signal, onProgress }) => {
      const result = await driver.destroy(ticket, { ...input, signal, onProgress });
      return { result, text: formatDestroy(result) };
    };
  });
}

export function list(ctx: CliContext, g: GlobalOptions): Promise<ExitCode> {
  return runCommand(ctx, "list", g, async () => async ({ driver }) => {
    const result = await driver.list();
    return { result, text: formatList(result) };
  });
}

export function status(
  ctx: CliContext,
  g: GlobalOptions,
  ticketArg: string | undefined,
  o: TargetOptions,
): Promise<ExitCode> {
  return runCommand(ctx, "status", g, async () => {
    const ticket = resolveTicket(ticketArg, o.branch);
    return async ({ driver }) => {
      const result = await driver.status(ticket);
      return { result, text: formatStatus(result) };
    };
  });
}

export function capacity(ctx: CliContext, g: GlobalOptions): Promise<ExitCode> {
  return runCommand(ctx, "capacity", g, async () => async ({ driver }) => {
    const result = await driver.capacity();
    return { result, text: formatCapacity(result) };
  });
}

/** `logs <ticket> <service>`, or `logs --branch B <service>`. */
export function logsTarget(args: readonly string[], branch: string | undefined): { ticket: string; service: string } {
  const wanted = branch === undefined ? 2 : 1;
  if (args.length !== wanted) {
    throw new BadInputError(
      branch === undefined
        ? `logs takes a ticket and a service (e.g. qa-env logs VERBU-6202 auth), got ${args.length} argument(s)`
        : `logs --branch takes only the service (e.g. qa-env logs --branch feature/VERBU-6202-x auth), got ${args.length} argument(s)`,
    );
  }
  const service = args[wanted - 1];
  if (!/^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/.test(service)) {
    throw new BadInputError(
      `service ${JSON.stringify(service)} is not a catalog service name (lower-case letters, digits and '-', e.g. auth)`,
    );
  }
  return { ticket: resolveTicket(branch === undefined ? args[0] : undefined, branch), service };
}

/** With --follow the lines went out as they came: the final document has none. */
export interface LogsResult {
  readonly ticket: string;
  readonly service: string;
  readonly lines?: readonly LogLine[];
  readonly followed?: boolean;
}

export function logs(ctx: CliContext, g: GlobalOptions, args: readonly string[], o: LogsCliOptions): Promise<ExitCode> {
  return runCommand<LogsResult>(ctx, "logs", g, async () => {
    const { ticket, service } = logsTarget(args, o.branch);
    const sinceSeconds = o.since === undefined ? undefined : parseDurationSeconds(o.since, "--since");
    const tail = o.tail === undefined ? undefined : parseWholeNumber(o.tail, "--tail", 0, 1_000_000, "100");
    return async ({ driver, signal }) => {
      // Following: lines go out as they arrive (JSON lines with --json), always prefixed, and Ctrl-C ends it normally.
      const onLine = o.follow
        ? (line: LogLine) =>
            ctx.io.out(g.json ? `${JSON.stringify({ kind: "log", ...line })}\n` : `${formatLogLine(line, true)}\n`)
        : undefined;
      let lines: LogLine[];
      try {
        lines = await driver.logs(ticket, service, {
          previous: o.previous,
          follow: o.follow,
          sinceSeconds,
          tail,
          signal,
          onLine,
        });
      } catch (error) {
        if (o.follow && signal.aborted) lines = [];
        else throw error;
      }
      // After following, the lines are already out: the final document only says what was followed.
      if (o.follow) return { result: { ticket, service, followed: true }, text: "" };
      return { result: { ticket, service, lines }, text: formatLogs(lines) };
    };
  });
}
