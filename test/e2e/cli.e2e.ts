// The real `scripts/qa-env` as a child process, against the REAL engine in render mode (qa-k8s:renderTo; no control
// plane): exit codes and --json output as Bamboo sees them. Bad input exits 2 before the engine starts (no stack);
// a foreign live lock exits 4; SIGINT sent the way a terminal sends Ctrl-C (to the launcher's process group, twice)
// exits 6 and the next deploy converges; list reads the deploy record back; destroy removes everything.
import { expect } from "chai";
import { spawn, ChildProcess } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { parse, stringify } from "yaml";
import { pendingOperations } from "../../automation/recovery";
import { openStack, PROJECT_DIR } from "../../automation/stack";
import { parseCatalog } from "../../environments/catalog";
import { LocalRegistry } from "../../scripts/lib/localRegistry";
import { Engine, privateEngine, remainingStacks, stackLocks } from "./support/engine";

const LAUNCHER = path.join(PROJECT_DIR, "scripts", "qa-env");
const CATALOG = parseCatalog(fs.readFileSync("environments/catalog.yaml", "utf8"), "catalog.yaml");
const SMALL = ["nsqd", "nsqlookupd", "auth", "wallet", "desktop-web"];

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

describe("qa-env CLI, real engine, render mode", function () {
  this.timeout(30 * 60_000);
  let engine: Engine;
  let registry: LocalRegistry;
  let tmp: string;
  let smallCatalog: string;
  const children: ChildProcess[] = [];

  const configArgs = (ticket: string, catalog?: string) => [
    "--config",
    `registry=${registry.address}`,
    "--config",
    "registryInsecure=true",
    "--config",
    `renderTo=${path.join(tmp, `rendered-${ticket.toLowerCase()}`)}`,
    ...(catalog ? ["--config", `catalog=${catalog}`] : []),
  ];

  /** Starts the launcher in its own process group, as a shell starts a foreground job. */
  function start(args: string[], options: { cwd?: string; bin?: string; env?: Record<string, string> } = {}) {
    const child = spawn(options.bin ?? LAUNCHER, args, {
      cwd: options.cwd ?? tmp,
      detached: true,
      stdio: ["ignore", "pipe", "pipe"],
      env: { ...process.env, ...engine.envVars, ...options.env },
    });
    children.push(child);
    const run: Run = { code: null, stdout: "", stderr: "" };
    child.stdout!.setEncoding("utf8").on("data", (chunk: string) => (run.stdout += chunk));
    child.stderr!.setEncoding("utf8").on("data", (chunk: string) => (run.stderr += chunk));
    const done = new Promise<Run>((resolve) => child.on("close", (code) => resolve({ ...run, code })));
    return { child, run, done };
  }

  const qaEnv = (...args: string[]) => start(args).done;
  const stackFile = (stack: string) => path.join(engine.backendDir, ".pulumi", "stacks", "qa-k8s", `${stack}.json`);
  const lockDir = (stack: string) => path.join(engine.backendDir, ".pulumi", "locks", "organization", "qa-k8s", stack);
  async function pendingInState(stack: string): Promise<number> {
    const opened = await openStack({ stackName: stack, envVars: engine.envVars });
    return pendingOperations(await opened.exportStack()).length;
  }

  before(async () => {
    engine = await privateEngine("cli");
    registry = await LocalRegistry.start();
    await registry.pushApps(CATALOG, "master_latest", "build 1");
    await registry.push("bu/auth", "VERBU-9201_latest", "auth branch build");
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), "qa-k8s-cli-"));
    const full = parse(fs.readFileSync("environments/catalog.yaml", "utf8"));
    full.services = full.services.filter((s: { name: string }) => SMALL.includes(s.name));
    smallCatalog = path.join(tmp, "catalog.yaml");
    fs.writeFileSync(smallCatalog, stringify(full));
  });

  after(async () => {
    for (const child of children) {
      try {
        process.kill(-child.pid!, "SIGKILL");
      } catch {
        // already gone
      }
    }
    for (const stack of ["verbu-9201", "verbu-9202"]) {
      if (fs.existsSync(stackFile(stack))) await qaEnv("destroy", stack);
    }
    await registry?.stop();
    engine?.dispose();
    if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
  });

  it("deploys from a branch name with --json: exit 0, one result document, JSON progress lines on stderr", async () => {
    const run = await qaEnv(
      "deploy",
      "--branch",
      "feature/VERBU-9201-cli-e2e",
      "--services",
      "auth",
      "--build",
      "QA-CLI-1",
      "--json",
      ...configArgs("VERBU-9201", smallCatalog),
    );
    expect(run.code, run.stderr).to.equal(0);
    const doc = JSON.parse(run.stdout);
    expect(doc).to.deep.include({ ok: true, command: "deploy" });
    expect(doc.result).to.deep.include({ ticket: "VERBU-9201", namespace: "verbu-9201", featureServices: ["auth"] });
    expect(doc.result.url).to.equal("https://services-verbu-9201.qa.example.test/");
    expect(doc.result.images.auth).to.match(new RegExp(`^${registry.address}/bu/auth:VERBU-9201_latest@sha256:`));
    expect(doc.result.record).to.deep.include({ build: "QA-CLI-1" });
    const events = run.stderr
      .trim()
      .split("\n")
      .map((line) => JSON.parse(line));
    expect(events.filter((e) => e.kind === "step").length).to.be.greaterThan(10);
    expect(events.at(-1)).to.deep.include({ kind: "finished", outcome: "done" });
  });

  it("prints the human summary and timestamped progress without --json; Bamboo's variables give deployer and build", async () => {
    const { done } = start(["deploy", "VERBU-9201", "--services", "auth", ...configArgs("VERBU-9201", smallCatalog)], {
      env: { bamboo_ManualBuildTriggerReason_userName: "bamboo.user", bamboo_buildResultKey: "QA-DEPLOY-42" },
    });
    const run = await done;
    expect(run.code, run.stderr).to.equal(0);
    expect(run.stdout).to.match(/^VERBU-9201 deployed: \d+ unchanged\n/);
    expect(run.stdout).to.match(/\n {2}auth +\S+:VERBU-9201_latest@sha256:\S+ +built on branch\n/);
    expect(run.stdout).to.contain("deployed by bamboo.user (bamboo), build QA-DEPLOY-42");
    expect(run.stderr).to.match(/^\d{4}-\d\d-\d\dT\S+Z verbu-9201 up: \d+\/\d+ done/m);
  });

  it("refuses a bad ticket and an unknown service with exit 2, before any stack exists", async () => {
    const stacksBefore = remainingStacks(engine).sort();
    const bad = await qaEnv("deploy", "VERBU-9209;touch${IFS}qa-env-pwned", "--json");
    expect(bad.code).to.equal(2);
    expect(JSON.parse(bad.stdout).error.message).to.contain("cannot name a namespace");
    // The stack-name rule alone would keep "qa-env-pwned", the last segment of a path.
    const slash = await qaEnv("deploy", "VERBU 9209; touch /tmp/qa-env-pwned", "--json");
    expect(slash.code).to.equal(2);
    expect(JSON.parse(slash.stdout).error.message).to.contain("contains '/'");
    const unknown = await qaEnv(
      "deploy",
      "VERBU-9209",
      "--services",
      "auth,no-such-service",
      "--json",
      ...configArgs("VERBU-9209", smallCatalog),
    );
    expect(unknown.code).to.equal(2);
    expect(JSON.parse(unknown.stdout).error).to.deep.include({ type: "BadInputError" });
    expect(JSON.parse(unknown.stdout).error.message).to.contain("no-such-service");
    const branch = await qaEnv("deploy", "--branch", "release/next", "--json");
    expect(branch.code).to.equal(2);
    expect(remainingStacks(engine).sort()).to.deep.equal(stacksBefore);
    expect(fs.existsSync(stackFile("verbu-9209"))).to.equal(false);
    expect(fs.existsSync(path.join(PROJECT_DIR, "Pulumi.verbu-9209.yaml")), "no stack config written").to.equal(false);
    expect(fs.existsSync("/tmp/qa-env-pwned")).to.equal(false);
    expect(fs.existsSync(stackFile("qa-env-pwned"))).to.equal(false);
    expect(fs.existsSync(path.join(tmp, "qa-env-pwned"))).to.equal(false);
  });

  it("exits 4 when another live process holds the stack longer than --lock-timeout, naming the holder", async () => {
    const holder = spawn("sleep", ["600"], { detached: true, stdio: "ignore" });
    children.push(holder);
    const file = path.join(lockDir("verbu-9201"), "foreign.json");
    fs.mkdirSync(path.dirname(file), { recursive: true });
    fs.writeFileSync(
      file,
      JSON.stringify({
        pid: holder.pid,
        username: "bamboo",
        hostname: os.hostname(),
        timestamp: new Date().toISOString(),
      }),
    );
    try {
      const run = await qaEnv(
        "deploy",
        "VERBU-9201",
        "--lock-timeout",
        "3s",
        "--json",
        ...configArgs("VERBU-9201", smallCatalog),
      );
      expect(run.code, run.stderr).to.equal(4);
      const doc = JSON.parse(run.stdout);
      expect(doc).to.deep.include({ ok: false, exitCode: 4 });
      expect(doc.error.type).to.equal("LockedError");
      expect(doc.error.message).to.contain(`(pid ${holder.pid})`);
      expect(run.stderr).to.contain('"kind":"waiting-for-lock"');
      expect(fs.existsSync(file), "a live lock is never removed").to.equal(true);
    } finally {
      process.kill(-holder.pid!, "SIGKILL");
      fs.rmSync(file, { force: true });
    }
  });

  it("Ctrl-C twice mid-deploy (SIGINT to the launcher's process group) exits 6; the next deploy converges", async () => {
    const { child, run, done } = start(["deploy", "VERBU-9202", "--json", ...configArgs("VERBU-9202")]);
    await new Promise<void>((resolve, reject) => {
      const timer = setInterval(() => {
        const steps = run.stderr.split("\n").filter((line) => line.includes('"kind":"step"'));
        const last = steps.length ? JSON.parse(steps.at(-1)!) : undefined;
        if (last && last.done >= 40) {
          clearInterval(timer);
          process.kill(-child.pid!, "SIGINT");
          setTimeout(() => {
            process.kill(-child.pid!, "SIGINT");
            resolve();
          }, 300);
        }
        if (child.exitCode !== null) {
          clearInterval(timer);
          reject(new Error(`the deploy ended before it could be cancelled: ${run.stderr.slice(-2000)}`));
        }
      }, 50);
    });
    const cancelled = await done;
    expect(cancelled.code, cancelled.stderr.slice(-3000)).to.equal(6);
    expect(JSON.parse(cancelled.stdout).error.type).to.equal("CancelledError");
    const notices = cancelled.stderr.split("\n").filter((line) => line.includes('"kind":"signal"'));
    expect(notices.length).to.be.at.least(2);
    expect(notices[1]).to.contain("received again");
    expect(stackLocks(engine), "the engine stopped safely and released its lock").to.deep.equal([]);

    const next = await qaEnv("deploy", "VERBU-9202", "--json", ...configArgs("VERBU-9202"));
    expect(next.code, next.stderr.slice(-3000)).to.equal(0);
    expect(Object.keys(JSON.parse(next.stdout).result.images)).to.have.length(CATALOG.length);
    expect(await pendingInState("verbu-9202")).to.equal(0);
    const again = await qaEnv("deploy", "VERBU-9202", "--json", ...configArgs("VERBU-9202"));
    expect(Object.keys(JSON.parse(again.stdout).result.changes), "converged").to.deep.equal(["same"]);
  });

  it("list --json shows the deploy records, also through a bin symlink from another directory", async () => {
    const bin = path.join(tmp, "bin");
    fs.mkdirSync(bin, { recursive: true });
    fs.symlinkSync(LAUNCHER, path.join(bin, "qa-env"));
    const run = await start(["list", "--json"], { bin: path.join(bin, "qa-env"), cwd: os.tmpdir() }).done;
    expect(run.code, run.stderr).to.equal(0);
    const result = JSON.parse(run.stdout).result as {
      ticket: string;
      record?: { deployedBy: string; build?: string };
    }[];
    expect(result.map((e) => e.ticket).sort()).to.deep.equal(["VERBU-9201", "VERBU-9202"]);
    expect(result.find((e) => e.ticket === "VERBU-9201")!.record).to.deep.include({
      deployedBy: "bamboo.user",
      build: "QA-DEPLOY-42",
    });
    const text = await qaEnv("list");
    expect(text.stdout.split("\n")[0]).to.match(/^TICKET +DEPLOYED BY/);
  });

  it("destroys with exit 0, leaving no stack and no lock", async () => {
    for (const ticket of ["VERBU-9201", "VERBU-9202"]) {
      const run = await qaEnv("destroy", ticket, "--json");
      expect(run.code, run.stderr.slice(-2000)).to.equal(0);
      expect(JSON.parse(run.stdout).result.changes.delete).to.be.greaterThan(0);
    }
    expect(remainingStacks(engine)).to.deep.equal([]);
    expect(stackLocks(engine)).to.deep.equal([]);
  });
});
