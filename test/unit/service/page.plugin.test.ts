import { expect } from "chai";
import { createHash } from "node:crypto";
import Fastify, { FastifyInstance } from "fastify";
import { statusPage } from "../../../automation/service/page/plugin";
import { csrfToken } from "../../../automation/service/page/session";
import { authenticate, FakeDriver, FakeJobs } from "./pageFakes";

const DEPLOY = "deploy-token-1234";
const READ = "read-token-5678";
const HOSTILE = "<script>alert(1)</script>";
const FORM = "application/x-www-form-urlencoded";
// svc-api's server's ajv options (automation/service/server.ts): extra fields are refused, not dropped.
const SERVER_OPTIONS = {
  ajv: { customOptions: { removeAdditional: false, verbose: true, allErrors: false } },
} as const;
const audit: Record<string, unknown>[] = [];
const cookie = (token: string) => ({ cookie: `qa_session=${token}` });

describe("status page plugin (fastify inject)", () => {
  let app: FastifyInstance;
  let driver: FakeDriver;
  let jobs: FakeJobs;

  beforeEach(async () => {
    driver = new FakeDriver();
    driver.add("VERBU-6202", [
      { service: "desktop-web" },
      { service: "auth", kind: "crashing", onBranch: true, reasonText: HOSTILE },
    ]);
    driver.add("VERBU-7000", [{ service: "wallet" }]);
    driver.logLines.set("VERBU-6202/auth", [{ pod: "auth-1", container: "auth", text: `boot ${HOSTILE}` }]);
    jobs = new FakeJobs(driver);
    app = Fastify(SERVER_OPTIONS);
    // What svc-api's server does on every changing request: reads request.caller and request.auditNote.
    audit.length = 0;
    app.addHook("onResponse", async (request, reply) => {
      if (request.method === "GET") return;
      const r = request as unknown as { caller?: { name: string }; auditNote?: Record<string, string> };
      audit.push({ actor: r.caller?.name ?? "anonymous", url: request.url, status: reply.statusCode, ...r.auditNote });
    });
    await app.register(statusPage({ driver, jobs, authenticate, jiraBrowseUrl: "https://jira.example.test/browse/" }));
  });
  afterEach(() => app.close());

  const post = (
    url: string,
    token: string | undefined,
    fields: Record<string, string>,
    headers: Record<string, string> = {},
  ) =>
    app.inject({
      method: "POST",
      url,
      headers: { "content-type": FORM, ...(token ? cookie(token) : {}), ...headers },
      payload: new URLSearchParams(fields).toString(),
    });

  it("sends a signed-out visitor to sign-in, and signs in with a token into an HttpOnly SameSite=Strict cookie", async () => {
    const first = await app.inject({ url: "/" });
    expect(first.statusCode).to.equal(303);
    expect(first.headers.location).to.equal("/sign-in");
    const form = await app.inject({ url: "/sign-in" });
    expect(form.body).to.contain('<label for="token">API token</label>');

    const wrong = await post("/sign-in", undefined, { token: "nope" });
    expect(wrong.statusCode).to.equal(401);
    expect(wrong.headers["set-cookie"]).to.equal(undefined);

    const ok = await post("/sign-in", undefined, { token: DEPLOY });
    expect(ok.statusCode).to.equal(303);
    expect(ok.headers["set-cookie"]).to.equal(`qa_session=${DEPLOY}; HttpOnly; SameSite=Strict; Path=/`);
  });

  it("renders the list in one request (one list, one capacity, one status per environment), never the token", async () => {
    const res = await app.inject({ url: "/", headers: cookie(DEPLOY) });
    expect(res.statusCode).to.equal(200);
    expect(driver.calls.sort()).to.deep.equal(["capacity", "list", "status VERBU-6202", "status VERBU-7000"]);
    expect(res.body).to.contain('href="https://jira.example.test/browse/VERBU-6202"');
    expect(res.body).to.contain("3 more environments fit");
    expect(res.body).not.to.contain(DEPLOY);
    expect(res.body).not.to.contain(HOSTILE);
    expect(res.body).to.contain("&lt;script&gt;alert(1)&lt;/script&gt;");
  });

  it("serves a Content-Security-Policy that allows exactly the page's own inline script and style", async () => {
    const res = await app.inject({ url: "/", headers: cookie(READ) });
    const csp = String(res.headers["content-security-policy"]);
    const hash = (text: string) => `'sha256-${createHash("sha256").update(text).digest("base64")}'`;
    const scripts = [...res.body.matchAll(/<script>([\s\S]*?)<\/script>/g)].map((m) => m[1]);
    const styles = [...res.body.matchAll(/<style>([\s\S]*?)<\/style>/g)].map((m) => m[1]);
    expect(scripts).to.have.length(1);
    expect(styles).to.have.length(1);
    expect(csp).to.contain(`script-src ${hash(scripts[0])}`);
    expect(csp).to.contain(`style-src ${hash(styles[0])}`);
    expect(csp).to.contain("frame-ancestors 'none'");
  });

  it("shows a read-only user no actions and refuses their deploy with 403", async () => {
    const res = await app.inject({ url: "/", headers: cookie(READ) });
    expect(res.body).not.to.contain("/delete");
    expect(res.body).not.to.contain('id="deploy-ticket"');
    const refused = await post("/ui/environments", READ, {
      ticket: "VERBU-1",
      csrf: csrfToken(READ),
      confirmed: "yes",
    });
    expect(refused.statusCode).to.equal(403);
    expect(refused.body).to.contain("this needs &quot;deploy&quot;");
    expect(audit.at(-1)).to.deep.include({ actor: "reader", status: 403 });
    expect(String(audit.at(-1)!.outcome)).to.match(/^403 reader has scopes \[read\]/);
    expect(jobs.jobs.size).to.equal(0);
  });

  it("refuses actions without the CSRF token, with a wrong one, cross-site or from another origin", async () => {
    const fields = { ticket: "VERBU-1", confirmed: "yes" };
    expect((await post("/ui/environments", DEPLOY, fields)).statusCode).to.equal(403);
    expect((await post("/ui/environments", DEPLOY, { ...fields, csrf: csrfToken(READ) })).statusCode).to.equal(403);
    const good = { ...fields, csrf: csrfToken(DEPLOY) };
    expect((await post("/ui/environments", DEPLOY, good, { "sec-fetch-site": "cross-site" })).statusCode).to.equal(403);
    const foreign = await post("/ui/environments", DEPLOY, good, {
      origin: "https://evil.example",
      host: "qa.example.test",
    });
    expect(foreign.statusCode).to.equal(403);
    expect(foreign.body).to.contain("cross-site request refused");
    expect((await post("/ui/environments/VERBU-6202/delete", DEPLOY, { confirmed: "yes" })).statusCode).to.equal(403);
    expect((await post("/sign-out", DEPLOY, {})).statusCode).to.equal(403);
    expect(jobs.jobs.size).to.equal(0);
  });

  it("asks for confirmation first, then enqueues the deploy as the signed-in user", async () => {
    const csrf = csrfToken(DEPLOY);
    const ask = await post("/ui/environments", DEPLOY, { ticket: "verbu-1", services: "auth, wallet", csrf });
    expect(ask.statusCode).to.equal(200);
    expect(ask.body).to.contain("Deploy VERBU-1?");
    expect(ask.body).to.contain('name="confirmed" value="yes"');
    expect(jobs.jobs.size).to.equal(0);

    const go = await post(
      "/ui/environments",
      DEPLOY,
      { ticket: "verbu-1", services: "auth, wallet", csrf, confirmed: "yes" },
      {
        origin: "http://localhost:80",
        host: "localhost:80",
        "sec-fetch-site": "same-origin",
      },
    );
    expect(go.statusCode).to.equal(303);
    expect(go.headers.location).to.equal("/ui/jobs/job-1");
    const job = await jobs.get("job-1");
    expect(audit.at(-1)).to.deep.equal({
      actor: "deployer",
      url: "/ui/environments",
      status: 303,
      ticket: "VERBU-1",
      jobId: "job-1",
      outcome: "303 queued",
    });
    expect(job).to.deep.include({
      kind: "deploy",
      ticket: "VERBU-1",
      services: ["auth", "wallet"],
      requestedBy: "deployer",
      reason: "status-page",
    });
  });

  it("answers the page's script with a job fragment (202), and removes with the header token", async () => {
    const res = await post(
      "/ui/environments/VERBU-6202/delete",
      DEPLOY,
      { confirmed: "yes" },
      {
        "x-csrf-token": csrfToken(DEPLOY),
        "x-qa-fragment": "1",
      },
    );
    expect(res.statusCode).to.equal(202);
    expect(res.body).to.match(/^<article\s+class="job"\s+data-job="job-1"/);
    expect((await jobs.get("job-1"))!.kind).to.equal("destroy");
    const progress = await app.inject({ url: "/ui/jobs/job-1", headers: { ...cookie(READ), "x-qa-fragment": "1" } });
    expect(progress.body).to.contain("queued");
  });

  it("explains bad input with the field, the value, the rule and the fix (400, never 5xx)", async () => {
    const csrf = csrfToken(DEPLOY);
    const bad = await post("/ui/environments", DEPLOY, { ticket: HOSTILE, csrf, confirmed: "yes" });
    expect(bad.statusCode).to.equal(400);
    expect(bad.body).to.contain("body field &quot;ticket&quot; is &quot;&lt;script&gt;");
    expect(bad.body).to.contain("e.g. VERBU-6202");
    const reserved = await post("/ui/environments", DEPLOY, { ticket: "kube-system", csrf, confirmed: "yes" });
    expect(reserved.statusCode).to.equal(400);
    expect(reserved.body).to.contain("kube-system");
    const extra = await post("/ui/environments", DEPLOY, { ticket: "T-1", csrf, bogus: "1" });
    expect(extra.statusCode).to.equal(400);
    expect(extra.body).to.contain("body field &quot;bogus&quot; is not expected here");
    const tail = await app.inject({
      url: "/ui/environments/VERBU-6202/services/auth/logs?tail=0",
      headers: cookie(READ),
    });
    expect(tail.statusCode).to.equal(400);
    expect(tail.body).to.contain("querystring field &quot;tail&quot; is 0");
    expect(jobs.jobs.size).to.equal(0);
  });

  it("serves one environment's rows as a fragment, and 404 for an unknown one", async () => {
    const res = await app.inject({ url: "/ui/environments/VERBU-7000?expanded=true", headers: cookie(READ) });
    expect(res.body).to.match(/^<tbody class="environment" data-ticket="VERBU-7000"/);
    expect(res.body).to.contain('aria-expanded="true"');
    const missing = await app.inject({
      url: "/ui/environments/VERBU-1",
      headers: { ...cookie(READ), "x-qa-fragment": "1" },
    });
    expect(missing.statusCode).to.equal(404);
    expect(missing.body).to.contain("no environment for ticket VERBU-1");
  });

  it("keeps expanded rows expanded in the refreshed list fragment", async () => {
    const res = await app.inject({ url: "/ui/environments?expanded=VERBU-7000", headers: cookie(READ) });
    expect(res.body).to.match(/aria-expanded="true"\s+aria-controls="services-VERBU-7000"/);
    expect(res.body).to.match(/aria-expanded="false"\s+aria-controls="services-VERBU-6202"/);
    expect(res.body).not.to.contain("<html");
  });

  it("shows a service's log escaped, and the driver's own message for an unknown service", async () => {
    const log = await app.inject({
      url: "/ui/environments/VERBU-6202/services/auth/logs",
      headers: { ...cookie(READ), "x-qa-fragment": "1" },
    });
    expect(log.statusCode).to.equal(200);
    expect(log.body).to.contain("boot &lt;script&gt;alert(1)&lt;/script&gt;");
    expect(driver.calls).to.include("logs VERBU-6202 auth");
    const reserved = await app.inject({
      url: "/ui/environments/kube-system/services/auth/logs",
      headers: cookie(READ),
    });
    expect(reserved.statusCode).to.equal(400);
    expect(reserved.body).to.contain("params field &quot;ticket&quot;");
    const unknown = await app.inject({ url: "/ui/environments/VERBU-6202/services/nope/logs", headers: cookie(READ) });
    expect(unknown.statusCode).to.equal(400);
    expect(unknown.body).to.contain("service &quot;nope&quot; has no pod");
  });

  it("404s an unknown job; signs out by clearing the cookie; a revoked token is signed out", async () => {
    expect((await app.inject({ url: "/ui/jobs/nope", headers: cookie(READ) })).statusCode).to.equal(404);
    const out = await post("/sign-out", READ, { csrf: csrfToken(READ) });
    expect(out.statusCode).to.equal(303);
    expect(out.headers["set-cookie"]).to.contain("Max-Age=0");
    const revoked = await app.inject({ url: "/", headers: cookie("revoked-token") });
    expect(revoked.headers.location).to.equal("/sign-in");
    const fragment = await app.inject({
      url: "/ui/environments",
      headers: { ...cookie("revoked-token"), "x-qa-fragment": "1" },
    });
    expect(fragment.statusCode).to.equal(401);
  });

  it("keeps its form parser and HTML errors to itself: a JSON route beside it is untouched", async () => {
    const outer = Fastify();
    outer.post("/api", { schema: { body: { type: "object", required: ["x"] } } }, async () => ({ ok: true }));
    await outer.register(statusPage({ driver, jobs, authenticate }));
    const res = await outer.inject({ method: "POST", url: "/api", payload: {} });
    expect(res.statusCode).to.equal(400);
    expect(res.headers["content-type"]).to.contain("application/json");
    const form = await outer.inject({ method: "POST", url: "/api", headers: { "content-type": FORM }, payload: "x=1" });
    expect(form.statusCode).to.equal(415);
    await outer.close();
  });
});
