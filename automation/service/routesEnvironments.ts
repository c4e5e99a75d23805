// /environments: deploy or update (202 + job), list, status, remove (202 + job), and a service's logs (JSON, or
// text/plain streamed until the client disconnects with follow). Input goes through the environment wing's own
// checks (featureOf, checkedServices) so the 400s carry its messages; a NEW ticket is checked against capacity first.
import { PassThrough } from "node:stream";
import type { FastifyInstance, FastifyReply } from "fastify";
import { featureOf } from "../driverInput";
import { BadInputError } from "../exitCodes";
import { formatLogLine } from "../cli/formatObserve";
import * as s from "./schemas";
import { notFound, toErrorReply } from "./routesShared";

type TicketParams = { ticket: string };
type LogsQuery = { tail?: number; previous?: boolean; follow?: boolean };

const SERVICE_NAME = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;

/** The CLI's rule for a service name (qa-env logs), with its message. */
export function checkServiceName(service: string): string {
  if (!SERVICE_NAME.test(service))
    throw new BadInputError(
      `service ${JSON.stringify(service)} is not a catalog service name (lower-case letters, digits and '-', e.g. auth)`,
    );
  return service;
}

export async function environmentRoutes(app: FastifyInstance): Promise<void> {
  // The readers' driver: list and status cached (routesCache.ts, cachedReads in main.ts); writes go through intake.
  const { driver } = app.qaDeps;
  const intake = app.qaIntake;
  const list = () => driver.list();

  /** The driver's stack of a ticket, when there is one (from the cached list). */
  const stackOf = async (ticket: string) => {
    const feature = featureOf(ticket);
    return { feature, summary: (await list()).find((e) => e.stack === feature.name) };
  };

  app.post<{ Body: { ticket: string; services?: string[] } }>(
    "/environments",
    {
      config: { scope: "deploy" },
      schema: {
        summary: "Deploy or update a ticket's environment",
        ...s.bearer("deploy"),
        body: s.deployBody,
        response: { 202: s.jobAccepted, 409: s.capacityRefusal, ...s.errors(400, 401, 403) },
      },
    },
    async (request, reply) => {
      const feature = featureOf(request.body.ticket);
      request.auditNote = { ticket: feature.ticket };
      const job = await intake.deploy(feature.ticket, request.caller!.name, "api", request.body.services);
      request.auditNote = { ticket: feature.ticket, jobId: job.id, outcome: "202 queued" };
      return reply.code(202).send({ job });
    },
  );

  app.get(
    "/environments",
    {
      config: { scope: "read" },
      schema: {
        summary: "Every environment (the driver's list)",
        ...s.bearer("read"),
        response: { 200: { type: "array", items: s.environmentSummary }, ...s.errors(401, 403) },
      },
    },
    async () => list(),
  );

  app.get<{ Params: TicketParams }>(
    "/environments/:ticket",
    {
      config: { scope: "read" },
      schema: {
        summary: "One environment's status, per service",
        ...s.bearer("read"),
        params: s.ticketParams,
        response: { 200: s.environmentStatus, ...s.errors(400, 401, 403, 404) },
      },
    },
    async (request) => {
      const feature = featureOf(request.params.ticket);
      const status = await driver.status(feature.ticket);
      if (!status.exists && !status.record)
        throw notFound(`${status.ticket}: no environment (stack ${status.stack} does not exist)`);
      return status;
    },
  );

  app.delete<{ Params: TicketParams }>(
    "/environments/:ticket",
    {
      config: { scope: "deploy" },
      schema: {
        summary: "Remove a ticket's environment and its stack",
        ...s.bearer("deploy"),
        params: s.ticketParams,
        response: { 202: s.jobAccepted, ...s.errors(400, 401, 403, 404) },
      },
    },
    async (request, reply) => {
      const feature = featureOf(request.params.ticket);
      request.auditNote = { ticket: feature.ticket };
      const job = await intake.destroy(feature.ticket, request.caller!.name, "api");
      request.auditNote = { ticket: feature.ticket, jobId: job.id, outcome: "202 queued" };
      return reply.code(202).send({ job });
    },
  );

  app.get<{ Params: TicketParams & { service: string }; Querystring: LogsQuery }>(
    "/environments/:ticket/services/:service/logs",
    {
      config: { scope: "read" },
      schema: {
        summary: "A service's container log (every replica); follow streams text/plain until the client disconnects",
        ...s.bearer("read"),
        params: s.serviceParams,
        querystring: s.logsQuery,
        response: { 200: s.logLines, ...s.errors(400, 401, 403, 404) },
      },
    },
    async (request, reply) => {
      const { ticket: ticketParam, service: serviceParam } = request.params;
      const service = checkServiceName(serviceParam);
      const { feature, summary } = await stackOf(ticketParam);
      if (!summary) throw notFound(`${feature.ticket}: no environment (stack ${feature.name} does not exist)`);
      const { tail, previous, follow } = request.query;
      if (follow)
        return streamLogs(reply, app.qaStream(reply.raw), (onLine, signal) =>
          driver.logs(feature.ticket, service, { tail, previous, follow: true, onLine, signal }),
        );
      const lines = await driver.logs(feature.ticket, service, { tail, previous });
      return { ticket: feature.ticket, service, lines };
    },
  );
}

type LogLineSink = Parameters<NonNullable<import("../observeTypes").LogOptions["onLine"]>>[0];

/**
 * Streams log lines as text/plain. The answer waits for the first line (or a quiet second) so that a refusal
 * (unknown service, no pods) is still a JSON error with its status code; the driver's stream stops when the client
 * disconnects.
 */
async function streamLogs(
  reply: FastifyReply,
  closed: AbortSignal,
  start: (onLine: (line: LogLineSink) => void, signal: AbortSignal) => Promise<unknown>,
): Promise<FastifyReply> {
  const abort = new AbortController();
  closed.addEventListener("abort", () => abort.abort());
  const body = new PassThrough();
  body.on("close", () => abort.abort());
  let opened!: () => void;
  const firstLine = new Promise<void>((resolve) => (opened = resolve));
  const run = start((line) => {
    opened();
    body.write(`${formatLogLine(line, true)}\n`);
  }, abort.signal);
  const quiet = new Promise<void>((resolve) => setTimeout(resolve, 1000).unref());
  // A refusal before any line rejects here and becomes the route's error reply.
  await Promise.race([firstLine, quiet, run]);
  run.then(
    () => body.end(),
    (error) => body.end(abort.signal.aborted ? undefined : `error: ${toErrorReply(error).body.message}\n`),
  );
  return reply.type("text/plain; charset=utf-8").send(body);
}
