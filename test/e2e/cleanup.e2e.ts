// Automatic cleanup with the real engine on the local control plane, through the real `scripts/qa-env cleanup`:
// three environments deployed by the driver (one made idle by setting its last-deployed tag into the past, one idle
// but pinned, one idle whose namespace lost qa-k8s's managed-by label), a foreign stack without the driver's record
// tags, and a foreign namespace of the same name pattern without the label. --dry-run removes nothing; the real run
// removes only the idle, unpinned environment that is ours (stack and namespace gone) and keeps the rest with reasons.
import { expect } from "chai";
import { execFile } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { promisify } from "node:util";
import { LocalWorkspace } from "@pulumi/pulumi/automation";
import { parse, stringify } from "yaml";
import { Driver } from "../../automation/driver";
import { PIN_TAGS, RECORD_TAGS } from "../../automation/records";
import { PROJECT_DIR, pulumiCommand } from "../../automation/stack";
import type { ConfigEntry } from "../../automation/stack";
import { parseCatalog } from "../../environments/catalog";
import { LocalRegistry } from "../../scripts/lib/localRegistry";
import { Engine, privateEngine, remainingStacks } from "./support/engine";
import { LocalCluster, startLocalCluster } from "./support/localCluster";
import { secretForms } from "./support/secretScan";

const run = promisify(execFile);
const LAUNCHER = path.join(PROJECT_DIR, "scripts", "qa-env");
const SMALL = ["nsqd", "nsqlookupd", "auth", "wallet", "desktop-web"];
const IDLE = "VERBU-9701";
const PINNED = "VERBU-9702";
const FOREIGN_STACK = "VERBU-9703";
const RELABELLED = "VERBU-9704";
const FOREIGN_NAMESPACE = "verbu-9705";
const OURS = [IDLE, PINNED, RELABELLED];
const NAMESPACES = ["verbu-9701", "verbu-9702", "verbu-9703", "verbu-9704", FOREIGN_NAMESPACE];

// The shared cluster in CI; a developer's own through QA_TEST_CLUSTER_DIR/PORT.
const clusterEnv = (): Record<string, string> =>
  process.env.QA_TEST_CLUSTER_DIR
    ? { QA_CLUSTER_DIR: process.env.QA_TEST_CLUSTER_DIR, QA_CLUSTER_PORT: process.env.QA_TEST_CLUSTER_PORT ?? "" }
    : {};

