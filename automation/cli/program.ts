// The qa-env command line (commander): commands, options, help with examples, and the exit codes. Parsing errors of
// commander itself (unknown option, missing argument) are bad input too: exit 2, never commander's default 1.
import { Command, CommanderError } from "commander";
import { BadInputError, EXIT_CODES, ExitCode } from "../exitCodes";
import { parseDurationSeconds, parseWholeNumber } from "./args";
import * as cleanupCommands from "./cleanupCommands";
import * as commands from "./commands";
import { CliContext, GlobalOptions, errorDocument, reportError } from "./run";

const EXIT_HELP = `
Exit codes:
  0  ok
  1  internal error (a bug or an unexpected environment)
  2  bad input (ticket, branch, service, option): nothing was started
  3  capacity: the cluster has no room for a new environment
  4  locked: another run held the stack longer than --lock-timeout
  5  failed: the engine ran and the deploy (or destroy) failed
  6  cancelled: Ctrl-C or SIGTERM; the engine stopped safely, the next deploy continues

Output: results on stdout (--json: one JSON document {ok, command, result | exitCode, error}); progress and
messages on stderr (a live line on a terminal, timestamped lines without one, JSON lines with --json).
Bamboo: bamboo_ManualBuildTriggerReason_userName fills --by, bamboo_buildResultKey (or bamboo_buildNumber) --build.

Examples:
  qa-env deploy VERBU-6202
  qa-env deploy --branch "\${bamboo_planRepository_branchName}" --json
  qa-env status VERBU-6202
  qa-env capacity
  qa-env cleanup --dry-run`;

function examples(...lines: string[]): string {
  return `\nExamples:\n${lines.map((line) => `  ${line}`).join("\n")}`;
}

const collect = (value: string, previous: string[] = []) => [...previous, value];

function globalsOf(program: Command): GlobalOptions {
  const o = program.opts<{ json?: boolean; parallel?: string; lockTimeout?: string; backendUrl?: string }>();
  return {
    json: Boolean(o.json),
    parallel: o.parallel === undefined ? undefined : parseWholeNumber(o.parallel, "--parallel", 1, 1024, "64"),
    lockTimeoutMs:
      o.lockTimeout === undefined ? undefined : parseDurationSeconds(o.lockTimeout, "--lock-timeout") * 1000,
    backendUrl: o.backendUrl,
  };
}

function stackOptions(command: Command, branchExample: string): Command {
  return command
    .option("--branch <name>", `take the ticket from a branch name (${branchExample})`)
    .option("--config <key=value>", "stack config for this run, repeatable (a key of Pulumi.yaml, no secrets)", collect)
    .option("--kubeconfig <file>", "kubeconfig of the cluster (stored as the secret qa-k8s:kubeconfig)");
}

