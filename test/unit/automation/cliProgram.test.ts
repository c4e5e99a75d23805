// The command layer against a fake driver that behaves like the real one where the CLI depends on it: who deploys is
// resolved with the driver's own whoDeploys from the environment it was given, an aborted run throws CancelledError.
import { expect } from "chai";
import { EventEmitter } from "node:events";
import type { DriverSettings } from "../../../automation/driver";
import type { DriverApi } from "../../../automation/cli/driverApi";
import { runCli } from "../../../automation/cli/program";
import type { CliIo } from "../../../automation/cli/run";
import { CancelledError, CapacityError, DeployFailedError, LockedError } from "../../../automation/exitCodes";
import { nextRecord, whoDeploys } from "../../../automation/records";
import type { DeployOptions } from "../../../automation/types";
import { DEPLOY_FIXTURE } from "./cliFormat.test";

interface Harness {
  io: CliIo;
  stdout: string[];
  stderr: string[];
  signals: EventEmitter;
  calls: { method: string; ticket?: string; options?: DeployOptions }[];
  settings: DriverSettings[];
  run(...argv: string[]): Promise<number>;
}

// A driver whose every method is a mistake to call: a test overrides the one it exercises.
function unusedDriver(): DriverApi {
  const unused = async (): Promise<never> => {
    throw new Error("unused");
  };
  return {
    deploy: unused,
    preview: unused,
    destroy: unused,
    list: unused,
    status: unused,
    logs: unused,
    capacity: unused,
  };
}

function harness(env: Record<string, string> = {}, behaviour: Partial<DriverApi> = {}): Harness {
  const stdout: string[] = [];
  const stderr: string[] = [];
  const signals = new EventEmitter();
  const calls: Harness["calls"] = [];
  const settings: DriverSettings[] = [];
  const io: CliIo = { out: (t) => stdout.push(t), err: (t) => stderr.push(t), env, stderrIsTTY: false, signals };
  const makeDriver = (s: DriverSettings): DriverApi => {
    settings.push(s);
    const fake: DriverApi = {
      deploy: async (ticket, options = {}) => {
        calls.push({ method: "deploy", ticket, options });
        const who = whoDeploys(options, s.envVars ?? {});
        return { ...DEPLOY_FIXTURE, ticket, record: nextRecord(undefined, who, new Date("2026-12-02T10:00:00Z"), 236) };
      },
      preview: async (ticket, options) => (calls.push({ method: "preview", ticket, options }), DEPLOY_FIXTURE),
      destroy: async (ticket, options) => (calls.push({ method: "destroy", ticket, options }), DEPLOY_FIXTURE),
      list: async () => (calls.push({ method: "list" }), []),
      status: async () => {
        throw new Error("unused");
      },
      logs: async (ticket, service, options) => {
        calls.push({ method: "logs", ticket });
        return [
          { pod: `${service}-1`, container: service, text: `since ${options.sinceSeconds} tail ${options.tail}` },
        ];
      },
      capacity: async () => {
        throw new CapacityError("VERBU-7001 needs more; 0 more environments of this size fit");
      },
      ...behaviour,
    };
    return fake;
  };
  return { io, stdout, stderr, signals, calls, settings, run: (...argv) => runCli({ io, makeDriver }, argv) };
}

const json = (h: Harness) => JSON.parse(h.stdout.join(""));

