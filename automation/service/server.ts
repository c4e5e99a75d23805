// The QA service's HTTP server: fastify with a JSON schema on every route, bearer-token scopes checked before a body
// is read, every changing request audited (accepted or refused), /openapi.json generated from the schemas, the
// status page and the cleanup sweep plugged in by their owners.
import Fastify, { FastifyInstance, FastifyServerOptions } from "fastify";
import swagger from "@fastify/swagger";
import type { DriverApi } from "../cli/driverApi";
import type { ConfigEntry } from "../stack";
import { authenticate, hasScope, TokenEntry } from "./auth";
import type { Caller, JobStore } from "./contracts";
import { Intake, jobIntake } from "./intake";
import { JobEvents } from "./events";
import { redact } from "../redact";
import { errorReply, toErrorReply } from "./routesShared";
import { environmentRoutes } from "./routesEnvironments";
import { jobRoutes } from "./routesJobs";
import { PinDeps, pinRoutes } from "./routesPins";
import { systemRoutes } from "./routesSystem";

export type JiraEventHandler = (payload: unknown) => Promise<{ action: string; ticket?: string; jobId?: string }>;

export interface ServerDeps {
  /** What the routes read through (main.ts gives the cached readers' driver); jobs are queued through `intake`. */
  readonly driver: DriverApi;
  readonly store: JobStore;
  readonly tokens: readonly TokenEntry[];
  /** Told when a job was queued (the JobRunner). */
  readonly runner: { wake(): void };
  /** Live output wake-ups shared with the runner; without it SSE streams poll the store. */
  readonly events?: JobEvents;
  /** QA_JIRA_SECRET; without it POST /hooks/jira answers 401. */
  readonly jiraSecret?: string;
  /** What a Jira event means (svc-cleanup). @default 202 {action: "ignored"} */
  readonly onJiraEvent?: JiraEventHandler;
  /** Registered after the API routes, e.g. the status page at "/". */
  readonly plugins?: ReadonlyArray<(app: FastifyInstance) => Promise<void>>;
  /** The periodic cleanup, run every intervalMs while the server is up (never two at once). */
  readonly sweep?: { readonly intervalMs: number; run(): Promise<unknown> };
  /** Why the engine cannot run (missingEngine), for /readyz. */
  readonly engineProblem?: () => string | undefined;
  /** Stack config of a ticket's runs (the catalog for the services check). */
  readonly stackConfig?: (ticket: string) => Record<string, ConfigEntry> | undefined;
  /** Pin/unpin (stack tags); without it the pin routes are not served. */
  readonly pins?: PinDeps;
  /** How jobs are queued (shared with the status page and cleanup). @default jobIntake over these deps */
  readonly intake?: Intake;
  /** fastify's logger option (the tests capture it). @default true */
  readonly logger?: FastifyServerOptions["logger"];
}

declare module "fastify" {
  interface FastifyInstance {
    /** For plugins (the status page's cookie): the caller a token or `Bearer` header belongs to. */
    qaAuthenticate(headerOrToken: string | undefined): Caller | undefined;
    qaDeps: ServerDeps;
    qaIntake: Intake;
    qaEvents: JobEvents;
    /** A long response (log follow, SSE) that must end when the server closes; returns its signal. */
    qaStream(raw: import("node:http").ServerResponse): AbortSignal;
  }
}

// Whatever a handler logs of a request, these never appear (a token in a header, the Jira signature).
export const REDACTED_PATHS = ["req.headers.authorization", "req.headers.cookie", 'req.headers["x-hub-signature"]'];

