// /jobs: one job (state, timings, output, result), its live output as server-sent events (resumable with
// Last-Event-ID, ending when the job ends), and the job list (optionally of one ticket).
import type { FastifyInstance } from "fastify";
import { featureOf } from "../driverInput";
import type { Job } from "./contracts";
import { resumeOffset, sseEvent } from "./events";
import * as s from "./schemas";
import { notFound } from "./routesShared";

const ENDED: ReadonlySet<Job["state"]> = new Set(["succeeded", "failed", "cancelled", "interrupted"]);
export const jobEnded = (job: Job) => ENDED.has(job.state);

/** How long an SSE stream waits for a wake-up before it looks at the store again (another replica's job). */
const SSE_POLL_MS = 1000;

export async function jobRoutes(app: FastifyInstance): Promise<void> {
  const { store } = app.qaDeps;
  const events = app.qaEvents;

  const jobOf = async (id: string) => {
    const job = await store.get(id);
    if (!job) throw notFound(`job ${JSON.stringify(id)} does not exist; GET /jobs lists the jobs`);
    return job;
  };

  app.get<{ Querystring: { ticket?: string; limit?: number } }>(
    "/jobs",
    {
      config: { scope: "read" },
      schema: {
        summary: "Jobs, newest first (optionally of one ticket)",
        ...s.bearer("read"),
        querystring: s.jobsQuery,
        response: { 200: { type: "array", items: s.job }, ...s.errors(400, 401, 403) },
      },
    },
    async (request) => {
      const ticket = request.query.ticket === undefined ? undefined : featureOf(request.query.ticket).ticket;
      return store.list({ ticket, limit: request.query.limit ?? 100 });
    },
  );

  app.get<{ Params: { id: string } }>(
    "/jobs/:id",
    {
      config: { scope: "read" },
      schema: {
        summary: "One job: state, timings, output and result",
        ...s.bearer("read"),
        params: s.jobParams,
        response: { 200: s.jobWithOutput, ...s.errors(400, 401, 403, 404) },
      },
    },
    async (request) => {
      const job = await jobOf(request.params.id);
      return { ...job, output: await store.output(job.id) };
    },
  );

  app.get<{ Params: { id: string } }>(
    "/jobs/:id/events",
    {
      config: { scope: "read" },
      schema: {
        summary:
          "The job's output as server-sent events (event output, then end with the job); resumes with Last-Event-ID",
        ...s.bearer("read"),
        params: s.jobParams,
        headers: { type: "object", properties: { "last-event-id": { type: "string", maxLength: 20 } } },
        response: {
          200: { description: "text/event-stream", content: { "text/event-stream": { schema: { type: "string" } } } },
          ...s.errors(400, 401, 403, 404),
        },
      },
    },
    async (request, reply) => {
      await jobOf(request.params.id);
      const id = request.params.id;
      reply.hijack();
      const raw = reply.raw;
      const closed = app.qaStream(raw);
      raw.writeHead(200, {
        "content-type": "text/event-stream; charset=utf-8",
        "cache-control": "no-cache",
        connection: "keep-alive",
        "x-accel-buffering": "no",
      });
      let offset = resumeOffset(request.headers["last-event-id"] as string | undefined);
      try {
        while (!closed.aborted) {
          // State first, then output: output is appended before a job is finished, so an ended job's output is whole.
          const job = await jobOf(id);
          const text = await store.output(id, offset);
          if (text) {
            offset += text.length;
            raw.write(sseEvent("output", text, String(offset)));
          }
          if (jobEnded(job)) {
            raw.write(sseEvent("end", JSON.stringify(job), String(offset)));
            break;
          }
          await events.next(id, SSE_POLL_MS, closed);
        }
      } catch (error) {
        request.log.error({ err: String(error) }, "job event stream failed");
      }
      raw.end();
    },
  );
}
