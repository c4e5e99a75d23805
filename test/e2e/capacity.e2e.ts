// The capacity guard with the REAL engine, registry, scheduler and kwok nodes, on a small simulated cluster of its own
// (1 server + 1 worker, 6 pod slots each, so a 5-pod environment fits twice): environments are admitted through the
// Driver until one is refused with exit code 3 and the numbers, nothing of the refused one exists, no admitted pod stays
// Pending, an update of an admitted environment is never refused, `pulumi up/preview --stack <new-ticket>` run with the
// CLI is refused by the program itself, and capacity() counts what the refusal implies.
import { expect } from "chai";
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { parse, stringify } from "yaml";
import { Driver } from "../../automation/driver";
import { CapacityError, exitCodeOf } from "../../automation/exitCodes";
import { openStack, PROJECT_DIR } from "../../automation/stack";
import type { ConfigEntry } from "../../automation/stack";
import { parseCatalog } from "../../environments/catalog";
import { LocalRegistry } from "../../scripts/lib/localRegistry";
import { Engine, privateEngine, remainingStacks } from "./support/engine";
import { LocalCluster, startLocalCluster } from "./support/localCluster";

const SMALL = ["nsqd", "nsqlookupd", "auth", "wallet", "desktop-web"];
const ADMITTED = ["VERBU-9301", "VERBU-9302"];
const REFUSED = "VERBU-9303";
const DIRECT = "VERBU-9304";
// Its own cluster dir and ports (the shared cluster's base + 10: the shared one uses its base to base + 5, kwok's log
// server included): nodes keep their size once made.
const BASE_DIR = process.env.QA_CLUSTER_DIR ?? path.join(os.homedir(), ".cache", "qa-k8s", "local-cluster");
const CLUSTER_ENV = {
  QA_CLUSTER_DIR: `${BASE_DIR}-small`,
  QA_CLUSTER_PORT: String(Number(process.env.QA_CLUSTER_PORT ?? 16443) + 10),
  QA_CLUSTER_WORKERS: "1",
  QA_CLUSTER_NODE_PODS: "6",
};

interface PodList {
  items: { metadata: { name: string; namespace: string }; spec: { nodeName?: string }; status: { phase: string } }[];
}

