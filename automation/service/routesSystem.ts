// The service's own routes: capacity, liveness and readiness, the Jira webhook (HMAC of the raw body, checked in
// constant time before the payload is looked at) and the OpenAPI document built from every route's schema.
import type { FastifyInstance } from "fastify";
import { jiraSignatureValid } from "./auth";
import * as s from "./schemas";
import { HttpError } from "./routesShared";

const NO_AUTH = { security: [] };

export async function systemRoutes(app: FastifyInstance): Promise<void> {
  const deps = app.qaDeps;

  app.get(
    "/capacity",
    {
      config: { scope: "read" },
      schema: {
        summary: "How many more environments fit on the cluster, and what limits them",
        ...s.bearer("read"),
        response: { 200: s.capacityReport, ...s.errors(401, 403, 503) },
      },
    },
    async () => {
      try {
        return await deps.driver.capacity();
      } catch (error) {
        // No cluster to measure is the service's situation, not the caller's mistake.
        throw new HttpError(503, `capacity cannot be measured: ${(error as Error).message}`);
      }
    },
  );

  app.get(
    "/healthz",
    { schema: { summary: "The process answers", ...NO_AUTH, response: { 200: s.health, ...s.errors() } } },
    async () => ({ ok: true }),
  );

  app.get(
    "/readyz",
    {
      schema: {
        summary: "The job store answers and the engine can run",
        ...NO_AUTH,
        response: { ...s.errors(), 200: s.health, 503: s.health },
      },
    },
    async (_request, reply) => {
      const checks: Record<string, string> = {};
      try {
        await deps.store.list({ limit: 1 });
        checks.store = "ok";
      } catch (error) {
        checks.store = `unreachable: ${(error as Error).message}`;
      }
      checks.engine = deps.engineProblem?.() ?? "ok";
      const ok = Object.values(checks).every((v) => v === "ok");
      return reply.code(ok ? 200 : 503).send({ ok, checks });
    },
  );

  await app.register(async (hooks) => {
    // The signature is over the exact bytes Jira sent: keep them before parsing.
    hooks.addContentTypeParser("application/json", { parseAs: "buffer" }, (request, body, done) => {
      (request as { rawBody?: Buffer }).rawBody = body as Buffer;
      try {
        done(null, JSON.parse((body as Buffer).toString("utf8")));
      } catch {
        done(Object.assign(new Error("the body is not valid JSON"), { statusCode: 400 }), undefined);
      }
    });
    hooks.post(
      "/hooks/jira",
      {
        schema: {
          summary: "Jira webhook (X-Hub-Signature: sha256=<HMAC-SHA256 of the body with QA_JIRA_SECRET>)",
          ...NO_AUTH,
          headers: { type: "object", properties: { "x-hub-signature": { type: "string", maxLength: 200 } } },
          body: { type: "object", additionalProperties: true },
          response: { 202: s.jiraAnswer, ...s.errors(400, 401) },
        },
      },
      async (request, reply) => {
        const raw = (request as { rawBody?: Buffer }).rawBody ?? Buffer.alloc(0);
        if (!deps.jiraSecret) {
          throw new HttpError(401, "the Jira webhook is disabled: QA_JIRA_SECRET is not set on the service");
        }
        if (!jiraSignatureValid(deps.jiraSecret, raw, request.headers["x-hub-signature"] as string | undefined)) {
          throw new HttpError(
            401,
            "X-Hub-Signature is missing or does not match: it must be sha256=<hex HMAC-SHA256 of the body> with the webhook's secret (QA_JIRA_SECRET)",
          );
        }
        const answer = deps.onJiraEvent ? await deps.onJiraEvent(request.body) : { action: "ignored" };
        request.auditNote = { ticket: answer.ticket, jobId: answer.jobId, outcome: `202 ${answer.action}` };
        return reply.code(202).send(answer);
      },
    );
  });

  app.get(
    "/openapi.json",
    { schema: { hide: true, response: { 200: { type: "object", additionalProperties: true } } } },
    async () => app.swagger(),
  );
}
