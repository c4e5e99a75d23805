// Fuzzes the QA service's API with schemathesis (PyPI, pinned, in a cached venv outside the repo) against the running
// service's own /openapi.json: the real service process with the real driver and engine (render mode, no cluster),
// a read token. Asserts no 5xx for anything schemathesis sends (valid and invalid input) and that every response
// matches its documented schema and content type. GET /capacity needs a cluster to measure; without one it answers
// 503 by design (the service's situation, not bad input), so it runs in a second pass that checks only conformance.
import { expect } from "chai";
import { spawn, spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { Engine, privateEngine } from "./support/engine";
import { freePort, ServiceProcess, ServiceTokens, writeTokens } from "./support/serviceProcess";

const VERSION = "4.32.5";
const VENV = path.join(os.homedir(), ".cache", "qa-k8s", `schemathesis-${VERSION}`);
const BIN = path.join(VENV, "bin", "schemathesis");

/** The pinned schemathesis, installed once into its venv (pip's progress shown). */
function ensureSchemathesis(): void {
  const installed = spawnSync(BIN, ["--version"], { encoding: "utf8" });
  if (installed.status === 0 && installed.stdout.includes(VERSION)) return;
  process.stderr.write(`installing schemathesis ${VERSION} into ${VENV} (once)\n`);
  const steps: string[][] = [
    ["python3", "-m", "venv", VENV],
    [path.join(VENV, "bin", "pip"), "install", "--progress-bar", "on", `schemathesis==${VERSION}`],
  ];
  for (const [cmd, ...args] of steps) {
    const run = spawnSync(cmd, args, { stdio: "inherit" });
    if (run.status !== 0) throw new Error(`${cmd} ${args.join(" ")} failed (exit ${run.status})`);
  }
}

/** Runs schemathesis with its output shown as it goes; resolves with the exit code and the output. */
function schemathesis(args: string[]): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(BIN, args, { stdio: ["ignore", "pipe", "pipe"], env: { ...process.env, NO_COLOR: "1" } });
    let output = "";
    const show = (chunk: Buffer) => {
      output += chunk.toString("utf8");
      process.stdout.write(chunk);
    };
    child.stdout.on("data", show);
    child.stderr.on("data", show);
    child.on("error", reject);
    child.on("exit", (code) => resolve({ code, output }));
  });
}

describe("QA service API fuzzed by schemathesis (real service process)", function () {
  this.timeout(40 * 60_000);
  let engine: Engine;
  let tmp: string;
  let tokens: ServiceTokens;
  let service: ServiceProcess | undefined;

  before(async () => {
    ensureSchemathesis();
    engine = await privateEngine("service-fuzz");
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), "qa-k8s-service-fuzz-"));
    tokens = writeTokens(path.join(tmp, "tokens.json"));
    service = await ServiceProcess.start(
      {
        ...engine.envVars,
        QA_DATA_DIR: path.join(tmp, "data"),
        QA_TOKENS_FILE: path.join(tmp, "tokens.json"),
        QA_JIRA_SECRET: "fuzz-secret-0123456789abcdef",
        QA_STACK_CONFIG: `renderTo=${path.join(tmp, "rendered-{ticket}")}`,
        // No cluster: capacity cannot be measured; the KUBECONFIG of whoever runs the test must not be used.
        KUBECONFIG: path.join(tmp, "no-kubeconfig"),
      },
      await freePort(),
    );
  });

  after(async () => {
    if (service) await service.stop();
    engine?.dispose();
    if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
  });

  const common = () => [
    "run",
    `${service!.url}/openapi.json`,
    "--header",
    `Authorization: Bearer ${tokens.read}`,
    "--workers",
    "1",
    "--max-examples",
    "25",
    "--seed",
    "9560",
    "--phases",
    "examples,coverage,fuzzing",
    "--request-timeout",
    "30",
    "--output-sanitize",
    "true",
    "--report",
    "junit",
    "--report-dir",
    path.join(tmp, "report"),
  ];

  it("answers every generated request without a 5xx, each response matching its schema and content type", async () => {
    const run = await schemathesis([
      ...common(),
      "--checks",
      "not_a_server_error,response_schema_conformance,content_type_conformance",
      "--exclude-path",
      "/capacity",
    ]);
    expect(run.output).to.match(/GET \/environments/);
    expect(run.code, "schemathesis found failures (its report is above)").to.equal(0);
    expect(service!.log).not.to.include(tokens.read);
  });

  it("GET /capacity without a cluster: every answer (503 included) matches its documented schema", async () => {
    const run = await schemathesis([
      ...common(),
      "--checks",
      "response_schema_conformance,content_type_conformance,status_code_conformance",
      "--include-path",
      "/capacity",
    ]);
    expect(run.code, "schemathesis found failures (its report is above)").to.equal(0);
  });
});
