// The status page in a real browser: Debian's chromium (playwright-core) against a real fastify server on 127.0.0.1
// with the page plugin. The server comes from startPageUnderTest(): here a fake-but-faithful driver (service statuses
// made by automation/status.ts's own serviceStatus() from API-server-shaped pods) and an in-memory job store whose
// jobs change what the driver reports; the integrator swaps in the real service with the real driver by replacing
// that one function. Screenshots go to test-artifacts/.
import { expect } from "chai";
import * as http from "node:http";
import type { AddressInfo } from "node:net";
import Fastify from "fastify";
import type { Page } from "playwright-core";
import { statusPage } from "../../automation/service/page/plugin";
import { authenticate, FakeDriver, FakeJobs } from "../unit/service/pageFakes";
import { axeViolations, screenshot, startBrowser, TestBrowser } from "./support/browser";

const HOSTILE = "<script>alert(1)</script>";

/** What the browser test needs of a running service: where it is, two tokens, and what to look at. */
export interface PageUnderTest {
  readonly baseUrl: string;
  readonly deployToken: string;
  readonly readToken: string;
  /** A deployed environment and one of its services that has log lines. */
  readonly ticket: string;
  readonly service: string;
  /** A ticket that is not deployed: the test deploys it, then removes it. */
  readonly newTicket: string;
  readonly newServices: string;
  readonly jobTimeoutMs: number;
  /** Changes what the driver reports (to see a refresh arrive), when the setup can; the real one cannot. */
  readonly mutate?: () => void;
  close(): Promise<void>;
}

async function startPageUnderTest(): Promise<PageUnderTest> {
  const driver = new FakeDriver();
  driver.add("VERBU-6202", [
    { service: "desktop-web" },
    { service: "customer-area" },
    { service: "auth", kind: "crashing", onBranch: true, reasonText: HOSTILE },
    { service: "wallet", kind: "unschedulable" },
  ]);
  driver.add("VERBU-7001", [{ service: "desktop-web" }, { service: "wallet" }], "john.roe", "2026-11-30T08:00:00Z");
  driver.logLines.set("VERBU-6202/auth", [
    { pod: "auth-7d9c5b7f6d-x2x4z", container: "auth", text: "listening on :8080" },
    { pod: "auth-7d9c5b7f6d-x2x4z", container: "auth", text: `user input ${HOSTILE}` },
  ]);
  const jobs = new FakeJobs(driver, {
    autoRun: true,
    stepMs: 300,
    deployServices: [{ service: "auth" }, { service: "wallet" }],
  });
  // svc-api's server's ajv options (automation/service/server.ts): a form field too many is a 400, not dropped.
  const app = Fastify({ ajv: { customOptions: { removeAdditional: false, verbose: true, allErrors: false } } });
  await app.register(
    statusPage({ driver, jobs, authenticate, jiraBrowseUrl: "https://jira.example.test/browse/", refreshMs: 1000 }),
  );
  await app.listen({ host: "127.0.0.1", port: 0 });
  const { port } = app.server.address() as AddressInfo;
  return {
    baseUrl: `http://127.0.0.1:${port}`,
    deployToken: "deploy-token-1234",
    readToken: "read-token-5678",
    ticket: "VERBU-6202",
    service: "auth",
    newTicket: "VERBU-9901",
    newServices: "auth",
    jobTimeoutMs: 30_000,
    mutate: () =>
      driver.add("VERBU-6202", [
        { service: "desktop-web" },
        { service: "auth", onBranch: true },
        { service: "gf-mobile" },
      ]),
    close: () => app.close(),
  };
}

async function signIn(page: Page, sut: PageUnderTest, token: string): Promise<void> {
  await page.goto(sut.baseUrl + "/");
  expect(new URL(page.url()).pathname).to.equal("/sign-in");
  await page.getByLabel("API token").fill(token);
  await Promise.all([page.waitForURL(sut.baseUrl + "/"), page.getByRole("button", { name: "Sign in" }).click()]);
}

function seriousOnes(violations: Awaited<ReturnType<typeof axeViolations>>) {
  return violations
    .filter((v) => v.impact === "serious" || v.impact === "critical")
    .map((v) => `${v.id}: ${v.help} at ${JSON.stringify(v.nodes.map((n) => n.target))}`);
}

/** Polls from Node: the page's CSP (rightly) forbids the string evaluation waitForFunction would need. */
async function until(what: string, check: () => Promise<boolean>, timeoutMs = 15_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > end) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

async function waitForRefreshes(page: Page, count: number): Promise<void> {
  for (let i = 0; i < count; i++) {
    const before = await page.locator("#list").getAttribute("data-refreshed-at");
    await until(
      "a list refresh",
      async () => (await page.locator("#list").getAttribute("data-refreshed-at")) !== before,
    );
  }
}

