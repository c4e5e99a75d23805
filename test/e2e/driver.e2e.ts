// The driver with the REAL engine and kubernetes provider in render mode (no control plane needed): several tickets
// at once from one process, one ticket at a time, other processes' locks (live: waited for, then LockedError naming
// the holder; dead: cleared), a run SIGKILLed mid-up and one cancelled mid-up, each followed by a deploy that ends
// converged with no pending operations and no lock left.
import { expect } from "chai";
import { spawn } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { parse, stringify } from "yaml";
import { Driver } from "../../automation/driver";
import { CancelledError, LockedError } from "../../automation/exitCodes";
import { openStack } from "../../automation/stack";
import { parseCatalog } from "../../environments/catalog";
import { pendingOperations } from "../../automation/recovery";
import type { DeployResult, DriverMessage } from "../../automation/types";
import type { ConfigEntry } from "../../automation/stack";
import { LocalRegistry } from "../../scripts/lib/localRegistry";
import { Engine, privateEngine, stackLocks, stateFilePath, stateOnDisk } from "./support/engine";
import { crashChildren, deployAndKill, killCrashChildren } from "./support/crashRun";

const CATALOG = parseCatalog(fs.readFileSync("environments/catalog.yaml", "utf8"), "catalog.yaml");
// A 5-service catalog keeps the concurrency tests quick; crash and cancel use the full one, so the up is long enough
// to be interrupted in the middle.
const SMALL = ["nsqd", "nsqlookupd", "auth", "wallet", "desktop-web"];

