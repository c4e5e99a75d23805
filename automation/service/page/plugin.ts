// The status page as a fastify plugin: register it with app.register(statusPage(deps)). It is encapsulated: its form
// body parser, security headers and HTML error pages apply to its own routes only, not to the JSON API beside it.
import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
// For its FastifySchema augmentation (`hide`): the page keeps its routes out of the API document.
import type {} from "@fastify/swagger";
import type { Caller, Job, JobRequest } from "../contracts";
import { CONTENT_SECURITY_POLICY } from "./assets";
import { hasScope } from "./format";
import { environmentView, expandedSet, gatherList, messageOf, PageDriver } from "./gather";
import { html } from "./html";
import { environmentRows } from "./renderEnvironments";
import * as page from "./renderPage";
import { checkedTicket, describeError, PageProblem } from "./errors";
import { SCHEMAS } from "./schemas";
import * as session from "./session";
import { DEFAULT_FRONT_ENDS, FrontEnd, PageContext } from "./view";

export interface PageJobs {
  enqueue(request: JobRequest): Promise<Job>;
  get(id: string): Promise<Job | undefined>;
  output(id: string, fromOffset?: number): Promise<string>;
}

export interface PageDeps {
  readonly driver: PageDriver;
  readonly jobs: PageJobs;
  /** A token's caller, or undefined for an unknown token (svc-api's auth). */
  readonly authenticate: (token: string) => Caller | undefined;
  /** Ticket links: this + the ticket, e.g. https://jira.example.test/browse/ */
  readonly jiraBrowseUrl?: string;
  readonly frontEnds?: readonly FrontEnd[];
  readonly now?: () => Date;
  /** How often the page refreshes its list. @default 5000 */
  readonly refreshMs?: number;
}

interface Session {
  readonly token: string;
  readonly caller: Caller;
}

type Body = Record<string, string | undefined>;

/**
 * What the server's audit hook (onResponse, on every changing request) reads: who asked, and for which ticket and
 * job with what outcome. Shaped as svc-api's request.caller / request.auditNote; set here without importing its
 * module augmentation so the plugin stands alone.
 */
interface AuditedRequest {
  caller?: Caller;
  auditNote?: { ticket?: string; jobId?: string; outcome?: string };
}
const noteFor = (request: FastifyRequest) => request as unknown as AuditedRequest;

const isFragment = (request: FastifyRequest) => request.headers["x-qa-fragment"] === "1";

