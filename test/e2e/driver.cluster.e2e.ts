// The driver against the local control plane (real engine, kubernetes provider, kube-apiserver, kwok nodes): a deploy
// SIGKILLed mid-up leaves objects on the cluster that the state only knows as pending creates; the next deploy
// imports them, ends converged with no pending operations and no warning about them, and every Deployment becomes
// Available. Then a cancel mid-up on the cluster, and a destroy that removes the namespace.
import { expect } from "chai";
import * as fs from "node:fs";
import { Driver } from "../../automation/driver";
import { CancelledError } from "../../automation/exitCodes";
import { pendingOperations, recoveryPlan } from "../../automation/recovery";
import { openStack } from "../../automation/stack";
import type { ConfigEntry } from "../../automation/stack";
import type { DriverMessage } from "../../automation/types";
import { parseCatalog } from "../../environments/catalog";
import { LocalRegistry } from "../../scripts/lib/localRegistry";
import { deployAndKill, killCrashChildren } from "./support/crashRun";
import { Engine, privateEngine, remainingStacks, stackLocks } from "./support/engine";
import { LocalCluster, startLocalCluster } from "./support/localCluster";
import { secretLeaks } from "./support/secretScan";

const CATALOG = parseCatalog(fs.readFileSync("environments/catalog.yaml", "utf8"), "catalog.yaml");
const TICKETS = ["VERBU-9201", "VERBU-9202"];

interface Deployments {
  items: { metadata: { name: string }; status: { conditions?: { type: string; status: string }[] } }[];
}