/** The program; `exitCode` holds the command's exit code after parseAsync. */
export function buildProgram(context: CliContext): { program: Command; exitCode: () => ExitCode } {
  let code: ExitCode = EXIT_CODES.OK;
  const program = new Command("qa-env");
  const write = { writeOut: (s: string) => context.io.out(s), writeErr: (s: string) => context.io.err(s) };
  program
    .description(
      "Feature QA environments (one per Jira ticket): deploy, preview, destroy, list, status, logs, capacity, cleanup.",
    )
    .option("--json", "machine output: one JSON document on stdout, JSON lines on stderr")
    .option("--parallel <n>", "engine operations at once (1-1024; default 64)")
    .option("--lock-timeout <duration>", "wait this long for another run's lock (e.g. 90s, 10m; default 15m)")
    .option("--backend-url <url>", "Pulumi backend (default: PULUMI_BACKEND_URL, else file://~/.cache/qa-k8s/state)")
    .configureHelp({ showGlobalOptions: true })
    .configureOutput(write)
    .exitOverride()
    .showHelpAfterError("(run qa-env <command> --help for usage and examples)")
    .addHelpText("after", EXIT_HELP);
  // The global options are checked when a command runs; a bad one is reported like any other bad input.
  const run = (work: (g: GlobalOptions) => Promise<ExitCode>) => async () => {
    let globals: GlobalOptions;
    try {
      globals = globalsOf(program);
    } catch (error) {
      code = reportError(context.io, Boolean(program.opts().json), program.args[0] ?? "", error);
      return;
    }
    code = await work(globals);
  };

  stackOptions(
    program.command("deploy").argument("[ticket]", "Jira ticket, e.g. VERBU-6202"),
    "feature/VERBU-6202-some-text",
  )
    .description("create or update the ticket's environment")
    .option("--services <a,b>", 'services built on the branch (default: detected from the registry; "" = none)')
    .option("--by <name>", "who deploys (default: Bamboo's user, else the OS user)")
    .option("--build <id>", "CI build (default: bamboo_buildResultKey, else bamboo_buildNumber)")
    .addHelpText(
      "after",
      examples(
        "qa-env deploy VERBU-6202",
        "qa-env deploy VERBU-6202 --services auth,wallet --by jane.doe --build QA-DEPLOY-12",
        'qa-env deploy --branch "${bamboo_planRepository_branchName}" --json',
        "qa-env deploy VERBU-6202 --config registry=localhost:5000 --config registryInsecure=true",
      ),
    )
    .action((ticket, options) => run((g) => commands.deploy(context, g, ticket, options))());

  stackOptions(program.command("preview").argument("[ticket]", "Jira ticket"), "feature/VERBU-6202-some-text")
    .description("show what a deploy would change (no lock, no state change)")
    .option("--services <a,b>", 'services built on the branch (default: detected; "" = none)')
    .addHelpText("after", examples("qa-env preview VERBU-6202", "qa-env preview VERBU-6202 --services auth --json"))
    .action((ticket, options) => run((g) => commands.preview(context, g, ticket, options))());

  stackOptions(program.command("destroy").argument("[ticket]", "Jira ticket"), "feature/VERBU-6202-some-text")
    .description("delete the environment and its stack")
    .addHelpText(
      "after",
      examples("qa-env destroy VERBU-6202", 'qa-env destroy --branch "${bamboo_planRepository_branchName}"'),
    )
    .action((ticket, options) => run((g) => commands.destroy(context, g, ticket, options))());

  program
    .command("list")
    .description("every environment with who deployed it and when (reads the backend, not the cluster)")
    .addHelpText("after", examples("qa-env list", "qa-env list --json | jq '.result[].ticket'"))
    .action(() => run((g) => commands.list(context, g))());

  program
    .command("status")
    .argument("[ticket]", "Jira ticket")
    .option("--branch <name>", "take the ticket from a branch name")
    .description("per service: state, ready/desired, restarts, image tag, and why it is not active")
    .addHelpText("after", examples("qa-env status VERBU-6202", "qa-env status VERBU-6202 --json"))
    .action((ticket, options) => run((g) => commands.status(context, g, ticket, options))());

  program
    .command("logs")
    .usage("[options] <ticket> <service>  |  --branch <name> <service>")
    .argument("<target...>", "ticket and service, or only the service with --branch")
    .option("--branch <name>", "take the ticket from a branch name")
    .option("--previous", "the previous (crashed) container's log")
    .option("-f, --follow", "keep streaming until Ctrl-C")
    .option("--since <duration>", "only lines newer than this (e.g. 10m, 90s, 2h)")
    .option("--tail <n>", "only the last N lines of each pod")
    .description("the service's container log (all replicas, prefixed with the pod when there are several)")
    .addHelpText(
      "after",
      examples(
        "qa-env logs VERBU-6202 auth --since 10m",
        "qa-env logs VERBU-6202 wallet --previous --tail 100",
        "qa-env logs VERBU-6202 auth --follow",
      ),
    )
    .action((target, options) => run((g) => commands.logs(context, g, target, options))());

  program
    .command("capacity")
    .description("how many more environments of this size fit, what limits them, and the room on every node")
    .addHelpText("after", examples("qa-env capacity", "qa-env capacity --json"))
    .action(() => run((g) => commands.capacity(context, g))());

  program
    .command("cleanup")
    .description(
      "destroy environments idle since their last deploy (pinned ones, runs in progress and anything not made by " +
        "qa-env are kept); logs each decision and why",
    )
    .option("--dry-run", "decide and log, destroy nothing")
    .option(
      "--idle-days <n>",
      `days without a deploy before an environment goes (1-3650; default ${cleanupCommands.DEFAULT_IDLE_DAYS})`,
    )
    .addHelpText(
      "after",
      examples(
        "qa-env cleanup --dry-run",
        "qa-env cleanup --idle-days 14 --json",
        "crontab: 0 3 * * * cd /opt/qa-k8s && scripts/qa-env cleanup >> /var/log/qa-env-cleanup.log 2>&1",
      ),
    )
    .action((options) => run((g) => cleanupCommands.cleanup(context, g, options))());

  program
    .command("pin")
    .argument("[ticket]", "Jira ticket")
    .option("--by <name>", "who pins (default: Bamboo's user, else the OS user)")
    .description("keep the environment from idle cleanup until it is unpinned")
    .addHelpText("after", examples("qa-env pin VERBU-6202 --by jane.doe", "qa-env pin VERBU-6202 --json"))
    .action((ticket, options) => run((g) => cleanupCommands.pinCommand(context, g, ticket, options))());

  program
    .command("unpin")
    .argument("[ticket]", "Jira ticket")
    .description("let idle cleanup remove the environment again")
    .addHelpText("after", examples("qa-env unpin VERBU-6202"))
    .action((ticket) => run((g) => cleanupCommands.unpinCommand(context, g, ticket))());

  return { program, exitCode: () => code };
}

/** Runs the command line; commander's own errors become exit 2 (help and --version exit 0). */
export async function runCli(context: CliContext, argv: readonly string[]): Promise<ExitCode> {
  const { program, exitCode } = buildProgram(context);
  try {
    await program.parseAsync([...argv], { from: "user" });
    return exitCode();
  } catch (error) {
    if (error instanceof CommanderError) {
      if (
        error.code === "commander.helpDisplayed" ||
        error.code === "commander.help" ||
        error.code === "commander.version"
      ) {
        return EXIT_CODES.OK;
      }
      // commander has printed its message and usage on stderr already; --json still gets its one document.
      if (argv.includes("--json")) {
        const command = argv.find((a) => !a.startsWith("-")) ?? "";
        context.io.out(`${JSON.stringify(errorDocument(command, new BadInputError(error.message)))}\n`);
      }
      return EXIT_CODES.BAD_INPUT;
    }
    throw error;
  }
}
