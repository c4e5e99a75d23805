// The server's wiring: the OpenAPI document covers every route, SSE of a job's output (live, resumable, ending with
// the job), the Jira webhook's signature, and the hooks the status page and the cleanup sweep plug into.
import { expect } from "chai";
import * as crypto from "node:crypto";
import type { FastifyInstance } from "fastify";
import { auth, Gate, harness, Harness, jobEnd, TOKENS } from "./fakes";

const ROUTES = [
  ["post", "/environments"],
  ["get", "/environments"],
  ["get", "/environments/{ticket}"],
  ["delete", "/environments/{ticket}"],
  ["get", "/environments/{ticket}/services/{service}/logs"],
  ["get", "/jobs"],
  ["get", "/jobs/{id}"],
  ["get", "/jobs/{id}/events"],
  ["get", "/capacity"],
  ["post", "/hooks/jira"],
  ["get", "/healthz"],
  ["get", "/readyz"],
];

/** Parses an SSE body into its events. */
function sseEvents(text: string) {
  return text
    .split("\n\n")
    .filter(Boolean)
    .map((block) => {
      const fields = block.split("\n");
      const value = (name: string) =>
        fields.filter((f) => f.startsWith(`${name}: `)).map((f) => f.slice(name.length + 2));
      return { id: value("id")[0], event: value("event")[0], data: value("data").join("\n") };
    });
}

