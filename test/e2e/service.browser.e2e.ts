// The status page in a real browser against the REAL service: Debian's chromium (playwright-core) on the service
// process (scripts/serve) with the real driver and engine, deploying into the local control plane (kwok nodes, a real
// API server and scheduler). A small catalog from a LocalRegistry, one service built on the branch; pod logs come
// from kwok's ClusterLogs files. What the page shows is checked against what the cluster really has.
import { expect } from "chai";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { parse, stringify } from "yaml";
import type { Page } from "playwright-core";
import { parseCatalog } from "../../environments/catalog";
import { LocalRegistry } from "../../scripts/lib/localRegistry";
import type { Job } from "../../automation/service/contracts";
import { axeViolations, screenshot, startBrowser, TestBrowser } from "./support/browser";
import { Engine, privateEngine, remainingStacks } from "./support/engine";
import { LocalCluster, startLocalCluster, testClusterEnv } from "./support/localCluster";
import { followJob, freePort, ServiceProcess, ServiceTokens, writeTokens } from "./support/serviceProcess";

const TICKET = "VERBU-9801";
const NEW_TICKET = "VERBU-9802";
const SMALL = ["nsqd", "nsqlookupd", "auth", "wallet"];
const LOG_LINE = "auth ready for VERBU-9801 on :8080";

/** Polls from Node: the page's CSP (rightly) forbids the string evaluation waitForFunction would need. */
async function until(what: string, check: () => Promise<boolean>, timeoutMs = 30_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > end) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

function seriousOnes(violations: Awaited<ReturnType<typeof axeViolations>>) {
  return violations
    .filter((v) => v.impact === "serious" || v.impact === "critical")
    .map((v) => `${v.id}: ${v.help} at ${JSON.stringify(v.nodes.map((n) => n.target))}`);
}