describe("driver, real engine, local control plane", function () {
  this.timeout(40 * 60_000);
  let engine: Engine;
  let registry: LocalRegistry;
  let cluster: LocalCluster;
  let kubeconfig: string;
  const messages: DriverMessage[] = [];
  const output: string[] = [];

  const driver = (settings: ConstructorParameters<typeof Driver>[0] = {}) =>
    new Driver({ envVars: engine.envVars, onMessage: (m) => messages.push(m), ...settings });
  const config = (): Record<string, ConfigEntry> => ({
    registry: { value: registry.address },
    registryInsecure: { value: "true" },
    kubeconfig: { value: kubeconfig, secret: true },
  });
  const pendingIn = async (stack: string) =>
    pendingOperations(await (await openStack({ stackName: stack, envVars: engine.envVars })).exportStack());
  const available = async (namespace: string) =>
    (await cluster.kubectlJson<Deployments>("-n", namespace, "get", "deployments")).items.filter((d) =>
      d.status.conditions?.some((c) => c.type === "Available" && c.status === "True"),
    ).length;

  before(async () => {
    cluster = await startLocalCluster();
    for (const ticket of TICKETS)
      await cluster.kubectl("delete", "namespace", ticket.toLowerCase(), "--ignore-not-found", "--timeout=180s");
    engine = await privateEngine("driver-cluster");
    registry = await LocalRegistry.start();
    await registry.pushApps(CATALOG, "master_latest", "build 1");
    kubeconfig = fs.readFileSync(cluster.kubeconfigPath, "utf8");
  });

  after(async () => {
    killCrashChildren();
    const cleanup = driver();
    for (const ticket of TICKETS) await cleanup.destroy(ticket).catch(() => undefined);
    await registry?.stop();
    engine?.dispose();
  });

  it("after a SIGKILL mid-up, the next deploy imports the pending creates from the cluster and converges with no warning", async () => {
    const [ticket] = TICKETS;
    const killed = await deployAndKill(engine.envVars, ticket, config(), 60);
    const pending = await pendingIn("verbu-9201");
    const plan = recoveryPlan(pending, "cluster");
    expect(plan.imports.length, "the killed run left creates the cluster may hold").to.be.greaterThan(0);
    expect(stackLocks(engine).filter((f) => f.endsWith(".json"))).to.have.length(1);

    const result = await driver({ lockTimeoutMs: 5000 }).deploy(ticket, {
      config: config(),
      onOutput: (text) => output.push(text),
    });
    expect(messages.some((m) => m.kind === "cleared-stale-lock" && m.text.includes(`(pid `))).to.equal(true);
    const recovering = messages.find((m) => m.kind === "recovering" && m.ticket === ticket);
    expect(recovering?.text).to.contain(`${plan.imports.length} to import from the cluster`);
    expect(result.recoveredPendingOperations).to.equal(pending.length);
    expect(await pendingIn("verbu-9201")).to.deep.equal([]);
    expect(stackLocks(engine)).to.deep.equal([]);
    expect(output.join("")).to.not.match(/pending operation/i);
    expect(await available("verbu-9201")).to.equal(CATALOG.filter((s) => !s.storage).length);

    output.length = 0;
    const again = await driver().deploy(ticket, { config: config(), onOutput: (text) => output.push(text) });
    expect(Object.keys(again.changes), "converged: nothing left to change").to.deep.equal(["same"]);
    expect(output.join("")).to.not.match(/pending operation|warning/i);
    console.log(
      `      killed after ${killed.killedAfterSteps} steps; ${pending.length} pending (${plan.imports.length} imported)`,
    );
  });

  it("cancelled mid-up on the cluster it stops safely; the next deploy converges", async () => {
    const ticket = TICKETS[1];
    const controller = new AbortController();
    const error = await driver()
      .deploy(ticket, {
        config: config(),
        signal: controller.signal,
        onProgress: (snapshot) => snapshot.done >= 60 && !controller.signal.aborted && controller.abort(),
      })
      .catch((e) => e);
    expect(error).to.be.instanceOf(CancelledError);
    expect(stackLocks(engine)).to.deep.equal([]);
    await driver().deploy(ticket, { config: config() });
    expect(await pendingIn("verbu-9202")).to.deep.equal([]);
    const again = await driver().deploy(ticket, { config: config() });
    expect(Object.keys(again.changes)).to.deep.equal(["same"]);
  });

  it("destroys both environments, one after a destroy killed half-way: namespaces gone, no stack, no lock, no secret in the state", async () => {
    const clientKey = /client-key-data: (\S+)/.exec(kubeconfig)?.[1] ?? "";
    const leaks = await secretLeaks({
      engine,
      engineOutput: output.join(""),
      canary: `${registry.address}/bu/auth:master_latest@`,
      secrets: { "kubeconfig client key": clientKey, kubeconfig },
    });
    expect(leaks).to.deep.equal([]);
    // Destroy deletes the namespace alone and leaves its objects to the namespace controller (deletedWith).
    const state = (await (await openStack({ stackName: "verbu-9201", envVars: engine.envVars })).exportStack())
      .deployment as { resources: { urn: string; type: string; deletedWith?: string }[] };
    const namespaceUrn = state.resources.find((r) => r.type === "kubernetes:core/v1:Namespace")!.urn;
    const inNamespace = state.resources.filter(
      (r) => r.type.startsWith("kubernetes:") && !r.type.endsWith(":Namespace"),
    );
    expect(inNamespace.length).to.be.greaterThan(200);
    expect(inNamespace.filter((r) => r.deletedWith !== namespaceUrn).map((r) => r.urn)).to.deep.equal([]);
    // A destroy killed half-way (it writes no checkpoints) leaves the state from before it; the next one converges.
    const killed = await deployAndKill(engine.envVars, TICKETS[0], {}, 30, "destroy");
    expect(killed.killedAfterSteps).to.be.at.least(30);
    for (const ticket of TICKETS) {
      const result = await driver({ lockTimeoutMs: 5000 }).destroy(ticket);
      expect(result.changes.delete, ticket).to.be.greaterThan(200);
      const left = await cluster.kubectl("get", "namespace", ticket.toLowerCase(), "--ignore-not-found");
      expect(left.trim(), `namespace ${ticket} removed`).to.equal("");
    }
    expect(remainingStacks(engine)).to.deep.equal([]);
    expect(stackLocks(engine)).to.deep.equal([]);
  });
});