describe("QA service server wiring", () => {
  let h: Harness;
  afterEach(async () => h?.close());

  it("documents every route in /openapi.json with its schemas and the bearer scheme", async () => {
    h = await harness();
    const doc = (await h.app.inject({ url: "/openapi.json" })).json();
    expect(doc.openapi).to.equal("3.0.3");
    for (const [method, route] of ROUTES) {
      expect(doc.paths[route]?.[method], `${method} ${route}`).to.be.an("object");
      expect(Object.keys(doc.paths[route][method].responses)).to.include("500");
    }
    expect(Object.keys(doc.paths).sort()).to.deep.equal([...new Set(ROUTES.map((r) => r[1]))].sort());
    expect(doc.paths["/environments"].post.security).to.deep.equal([{ bearer: [] }]);
    expect(doc.paths["/environments"].post.requestBody.content["application/json"].schema.required).to.deep.equal([
      "ticket",
    ]);
    expect(doc.paths["/environments"].post.responses["409"].content["application/json"].schema.required).to.include(
      "capacity",
    );
    expect(doc.paths["/healthz"].get.security).to.deep.equal([]);
    expect(doc.components.securitySchemes.bearer).to.deep.equal({ type: "http", scheme: "bearer" });
  });

  it("streams a job's output as SSE while it runs, ends with the job, resumes from Last-Event-ID", async () => {
    h = await harness();
    const gate = new Gate();
    h.driver.gates.set("VERBU-9540", gate);
    const id = (
      await h.app.inject({
        method: "POST",
        url: "/environments",
        headers: auth("deploy"),
        payload: { ticket: "VERBU-9540" },
      })
    ).json().job.id;
    const address = await h.app.listen({ host: "127.0.0.1", port: 0 });
    const res = await fetch(`${address}/jobs/${id}/events`, { headers: auth("read") });
    expect(res.headers.get("content-type")).to.equal("text/event-stream; charset=utf-8");
    const reader = res.body!.getReader();
    let text = "";
    while (!text.includes("Updating (verbu-9540)")) text += new TextDecoder().decode((await reader.read()).value);
    expect((await h.store.get(id))?.state).to.equal("running"); // live: seen before the job ended
    gate.release();
    for (;;) {
      const chunk = await reader.read();
      if (chunk.done) break;
      text += new TextDecoder().decode(chunk.value);
    }
    const events = sseEvents(text);
    const output = events
      .filter((e) => e.event === "output")
      .map((e) => e.data)
      .join("");
    expect(output).to.equal(await h.store.output(id));
    const end = events[events.length - 1];
    expect(end.event).to.equal("end");
    expect(JSON.parse(end.data)).to.include({ id, state: "succeeded" });

    const middle = events[0].id;
    const resumed = await h.app.inject({
      url: `/jobs/${id}/events`,
      headers: { ...auth("read"), "last-event-id": middle },
    });
    const rest = sseEvents(resumed.body)
      .filter((e) => e.event === "output")
      .map((e) => e.data)
      .join("");
    expect(rest).to.equal((await h.store.output(id)).slice(Number(middle)));
    expect((await h.app.inject({ url: "/jobs/nope/events", headers: auth("read") })).statusCode).to.equal(404);
  });

  it("accepts a Jira event only with a valid signature and hands it to onJiraEvent; audits it", async () => {
    const secret = "j".repeat(32);
    const seen: unknown[] = [];
    h = await harness({
      jiraSecret: secret,
      onJiraEvent: async (payload) => (seen.push(payload), { action: "destroy", ticket: "VERBU-9541", jobId: "j1" }),
    });
    const body = JSON.stringify({ webhookEvent: "jira:issue_updated", issue: { key: "VERBU-9541" } });
    const sign = (b: string) => `sha256=${crypto.createHmac("sha256", secret).update(b).digest("hex")}`;
    const hook = (payload: string, signature?: string) =>
      h.app.inject({
        method: "POST",
        url: "/hooks/jira",
        headers: { "content-type": "application/json", ...(signature ? { "x-hub-signature": signature } : {}) },
        payload,
      });
    const ok = await hook(body, sign(body));
    expect(ok.statusCode).to.equal(202);
    expect(ok.json()).to.deep.equal({ action: "destroy", ticket: "VERBU-9541", jobId: "j1" });
    expect(seen).to.deep.equal([JSON.parse(body)]);
    const forged = await hook(body.replace("9541", "9542"), sign(body));
    expect(forged.statusCode).to.equal(401);
    expect(forged.json().message).to.match(/^X-Hub-Signature is missing or does not match/);
    expect((await hook(body)).statusCode).to.equal(401);
    expect(seen).to.have.length(1);
    await new Promise((r) => setTimeout(r, 50));
    const audit = await h.store.auditLog();
    expect(audit.map((a) => [a.actor, a.outcome.slice(0, 11)])).to.deep.equal([
      ["jira", "401 X-Hub-S"],
      ["jira", "401 X-Hub-S"],
      ["jira", "202 destroy"],
    ]);
    expect(h.logs.text).not.to.include(secret);
  });

  it("answers 202 ignored without an onJiraEvent, 401 when no secret is configured", async () => {
    h = await harness({ jiraSecret: "k".repeat(32) });
    const body = "{}";
    const signature = `sha256=${crypto.createHmac("sha256", "k".repeat(32)).update(body).digest("hex")}`;
    const res = await h.app.inject({
      method: "POST",
      url: "/hooks/jira",
      headers: { "content-type": "application/json", "x-hub-signature": signature },
      payload: body,
    });
    expect(res.json()).to.deep.equal({ action: "ignored" });
    await h.close();
    h = await harness();
    const off = await h.app.inject({
      method: "POST",
      url: "/hooks/jira",
      headers: { "content-type": "application/json" },
      payload: body,
    });
    expect(off.statusCode).to.equal(401);
    expect(off.json().message).to.equal("the Jira webhook is disabled: QA_JIRA_SECRET is not set on the service");
  });

  it("registers plugins (the status page at /) that can authenticate a raw token, and runs the sweep on its interval", async () => {
    let sweeps = 0;
    const page = async (app: FastifyInstance) => {
      app.get("/", { schema: { hide: true } }, async (request) => ({
        who: app.qaAuthenticate(request.headers.cookie)?.name ?? null,
      }));
    };
    h = await harness({ plugins: [page], sweep: { intervalMs: 20, run: async () => ++sweeps } });
    expect((await h.app.inject({ url: "/", headers: { cookie: TOKENS.deploy } })).json()).to.deep.equal({
      who: "deployer",
    });
    expect((await h.app.inject({ url: "/" })).json()).to.deep.equal({ who: null });
    await new Promise((r) => setTimeout(r, 150));
    expect(sweeps).to.be.greaterThan(1);
    expect(h.logs.text).to.include("cleanup sweep done");
  });

  it("keeps deploys of different tickets running at once, up to maxJobs", async () => {
    h = await harness();
    const gates = ["VERBU-9543", "VERBU-9544"].map((t) => {
      const gate = new Gate();
      h.driver.gates.set(t, gate);
      return gate;
    });
    const ids = [];
    for (const ticket of ["VERBU-9543", "VERBU-9544"])
      ids.push(
        (
          await h.app.inject({ method: "POST", url: "/environments", headers: auth("deploy"), payload: { ticket } })
        ).json().job.id,
      );
    await new Promise((r) => setTimeout(r, 150));
    expect(h.runner.active).to.equal(2);
    gates.forEach((g) => g.release());
    for (const id of ids) expect((await jobEnd(h, id)).state).to.equal("succeeded");
  });
});