export function statusPage(deps: PageDeps): (app: FastifyInstance) => Promise<void> {
  const now = deps.now ?? (() => new Date());
  const frontEnds = deps.frontEnds ?? DEFAULT_FRONT_ENDS;

  const sessionOf = (request: FastifyRequest): Session | undefined => {
    const token = session.parseCookies(request.headers.cookie)[session.SESSION_COOKIE];
    const caller = token ? deps.authenticate(token) : undefined;
    return token && caller ? { token, caller } : undefined;
  };
  const contextOf = (s: Session): PageContext => ({
    caller: s.caller,
    csrf: session.csrfToken(s.token),
    now: now(),
    jiraBrowseUrl: deps.jiraBrowseUrl,
    frontEnds,
    refreshMs: deps.refreshMs,
  });

  /** Signed in with at least `scope`, else a sign-in redirect (pages) or 401/403. */
  const require = (request: FastifyRequest, reply: FastifyReply, scope: "read" | "deploy"): Session | undefined => {
    const s = sessionOf(request);
    if (!s) {
      if (request.method === "GET" && !isFragment(request)) void reply.redirect("/sign-in", 303);
      else
        throw new PageProblem(
          401,
          "Signed out",
          "You are not signed in (or your token was revoked): sign in again at /sign-in",
        );
      return undefined;
    }
    noteFor(request).caller = s.caller;
    if (!hasScope(s.caller, scope)) {
      throw new PageProblem(
        403,
        "Not allowed",
        `${s.caller.name} has scopes [${s.caller.scopes.join(", ")}]; this needs "${scope}"`,
      );
    }
    return s;
  };

  /** Cross-site requests and requests without the session's CSRF token change nothing. */
  const checkForgery = (request: FastifyRequest, s: Session | undefined) => {
    const problem = session.crossSiteProblem({
      host: request.headers.host,
      origin: request.headers.origin,
      secFetchSite: request.headers["sec-fetch-site"] as string | undefined,
    });
    if (problem) throw new PageProblem(403, "Refused", `cross-site request refused: ${problem}`);
    if (!s) return;
    const presented = (request.headers[session.CSRF_HEADER] as string | undefined) ?? (request.body as Body)?.csrf;
    if (!session.csrfMatches(s.token, presented)) {
      throw new PageProblem(403, "Refused", "the form's CSRF token is missing or wrong: reload the page and try again");
    }
  };

  const send = (reply: FastifyReply, statusCode: number, body: string) =>
    reply.code(statusCode).type("text/html; charset=utf-8").send(body);

  const enqueue = async (request: FastifyRequest, reply: FastifyReply, job: JobRequest) => {
    noteFor(request).auditNote = { ticket: job.ticket };
    const queued = await deps.jobs.enqueue(job);
    const code = isFragment(request) ? 202 : 303;
    noteFor(request).auditNote = { ticket: job.ticket, jobId: queued.id, outcome: `${code} queued` };
    if (isFragment(request)) return send(reply, 202, page.jobFragment({ job: queued, output: "" }).value);
    return reply.redirect(`/ui/jobs/${encodeURIComponent(queued.id)}`, 303);
  };

  return async (app) => {
    // Forms post urlencoded bodies; fastify parses only JSON by itself. A parser the server already has is kept.
    if (!app.hasContentTypeParser("application/x-www-form-urlencoded"))
      app.addContentTypeParser(
        "application/x-www-form-urlencoded",
        { parseAs: "string", bodyLimit: 65_536 },
        (_req, body, done) => {
          done(null, Object.fromEntries(new URLSearchParams(body as string)));
        },
      );

    app.addHook("onSend", async (_request, reply) => {
      reply.header("content-security-policy", CONTENT_SECURITY_POLICY);
      reply.header("cache-control", "no-store");
      reply.header("x-content-type-options", "nosniff");
      reply.header("referrer-policy", "same-origin");
      reply.header("vary", "Cookie, X-QA-Fragment");
    });

    app.setErrorHandler(async (error, request, reply) => {
      const s = sessionOf(request);
      const ctx = s ? contextOf(s) : undefined;
      const where = (error as { validationContext?: string }).validationContext;
      const input = where === "body" ? request.body : where === "params" ? request.params : request.query;
      const problem = describeError(error, input as Record<string, unknown> | undefined);
      if (!problem) request.log.error({ err: error }, "status page failed");
      const { status, title, message } = problem ?? {
        status: 500,
        title: "Something broke",
        message: `the page could not be built: ${messageOf(error)}`,
      };
      if (request.method !== "GET") {
        const audited = noteFor(request);
        audited.auditNote = { ...audited.auditNote, outcome: `${status} ${message}` };
      }
      if (isFragment(request))
        return send(reply, status, html`<p class="error" role="alert">${title}: ${message}</p>`.value);
      return send(reply, status, page.problemPage(title, message, ctx));
    });

    app.get("/sign-in", { schema: SCHEMAS.signInForm }, async (request, reply) => {
      if (sessionOf(request)) return reply.redirect("/", 303);
      return send(reply, 200, page.signInPage());
    });

    app.post("/sign-in", { schema: SCHEMAS.signIn }, async (request, reply) => {
      checkForgery(request, undefined);
      const token = (request.body as Body).token ?? "";
      const caller = deps.authenticate(token);
      if (!caller) return send(reply, 401, page.signInPage("That token is not valid: check it and try again."));
      noteFor(request).caller = caller;
      reply.header("set-cookie", session.sessionCookie(token, request.protocol === "https"));
      return reply.redirect("/", 303);
    });

    app.post("/sign-out", { schema: SCHEMAS.signOut }, async (request, reply) => {
      const s = sessionOf(request);
      checkForgery(request, s);
      reply.header("set-cookie", session.clearedSessionCookie(request.protocol === "https"));
      return reply.redirect("/sign-in", 303);
    });

    app.get("/", { schema: SCHEMAS.list }, async (request, reply) => {
      const s = require(request, reply, "read");
      if (!s) return reply;
      const list = await gatherList(deps.driver, expandedSet((request.query as Body).expanded));
      return send(reply, 200, page.statusPage(list, contextOf(s)));
    });

    app.get("/ui/environments", { schema: SCHEMAS.list }, async (request, reply) => {
      const s = require(request, reply, "read");
      if (!s) return reply;
      const list = await gatherList(deps.driver, expandedSet((request.query as Body).expanded));
      return send(reply, 200, page.listFragment(list, contextOf(s)).value);
    });

    app.get("/ui/environments/:ticket", { schema: SCHEMAS.environment }, async (request, reply) => {
      const s = require(request, reply, "read");
      if (!s) return reply;
      const ticket = checkedTicket((request.params as { ticket: string }).ticket, "params");
      const summary = (await deps.driver.list()).find((e) => e.ticket.toUpperCase() === ticket.toUpperCase());
      if (!summary)
        throw new PageProblem(
          404,
          "Not found",
          `no environment for ticket ${ticket}: it was never deployed or has been removed`,
        );
      const expanded = (request.query as { expanded?: boolean }).expanded ?? false;
      return send(
        reply,
        200,
        environmentRows(await environmentView(deps.driver, summary), contextOf(s), expanded).value,
      );
    });

    app.get("/ui/environments/:ticket/services/:service/logs", { schema: SCHEMAS.logs }, async (request, reply) => {
      const s = require(request, reply, "read");
      if (!s) return reply;
      const { service } = request.params as { service: string };
      const ticket = checkedTicket((request.params as { ticket: string }).ticket, "params");
      const { previous, tail } = request.query as { previous: boolean; tail: number };
      const lines = await deps.driver.logs(ticket, service, { previous, tail });
      const view = { ticket, service, previous, tail, lines };
      return send(reply, 200, isFragment(request) ? page.logFragment(view).value : page.logPage(view, contextOf(s)));
    });

    app.get("/ui/jobs/:id", { schema: SCHEMAS.job }, async (request, reply) => {
      const s = require(request, reply, "read");
      if (!s) return reply;
      const { id } = request.params as { id: string };
      const job = await deps.jobs.get(id);
      if (!job)
        throw new PageProblem(
          404,
          "Not found",
          `no job ${id}: check the id (jobs are listed on the page after an action)`,
        );
      const view = { job, output: await deps.jobs.output(id) };
      return send(reply, 200, isFragment(request) ? page.jobFragment(view).value : page.jobPage(view, contextOf(s)));
    });

    app.post("/ui/environments", { schema: SCHEMAS.deploy }, async (request, reply) => {
      const s = require(request, reply, "deploy");
      if (!s) return reply;
      checkForgery(request, s);
      const body = request.body as Body;
      const ticket = checkedTicket(body.ticket ?? "", "body");
      const services = (body.services ?? "").split(/[\s,]+/).filter(Boolean);
      if (body.confirmed !== "yes") {
        const fields = { ticket, ...(body.services ? { services: body.services } : {}) };
        return send(
          reply,
          200,
          page.confirmPage(
            `Deploy ${ticket}? Its environment is created or updated.`,
            "/ui/environments",
            fields,
            contextOf(s),
          ),
        );
      }
      return enqueue(request, reply, {
        kind: "deploy",
        ticket,
        ...(services.length ? { services } : {}),
        requestedBy: s.caller.name,
        reason: "status-page",
      });
    });

    app.post("/ui/environments/:ticket/delete", { schema: SCHEMAS.remove }, async (request, reply) => {
      const s = require(request, reply, "deploy");
      if (!s) return reply;
      checkForgery(request, s);
      const ticket = checkedTicket((request.params as { ticket: string }).ticket, "params");
      if ((request.body as Body | undefined)?.confirmed !== "yes") {
        const action = `/ui/environments/${encodeURIComponent(ticket)}/delete`;
        return send(
          reply,
          200,
          page.confirmPage(`Remove ${ticket}? Its namespace and stack are destroyed.`, action, {}, contextOf(s)),
        );
      }
      return enqueue(request, reply, { kind: "destroy", ticket, requestedBy: s.caller.name, reason: "status-page" });
    });
  };
}