describe("qa-env commands (fake driver)", () => {
  it("deploys a ticket from --branch with services, deployer and build; --json prints one document", async () => {
    const h = harness();
    const code = await h.run(
      "deploy",
      "--branch",
      "feature/VERBU-6202-x",
      "--services",
      "auth,wallet",
      "--by",
      "jane",
      "--build",
      "QA-1",
      "--json",
      "--parallel",
      "16",
      "--lock-timeout",
      "90s",
    );
    expect(code).to.equal(0);
    expect(h.calls[0]).to.deep.include({ method: "deploy", ticket: "VERBU-6202" });
    expect(h.calls[0].options).to.deep.include({ services: ["auth", "wallet"], deployer: "jane", build: "QA-1" });
    expect(h.settings[0]).to.deep.include({ parallel: 16, lockTimeoutMs: 90_000 });
    const doc = json(h);
    expect(doc).to.deep.include({ ok: true, command: "deploy" });
    expect(doc.result).to.deep.include({ ticket: "VERBU-6202", url: DEPLOY_FIXTURE.url });
    expect(h.stdout).to.have.length(1);
  });

  it("fills deployer and build from Bamboo's variables when no option gives them", async () => {
    const h = harness({
      bamboo_ManualBuildTriggerReason_userName: "bamboo.user",
      bamboo_buildResultKey: "QA-DEPLOY-77",
    });
    expect(await h.run("deploy", "VERBU-1", "--json")).to.equal(0);
    expect(json(h).result.record).to.deep.include({
      deployedBy: "bamboo.user",
      deployedBySource: "bamboo",
      build: "QA-DEPLOY-77",
    });
    expect(h.settings[0].envVars).to.deep.include({ bamboo_buildResultKey: "QA-DEPLOY-77" });
  });

  it("prints the human summary without --json", async () => {
    const h = harness();
    expect(await h.run("deploy", "VERBU-6202")).to.equal(0);
    expect(h.stdout.join("")).to.match(/^VERBU-6202 deployed: 2 created, 1 updated, 233 unchanged\n/);
  });

  for (const [argv, fragment] of [
    [["deploy", "VERBU 6202"], "cannot name a namespace"],
    [["deploy", "--branch", "main"], "names no Jira ticket"],
    [["deploy", "VERBU-1", "--services", "a,a"], "twice"],
    [["deploy", "VERBU-1", "--config", "nope=1"], "not a key of Pulumi.yaml"],
    [["deploy", "VERBU-1", "--kubeconfig", "/nonexistent/kubeconfig"], "cannot be read (ENOENT)"],
    [["deploy", "VERBU-1", "--parallel", "0"], "--parallel"],
    [["logs", "VERBU-1", "auth", "--since", "soon"], "--since"],
    [["logs", "VERBU-1"], "a ticket and a service"],
    [["deploy", "VERBU-1", "--unknown-flag"], "unknown option"],
  ] as const) {
    it(`exit 2 before any driver exists: ${argv.join(" ")}`, async () => {
      const h = harness();
      expect(await h.run(...argv, "--json")).to.equal(2);
      expect(h.settings, "no driver was built").to.have.length(0);
      const doc = json(h);
      expect(doc).to.deep.include({ ok: false, exitCode: 2 });
      expect(doc.error.type).to.equal("BadInputError");
      expect(doc.error.message).to.contain(fragment);
    });
  }

  for (const [error, code, type] of [
    [new CapacityError("no room"), 3, "CapacityError"],
    [new LockedError("locked by bamboo@agent (pid 1)", { ticket: "VERBU-1" }), 4, "LockedError"],
    [new DeployFailedError("up failed"), 5, "DeployFailedError"],
    [new CancelledError("cancelled"), 6, "CancelledError"],
    [new TypeError("boom"), 1, "InternalError"],
  ] as const) {
    it(`maps ${type} to exit ${code}, in JSON and in text`, async () => {
      const failing = { deploy: async () => Promise.reject(error) };
      const h = harness({}, failing);
      expect(await h.run("deploy", "VERBU-1", "--json")).to.equal(code);
      expect(json(h)).to.deep.include({ ok: false, command: "deploy", exitCode: code });
      expect(json(h).error).to.deep.include({ type, message: error.message });
      const text = harness({}, failing);
      expect(await text.run("deploy", "VERBU-1")).to.equal(code);
      expect(text.stderr.join("")).to.contain(`qa-env deploy: ${error.message}\n(exit ${code}: `);
      expect(text.stdout).to.deep.equal([]);
    });
  }

  it("SIGINT aborts the run once; a second SIGINT (or SIGTERM) only says it is still stopping; exit 6", async () => {
    let aborts = 0;
    // eslint-disable-next-line prefer-const -- assigned after the fake that uses it is made
    let h: Harness;
    const deploy = (_ticket: string, options: DeployOptions = {}) =>
      new Promise<never>((_resolve, reject) => {
        options.signal!.addEventListener("abort", () => {
          aborts += 1;
          // The real driver's engine takes a while to stop; signals keep arriving meanwhile.
          h.signals.emit("SIGINT");
          h.signals.emit("SIGTERM");
          setTimeout(() => reject(new CancelledError("VERBU-1: up cancelled")), 10);
        });
        setImmediate(() => h.signals.emit("SIGINT"));
      });
    h = harness({}, { deploy });
    expect(await h.run("deploy", "VERBU-1", "--json")).to.equal(6);
    expect(aborts).to.equal(1);
    const notices = h.stderr.map((line) => JSON.parse(line)).filter((n) => n.kind === "signal");
    expect(notices.map((n) => n.text.split(":")[0])).to.deep.equal([
      "SIGINT received",
      "SIGINT received again",
      "SIGTERM received again",
    ]);
    expect(h.signals.listenerCount("SIGINT"), "listeners removed after the command").to.equal(0);
  });

  it("reports progress and driver messages as JSON lines on stderr with --json, timestamped text without", async () => {
    const snapshot = {
      ticket: "verbu-1",
      operation: "up" as const,
      done: 1,
      total: 2,
      failed: 0,
      byOp: { create: 1 },
      elapsedMs: 1200,
    };
    let settings: DriverSettings | undefined;
    const deploy = async (ticket: string, options: DeployOptions = {}) => {
      settings!.onMessage!({ time: "t", ticket, kind: "waiting-for-lock", text: "verbu-1 is locked by x" });
      options.onProgress!(snapshot, { urn: "u", type: "kubernetes:core/v1:Namespace", op: "create", status: "done" });
      return DEPLOY_FIXTURE;
    };
    for (const mode of ["json", "plain"]) {
      const h = harness({}, { deploy });
      const argv = mode === "json" ? ["deploy", "VERBU-1", "--json"] : ["deploy", "VERBU-1"];
      const run = runCli(
        {
          io: h.io,
          makeDriver: (s) => {
            settings = s;
            return { ...unusedDriver(), deploy };
          },
        },
        argv,
      );
      expect(await run).to.equal(0);
      const err = h.stderr.join("");
      if (mode === "json") {
        const lines = err
          .trim()
          .split("\n")
          .map((l) => JSON.parse(l));
        expect(lines.map((l) => l.kind)).to.deep.equal(["waiting-for-lock", "step", "finished"]);
        expect(lines[1]).to.deep.include({ done: 1, total: 2, op: "create" });
      } else {
        expect(err).to.match(/^\d{4}-\d\d-\d\dT[\d:.]+Z VERBU-1: verbu-1 is locked by x\n/);
        expect(err).to.match(/Z verbu-1 up: 1\/2 done \(1 created\), 1\.2 s: done\n$/);
      }
    }
  });

  it("logs passes --since/--tail and prints the lines; --follow streams JSON lines", async () => {
    const h = harness();
    expect(await h.run("logs", "VERBU-1", "auth", "--since", "10m", "--tail", "5")).to.equal(0);
    expect(h.stdout.join("")).to.equal("since 600 tail 5\n");
    const f = harness(
      {},
      {
        logs: async (_t, service, options) => {
          options.onLine!({ pod: `${service}-1`, container: service, text: "a" });
          return [];
        },
      },
    );
    expect(await f.run("logs", "--branch", "feature/VERBU-1-x", "auth", "--follow", "--json")).to.equal(0);
    const lines = f.stdout
      .join("")
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l));
    expect(lines[0]).to.deep.equal({ kind: "log", pod: "auth-1", container: "auth", text: "a" });
    expect(lines[1]).to.deep.include({ ok: true, command: "logs" });
  });

  it("capacity refused maps to exit 3 with the driver's numbers", async () => {
    const h = harness();
    expect(await h.run("capacity")).to.equal(3);
    expect(h.stderr.join("")).to.contain("0 more environments of this size fit");
  });
});
