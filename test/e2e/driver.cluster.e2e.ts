// The driver against the local control plane (real engine, kubernetes provider, kube-apiserver, kwok nodes): a deploy
// SIGKILLed mid-up leaves objects on the cluster that the state only knows as pending creates; the next deploy
// imports them, ends converged with no pending operations and no warning about them, and every Deployment becomes
// Available. Then a cancel mid-up on the cluster, and a destroy that removes the namespace.
import { expect } from "chai";
import * as fs from "node:fs";
import { Driver } from "../../automation/driver";
import { CancelledError } from "../../automation/exitCodes";
import { ExportedState, ImportCandidate, importCandidates, pendingOperations } from "../../automation/recovery";
import { openStack } from "../../automation/stack";
import type { ConfigEntry } from "../../automation/stack";
import type { DriverMessage } from "../../automation/types";
import { parseCatalog } from "../../environments/catalog";
import { LocalRegistry } from "../../scripts/lib/localRegistry";
import { deployAndKill, killCrashChildren } from "./support/crashRun";
import { Engine, privateEngine, remainingStacks, stackLocks, stateOnDisk } from "./support/engine";
import { LocalCluster, startLocalCluster } from "./support/localCluster";
import { secretLeaks } from "./support/secretScan";

const CATALOG = parseCatalog(fs.readFileSync("environments/catalog.yaml", "utf8"), "catalog.yaml");
const TICKETS = ["VERBU-9201", "VERBU-9202"];

type ObjectRef = Pick<ImportCandidate, "apiVersion" | "kind" | "name">;

interface LiveObject {
  apiVersion: string;
  kind: string;
  metadata: { name: string; managedFields: { manager: string; operation: string }[] };
}

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
  const exportOf = async (stack: string) =>
    (await openStack({ stackName: stack, envVars: engine.envVars })).exportStack();
  const pendingIn = async (stack: string) => pendingOperations(await exportOf(stack));
  // The objects of these candidates that the cluster holds, in one kubectl call (kind.version.group/name, kind/name for the core group).
  const liveObjects = async (candidates: readonly ObjectRef[]) => {
    const names = candidates.map((c) => {
      const [group, version] = c.apiVersion.split("/");
      return version ? `${c.kind}.${version}.${group}/${c.name}` : `${c.kind}/${c.name}`;
    });
    if (names.length === 0) return [];
    const list = await cluster.kubectlJson<{ items: LiveObject[] }>(
      "-n",
      "verbu-9201",
      "get",
      ...names,
      "--ignore-not-found",
      "--show-managed-fields",
    );
    return list.items;
  };
  const onCluster = (objects: readonly LiveObject[]) =>
    objects.map((o): ObjectRef => ({ kind: o.kind, name: o.metadata.name, apiVersion: o.apiVersion }));
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

  it("after a SIGKILL mid-up, the next deploy imports what the killed run created, and later changes apply cleanly", async () => {
    const [ticket] = TICKETS;
    // Killed once the state on disk has held a pending create of an app's Deployment for a while, so its create
    // surely reached the API server: the recovery below must import one. A step count alone cannot promise that:
    // Services and config finish at once, and every Deployment may be done (or not begun) at any given step.
    let pendingSinceMs: number | undefined;
    const appDeploymentPending = (nowMs: number) => {
      let state: ExportedState;
      try {
        state = stateOnDisk(engine, "verbu-9201") as unknown as ExportedState;
      } catch {
        return false; // not written yet, or caught mid-write: look again at the next tick
      }
      const pendingApp = importCandidates(state).some(
        (c) => c.kind === "Deployment" && CATALOG.some((s) => s.kind === "app" && s.name === c.name),
      );
      pendingSinceMs = pendingApp ? (pendingSinceMs ?? nowMs) : undefined;
      return pendingSinceMs !== undefined && nowMs - pendingSinceMs >= 1500;
    };
    const killed = await deployAndKill(engine.envVars, ticket, config(), 60, "deploy", appDeploymentPending);
    const crashed = stateOnDisk(engine, "verbu-9201") as unknown as ExportedState;
    const pending = pendingOperations(crashed);
    const left = onCluster(await liveObjects(importCandidates(crashed)));
    expect(left.length, "the killed run left objects the state only knows as pending creates").to.be.greaterThan(0);
    expect(stackLocks(engine).filter((f) => f.endsWith(".json"))).to.have.length(1);

    const result = await driver({ lockTimeoutMs: 5000 }).deploy(ticket, {
      config: config(),
      onOutput: (text) => output.push(text),
    });
    expect(messages.some((m) => m.kind === "cleared-stale-lock" && m.text.includes(`(pid `))).to.equal(true);
    const recovering = messages.find((m) => m.kind === "recovering" && m.ticket === ticket);
    expect(recovering?.text).to.contain(`${left.length} found on the cluster imported into the state`);
    expect(result.recoveredPendingOperations).to.equal(pending.length);
    expect(await pendingIn("verbu-9201")).to.deep.equal([]);
    expect(stackLocks(engine)).to.deep.equal([]);
    expect(output.join("")).to.not.match(/pending operation/i);
    expect(await available("verbu-9201")).to.equal(CATALOG.filter((s) => !s.storage).length);
    // Imported, not created again: the up created only what the killed run never got to, and every recovered object
    // is still managed by the one field manager that created it (a second create would have added its own).
    const total = (await exportOf("verbu-9201")).deployment.resources.length;
    expect(result.changes.create ?? 0).to.equal(total - (crashed.deployment.resources ?? []).length - left.length);
    for (const object of await liveObjects(left)) {
      const managers = object.metadata.managedFields.filter((f) => f.operation === "Apply").map((f) => f.manager);
      expect(managers, `${object.kind} ${object.metadata.name}`).to.have.length(1);
    }

    // The next build of a recovered service rolls out: its image field belongs to the field manager in the state.
    const deployment = left.find(
      (c) => c.kind === "Deployment" && CATALOG.some((s) => s.name === c.name && s.kind === "app"),
    );
    expect(deployment, "a recovered Deployment of an app").to.not.equal(undefined);
    await registry.push(CATALOG.find((s) => s.name === deployment!.name)!.image, "master_latest", "build 2");
    output.length = 0;
    const next = await driver().deploy(ticket, { config: config(), onOutput: (text) => output.push(text) });
    expect(next.changes.update, `the new image of ${deployment!.name}`).to.equal(1);
    expect(output.join("")).to.not.match(/pending operation|warning|conflict/i);

    const again = await driver().deploy(ticket, { config: config() });
    expect(Object.keys(again.changes), "converged: nothing left to change").to.deep.equal(["same"]);
    console.log(
      `      killed after ${killed.killedAfterSteps} steps; ${pending.length} pending, ` +
        `${left.length} imported from the cluster, ${result.changes.create ?? 0} created by the next up`,
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
