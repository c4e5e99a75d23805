// `npm run serve`: the QA service process. Config from the environment, the real driver (with the project's pinned
// toolchain when no engine is on the PATH), the job store (SQLite in QA_DATA_DIR, or PostgreSQL with
// QA_DATABASE_URL), the job runner, the HTTP server; SIGINT/SIGTERM stop it safely (running jobs are cancelled
// through the engine's SIGINT and recorded). `npm run serve -- hash-token <name> <scope>` makes a new API token.
import { declaredConfigKeys } from "../cli/args";
import type { CapacityOptions } from "../capacityGuard";
import { createDriver, DriverApi, missingEngine } from "../cli/driverApi";
import { PROJECT_DIR } from "../stack";
import { pulumiEnv } from "../../scripts/lib/toolchain";
import type { FastifyBaseLogger } from "fastify";
import { pin, unpin } from "../cleanup/pins";
import { cleanupService, cleanupSettings } from "../cleanup/service";
import { workspaceStore } from "../cleanup/store";
import { authenticate, loadTokens, newToken, SCOPES } from "./auth";
import { jobIntake } from "./intake";
import { statusPage } from "./page/plugin";
import { cachedReads } from "./routesCache";
import type { JobStore, Scope } from "./contracts";
import { ConfigError, describeConfig, loadConfig, ServiceConfig, stackConfigFor } from "./config";
import { JobEvents } from "./events";
import { JobRunner } from "./jobRunner";
import { buildServer } from "./server";
import { SqliteJobStore } from "./sqliteStore";

type Env = Record<string, string | undefined>;

/** The engine's environment: the caller's, plus the pinned toolchain when no pulumi can be found. */
export async function engineEnv(env: Env): Promise<Env> {
  if (!missingEngine(env)) return env;
  const toolchain = await pulumiEnv();
  const kept = Object.fromEntries(
    ["PULUMI_BACKEND_URL", "PULUMI_CONFIG_PASSPHRASE"].filter((k) => env[k]).map((k) => [k, env[k]]),
  );
  return { ...env, ...toolchain, ...kept };
}

/** SQLite in QA_DATA_DIR, or PostgreSQL when QA_DATABASE_URL is set. */
export async function openStore(config: Pick<ServiceConfig, "dataDir" | "databaseUrl">): Promise<JobStore> {
  if (!config.databaseUrl) return SqliteJobStore.open(config.dataDir);
  // Loaded only when asked for: the PostgreSQL store (helper svc-pg) is automation/service/pgStore.ts.
  // TODO(svc-pg): until pgStore.ts is on this branch this import fails with a clear message.
  const modulePath = "./pgStore";
  let mod: { PostgresJobStore: { open(url: string): Promise<JobStore> } };
  try {
    mod = await import(modulePath);
  } catch (error) {
    throw new ConfigError(
      `QA_DATABASE_URL is set but the PostgreSQL job store cannot be loaded (${(error as Error).message}); ` +
        "unset QA_DATABASE_URL for the embedded SQLite store",
    );
  }
  return mod.PostgresJobStore.open(config.databaseUrl);
}

function hashTokenCommand(args: string[]): number {
  const [name, scope = "read"] = args;
  if (!name || !/^[A-Za-z0-9._@-]{1,64}$/.test(name) || !SCOPES.includes(scope as Scope)) {
    process.stderr.write(
      `usage: npm run serve -- hash-token <name> [${SCOPES.join("|")}]\n` +
        "  name: 1-64 letters, digits or . _ @ - (who uses the token, e.g. bamboo)\n",
    );
    return 2;
  }
  const { token, entry } = newToken(name, scope as Scope);
  process.stdout.write(
    `token (shown once; give it to ${name}, it is not stored): ${token}\n` +
      `entry for QA_TOKENS_FILE (add it to the JSON array):\n${JSON.stringify(entry)}\n`,
  );
  return 0;
}

/**
 * The driver as the service uses it: capacity() measures the cluster the service deploys to (QA_KUBECONFIG_FILE and
 * QA_STACK_CONFIG, as every run gets them) rather than $KUBECONFIG, for GET /capacity, the 409 of a new ticket and the
 * status page's bar alike.
 */
export function measuringTheServiceCluster(driver: DriverApi, config: CapacityOptions["config"]): DriverApi {
  const capacity = (options?: CapacityOptions) => driver.capacity(options ?? (config ? { config } : {}));
  return new Proxy(driver, {
    get: (target, key, receiver) => (key === "capacity" ? capacity : Reflect.get(target, key, receiver)),
  });
}