/** The newest job on the page (jobs are prepended), once it has finished. */
async function newestFinishedJob(page: Page, kind: string, timeoutMs: number) {
  const job = page.locator("#job-list > article").first();
  await until(
    `the ${kind} job to finish`,
    async () => {
      const title =
        (await job
          .locator("h3")
          .textContent()
          .catch(() => "")) ?? "";
      return title.trim().startsWith(kind) && (await job.getAttribute("data-finished")) === "true";
    },
    timeoutMs,
  );
  return job;
}

describe("status page in chromium", function () {
  this.timeout(10 * 60_000);
  let sut: PageUnderTest;
  let browser: TestBrowser;
  let page: Page;
  const consoleErrors: string[] = [];
  const dialogs: string[] = [];

  before(async () => {
    sut = await startPageUnderTest();
    browser = await startBrowser();
    page = await browser.newPage();
    page.on("console", (m) => m.type() === "error" && consoleErrors.push(m.text()));
    page.on("pageerror", (e) => consoleErrors.push(e.message));
    page.on("dialog", (d) => {
      dialogs.push(d.message());
      void d.dismiss();
    });
  });
  after(async () => {
    await browser?.close();
    await sut?.close();
  });

  it("signs in into an HttpOnly cookie, and no script or page text ever holds the token", async () => {
    await signIn(page, sut, sut.deployToken);
    const [session] = (await browser.context.cookies()).filter((c) => c.name === "qa_session");
    expect(session).to.deep.include({ httpOnly: true, sameSite: "Strict", path: "/" });
    expect(await page.evaluate("document.cookie")).not.to.contain("qa_session");
    expect(await page.content()).not.to.contain(sut.deployToken);
    expect(await page.getByRole("heading", { name: "QA environments" }).isVisible()).to.equal(true);
  });

  it("lists environments with Jira links, URLs, health, front-ends and the capacity", async () => {
    const row = page.locator(`tbody[data-ticket="${sut.ticket}"] tr`).first();
    expect(await row.getByRole("link", { name: sut.ticket, exact: true }).getAttribute("href")).to.match(
      new RegExp(`/browse/${sut.ticket}$`),
    );
    expect(await row.locator(".badge").first().textContent()).to.match(/healthy|failing|progressing|deploying/);
    expect(await page.locator("#capacity-fit").textContent()).to.match(/\d+ more environments? fits?/);
    expect(await page.locator("meter#capacity-cpu").count()).to.equal(1);
    await screenshot(page, "status-page-list");
  });

  it("expands a row (aria-expanded), and auto-refresh keeps it expanded with fresh data", async () => {
    const expander = page.locator(`tbody[data-ticket="${sut.ticket}"] .expander`);
    expect(await expander.getAttribute("aria-expanded")).to.equal("false");
    await expander.click();
    expect(await expander.getAttribute("aria-expanded")).to.equal("true");
    const table = page.getByRole("table", { name: `Services of ${sut.ticket}` });
    expect(await table.isVisible()).to.equal(true);
    expect(await table.getByRole("rowheader", { name: sut.service, exact: true }).count()).to.equal(1);
    if (sut.ticket === "VERBU-6202") {
      // The hostile reason is text, not markup: visible as written, and no alert ran.
      expect(await table.locator(".reason").allTextContents()).to.satisfy((t: string[]) =>
        t.some((x) => x.includes(HOSTILE)),
      );
    }
    await screenshot(page, "status-page-expanded");
    await expander.focus();
    sut.mutate?.();
    await waitForRefreshes(page, 2);
    // The refresh replaced the row's markup; keyboard users keep their place.
    expect(await page.evaluate("document.activeElement.id")).to.equal(`expand-${sut.ticket}`);
    expect(await page.locator(`tbody[data-ticket="${sut.ticket}"] .expander`).getAttribute("aria-expanded")).to.equal(
      "true",
    );
    expect(await table.isVisible()).to.equal(true);
    if (sut.mutate) expect(await table.getByRole("rowheader", { name: "gf-mobile" }).count()).to.equal(1);
    expect(dialogs).to.deep.equal([]);
  });

  it("opens a service's log in the page", async () => {
    await page
      .locator(`tbody[data-ticket="${sut.ticket}"]`)
      .getByRole("link", { name: `logs of ${sut.service}`, exact: true })
      .click();
    const view = page.locator("#log-view");
    await view.getByRole("heading", { name: `Log of ${sut.service} in ${sut.ticket}` }).waitFor();
    const text = await view.locator("pre").textContent();
    expect(text).to.have.length.greaterThan(0);
    if (sut.ticket === "VERBU-6202") expect(text).to.contain(`user input ${HOSTILE}`);
    expect(new URL(page.url()).pathname).to.equal("/");
    await screenshot(page, "status-page-log");
  });

  it("has no serious or critical accessibility violations (axe-core), signed in with the log open", async () => {
    expect(seriousOnes(await axeViolations(page))).to.deep.equal([]);
  });

  it("deploys with confirmation (cancel does nothing) and shows the job's live progress", async () => {
    await page.getByLabel("Ticket", { exact: true }).fill(sut.newTicket);
    await page.getByLabel(/Services built on the branch/).fill(sut.newServices);
    const deploy = page.getByRole("button", { name: "Deploy", exact: true });
    await deploy.click();
    const dialog = page.getByRole("dialog");
    expect(await dialog.textContent()).to.contain(`Deploy ${sut.newTicket}?`);
    await screenshot(page, "status-page-confirm");
    await dialog.getByRole("button", { name: "Cancel" }).click();
    expect(await page.locator("#job-list article").count()).to.equal(0);

    await deploy.click();
    await dialog.getByRole("button", { name: "Yes, go ahead" }).click();
    const job = await newestFinishedJob(page, `Deploy ${sut.newTicket}`, sut.jobTimeoutMs);
    expect(await job.locator("h3 .badge").textContent()).to.equal("succeeded");
    expect(await job.locator("pre").textContent()).to.have.length.greaterThan(0);
    await page.locator(`tbody[data-ticket="${sut.newTicket}"]`).waitFor({ timeout: 15_000 });
    await screenshot(page, "status-page-deployed");
  });

  it("removes with confirmation", async () => {
    await page.locator(`tbody[data-ticket="${sut.newTicket}"]`).getByRole("button", { name: "Remove" }).click();
    const dialog = page.getByRole("dialog");
    expect(await dialog.textContent()).to.contain(`Remove ${sut.newTicket}?`);
    await dialog.getByRole("button", { name: "Yes, go ahead" }).click();
    const job = await newestFinishedJob(page, `Remove ${sut.newTicket}`, sut.jobTimeoutMs);
    expect(await job.locator("h3 .badge").textContent()).to.equal("succeeded");
    await page.locator(`tbody[data-ticket="${sut.newTicket}"]`).waitFor({ state: "detached", timeout: 15_000 });
  });

  it("refuses a POST without the CSRF token, and a cross-site form post", async () => {
    const status = await page.evaluate(async (ticket) => {
      const r = await fetch("/ui/environments", {
        method: "POST",
        headers: { "content-type": "application/x-www-form-urlencoded" },
        body: `ticket=${ticket}&confirmed=yes`,
      });
      return r.status;
    }, sut.newTicket);
    expect(status).to.equal(403);

    // Another origin (another port on 127.0.0.1) posts a self-submitting form at the page: the browser neither sends
    // the SameSite=Strict cookie nor hides that it is cross-site.
    const attacker = http.createServer((_req, res) => {
      res.setHeader("content-type", "text/html");
      res.end(`<form id="f" method="post" action="${sut.baseUrl}/ui/environments">
        <input name="ticket" value="${sut.newTicket}"><input name="confirmed" value="yes"></form>
        <script>document.getElementById("f").submit()</script>`);
    });
    await new Promise<void>((r) => attacker.listen(0, "127.0.0.1", r));
    try {
      const evil = await browser.newPage();
      const answer = evil.waitForResponse(
        (r) => r.url() === `${sut.baseUrl}/ui/environments` && r.request().method() === "POST",
      );
      await evil.goto(`http://127.0.0.1:${(attacker.address() as AddressInfo).port}/`);
      expect((await answer).status()).to.be.oneOf([401, 403]);
      await evil.close();
    } finally {
      attacker.close();
    }
    expect(await page.locator(`tbody[data-ticket="${sut.newTicket}"]`).count()).to.equal(0);
  });

  it("ran no script the CSP refused and logged no script errors", () => {
    expect(consoleErrors.filter((e) => !e.includes("403") && !e.includes("Failed to load resource"))).to.deep.equal([]);
  });

  it("shows a read-only user no actions", async () => {
    const readerBrowser = await startBrowser();
    try {
      const reader = await readerBrowser.newPage();
      await signIn(reader, sut, sut.readToken);
      expect(await reader.getByRole("button", { name: "Remove" }).count()).to.equal(0);
      expect(await reader.getByRole("button", { name: "Update" }).count()).to.equal(0);
      expect(await reader.getByLabel("Ticket", { exact: true }).count()).to.equal(0);
      expect(await reader.locator(`tbody[data-ticket="${sut.ticket}"]`).count()).to.equal(1);
      expect(seriousOnes(await axeViolations(reader))).to.deep.equal([]);
      await screenshot(reader, "status-page-read-only");
    } finally {
      await readerBrowser.close();
    }
  });

  it("the sign-in page is accessible too", async () => {
    const fresh = await startBrowser();
    try {
      const p = await fresh.newPage();
      await p.goto(sut.baseUrl + "/sign-in");
      expect(seriousOnes(await axeViolations(p))).to.deep.equal([]);
      await screenshot(p, "status-page-sign-in");
    } finally {
      await fresh.close();
    }
  });
});
