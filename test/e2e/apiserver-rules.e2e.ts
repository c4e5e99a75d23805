// Every rule of environments/kubernetesNames.ts measured against the REAL kube-apiserver (and its controllers) of the
// local control plane: the input that breaks a rule is refused by the program's check AND by the API server, and the
// boundary value just inside it is accepted by both. Objects are the program's own (its builders), dry-run on the
// server; where a controller adds to a name, the workload is created and the controller's answer awaited. The rule
// table (rule | example value | our message | API server's message) goes to $TMPDIR/qa-k8s-apiserver-rules.md.
import { expect } from "chai";
import { spawn } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { PROJECT_DIR } from "../../automation/stack";
import { startLocalCluster } from "./support/localCluster";
import { Example, KubeObject, programCheck, programObjects, RULE_CASES, RuleCase } from "./support/apiServerRules";

const SCRIPT = path.join(PROJECT_DIR, "scripts", "local-cluster");
const SCRATCH = "apirules-e2e";
const TABLE_FILE = path.join(os.tmpdir(), "qa-k8s-apiserver-rules.md");
const CONTROLLER_TIMEOUT_MS = 90_000;

interface Run {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

function kubectl(args: string[], input?: string): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn("bash", [SCRIPT, "kubectl", ...args], { stdio: ["pipe", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
    child.on("error", reject);
    child.on("close", (code) => resolve({ code: code ?? 1, stdout, stderr }));
    child.stdin.end(input ?? "");
  });
}

/** The API server's refusal (kubectl's "Error from server (Invalid): error when creating "STDIN": " cut off). */
function refusal(run: Run): string | undefined {
  if (run.code === 0) return undefined;
  return run.stderr.trim().replace(/^Error from server \([A-Za-z]+\): (error when creating "STDIN": )?/, "");
}

async function create(object: KubeObject, dryRun: boolean): Promise<string | undefined> {
  const args = ["create", "-f", "-", "-o", "name", ...(dryRun ? ["--dry-run=server"] : [])];
  return refusal(await kubectl(args, JSON.stringify(object)));
}

/** The first controller answer for a workload: one of its pods exists (accepted), or a FailedCreate event (refused). */
async function controllerAnswer(workload: KubeObject, namespace: string): Promise<string | undefined> {
  const name = workload.metadata.name;
  const deadline = Date.now() + CONTROLLER_TIMEOUT_MS;
  while (Date.now() < deadline) {
    const pods = await kubectl(["-n", namespace, "get", "pods", "-l", `app.kubernetes.io/name=${name}`, "-o", "json"]);
    if (pods.code === 0 && (JSON.parse(pods.stdout) as { items: unknown[] }).items.length > 0) return undefined;
    const events = await kubectl(["-n", namespace, "get", "events", "-o", "json"]);
    type Event = { reason: string; message: string; involvedObject: { kind: string } };
    const failed = (JSON.parse(events.stdout) as { items: Event[] }).items.find((e) => e.reason === "FailedCreate");
    if (failed) return `(${failed.involvedObject.kind} controller, FailedCreate) ${failed.message}`;
    await new Promise((r) => setTimeout(r, 1000));
  }
  throw new Error(`no pod and no FailedCreate event for ${workload.kind} ${name} in ${CONTROLLER_TIMEOUT_MS / 1000}s`);
}

/** What the API server (and, in controller mode, the controller) answers to the objects of one example. */
async function apiServerAnswer(rule: RuleCase, example: Example, namespace: string): Promise<string | undefined> {
  const objects = programObjects(example, namespace);
  expect(objects, "the example builds objects").to.not.have.length(0);
  const mode = rule.mode ?? "dry-run";
  if (mode === "dry-run") {
    for (const object of objects) {
      const refused = await create(object, true);
      if (refused) return refused;
    }
    return undefined;
  }
  await kubectl(["create", "namespace", namespace]);
  if (mode === "create-first") {
    for (const object of objects.slice(0, -1)) {
      expect(await create(object, false), `${object.kind} ${object.metadata.name} is created`).to.equal(undefined);
    }
    return create(objects[objects.length - 1], true);
  }
  for (const object of objects) {
    const refused = await create(object, false);
    if (refused) return refused;
  }
  const workload = objects.find((o) => o.kind === "Deployment" || o.kind === "StatefulSet");
  return controllerAnswer(workload!, namespace);
}

interface Row {
  readonly rule: string;
  readonly value: string;
  readonly ours: string;
  readonly server: string;
}

function cell(text: string): string {
  return text.replace(/\|/g, "\\|").replace(/\n/g, "<br>");
}

function table(rows: readonly Row[]): string {
  return [
    "| rule | example value | our message | API server's message |",
    "|---|---|---|---|",
    ...rows.map((r) => `| ${cell(r.rule)} | ${cell(r.value)} | ${cell(r.ours)} | ${cell(r.server)} |`),
  ].join("\n");
}

describe("the API server's own rules, measured on the local control plane", function () {
  this.timeout(30 * 60_000);
  const rows: Row[] = [];
  const namespaces = new Set<string>([SCRATCH]);

  before(async () => {
    await startLocalCluster();
    for (const namespace of (await kubectl(["get", "namespaces", "-o", "name"])).stdout.split("\n")) {
      // Scratch namespaces of an earlier, interrupted run.
      if (namespace.startsWith(`namespace/${SCRATCH}`)) await kubectl(["delete", namespace, "--wait=true"]);
    }
    expect((await kubectl(["create", "namespace", SCRATCH])).code).to.equal(0);
  });

  after(async () => {
    for (const namespace of namespaces) await kubectl(["delete", "namespace", namespace, "--wait=false"]);
    const markdown = `${table(rows)}\n`;
    fs.writeFileSync(TABLE_FILE, markdown);
    console.log(`\n${markdown}\nwritten to ${TABLE_FILE}`);
  });

  it("has a case for every rule, each with a bad and a boundary example", () => {
    expect(RULE_CASES.length).to.be.at.least(20);
    expect(new Set(RULE_CASES.map((c) => c.rule)).size, "rules are unique").to.equal(RULE_CASES.length);
  });

  const title = (rule: RuleCase) =>
    rule.projectRule
      ? `${rule.rule}: refused by the program only (the API server accepts it) at "${rule.bad.value}", accepted by both at "${rule.good.value}"`
      : rule.builderRule
        ? `${rule.rule}: the old object is refused by the API server at "${rule.bad.value}", the builder's accepted at "${rule.good.value}"`
        : `${rule.rule}: refused by both at "${rule.bad.value}", accepted by both at "${rule.good.value}"`;

  RULE_CASES.forEach((rule, index) => {
    it(title(rule), async () => {
      const own = (kind: "bad" | "good") => {
        if (rule.mode === undefined || rule.mode === "dry-run") return SCRATCH;
        const namespace = `${SCRATCH}-${index}-${kind}`;
        namespaces.add(namespace);
        return namespace;
      };
      const ours = programCheck(rule.bad.input);
      const server = await apiServerAnswer(rule, rule.bad, own("bad"));
      rows.push({
        rule: rule.rule,
        value: rule.bad.value,
        ours: ours ?? `accepted: ${rule.builderRule ?? "?"}`,
        server: server ?? `accepted (${rule.projectRule ?? "?"})`,
      });
      const oursGood = programCheck(rule.good.input);
      const serverGood = await apiServerAnswer(rule, rule.good, own("good"));
      rows.push({
        rule: rule.rule,
        value: rule.good.value,
        ours: oursGood ?? "accepted",
        server: serverGood ?? "accepted",
      });

      if (rule.builderRule) {
        expect(ours, "the program accepts the input and builds a valid object").to.equal(undefined);
      } else {
        expect(ours, "the program refuses the bad input").to.be.a("string");
      }
      if (rule.projectRule) {
        expect(server, "the API server accepts what only this project refuses").to.equal(undefined);
      } else {
        expect(server, "the API server refuses the bad objects").to.be.a("string");
      }
      expect(oursGood, "the program accepts the boundary value").to.equal(undefined);
      expect(serverGood, "the API server accepts the boundary value").to.equal(undefined);
    });
  });
});
