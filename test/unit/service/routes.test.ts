// Every route of the API through fastify's inject, against the real server, the real SQLite store and runner, and a
// fake driver: status codes, exact messages (the environment wing's own for bad input), jobs, audit and the secrets.
import { expect } from "chai";
import { featureOf, checkedServices } from "../../../automation/driverInput";
import { CapacityError } from "../../../automation/exitCodes";
import { PROJECT_DIR } from "../../../automation/stack";
import { auth, CAPACITY, Gate, harness, Harness, jobEnd, TOKENS } from "./fakes";

const messageOf = (f: () => unknown) => {
  try {
    f();
  } catch (error) {
    return (error as Error).message;
  }
  throw new Error("did not throw");
};

/** Reads a streamed (follow) response over a real socket until `count` lines came, then disconnects. */
async function followLines(h: Harness, url: string, count: number): Promise<string[]> {
  const address = await h.app.listen({ host: "127.0.0.1", port: 0 });
  const abort = new AbortController();
  const res = await fetch(`${address}${url}`, { headers: auth("read"), signal: abort.signal });
  expect(res.headers.get("content-type")).to.equal("text/plain; charset=utf-8");
  const reader = res.body!.getReader();
  let text = "";
  while (text.split("\n").length <= count) text += new TextDecoder().decode((await reader.read()).value);
  abort.abort();
  return text.split("\n").filter(Boolean);
}

