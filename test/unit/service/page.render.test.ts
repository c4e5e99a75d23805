import { expect } from "chai";
import { escapeHtml, html } from "../../../automation/service/page/html";
import {
  ago,
  capacityFigures,
  formatDuration,
  hasScope,
  healthRollup,
  shortDigest,
  tailLines,
} from "../../../automation/service/page/format";
import { environmentRows, safeUrl, serviceRow } from "../../../automation/service/page/renderEnvironments";
import { capacityBar, jobFragment, logFragment, statusPage } from "../../../automation/service/page/renderPage";
import { DEFAULT_FRONT_ENDS, EnvironmentView, PageContext } from "../../../automation/service/page/view";
import type { EnvironmentStatus } from "../../../automation/observeTypes";
import { DIGEST, FakeDriver, fakeService } from "./pageFakes";

// Aliased so that Prettier leaves the templates below as written (it formats html`` as HTML).
const h = html;
const HOSTILE = "<script>alert(1)</script>";
const NOW = new Date("2026-12-03T12:00:00Z");
const ctx = (scopes: PageContext["caller"]["scopes"]): PageContext => ({
  caller: { name: "jane", scopes },
  csrf: "CSRF-VALUE",
  now: NOW,
  jiraBrowseUrl: "https://jira.example.test/browse/",
  frontEnds: DEFAULT_FRONT_ENDS,
});

async function view(driver: FakeDriver, ticket: string): Promise<EnvironmentView> {
  const summary = (await driver.list()).find((s) => s.ticket === ticket)!;
  return { summary, status: await driver.status(ticket) };
}