describe("status page in chromium, real service and local control plane", function () {
  this.timeout(30 * 60_000);
  let cluster: LocalCluster;
  let engine: Engine;
  let registry: LocalRegistry;
  let service: ServiceProcess;
  let browser: TestBrowser;
  let page: Page;
  let tokens: ServiceTokens;
  let tmp: string;
  const shots: string[] = [];
  const namespaces = [TICKET, NEW_TICKET].map((t) => t.toLowerCase());

  const namespaceExists = async (ns: string) =>
    (await cluster.kubectl("get", "namespace", ns, "--ignore-not-found", "-o", "name")).trim() !== "";

  async function signIn(p: Page, token: string): Promise<void> {
    await p.goto(service.url + "/");
    expect(new URL(p.url()).pathname).to.equal("/sign-in");
    await p.getByLabel("API token").fill(token);
    await Promise.all([p.waitForURL(service.url + "/"), p.getByRole("button", { name: "Sign in" }).click()]);
  }

  /** The newest job on the page (jobs are prepended), once it has finished. */
  async function newestFinishedJob(kind: string) {
    const job = page.locator("#job-list > article").first();
    await until(
      `the ${kind} job to finish`,
      async () => {
        const title =
          (await job
            .locator("h3")
            .textContent({ timeout: 1000 })
            .catch(() => "")) ?? "";
        return title.trim().startsWith(kind) && (await job.getAttribute("data-finished")) === "true";
      },
      10 * 60_000,
    );
    return job;
  }

  before(async () => {
    cluster = await startLocalCluster(testClusterEnv());
    for (const ns of namespaces)
      await cluster.kubectl("delete", "namespace", ns, "--ignore-not-found", "--timeout=180s");
    engine = await privateEngine("service-browser");
    registry = await LocalRegistry.start();
    const catalog = parseCatalog(fs.readFileSync("environments/catalog.yaml", "utf8"), "catalog.yaml");
    await registry.pushApps(catalog, "master_latest", "build 1");
    await registry.push("bu/auth", `${TICKET}_latest`, "auth branch build");
    await registry.push("bu/wallet", `${NEW_TICKET}_latest`, "wallet branch build");
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), "qa-k8s-service-browser-"));
    const full = parse(fs.readFileSync("environments/catalog.yaml", "utf8"));
    full.services = full.services.filter((s: { name: string }) => SMALL.includes(s.name));
    fs.writeFileSync(path.join(tmp, "catalog.yaml"), stringify(full));

    // kwok serves these CRI-format lines as the auth container's log, through the API server.
    const logFile = path.join(tmp, "auth.log");
    fs.writeFileSync(logFile, `2026-12-03T07:00:00.000000000Z stdout F ${LOG_LINE}\n`);
    const clusterLogs = path.join(tmp, "clusterlogs.yaml");
    fs.writeFileSync(
      clusterLogs,
      stringify({
        apiVersion: "kwok.x-k8s.io/v1alpha1",
        kind: "ClusterLogs",
        metadata: { name: namespaces[0] },
        spec: { selector: { matchNamespaces: [namespaces[0]] }, logs: [{ containers: ["auth"], logsFile: logFile }] },
      }),
    );
    await cluster.kubectl("apply", "-f", clusterLogs);

    tokens = writeTokens(path.join(tmp, "tokens.json"));
    service = await ServiceProcess.start(
      {
        ...engine.envVars,
        // No KUBECONFIG: the service measures capacity on the cluster of its own stack config (QA_KUBECONFIG_FILE).
        QA_DATA_DIR: path.join(tmp, "data"),
        QA_TOKENS_FILE: path.join(tmp, "tokens.json"),
        QA_KUBECONFIG_FILE: cluster.kubeconfigPath,
        QA_JIRA_URL: "https://jira.example.test/browse/",
        QA_STACK_CONFIG: [
          `registry=${registry.address}`,
          "registryInsecure=true",
          `catalog=${path.join(tmp, "catalog.yaml")}`,
        ].join(";"),
      },
      await freePort(),
    );
    const queued = await service.json<{ job: Job }>("/environments", tokens.deploy, {
      method: "POST",
      body: JSON.stringify({ ticket: TICKET, services: ["auth"] }),
    });
    expect(queued.status, JSON.stringify(queued.body)).to.equal(202);
    const followed = await followJob(service, queued.body.job.id, tokens.read);
    expect(followed.job?.state, followed.output).to.equal("succeeded");

    browser = await startBrowser();
    page = await browser.newPage();
  });

  after(async () => {
    await browser?.close();
    if (service) {
      for (const ticket of [TICKET, NEW_TICKET]) {
        const res = await service.json<{ job?: Job }>(`/environments/${ticket}`, tokens.deploy, { method: "DELETE" });
        if (res.status === 202 && res.body.job) await followJob(service, res.body.job.id, tokens.read);
      }
      await service.stop();
    }
    await cluster?.kubectl("delete", "clusterlogs", namespaces[0], "--ignore-not-found").catch(() => "");
    await registry?.stop();
    if (engine) {
      const left = remainingStacks(engine);
      engine.dispose();
      expect(left, "stacks left behind").to.deep.equal([]);
    }
    if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
    console.log(`    screenshots:\n${shots.map((s) => `      ${s}`).join("\n")}`);
  });

  it("signs in with the deploy token and lists the deployed ticket with its URL and health", async () => {
    await signIn(page, tokens.deploy);
    const row = page.locator(`tbody[data-ticket="${TICKET}"] tr`).first();
    await row.waitFor();
    expect(await row.getByRole("link", { name: TICKET, exact: true }).getAttribute("href")).to.equal(
      `https://jira.example.test/browse/${TICKET}`,
    );
    const api = await service.json<{ url: string }>(`/environments/${TICKET}`, tokens.read);
    expect(api.status).to.equal(200);
    expect(api.body.url).to.match(/verbu-9801/);
    expect(await row.getByRole("link", { name: api.body.url, exact: true }).count()).to.equal(1);
    await until("the environment healthy", async () => {
      await page.reload();
      return ((await row.locator(".badge").first().textContent()) ?? "").includes("healthy");
    });
    expect(await page.content()).not.to.contain(tokens.deploy);
    shots.push(await screenshot(page, "service-browser-list"));
  });

  it("expands to the real services: tag, short digest, built on branch, ready", async () => {
    await page.locator(`tbody[data-ticket="${TICKET}"] .expander`).click();
    const table = page.getByRole("table", { name: `Services of ${TICKET}` });
    await table.waitFor();
    type Row = { service: string; tag: string; digest?: string; builtOnBranch: boolean; readyReplicas: number };
    const api = await service.json<{ services: (Row & { desiredReplicas: number })[] }>(
      `/environments/${TICKET}`,
      tokens.read,
    );
    expect(api.body.services.map((s) => s.service)).to.have.members(SMALL);
    expect(await table.locator("tbody tr").count()).to.equal(SMALL.length);
    const cells = async (name: string) => {
      const r = table.locator("tbody tr").filter({ has: page.getByRole("rowheader", { name, exact: true }) });
      return (await r.locator("td").allTextContents()).slice(0, 4).map((t) => t.trim());
    };
    // Every row as the cluster has it: tag, the digest's first 12 hex digits, built on the branch, ready replicas.
    for (const s of api.body.services) {
      const digest = s.digest ? s.digest.slice(0, "sha256:".length + 12) : "";
      const ready = `${s.readyReplicas}/${s.desiredReplicas}`;
      expect(await cells(s.service), s.service).to.deep.equal([s.tag, digest, s.builtOnBranch ? "yes" : "no", ready]);
    }
    const auth = await cells("auth");
    expect(auth[1]).to.match(/^sha256:[0-9a-f]{12}$/);
    expect([auth[0], auth[2], auth[3]]).to.deep.equal([`${TICKET}_latest`, "yes", "1/1"]);
    const wallet = await cells("wallet");
    expect([wallet[0], wallet[2], wallet[3]]).to.deep.equal(["master_latest", "no", "1/1"]);
    shots.push(await screenshot(page, "service-browser-expanded"));
  });

  it("shows the real cluster's capacity: more environments fit", async () => {
    const text = ((await page.locator("#capacity-fit").textContent()) ?? "").replace(/\s+/g, " ");
    expect(text).to.match(/[1-9]\d* more environments? fits?/);
    // The same figures as the API's, and the cluster's own schedulable nodes (not cordoned, no NoSchedule taint).
    const api = await service.json<{ environmentsThatFit: number; nodes: unknown[] }>("/capacity", tokens.read);
    expect(api.status).to.equal(200);
    expect(text).to.contain(`${api.body.environmentsThatFit} more environment`);
    type Node = { spec: { unschedulable?: boolean; taints?: { effect: string }[] } };
    const nodes: Node[] = JSON.parse(await cluster.kubectl("get", "nodes", "-o", "json")).items;
    const schedulable = nodes.filter(
      (n) => !n.spec.unschedulable && !(n.spec.taints ?? []).some((t) => t.effect !== "PreferNoSchedule"),
    );
    expect(api.body.nodes).to.have.length(schedulable.length);
    expect(text).to.contain(`; ${schedulable.length} schedulable node`);
    expect(await page.locator("meter#capacity-cpu").count()).to.equal(1);
  });

  it("opens the auth log in the page and shows kwok's line", async () => {
    await page
      .locator(`tbody[data-ticket="${TICKET}"]`)
      .getByRole("link", { name: "logs of auth", exact: true })
      .click();
    const view = page.locator("#log-view");
    await view.getByRole("heading", { name: `Log of auth in ${TICKET}` }).waitFor();
    await until("the log line", async () => ((await view.locator("pre").textContent()) ?? "").includes(LOG_LINE));
    expect(new URL(page.url()).pathname).to.equal("/");
    shots.push(await screenshot(page, "service-browser-log"));
    expect(seriousOnes(await axeViolations(page))).to.deep.equal([]);
  });

  it("deploys a second ticket from the page with confirmation and follows its job", async () => {
    await page.getByLabel("Ticket", { exact: true }).fill(NEW_TICKET);
    await page.getByLabel(/Services built on the branch/).fill("wallet");
    await page.getByRole("button", { name: "Deploy", exact: true }).click();
    const dialog = page.getByRole("dialog");
    expect(await dialog.textContent()).to.contain(`Deploy ${NEW_TICKET}?`);
    shots.push(await screenshot(page, "service-browser-confirm"));
    await dialog.getByRole("button", { name: "Yes, go ahead" }).click();
    const job = await newestFinishedJob(`Deploy ${NEW_TICKET}`);
    const output = (await job.locator("pre").textContent()) ?? "";
    expect(await job.locator("h3 .badge").textContent(), output).to.equal("succeeded");
    const row = page.locator(`tbody[data-ticket="${NEW_TICKET}"] tr`).first();
    await row.waitFor({ timeout: 30_000 });
    // The deploy record (who, when) is the page's caller's, once the list's refresh has the finished stack.
    await until("the new row's deploy record", async () => ((await row.textContent()) ?? "").includes("e2e-deployer"));
    expect(await namespaceExists(namespaces[1])).to.equal(true);
    shots.push(await screenshot(page, "service-browser-deployed"));
  });

  it("removes the second ticket with confirmation: gone from the list and the cluster", async () => {
    await page.locator(`tbody[data-ticket="${NEW_TICKET}"]`).getByRole("button", { name: "Remove" }).click();
    const dialog = page.getByRole("dialog");
    expect(await dialog.textContent()).to.contain(`Remove ${NEW_TICKET}?`);
    await dialog.getByRole("button", { name: "Yes, go ahead" }).click();
    const job = await newestFinishedJob(`Remove ${NEW_TICKET}`);
    expect(await job.locator("h3 .badge").textContent()).to.equal("succeeded");
    await page.locator(`tbody[data-ticket="${NEW_TICKET}"]`).waitFor({ state: "detached", timeout: 30_000 });
    await until("the namespace gone", async () => !(await namespaceExists(namespaces[1])), 180_000);
    expect(seriousOnes(await axeViolations(page))).to.deep.equal([]);
    shots.push(await screenshot(page, "service-browser-removed"));
  });

  it("shows a read-only token no actions", async () => {
    const readerBrowser = await startBrowser();
    try {
      const reader = await readerBrowser.newPage();
      await signIn(reader, tokens.read);
      await reader.locator(`tbody[data-ticket="${TICKET}"]`).waitFor();
      expect(await reader.getByRole("button", { name: "Remove" }).count()).to.equal(0);
      expect(await reader.getByRole("button", { name: "Update" }).count()).to.equal(0);
      expect(await reader.getByLabel("Ticket", { exact: true }).count()).to.equal(0);
      expect(seriousOnes(await axeViolations(reader))).to.deep.equal([]);
      shots.push(await screenshot(reader, "service-browser-read-only"));
    } finally {
      await readerBrowser.close();
    }
  });
});