export async function buildServer(deps: ServerDeps): Promise<FastifyInstance> {
  const logger =
    deps.logger === undefined || deps.logger === true
      ? { redact: REDACTED_PATHS }
      : typeof deps.logger === "object"
        ? { redact: REDACTED_PATHS, ...deps.logger }
        : deps.logger;
  const app = Fastify({
    logger,
    ajv: { customOptions: { removeAdditional: false, verbose: true, allErrors: false } },
    // Many status-page readers and long SSE/log streams: do not cut them at the default request timeout.
    requestTimeout: 0,
    // At close, after the streams above ended: keep-alive sockets would otherwise hold close() for keepAliveTimeout.
    forceCloseConnections: true,
  });
  app.decorate("qaAuthenticate", (value: string | undefined) => authenticate(deps.tokens, value));
  app.decorate("qaDeps", deps);
  app.decorate("qaIntake", deps.intake ?? jobIntake({ ...deps, log: app.log }));
  app.decorate("qaEvents", deps.events ?? new JobEvents());
  // Open streams end at close: a follow or SSE client would otherwise hold the shutdown until it disconnects.
  const streams = new Set<AbortController>();
  app.decorate("qaStream", (raw: import("node:http").ServerResponse) => {
    const abort = new AbortController();
    streams.add(abort);
    raw.on("close", () => {
      streams.delete(abort);
      abort.abort();
    });
    return abort.signal;
  });
  app.addHook("preClose", async () => {
    for (const abort of streams) abort.abort();
  });
  app.decorateRequest("caller", undefined);
  app.decorateRequest("auditNote", undefined);

  await app.register(swagger, {
    openapi: {
      openapi: "3.0.3",
      info: {
        title: "qa-k8s QA service",
        version: "1.0.0",
        description: "One QA environment per Jira ticket: deploy, update, remove, status, logs, jobs.",
      },
      components: { securitySchemes: { bearer: { type: "http", scheme: "bearer" } } },
    },
  });

  // Before the body is parsed: no token → 401, wrong scope → 403 (a route's config.scope says which it needs).
  app.addHook("onRequest", async (request, reply) => {
    const scope = request.routeOptions.config?.scope;
    if (!scope) return;
    const caller = authenticate(deps.tokens, request.headers.authorization);
    if (!caller) {
      const { statusCode, body } = errorReply(
        401,
        request.headers.authorization
          ? "the bearer token is not one of QA_TOKENS_FILE's; check the Authorization header"
          : "no bearer token: send Authorization: Bearer <token> (tokens come from QA_TOKENS_FILE)",
      );
      return reply.code(statusCode).header("www-authenticate", 'Bearer realm="qa-k8s"').send(body);
    }
    if (!hasScope(caller, scope)) {
      const { statusCode, body } = errorReply(
        403,
        `token "${caller.name}" has scope ${caller.scopes.join(", ")}; ${request.method} ${request.routeOptions.url} needs ${scope}`,
      );
      return reply.code(statusCode).send(body);
    }
    request.caller = caller;
  });

  // Every request that changes something, accepted or refused.
  app.addHook("onResponse", async (request, reply) => {
    if (request.method === "GET" || request.method === "HEAD" || request.method === "OPTIONS") return;
    if (!request.routeOptions.url || request.routeOptions.url === "/*") return;
    const note = request.auditNote ?? {};
    await deps.store
      .audit({
        time: new Date().toISOString(),
        actor: request.caller?.name ?? (request.routeOptions.url === "/hooks/jira" ? "jira" : "anonymous"),
        action: `${request.method} ${request.routeOptions.url}`,
        ticket: note.ticket,
        jobId: note.jobId,
        outcome: note.outcome ?? `${reply.statusCode}`,
      })
      .catch((error) => request.log.error({ err: String(error) }, "audit entry could not be saved"));
  });

  app.setErrorHandler((error, request, reply) => {
    const { statusCode, body } = toErrorReply(error);
    // An engine error can quote PULUMI_BACKEND_URL (postgres://user:password@…): never log the password.
    if (statusCode >= 500) {
      const err = error instanceof Error ? error : new Error(String(error));
      request.log.error(
        { err: { type: err.name, message: redact(err.message), stack: redact(err.stack ?? "") } },
        "request failed",
      );
    }
    if (request.auditNote || request.method !== "GET")
      request.auditNote = { ...request.auditNote, outcome: `${statusCode} ${body.message}` };
    return reply.code(statusCode).send(body);
  });
  app.setNotFoundHandler((request, reply) => {
    const { statusCode, body } = errorReply(
      404,
      `no route ${request.method} ${request.url.split("?")[0]}; the API is described at /openapi.json`,
    );
    return reply.code(statusCode).send(body);
  });

  await app.register(environmentRoutes);
  await app.register(jobRoutes);
  await app.register(systemRoutes);
  if (deps.pins) await app.register(pinRoutes(deps.pins));
  for (const plugin of deps.plugins ?? []) await app.register(plugin);
  if (deps.sweep) scheduleSweep(app, deps.sweep);
  return app;
}

function scheduleSweep(app: FastifyInstance, sweep: NonNullable<ServerDeps["sweep"]>): void {
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<void> | undefined;
  const tick = () => {
    if (running) return;
    running = sweep
      .run()
      .then((result) => app.log.info({ sweep: result }, "cleanup sweep done"))
      .catch((error) =>
        app.log.error({ err: String(error) }, "cleanup sweep failed; trying again at the next interval"),
      )
      .finally(() => (running = undefined));
  };
  app.addHook("onReady", async () => {
    timer = setInterval(tick, sweep.intervalMs);
    timer.unref();
  });
  app.addHook("onClose", async () => {
    if (timer) clearInterval(timer);
    await running;
  });
}