describe("status page renderers", () => {
  describe("html``", () => {
    it("escapes every interpolated value, in content and attributes", () => {
      const out = html`<p title="${HOSTILE}">${HOSTILE}${"'`&"}</p>`.value;
      expect(out).to.equal(
        '<p title="&lt;script&gt;alert(1)&lt;/script&gt;">&lt;script&gt;alert(1)&lt;/script&gt;&#39;&#96;&amp;</p>',
      );
    });
    it("does not escape nested html`` twice, joins lists and drops undefined/false", () => {
      const items = ["a<", "b"].map((x) => html`<li>${x}</li>`);
      expect(h`<ul>${items}${undefined}${false}${0}</ul>`.value).to.equal("<ul><li>a&lt;</li><li>b</li>0</ul>");
    });
    it("escapeHtml leaves plain text alone", () => expect(escapeHtml("VERBU-6202 ok")).to.equal("VERBU-6202 ok"));
  });

  describe("formatting", () => {
    it("durations: two units at most, zero units dropped", () => {
      expect(formatDuration(30_000)).to.equal("<1m");
      expect(formatDuration(150_000)).to.equal("2m");
      expect(formatDuration(93_784_000)).to.equal("1d 2h");
      expect(formatDuration(86_400_000 + 5 * 60_000)).to.equal("1d");
      expect(ago("2026-12-03T10:00:00Z", NOW)).to.equal("2h ago");
      expect(ago("not a date", NOW)).to.equal("");
    });
    it("short digests keep the algorithm and 12 hex digits", () => {
      expect(shortDigest(DIGEST)).to.equal("sha256:0123456789ab");
      expect(shortDigest(undefined)).to.equal("");
    });
    it("health: failing beats pending, a deploy in progress says so, no namespace is not-deployed", () => {
      const base: EnvironmentStatus = {
        ticket: "T-1",
        stack: "t-1",
        namespace: "t-1",
        exists: true,
        appLinks: {},
        services: [],
      };
      const active = fakeService("T-1", { service: "auth" });
      const crash = fakeService("T-1", { service: "wallet", kind: "crashing" });
      const pending = fakeService("T-1", { service: "gf", kind: "unschedulable" });
      expect(healthRollup({ ...base, services: [active] }, false)).to.deep.equal({
        health: "healthy",
        ready: 1,
        total: 1,
        summary: "",
      });
      expect(healthRollup({ ...base, services: [active, crash, pending] }, false)).to.deep.equal({
        health: "failing",
        ready: 1,
        total: 3,
        summary: "1 failing, 1 pending",
      });
      expect(healthRollup({ ...base, services: [active, pending] }, false).health).to.equal("progressing");
      expect(healthRollup({ ...base, services: [active] }, true).health).to.equal("deploying");
      expect(healthRollup({ ...base, exists: false }, false).health).to.equal("not-deployed");
      expect(healthRollup(base, false).health).to.equal("empty");
    });
    it("capacity: used is allocatable minus free, summed over nodes", async () => {
      const f = capacityFigures(await new FakeDriver().capacity());
      expect(f.cpu).to.deep.equal({ usedMillis: 4000, totalMillis: 8000 });
      expect(f.memory).to.deep.equal({ usedBytes: 11 * 2 ** 30, totalBytes: 16 * 2 ** 30 });
      expect(f.pods).to.deep.equal({ used: 60, total: 220 });
    });
    it("scopes: admin ⊃ deploy ⊃ read", () => {
      expect(hasScope({ name: "a", scopes: ["admin"] }, "deploy")).to.equal(true);
      expect(hasScope({ name: "d", scopes: ["deploy"] }, "read")).to.equal(true);
      expect(hasScope({ name: "r", scopes: ["read"] }, "deploy")).to.equal(false);
      expect(hasScope({ name: "n", scopes: [] }, "read")).to.equal(false);
    });
    it("tails long output and counts what it left out", () => {
      expect(tailLines("a\nb\nc\nd", 2)).to.deep.equal({ text: "c\nd", omitted: 2 });
      expect(tailLines("a", 2)).to.deep.equal({ text: "a", omitted: 0 });
    });
    it("links only http(s) URLs", () => {
      expect(safeUrl("javascript:alert(1)")).to.equal(undefined);
      expect(safeUrl("https://services-t-1.qa.example.test/wallet")).to.equal(
        "https://services-t-1.qa.example.test/wallet",
      );
    });
  });

  describe("service rows", () => {
    it("show tag, short digest, branch build, ready, restarts, state with reason, and logs links", () => {
      const row = serviceRow("VERBU-1", fakeService("VERBU-1", { service: "auth", kind: "crashing", onBranch: true }));
      const cells = [...row.value.matchAll(/<t[dh][^>]*>([\s\S]*?)<\/t[dh]>/g)].map((m) =>
        m[1]
          .replace(/<[^>]+>/g, "")
          .replace(/\s+/g, " ")
          .trim(),
      );
      expect(cells).to.deep.equal([
        "auth",
        "VERBU-1_latest",
        "sha256:0123456789ab",
        "yes",
        "0/1",
        "4",
        "failing auth-7d9c5b7f6d-x2x4z: CrashLoopBackOff (last exit: Error, code 1), 4 restarts",
        "logs of auth previous log of auth",
      ]);
      expect(row.value).to.contain('href="/ui/environments/VERBU-1/services/auth/logs?previous=true"');
    });
    it("offer no previous log for a service that never restarted", () => {
      const row = serviceRow("VERBU-1", fakeService("VERBU-1", { service: "auth" })).value;
      expect(row).not.to.contain("previous");
      expect(row).to.contain("<td>no</td>");
    });
    it("escape a hostile reason", () => {
      const row = serviceRow(
        "VERBU-1",
        fakeService("VERBU-1", { service: "auth", kind: "image-pull", reasonText: HOSTILE }),
      ).value;
      expect(row).not.to.contain(HOSTILE);
      expect(row).to.contain("&lt;script&gt;alert(1)&lt;/script&gt;");
    });
  });

  describe("environment rows", () => {
    const driver = new FakeDriver(() => NOW);
    driver.add(
      "VERBU-6202",
      [{ service: "desktop-web" }, { service: "wallet", kind: "crashing" }],
      "jane.doe",
      "2026-12-03T09:00:00Z",
    );

    it("link the ticket to Jira, show URL, age, deployer, last deploy, health and front-ends", async () => {
      const out = environmentRows(await view(driver, "VERBU-6202"), ctx(["read"]), false).value;
      expect(out).to.contain('<a class="ticket" href="https://jira.example.test/browse/VERBU-6202">VERBU-6202</a>');
      expect(out).to.contain("https://services-verbu-6202.qa.example.test/");
      expect(out).to.contain("<td>1d 5h</td>");
      expect(out).to.contain("<td>jane.doe</td>");
      expect(out).to.match(/<time datetime="2026-12-03T09:00:00Z">3h ago<\/time>/);
      expect(out).to.contain('<span class="badge failing">failing</span>');
      expect(out).to.contain('<a href="https://services-verbu-6202.qa.example.test/">BU-DESKTOP</a>');
      expect(out).to.contain('<a href="https://services-verbu-6202.qa.example.test/wallet">WALLET</a>');
      expect(out).not.to.contain("CUSTOMER AREA"); // no customer-area in this environment
    });
    it("are collapsed (aria-expanded=false, details hidden) unless expanded", async () => {
      const v = await view(driver, "VERBU-6202");
      const closed = environmentRows(v, ctx(["read"]), false).value;
      expect(closed).to.match(/aria-expanded="false"\s+aria-controls="services-VERBU-6202"/);
      expect(closed).to.match(/id="services-VERBU-6202"\s*hidden/);
      const open = environmentRows(v, ctx(["read"]), true).value;
      expect(open).to.contain('aria-expanded="true"');
      expect(open).not.to.match(/id="services-VERBU-6202"\s*hidden/);
    });
    it("show update/remove forms with the CSRF token only with the deploy scope", async () => {
      const v = await view(driver, "VERBU-6202");
      const reader = environmentRows(v, ctx(["read"]), false).value;
      expect(reader).not.to.contain("<form");
      const deployer = environmentRows(v, ctx(["deploy"]), false).value;
      expect(deployer).to.contain('action="/ui/environments/VERBU-6202/delete"');
      expect(deployer.match(/name="csrf" value="CSRF-VALUE"/g)).to.have.length(2);
    });
    it("escape a hostile ticket everywhere it appears (text, attributes, ids, form fields)", () => {
      const summary = { ticket: HOSTILE, stack: "x", updateInProgress: false };
      const out = environmentRows({ summary, error: "x" }, ctx(["deploy"]), true).value;
      expect(out).not.to.contain("<script>");
      expect(out).to.contain('data-ticket="&lt;script&gt;alert(1)&lt;/script&gt;"');
      expect(out).to.contain('id="env-_script_alert_1___script_"');
    });
    it("say why when the status could not be read", () => {
      const summary = { ticket: "T-9", stack: "t-9", updateInProgress: false };
      const out = environmentRows({ summary, error: `boom ${HOSTILE}` }, ctx(["read"]), true).value;
      expect(out).to.contain("Status of T-9 could not be read: boom &lt;script&gt;");
    });
  });

  it("the whole page has the deploy form only for deployers, and escapes the caller's name", async () => {
    const driver = new FakeDriver(() => NOW);
    driver.add("VERBU-1", [{ service: "auth" }]);
    const list = {
      environments: [await view(driver, "VERBU-1")],
      capacity: await driver.capacity(),
      expanded: new Set<string>(),
    };
    const reader = statusPage(list, { ...ctx(["read"]), caller: { name: HOSTILE, scopes: ["read"] } });
    expect(reader).not.to.contain(HOSTILE);
    expect(reader).not.to.contain('id="deploy-ticket"');
    expect(statusPage(list, ctx(["deploy"]))).to.contain('id="deploy-ticket"');
  });

  it("capacity bar: used/free figures and how many more environments fit", async () => {
    const driver = new FakeDriver();
    const out = capacityBar(await driver.capacity()).value;
    expect(out).to.contain("4.0 CPU used, 4.0 CPU free of 8.0 CPU");
    expect(out).to.contain("11.0 GiB used, 5.0 GiB free of 16.0 GiB");
    expect(out).to.contain("3 more environments fit");
    driver.environmentsThatFit = 1;
    expect(capacityBar(await driver.capacity()).value).to.contain("1 more environment fits");
    expect(capacityBar(undefined, HOSTILE).value).to.contain("Capacity could not be read: &lt;script&gt;");
  });

  it("log view escapes lines and prefixes the pod only when there are several", () => {
    const one = logFragment({
      ticket: "T-1",
      service: "auth",
      previous: false,
      tail: 200,
      lines: [{ pod: "p1", container: "auth", text: HOSTILE }],
    });
    expect(one.value).to.contain(">&lt;script&gt;alert(1)&lt;/script&gt;</pre>");
    const two = logFragment({
      ticket: "T-1",
      service: "auth",
      previous: true,
      tail: 50,
      lines: [
        { pod: "p1", container: "auth", text: "a" },
        { pod: "p2", container: "auth", text: "b" },
      ],
    });
    expect(two.value).to.contain(">[p1] a\n[p2] b</pre>");
    expect(two.value).to.contain("Previous log of auth in T-1");
  });

  it("job fragment shows state, error and output, and whether it is finished", () => {
    const job = {
      id: "j1",
      kind: "deploy" as const,
      ticket: "T-1",
      requestedBy: "jane",
      reason: "status-page",
      createdAt: "2026-12-03T12:00:00Z",
    };
    const running = jobFragment({ job: { ...job, state: "running" }, output: `step ${HOSTILE}` }).value;
    expect(running).to.contain('data-finished="false"');
    expect(running).to.contain("step &lt;script&gt;");
    const failed = jobFragment({
      job: { ...job, state: "failed", error: { name: "CapacityError", exitCode: 5, message: "0 more fit" } },
      output: "",
    }).value;
    expect(failed).to.contain('data-finished="true"');
    expect(failed).to.contain("CapacityError (exit 5): 0 more fit");
  });
});