describe("driver, real engine, render mode", function () {
  this.timeout(30 * 60_000);
  let engine: Engine;
  let registry: LocalRegistry;
  let tmp: string;
  let smallCatalog: string;
  const messages: DriverMessage[] = [];
  const deployed = new Set<string>();

  const driver = (settings: ConstructorParameters<typeof Driver>[0] = {}) =>
    new Driver({ envVars: engine.envVars, onMessage: (m) => messages.push(m), ...settings });

  const config = (ticket: string, catalog?: string): Record<string, ConfigEntry> => ({
    registry: { value: registry.address },
    registryInsecure: { value: "true" },
    renderTo: { value: path.join(tmp, `rendered-${ticket.toLowerCase()}`) },
    ...(catalog ? { catalog: { value: catalog } } : {}),
  });

  async function pendingInState(stack: string): Promise<number> {
    const opened = await openStack({ stackName: stack, envVars: engine.envVars });
    return pendingOperations(await opened.exportStack()).length;
  }

  const lockDir = (stack: string) => path.join(engine.backendDir, ".pulumi", "locks", "organization", "qa-k8s", stack);

  before(async () => {
    engine = await privateEngine("driver");
    registry = await LocalRegistry.start();
    await registry.pushApps(CATALOG, "master_latest", "build 1");
    await registry.push("bu/auth", "VERBU-9101_latest", "auth branch build");
    await registry.push("bu/wallet", "VERBU-9102_latest", "wallet branch build");
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), "qa-k8s-driver-"));
    const full = parse(fs.readFileSync("environments/catalog.yaml", "utf8"));
    full.services = full.services.filter((s: { name: string }) => SMALL.includes(s.name));
    smallCatalog = path.join(tmp, "catalog.yaml");
    fs.writeFileSync(smallCatalog, stringify(full));
  });

  after(async () => {
    killCrashChildren();
    await registry?.stop();
    const cleanup = driver();
    for (const stack of deployed) await cleanup.destroy(stack).catch(() => undefined);
    engine?.dispose();
    if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
  });

  it("deploys 3 tickets at once from one process, each with its own outputs", async () => {
    const d = driver({ maxConcurrentDeploys: 3 });
    const spans = new Map<string, { first: number; last: number }>();
    const deploy = (ticket: string, services: string[]) => {
      deployed.add(ticket.toLowerCase());
      return d.deploy(ticket, {
        config: config(ticket, smallCatalog),
        services,
        deployer: "qa-bot",
        build: `QA-DEPLOY-${ticket.slice(-1)}`,
        onEvent: () => {
          const span = spans.get(ticket) ?? { first: Date.now(), last: 0 };
          span.last = Date.now();
          spans.set(ticket, span);
        },
      });
    };
    const results = await Promise.all([
      deploy("VERBU-9101", ["auth"]),
      deploy("VERBU-9102", ["wallet"]),
      deploy("VERBU-9103", []),
    ]);
    const byTicket = new Map(results.map((r): [string, DeployResult] => [r.ticket, r]));
    for (const [ticket, feature] of [
      ["VERBU-9101", ["auth"]],
      ["VERBU-9102", ["wallet"]],
      ["VERBU-9103", []],
    ] as const) {
      const result = byTicket.get(ticket)!;
      const name = ticket.toLowerCase();
      expect(result.namespace, ticket).to.equal(name);
      expect(result.outputs.ticket).to.equal(ticket);
      expect(result.url).to.equal(`https://services-${name}.qa.example.test/`);
      expect(result.featureServices).to.deep.equal(feature);
      expect(Object.keys(result.images).sort()).to.deep.equal([...SMALL].sort());
      const authTag = ticket === "VERBU-9101" ? "VERBU-9101_latest" : "master_latest";
      expect(result.images.auth).to.match(new RegExp(`^${registry.address}/bu/auth:${authTag}@sha256:`));
      expect(result.changes.create, ticket).to.be.greaterThan(10);
      expect(result.record).to.deep.include({ deployedBy: "qa-bot", deployedBySource: "option" });
      expect(fs.readdirSync(path.join(tmp, `rendered-${name}`)).length).to.be.greaterThan(0);
    }
    for (const r of results) console.log(`      ${r.ticket}: ${JSON.stringify(r.durations)}`);
    // They really ran at once: every run's first event came before every other run's last one.
    const all = [...spans.values()];
    expect(all).to.have.length(3);
    for (const a of all) for (const b of all) expect(a.first).to.be.lessThan(b.last);
    expect(stackLocks(engine)).to.deep.equal([]);
  });

  it("lists the environments with who and when, read back from the backend", async () => {
    const list = await driver().list();
    const tickets = list.map((e) => e.ticket).sort();
    expect(tickets).to.deep.equal(["VERBU-9101", "VERBU-9102", "VERBU-9103"]);
    const one = list.find((e) => e.ticket === "VERBU-9101")!;
    expect(one.record).to.deep.include({ deployedBy: "qa-bot", build: "QA-DEPLOY-1" });
    expect(Date.parse(one.record!.createdAt)).to.be.greaterThan(Date.now() - 30 * 60_000);
    expect(one.record!.resourceCount).to.be.greaterThan(10);
  });

  it("serialises two deploys of the same ticket: the second starts after the first ends, and says it waited", async () => {
    const d = driver();
    const order: string[] = [];
    const run = (label: string) =>
      d.deploy("VERBU-9101", {
        config: config("VERBU-9101", smallCatalog),
        services: ["auth"],
        onEvent: (event) => {
          if (event.preludeEvent) order.push(`${label} start`);
          if (event.summaryEvent) order.push(`${label} end`);
        },
      });
    const [first, second] = await Promise.all([run("first"), run("second")]);
    expect(order).to.deep.equal(["first start", "first end", "second start", "second end"]);
    expect(first.waitedForSameTicket).to.equal(false);
    expect(second.waitedForSameTicket).to.equal(true);
    expect(Object.keys(second.changes)).to.deep.equal(["same"]);
    expect(messages.some((m) => m.kind === "queued" && m.ticket === "VERBU-9101")).to.equal(true);
  });

  it("waits for another process's live lock and times out naming who holds it since when; the lock stays", async () => {
    const holder = spawn("sleep", ["600"], { detached: true, stdio: "ignore" });
    crashChildren.push(holder);
    const file = path.join(lockDir("verbu-9102"), "foreign.json");
    fs.mkdirSync(path.dirname(file), { recursive: true });
    const since = new Date().toISOString();
    fs.writeFileSync(
      file,
      JSON.stringify({ pid: holder.pid, username: "bamboo", hostname: os.hostname(), timestamp: since }),
    );
    const error = await driver({ lockTimeoutMs: 3000, lockPollMs: 200 })
      .deploy("VERBU-9102", { config: config("VERBU-9102", smallCatalog), services: ["wallet"] })
      .catch((e) => e);
    expect(error).to.be.instanceOf(LockedError);
    expect(error.exitCode).to.equal(4);
    expect(error.message).to.contain(`locked by bamboo@${os.hostname()} (pid ${holder.pid}) since ${since}`);
    expect(messages.some((m) => m.kind === "waiting-for-lock" && m.text.includes(`pid ${holder.pid}`))).to.equal(true);
    expect(fs.existsSync(file), "a live lock is never removed").to.equal(true);
    process.kill(-holder.pid!, "SIGKILL");
    fs.rmSync(file);
  });

  it("clears a lock whose process is gone on this host, and deploys", async () => {
    const dead = spawn("true");
    await new Promise((resolve) => dead.on("exit", resolve));
    const file = path.join(lockDir("verbu-9103"), "crashed.json");
    fs.mkdirSync(path.dirname(file), { recursive: true });
    fs.writeFileSync(
      file,
      JSON.stringify({
        pid: dead.pid,
        username: "bamboo",
        hostname: os.hostname(),
        timestamp: new Date().toISOString(),
      }),
    );
    const result = await driver({ lockTimeoutMs: 3000 }).deploy("VERBU-9103", {
      config: config("VERBU-9103", smallCatalog),
      services: [],
    });
    expect(Object.keys(result.changes)).to.deep.equal(["same"]);
    expect(messages.some((m) => m.kind === "cleared-stale-lock" && m.text.includes(`pid ${dead.pid}`))).to.equal(true);
    expect(stackLocks(engine)).to.deep.equal([]);
  });

  it("after a SIGKILL of the whole run mid-up, the next deploy clears its lock, resolves its pending operations and converges", async () => {
    const ticket = "VERBU-9104";
    deployed.add("verbu-9104");
    const { killedAfterSteps: killedAt } = await deployAndKill(engine.envVars, ticket, config(ticket), 40);
    expect(killedAt).to.be.at.least(40);
    const locks = stackLocks(engine).filter((f) => f.endsWith(".json"));
    expect(locks, "the killed run left its lock").to.have.length(1);
    const lock = JSON.parse(fs.readFileSync(locks[0], "utf8"));
    expect(lock.hostname).to.equal(os.hostname());
    const pendingBefore = pendingOperations(stateOnDisk(engine, "verbu-9104")).length;
    // What a kill inside a checkpoint's metadata write leaves (gocloud fileblob writes the sidecar in place, then
    // renames the state over the old one): empty sidecars beside a whole state file and lock. Seen in CI; made sure.
    const sidecars = [stateFilePath(engine, "verbu-9104"), locks[0]].map((file) => `${file}.attrs`);
    for (const sidecar of sidecars) fs.writeFileSync(sidecar, "");

    const result = await driver({ lockTimeoutMs: 5000 }).deploy(ticket, { config: config(ticket) });
    const repaired = messages.filter((m) => m.kind === "repaired" && m.ticket === ticket).map((m) => m.text);
    const removed = repaired.map((text) => text.split(":")[0]);
    // The two broken here, and any the kill itself cut short (CI once saw the backup's, verbu-9104.json.bak.attrs).
    expect(removed).to.include.members(sidecars.map((f) => `removed ${f}`));
    for (const line of removed) expect(line).to.match(/^removed \/.*verbu-9104.*\.attrs$/);
    expect(messages.some((m) => m.kind === "cleared-stale-lock" && m.text.includes(`(pid ${lock.pid})`))).to.equal(
      true,
    );
    expect(result.recoveredPendingOperations).to.equal(pendingBefore);
    expect(await pendingInState("verbu-9104")).to.equal(0);
    expect(stackLocks(engine)).to.deep.equal([]);
    expect(Object.keys(result.images)).to.have.length(CATALOG.length);
    const again = await driver().deploy(ticket, { config: config(ticket) });
    expect(Object.keys(again.changes), "converged: a second deploy changes nothing").to.deep.equal(["same"]);
    console.log(`      killed after ${killedAt} steps; ${pendingBefore} pending operations resolved`);
  });

  it("cancelled through an AbortSignal mid-up it stops safely (no lock left); the next deploy converges", async () => {
    const ticket = "VERBU-9105";
    deployed.add("verbu-9105");
    const controller = new AbortController();
    const error = await driver()
      .deploy(ticket, {
        config: config(ticket),
        signal: controller.signal,
        onProgress: (snapshot) => snapshot.done >= 40 && !controller.signal.aborted && controller.abort(),
      })
      .catch((e) => e);
    expect(error).to.be.instanceOf(CancelledError);
    expect(error.exitCode).to.equal(6);
    expect(stackLocks(engine), "SIGINT lets the engine release its lock").to.deep.equal([]);
    const result = await driver().deploy(ticket, { config: config(ticket) });
    expect(await pendingInState("verbu-9105")).to.equal(0);
    expect(Object.keys(result.images)).to.have.length(CATALOG.length);
    const again = await driver().deploy(ticket, { config: config(ticket) });
    expect(Object.keys(again.changes)).to.deep.equal(["same"]);
  });

  it("destroys every environment, leaving no stack and no lock", async () => {
    const d = driver();
    for (const stack of [...deployed]) {
      const result = await d.destroy(stack);
      expect(result.changes.delete, stack).to.be.greaterThan(0);
      deployed.delete(stack);
    }
    expect(await d.list()).to.deep.equal([]);
    expect(stackLocks(engine)).to.deep.equal([]);
  });
});