describe("capacity guard, real engine, small local cluster", function () {
  this.timeout(40 * 60_000);
  let engine: Engine;
  let registry: LocalRegistry;
  let cluster: LocalCluster;
  let tmp: string;
  let catalogFile: string;
  let kubeconfig: string;
  let driver: Driver;

  // Exact pod slots decide here: no headroom, so the count is 12 slots / 5 pods = 2.
  const config = (): Record<string, ConfigEntry> => ({
    registry: { value: registry.address },
    registryInsecure: { value: "true" },
    kubeconfig: { value: kubeconfig, secret: true },
    catalog: { value: catalogFile },
    "capacity.headroomCpu": { value: "0" },
    "capacity.headroomMemory": { value: "0" },
    "capacity.headroomPods": { value: "0" },
  });

  async function namespaces(): Promise<string[]> {
    return (await cluster.kubectl("get", "namespaces", "-o", "name"))
      .split("\n")
      .map((n) => n.replace(/^namespace\//, ""));
  }

  async function envPods(): Promise<PodList["items"]> {
    const all = await cluster.kubectlJson<PodList>("get", "pods", "--all-namespaces");
    return all.items.filter((p) => /^verbu-930\d$/.test(p.metadata.namespace));
  }

  function cli(command: "up" | "preview", stack: string) {
    const bin = engine.envVars.QA_PULUMI_BIN;
    expect(bin, "scripts/toolchain gives QA_PULUMI_BIN").to.be.a("string").and.not.equal("");
    const args = command === "up" ? ["up", "--yes"] : ["preview"];
    return spawnSync(bin, [...args, "--stack", stack, "--non-interactive", "--color", "never"], {
      cwd: PROJECT_DIR,
      env: engine.envVars,
      encoding: "utf8",
      timeout: 10 * 60_000,
    });
  }

  before(async () => {
    cluster = await startLocalCluster(CLUSTER_ENV);
    for (const ticket of [...ADMITTED, REFUSED, DIRECT])
      await cluster.kubectl("delete", "namespace", ticket.toLowerCase(), "--ignore-not-found", "--wait=true");
    kubeconfig = fs.readFileSync(cluster.kubeconfigPath, "utf8");
    engine = await privateEngine("capacity");
    registry = await LocalRegistry.start();
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), "qa-k8s-capacity-"));
    const full = parse(fs.readFileSync("environments/catalog.yaml", "utf8"));
    full.services = full.services.filter((s: { name: string }) => SMALL.includes(s.name));
    catalogFile = path.join(tmp, "catalog.yaml");
    fs.writeFileSync(catalogFile, stringify(full));
    await registry.pushApps(parseCatalog(stringify(full), "catalog.yaml"), "master_latest", "build 1");
    driver = new Driver({ envVars: engine.envVars });
  });

  after(async () => {
    for (const ticket of ADMITTED) await driver?.destroy(ticket).catch(() => undefined);
    const direct = engine && (await openStack({ stackName: DIRECT.toLowerCase(), envVars: engine.envVars }));
    await direct?.destroy().catch(() => undefined);
    await direct?.workspace.removeStack(DIRECT.toLowerCase()).catch(() => undefined);
    // The refused stack was removed with its Pulumi.<stack>.yaml kept (the guard never deletes a config file).
    for (const ticket of [REFUSED, DIRECT])
      fs.rmSync(path.join(PROJECT_DIR, `Pulumi.${ticket.toLowerCase()}.yaml`), { force: true });
    await registry?.stop();
    engine?.dispose();
    if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
    spawnSync("bash", [path.join(PROJECT_DIR, "scripts", "local-cluster"), "stop"], {
      env: { ...process.env, ...CLUSTER_ENV },
      stdio: "inherit",
    });
  });

  it("capacity() on the empty cluster: 2 environments of this catalog fit, pod slots limit them", async () => {
    const report = await driver.capacity({ config: config() });
    expect(report.nodes.map((n) => n.node).sort()).to.deep.equal(["qa-server-1", "qa-worker-1"]);
    expect(report.perEnvironment.pods).to.equal(5);
    expect(report.free.pods).to.equal(12);
    expect([report.environmentsThatFit, report.limitedBy]).to.deep.equal([2, "pods"]);
  });

  it("admits environments through the Driver while they fit; every pod is scheduled, none stays Pending", async () => {
    for (const [i, ticket] of ADMITTED.entries()) {
      const result = await driver.deploy(ticket, { config: config() });
      expect(result.changes.create, `${ticket} was created`).to.be.greaterThan(5);
      expect((await driver.capacity({ config: config() })).environmentsThatFit).to.equal(ADMITTED.length - i - 1);
    }
    const pods = await envPods();
    expect(pods).to.have.length(10);
    expect(
      pods.filter((p) => p.status.phase !== "Running" || !p.spec.nodeName).map((p) => p.metadata.name),
    ).to.deep.equal([]);
  });

  it("refuses the next NEW environment with exit code 3 and the numbers, and creates nothing of it", async () => {
    const error = await driver.deploy(REFUSED, { config: config() }).catch((e: unknown) => e);
    expect(error).to.be.instanceOf(CapacityError);
    expect(exitCodeOf(error)).to.equal(3);
    expect((error as Error).message).to.match(
      /^VERBU-9303 needs 0\.05 CPU \/ 0\.5 GiB \/ 5 pods; free: \d+\.\d\d CPU \/ \d+\.\d GiB \/ 2 pods \(2 nodes\); 0 more environments of this size fit$/,
    );
    expect(await namespaces()).to.not.include("verbu-9303");
    expect(
      remainingStacks(engine).filter((f) => f.includes("verbu-9303")),
      "no stack, so no resources",
    ).to.deep.equal([]);
    expect((await driver.list()).map((e) => e.ticket)).to.not.include(REFUSED);
  });

  it("never refuses an update of an admitted environment, even on a full cluster, and it rolls out", async () => {
    await registry.push("bu/auth", "master_latest", "auth build 2");
    const result = await driver.deploy(ADMITTED[0], { config: config() });
    expect(result.changes.update).to.equal(1);
    const pods = await envPods();
    expect(
      pods.filter((p) => p.status.phase !== "Running" || !p.spec.nodeName).map((p) => p.metadata.name),
    ).to.deep.equal([]);
  });

  it("refuses `pulumi preview` and `pulumi up --stack <new-ticket>` run with the CLI, in the program, with the same message", async () => {
    const stack = await openStack({ stackName: DIRECT.toLowerCase(), envVars: engine.envVars, config: config() });
    const message =
      /VERBU-9304 needs 0\.05 CPU \/ 0\.5 GiB \/ 5 pods; free: \d+\.\d\d CPU \/ \d+\.\d GiB \/ 2 pods \(2 nodes\); 0 more environments of this size fit/;
    for (const command of ["preview", "up"] as const) {
      const run = cli(command, DIRECT.toLowerCase());
      expect(run.status, `${command}: ${run.stdout}${run.stderr}`).to.not.equal(0);
      expect(run.stdout + run.stderr).to.match(message);
      const clientKey = /client-key-data: (\S+)/.exec(kubeconfig)?.[1] ?? "";
      expect(clientKey).to.not.equal("");
      expect(run.stdout + run.stderr, "the kubeconfig's key stays out of the output").to.not.contain(clientKey);
    }
    expect(await namespaces()).to.not.include("verbu-9304");
    const state = (await stack.exportStack()).deployment as { resources?: { type: string }[] };
    const types = (state.resources ?? []).map((r) => r.type);
    expect(
      types.filter((t) => t.startsWith("kubernetes:")),
      "no cluster object in the state",
    ).to.deep.equal([]);
    expect((await driver.capacity({ config: config() })).environmentsThatFit, "what the refusals imply").to.equal(0);
  });
});