describe("QA service API (fake driver, real fastify and SQLite)", () => {
  let h: Harness;
  beforeEach(async () => (h = await harness()));
  afterEach(async () => h.close());

  const post = (payload: unknown, scope: keyof typeof TOKENS = "deploy") =>
    h.app.inject({ method: "POST", url: "/environments", headers: auth(scope), payload: payload as object });

  describe("auth", () => {
    it("answers 401 without a token or with an unknown one, 403 for a too-low scope, JSON bodies", async () => {
      const none = await h.app.inject({ method: "GET", url: "/environments" });
      expect(none.statusCode).to.equal(401);
      expect(none.json()).to.deep.equal({
        statusCode: 401,
        error: "Unauthorized",
        message: "no bearer token: send Authorization: Bearer <token> (tokens come from QA_TOKENS_FILE)",
      });
      const wrong = await h.app.inject({
        method: "GET",
        url: "/environments",
        headers: { authorization: "Bearer nope" },
      });
      expect(wrong.statusCode).to.equal(401);
      expect(wrong.json().message).to.equal(
        "the bearer token is not one of QA_TOKENS_FILE's; check the Authorization header",
      );
      const low = await post({ ticket: "VERBU-9501" }, "read");
      expect(low.statusCode).to.equal(403);
      expect(low.json().message).to.equal('token "reader" has scope read; POST /environments needs deploy');
      expect(h.driver.calls).to.deep.equal([]);
    });

    it("lets admin do what deploy can (read ⊂ deploy ⊂ admin)", async () => {
      expect((await post({ ticket: "VERBU-9501" }, "admin")).statusCode).to.equal(202);
      expect((await h.app.inject({ url: "/environments", headers: auth("deploy") })).statusCode).to.equal(200);
    });

    it("never writes a token into the log or a response, even on refusals", async () => {
      await h.app.inject({ url: "/environments", headers: auth("read") });
      const refused = await h.app.inject({
        url: "/environments",
        headers: { authorization: "Bearer secret-guess-42" },
      });
      const deployed = await post({ ticket: "VERBU-9502" });
      await jobEnd(h, deployed.json().job.id);
      const job = await h.app.inject({ url: `/jobs/${deployed.json().job.id}`, headers: auth("read") });
      expect(h.logs.text).to.include('"url":"/environments"'); // the log did capture the requests
      for (const secret of [...Object.values(TOKENS), "secret-guess-42"]) {
        expect(h.logs.text).not.to.include(secret);
        expect(refused.body + deployed.body + job.body).not.to.include(secret);
      }
    });
  });

  describe("POST /environments", () => {
    it("queues a deploy (202 + job), the runner runs it through the driver with the services, output recorded", async () => {
      const res = await post({ ticket: "verbu-9503", services: ["auth"] });
      expect(res.statusCode).to.equal(202);
      const { job } = res.json();
      expect(job).to.include({ kind: "deploy", ticket: "VERBU-9503", requestedBy: "deployer", reason: "api" });
      expect(job.services).to.deep.equal(["auth"]);
      const ended = await jobEnd(h, job.id);
      expect(ended.state).to.equal("succeeded");
      expect(h.driver.calls).to.deep.equal([{ method: "deploy", ticket: "VERBU-9503", services: ["auth"] }]);
      const got = (await h.app.inject({ url: `/jobs/${job.id}`, headers: auth("read") })).json();
      expect(got.result).to.include({ stack: "verbu-9503", url: "http://verbu-9503.qa.test" });
      expect(got.result.outputs.kubeconfig).to.equal("[secret]");
      expect(got.output)
        .to.include("Updating (verbu-9503)")
        .and.include("Resources: 2 created")
        .and.include("succeeded");
      expect(got.startedAt).to.be.a("string");
      expect(got.finishedAt).to.be.a("string");
    });

    it("answers 400 with the wing's messages for a bad ticket or an unknown service, before queueing", async () => {
      const bad = await post({ ticket: "not a ticket" });
      expect(bad.statusCode).to.equal(400);
      expect(bad.json().message).to.equal(messageOf(() => featureOf("not a ticket")));
      const slash = await post({ ticket: "x/y" });
      expect(slash.json().message).to.equal(
        "ticket \"x/y\" contains '/': give the Jira ticket alone (e.g. VERBU-6202), or a branch with --branch",
      );
      const service = await post({ ticket: "VERBU-9504", services: ["nope"] });
      expect(service.statusCode).to.equal(400);
      expect(service.json().message).to.equal(messageOf(() => checkedServices(["nope"], {}, PROJECT_DIR)));
      expect(await h.store.list()).to.deep.equal([]);
    });

    it("rewords schema errors to name the field, the value and the fix", async () => {
      const missing = await post({});
      expect(missing.statusCode).to.equal(400);
      expect(missing.json().message).to.equal('body.ticket is required (e.g. {"ticket": "VERBU-6202"})');
      const type = await post({ ticket: "VERBU-9505", services: [{}] });
      expect(type.json().message).to.equal(
        "body.services[0] {} must be string; fix it (the rules are in /openapi.json)",
      );
      const extra = await post({ ticket: "VERBU-9505", branch: "x" });
      expect(extra.json().message).to.equal(
        "body.branch is not a field of this request; remove it (the fields are in /openapi.json)",
      );
      const notJson = await h.app.inject({
        method: "POST",
        url: "/environments",
        headers: { ...auth("deploy"), "content-type": "application/json" },
        payload: "{nope",
      });
      expect(notJson.statusCode).to.equal(400);
    });

    it("refuses a NEW ticket with 409 and the numbers when nothing fits; an update is never refused", async () => {
      h.driver.capacityReport = { ...CAPACITY, environmentsThatFit: 0, limitedBy: "cpu" };
      const refused = await post({ ticket: "VERBU-9506" });
      expect(refused.statusCode).to.equal(409);
      expect(refused.json().message).to.equal(
        "VERBU-9506: no room for a new environment (0 more fit, limited by cpu); remove an environment or add a node, then try again",
      );
      expect(refused.json().capacity).to.include({ environmentsThatFit: 0, limitedBy: "cpu" });
      expect(refused.json().capacity.free).to.deep.equal(CAPACITY.free);
      h.driver.capacityReport = CAPACITY;
      await jobEnd(h, (await post({ ticket: "VERBU-9506" })).json().job.id);
      h.driver.capacityReport = { ...CAPACITY, environmentsThatFit: 0 };
      expect((await post({ ticket: "VERBU-9506" })).statusCode).to.equal(202);
    });

    it("records the driver's CapacityError on the job (a race the preflight cannot see)", async () => {
      h.driver.failWith = new CapacityError("VERBU-9507 needs 3 CPU; 0 more environments of this size fit", {
        ticket: "VERBU-9507",
      });
      const job = await jobEnd(h, (await post({ ticket: "VERBU-9507" })).json().job.id);
      expect(job.state).to.equal("failed");
      expect(job.error).to.deep.equal({
        name: "CapacityError",
        exitCode: 3,
        message: "VERBU-9507 needs 3 CPU; 0 more environments of this size fit",
      });
    });
  });

  describe("environments", () => {
    it("lists, shows status, 404 for an unknown ticket, 400 for a bad one", async () => {
      await jobEnd(h, (await post({ ticket: "VERBU-9508" })).json().job.id);
      const list = await h.app.inject({ url: "/environments", headers: auth("read") });
      expect(list.json().map((e: { stack: string }) => e.stack)).to.deep.equal(["verbu-9508"]);
      expect(list.json()[0].record.deployedBy).to.equal("deployer");
      const status = await h.app.inject({ url: "/environments/VERBU-9508", headers: auth("read") });
      expect(status.statusCode).to.equal(200);
      expect(status.json()).to.include({ exists: true, namespace: "verbu-9508" });
      expect(status.json().services[0]).to.include({ service: "auth", state: "active" });
      const unknown = await h.app.inject({ url: "/environments/VERBU-9599", headers: auth("read") });
      expect(unknown.statusCode).to.equal(404);
      expect(unknown.json().message).to.equal("VERBU-9599: no environment (stack verbu-9599 does not exist)");
      const bad = await h.app.inject({ url: "/environments/Not_A_Ticket", headers: auth("read") });
      expect(bad.statusCode).to.equal(400);
      expect(bad.json().message).to.equal(messageOf(() => featureOf("Not_A_Ticket")));
    });

    it("DELETE queues a destroy (202), 404 for a ticket with no stack and no pending deploy", async () => {
      await jobEnd(h, (await post({ ticket: "VERBU-9509" })).json().job.id);
      const del = await h.app.inject({ method: "DELETE", url: "/environments/VERBU-9509", headers: auth("deploy") });
      expect(del.statusCode).to.equal(202);
      expect((await jobEnd(h, del.json().job.id)).state).to.equal("succeeded");
      expect(h.driver.environments.size).to.equal(0);
      const again = await h.app.inject({ method: "DELETE", url: "/environments/VERBU-9509", headers: auth("deploy") });
      expect(again.statusCode).to.equal(404);
      expect(again.json().message).to.equal("VERBU-9509: no environment (stack verbu-9509 does not exist)");
    });

    it("logs with follow: streams text until the client disconnects", async () => {
      await jobEnd(h, (await post({ ticket: "VERBU-9515" })).json().job.id);
      const followed = await followLines(h, "/environments/VERBU-9515/services/auth/logs?follow=true", 3);
      expect(followed).to.deep.equal(["[auth-0/auth] line 1", "[auth-0/auth] line 2", "[auth-0/auth] line 3"]);
    });

    it("logs: JSON lines with tail; 400 for a bad service name; 404 for no environment", async () => {
      await jobEnd(h, (await post({ ticket: "VERBU-9510" })).json().job.id);
      const url = "/environments/VERBU-9510/services/auth/logs";
      const tail = await h.app.inject({ url: `${url}?tail=2`, headers: auth("read") });
      expect(tail.json()).to.deep.equal({
        ticket: "VERBU-9510",
        service: "auth",
        lines: [
          { pod: "auth-0", container: "auth", text: "line 2" },
          { pod: "auth-0", container: "auth", text: "line 3" },
        ],
      });
      const badName = await h.app.inject({
        url: "/environments/VERBU-9510/services/Auth!/logs",
        headers: auth("read"),
      });
      expect(badName.statusCode).to.equal(400);
      expect(badName.json().message).to.equal(
        "service \"Auth!\" is not a catalog service name (lower-case letters, digits and '-', e.g. auth)",
      );
      const unknownService = await h.app.inject({
        url: "/environments/VERBU-9510/services/wallet/logs",
        headers: auth("read"),
      });
      expect(unknownService.statusCode).to.equal(400);
      expect(unknownService.json().message).to.equal(
        'VERBU-9510: service "wallet" is not in the environment (its services: auth)',
      );
      const none = await h.app.inject({ url: "/environments/VERBU-9598/services/auth/logs", headers: auth("read") });
      expect(none.statusCode).to.equal(404);
      const badTail = await h.app.inject({ url: `${url}?tail=0`, headers: auth("read") });
      expect(badTail.statusCode).to.equal(400);
      expect(badTail.json().message).to.equal(
        "querystring.tail 0 must be >= 1; fix it (the rules are in /openapi.json)",
      );
    });
  });

  describe("jobs", () => {
    it("GET /jobs?ticket= lists that ticket's jobs newest first; 404 for an unknown job; 400 for a bad ticket", async () => {
      const first = (await post({ ticket: "VERBU-9511" })).json().job.id;
      await jobEnd(h, first);
      const second = (await post({ ticket: "VERBU-9511" })).json().job.id;
      await jobEnd(h, (await post({ ticket: "VERBU-9512" })).json().job.id);
      await jobEnd(h, second);
      const list = await h.app.inject({ url: "/jobs?ticket=verbu-9511", headers: auth("read") });
      expect(list.json().map((j: { id: string }) => j.id)).to.deep.equal([second, first]);
      const missing = await h.app.inject({ url: "/jobs/nope", headers: auth("read") });
      expect(missing.statusCode).to.equal(404);
      expect(missing.json().message).to.equal('job "nope" does not exist; GET /jobs lists the jobs');
      expect((await h.app.inject({ url: "/jobs?ticket=a%20b", headers: auth("read") })).statusCode).to.equal(400);
    });

    it("runs one job per ticket at a time; shutdown cancels a running job and records it", async () => {
      const gate = new Gate();
      h.driver.gates.set("VERBU-9513", gate);
      const a = (await post({ ticket: "VERBU-9513" })).json().job.id;
      const b = (await post({ ticket: "VERBU-9513" })).json().job.id;
      await new Promise((r) => setTimeout(r, 150));
      expect((await h.store.get(a))?.state).to.equal("running");
      expect((await h.store.get(b))?.state).to.equal("queued");
      await h.runner.stop();
      const cancelled = await h.store.get(a);
      expect(cancelled?.state).to.equal("cancelled");
      expect(cancelled?.error).to.include({ name: "CancelledError", exitCode: 6 });
      expect((await h.store.get(b))?.state).to.equal("queued");
    });

    it("audits every changing request, accepted or refused, with who and the outcome", async () => {
      const accepted = (await post({ ticket: "VERBU-9514" })).json().job.id;
      await post({ ticket: "VERBU-9514" }, "read");
      await post({ ticket: "bad ticket" });
      await h.app.inject({ url: "/environments", headers: auth("read") }); // a read is not audited
      await new Promise((r) => setTimeout(r, 50));
      const log = await h.store.auditLog();
      expect(log.map((e) => [e.actor, e.action, e.outcome.split(" ")[0], e.jobId])).to.deep.equal([
        ["deployer", "POST /environments", "400", undefined],
        ["anonymous", "POST /environments", "403", undefined],
        ["deployer", "POST /environments", "202", accepted],
      ]);
      expect(log[2].ticket).to.equal("VERBU-9514");
    });
  });

  describe("system routes", () => {
    it("capacity 200 with the report, 503 with the reason when the cluster cannot be measured", async () => {
      const ok = await h.app.inject({ url: "/capacity", headers: auth("read") });
      expect(ok.json()).to.deep.include({ environmentsThatFit: 2, limitedBy: "memory" });
      h.driver.capacityReport = new Error("no kubeconfig");
      const down = await h.app.inject({ url: "/capacity", headers: auth("read") });
      expect(down.statusCode).to.equal(503);
      expect(down.json().message).to.equal("capacity cannot be measured: no kubeconfig");
    });

    it("healthz and readyz without a token; readyz 503 naming the missing engine", async () => {
      expect((await h.app.inject({ url: "/healthz" })).json()).to.deep.equal({ ok: true });
      expect((await h.app.inject({ url: "/readyz" })).json()).to.deep.equal({
        ok: true,
        checks: { store: "ok", engine: "ok" },
      });
      const noEngine = await harness({ engineProblem: () => "the pulumi CLI is not on the PATH" });
      try {
        const res = await noEngine.app.inject({ url: "/readyz" });
        expect(res.statusCode).to.equal(503);
        expect(res.json().checks.engine).to.equal("the pulumi CLI is not on the PATH");
      } finally {
        await noEngine.close();
      }
    });

    it("answers an unknown route 404 in JSON", async () => {
      const res = await h.app.inject({ url: "/nope" });
      expect(res.statusCode).to.equal(404);
      expect(res.json().message).to.equal("no route GET /nope; the API is described at /openapi.json");
    });
  });
});