describe("qa-env cleanup, real engine, local control plane", function () {
  this.timeout(30 * 60_000);
  let engine: Engine;
  let registry: LocalRegistry;
  let cluster: LocalCluster;
  let tmp: string;
  let driver: Driver;
  let workspace: LocalWorkspace;
  /** Everything the CLI printed, for the secret check. */
  const printed: string[] = [];

  const stacks = () =>
    remainingStacks(engine)
      .map((file) => path.basename(file).replace(/\.json(\.gz)?$/, ""))
      .sort();
  async function namespaces(): Promise<string[]> {
    const list = await cluster.kubectlJson<{ items: { metadata: { name: string } }[] }>("get", "namespaces");
    return list.items
      .map((n) => n.metadata.name)
      .filter((name) => NAMESPACES.includes(name))
      .sort();
  }
  /** The namespaces once none is terminating any more (a deleted namespace lingers while its objects go). */
  async function settledNamespaces(): Promise<string[]> {
    for (let i = 0; i < 120; i++) {
      const list = await cluster.kubectlJson<{ items: { status?: { phase?: string } }[] }>("get", "namespaces");
      if (!list.items.some((n) => n.status?.phase === "Terminating")) break;
      await new Promise((resolve) => setTimeout(resolve, 1000));
    }
    return namespaces();
  }
  async function qaEnv(...args: string[]) {
    try {
      const { stdout, stderr } = await run(LAUNCHER, args, { cwd: tmp, env: { ...process.env, ...engine.envVars } });
      printed.push(stdout, stderr);
      return { code: 0, stdout, stderr };
    } catch (error) {
      const e = error as { code: number; stdout: string; stderr: string };
      printed.push(e.stdout, e.stderr);
      return { code: e.code, stdout: e.stdout, stderr: e.stderr };
    }
  }

  before(async () => {
    cluster = await startLocalCluster(clusterEnv());
    for (const ns of NAMESPACES)
      await cluster.kubectl("delete", "namespace", ns, "--ignore-not-found", "--timeout=180s");
    engine = await privateEngine("cleanup");
    registry = await LocalRegistry.start();
    await registry.pushApps(
      parseCatalog(fs.readFileSync("environments/catalog.yaml", "utf8"), "catalog.yaml"),
      "master_latest",
      "build 1",
    );
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), "qa-k8s-cleanup-"));
    const full = parse(fs.readFileSync("environments/catalog.yaml", "utf8"));
    full.services = full.services.filter((s: { name: string }) => SMALL.includes(s.name));
    fs.writeFileSync(path.join(tmp, "catalog.yaml"), stringify(full));
    const config: Record<string, ConfigEntry> = {
      registry: { value: registry.address },
      registryInsecure: { value: "true" },
      kubeconfig: { value: fs.readFileSync(cluster.kubeconfigPath, "utf8"), secret: true },
      catalog: { value: path.join(tmp, "catalog.yaml") },
    };
    driver = new Driver({ envVars: engine.envVars });
    for (const ticket of OURS) await driver.deploy(ticket, { config, services: [], deployer: "cleanup-e2e" });
    workspace = await LocalWorkspace.create({
      workDir: PROJECT_DIR,
      envVars: engine.envVars,
      pulumiCommand: await pulumiCommand(engine.envVars),
    });
    // Idle: last deployed 30 days ago (created earlier still); the deploys themselves were just now.
    for (const ticket of OURS) {
      await workspace.setTag(ticket.toLowerCase(), RECORD_TAGS.createdAt, "2026-01-01T00:00:00.000Z");
      await workspace.setTag(
        ticket.toLowerCase(),
        RECORD_TAGS.lastDeployedAt,
        new Date(Date.now() - 30 * 86_400_000).toISOString(),
      );
    }
    // A stack of the same name pattern that qa-env never deployed: no record tags.
    await workspace.createStack(FOREIGN_STACK.toLowerCase());
    await cluster.kubectl("label", "namespace", RELABELLED.toLowerCase(), "app.kubernetes.io/managed-by-");
    await cluster.kubectl("create", "namespace", FOREIGN_NAMESPACE);
  });

  after(async () => {
    for (const ticket of OURS) await driver?.destroy(ticket).catch(() => undefined);
    await workspace?.removeStack(FOREIGN_STACK.toLowerCase()).catch(() => undefined);
    for (const ns of NAMESPACES)
      await cluster?.kubectl("delete", "namespace", ns, "--ignore-not-found", "--timeout=180s").catch(() => undefined);
    await registry?.stop();
    engine?.dispose();
    if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
  });

  it("pin writes the pin tags through the CLI", async () => {
    const pinned = await qaEnv("pin", PINNED, "--by", "jane.doe", "--json");
    expect(pinned.code, pinned.stderr).to.equal(0);
    expect(JSON.parse(pinned.stdout).result).to.deep.include({ ticket: PINNED, pinned: true });
    const tags = await workspace.listTags(PINNED.toLowerCase());
    expect(tags[PIN_TAGS.pinnedBy]).to.equal("jane.doe");
    const unknown = await qaEnv("pin", "VERBU-9799");
    expect(unknown.code).to.equal(2);
    expect(unknown.stderr).to.include("VERBU-9799: no environment to pin (stack verbu-9799 does not exist)");
  });

  it("--dry-run lists every decision with its reason and removes nothing", async () => {
    const before = { stacks: stacks(), namespaces: await namespaces() };
    expect(before.stacks).to.deep.equal(["verbu-9701", "verbu-9702", "verbu-9703", "verbu-9704"]);
    const dry = await qaEnv("cleanup", "--dry-run", "--json");
    expect(dry.code, dry.stderr).to.equal(0);
    const result = JSON.parse(dry.stdout).result;
    const byTicket = Object.fromEntries(result.entries.map((e: { ticket: string }) => [e.ticket, e]));
    expect(byTicket[IDLE]).to.include({ action: "destroy", outcome: "would-destroy" });
    expect(byTicket[IDLE].reason).to.match(/^idle 30d since the last deploy at \S+ \(idle TTL 7d\)$/);
    expect(byTicket[PINNED]).to.include({ action: "keep", outcome: "kept" });
    expect(byTicket[PINNED].reason).to.match(/^pinned by jane\.doe at \S+Z$/);
    expect(byTicket[FOREIGN_STACK]).to.include({
      action: "keep",
      reason: "no qa-k8s record tags on the stack: not created by qa-env, never removed",
    });
    expect(byTicket[RELABELLED].reason).to.match(
      /, but namespace verbu-9704 lacks the label app\.kubernetes\.io\/managed-by=qa-k8s \(it has no such label\): not created by qa-k8s, never removed$/,
    );
    expect(result.entries).to.have.length(4);
    const logged = dry.stderr
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l).text as string);
    expect(logged.filter((l) => /^cleanup \(dry run\): (keep|would destroy) VERBU-97/.test(l))).to.have.length(4);
    expect({ stacks: stacks(), namespaces: await namespaces() }).to.deep.equal(before);
  });

  it("removes only the idle, unpinned environment of its own (stack and namespace) and keeps the rest, saying why", async () => {
    const real = await qaEnv("cleanup");
    expect(real.code, real.stderr).to.equal(0);
    expect(real.stdout).to.match(/^1 destroyed, 3 kept, 0 failed\n/);
    expect(real.stdout).to.match(/\ndestroyed {2}VERBU-9701 {2}idle 30d since the last deploy/);
    expect(real.stderr).to.match(/ cleanup: destroy VERBU-9701 \(stack verbu-9701\): idle 30d/);
    expect(real.stderr).to.match(/ cleanup: destroyed VERBU-9701: \d+ resource\(s\), stack removed\n/);
    expect(real.stderr).to.include("cleanup: keep VERBU-9702: pinned by jane.doe");
    expect(real.stderr).to.include("cleanup: keep VERBU-9703: no qa-k8s record tags");
    expect(real.stderr).to.include("cleanup: keep VERBU-9704: idle 30d");
    expect(stacks()).to.deep.equal(["verbu-9702", "verbu-9703", "verbu-9704"]);
    expect(await settledNamespaces()).to.deep.equal(["verbu-9702", "verbu-9704", FOREIGN_NAMESPACE]);
  });

  it("after unpin, the next cleanup removes the formerly pinned one", async () => {
    expect((await qaEnv("unpin", PINNED)).code).to.equal(0);
    const again = await qaEnv("cleanup", "--json");
    expect(again.code, again.stderr).to.equal(0);
    expect(JSON.parse(again.stdout).result).to.include({ destroyed: 1, kept: 2, failed: 0 });
    expect(stacks()).to.deep.equal(["verbu-9703", "verbu-9704"]);
    expect(await settledNamespaces()).to.deep.equal(["verbu-9704", FOREIGN_NAMESPACE]);
  });

  it("printed no part of the kubeconfig's credentials (the marker check decrypts it to reach the cluster)", () => {
    const text = printed.join("\n");
    expect(text).to.include("VERBU-9701"); // the scan reads real output
    const kubeconfig = parse(fs.readFileSync(cluster.kubeconfigPath, "utf8"));
    const credentials = (kubeconfig.users as { user: Record<string, string> }[]).flatMap((u) =>
      ["client-key-data", "token", "password"].map((field) => u.user[field]).filter(Boolean),
    );
    expect(credentials.length).to.be.greaterThan(0);
    for (const credential of credentials) {
      const decoded = Buffer.from(credential, "base64").toString("utf8");
      for (const [form, kind] of [...secretForms(credential), ...secretForms(decoded)])
        expect(text.includes(form), `credential (${kind}) in the CLI output`).to.equal(false);
    }
  });
});