async function serve(): Promise<void> {
  const config = loadConfig(process.env, declaredConfigKeys(PROJECT_DIR));
  const tokens = loadTokens(config.tokensFile);
  const envVars = await engineEnv(process.env);
  const events = new JobEvents();
  const store = await openStore(config);
  const stackConfig = (ticket: string) => stackConfigFor(config.stackConfig, ticket);
  // The runner logs through the server's logger, so it is made after the server; the driver and server reach it here.
  const late: { runner?: JobRunner; log?: FastifyBaseLogger } = {};
  const driver = measuringTheServiceCluster(
    createDriver({ envVars, onMessage: (message) => late.runner?.driverMessage(message) }),
    stackConfigFor(config.stackConfig, "capacity"),
  );
  const runnerWake = { wake: () => late.runner?.wake() };
  const log = (line: string) => late.log?.info(line);
  // One intake for the API, the status page and cleanup: every job passes the same checks (intake.ts).
  const intake = jobIntake({
    driver,
    store,
    runner: runnerWake,
    stackConfig,
    log: { warn: (obj: object, msg: string) => late.log?.warn(obj, msg) },
  });
  const cleanup = cleanupService({
    driver,
    settings: cleanupSettings(process.env),
    log,
    enqueueDestroy: (ticket, reason, requestedBy) => intake.destroy(ticket, requestedBy, reason),
  });
  // Readers (the API's GETs, the status page) share driver reads through one cache that a job of any replica being
  // queued or ending invalidates (routesCache.ts); jobs, the intake and cleanup use the driver itself.
  const reading = cachedReads(driver, () => store.changeMark());
  const page = statusPage({
    driver: reading,
    jobs: {
      enqueue: (r) =>
        r.kind === "deploy"
          ? intake.deploy(r.ticket, r.requestedBy, r.reason, r.services)
          : intake.destroy(r.ticket, r.requestedBy, r.reason),
      get: (id) => store.get(id),
      output: (id, from) => store.output(id, from),
    },
    authenticate: (token) => authenticate(tokens, token),
    jiraBrowseUrl: config.jiraUrl,
  });
  const definedEnv = Object.fromEntries(
    Object.entries(envVars).filter((e): e is [string, string] => e[1] !== undefined),
  );
  const pinStore = workspaceStore(definedEnv);
  const app = await buildServer({
    driver: reading,
    store,
    tokens,
    events,
    runner: runnerWake,
    intake,
    jiraSecret: config.jiraSecret,
    onJiraEvent: cleanup.onJiraEvent,
    sweep: cleanup.sweep,
    plugins: [page],
    pins: {
      pin: (ticket, by) => pin(pinStore, ticket, { by }),
      unpin: (ticket) => unpin(pinStore, ticket),
    },
    engineProblem: () => missingEngine(envVars),
    stackConfig,
  });
  late.log = app.log;
  const runner = new JobRunner({ store, driver, events, log: app.log, maxJobs: config.maxJobs, stackConfig });
  late.runner = runner;
  app.log.info({ config: describeConfig(config), owner: runner.owner }, "QA service starting");
  const interrupted = await runner.start();
  if (interrupted.length)
    app.log.info({ jobs: interrupted.map((j) => j.id) }, "jobs of a previous run marked interrupted");
  await app.listen({ host: config.host, port: config.port });

  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    app.log.info({ signal }, "stopping: cancelling running jobs, closing the server");
    await runner.stop();
    await app.close();
    await store.close();
    process.exit(0);
  };
  process.on("SIGINT", () => void stop("SIGINT"));
  process.on("SIGTERM", () => void stop("SIGTERM"));
}

async function main(argv: string[]): Promise<void> {
  if (argv[0] === "hash-token") {
    process.exitCode = hashTokenCommand(argv.slice(1));
    return;
  }
  if (argv.length > 0 && argv[0] !== "serve") {
    process.stderr.write(
      `qa-service: unknown command ${JSON.stringify(argv[0])}; use no argument (serve) or hash-token\n`,
    );
    process.exitCode = 2;
    return;
  }
  await serve();
}

// Only as the entry (scripts/serve); the tests import openStore and engineEnv.
if (require.main === module) void run();

function run() {
  return main(process.argv.slice(2)).catch((error: unknown) => {
    const message =
      error instanceof ConfigError
        ? error.message
        : error instanceof Error
          ? (error.stack ?? error.message)
          : String(error);
    process.stderr.write(`qa-service: ${message}\n`);
    process.exitCode = error instanceof ConfigError ? 2 : 1;
  });
}
