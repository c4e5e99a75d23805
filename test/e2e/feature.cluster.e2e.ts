// A feature stack with the REAL engine and kubernetes provider against the local control plane (kube-apiserver + kwok
// nodes): every Deployment becomes Available, a no-op up changes nothing, one re-pushed image rolls out exactly one
// Deployment, destroy removes the namespace.
import { expect } from "chai";
import * as fs from "node:fs";
import type { Stack } from "@pulumi/pulumi/automation";
import { openStack } from "../../automation/stack";
import { parseCatalog } from "../../environments/catalog";
import { LocalRegistry } from "../../scripts/lib/localRegistry";
import { abandon, Engine, privateEngine, remainingStacks, stackLocks } from "./support/engine";
import { secretLeaks } from "./support/secretScan";
import { LocalCluster, startLocalCluster } from "./support/localCluster";

const STACK = "verbu-9002";
const CATALOG = parseCatalog(fs.readFileSync("environments/catalog.yaml", "utf8"), "catalog.yaml");

interface DeploymentList {
  items: {
    metadata: { name: string; generation: number };
    spec: { template: { spec: { containers: { image: string }[] } } };
    status: {
      observedGeneration?: number;
      updatedReplicas?: number;
      availableReplicas?: number;
      conditions?: { type: string; status: string }[];
    };
  }[];
}

function available(list: DeploymentList): string[] {
  return list.items
    .filter((d) => d.status.conditions?.some((c) => c.type === "Available" && c.status === "True"))
    .map((d) => d.metadata.name);
}

describe("feature stack, real engine, local control plane", function () {
  this.timeout(40 * 60_000);
  let engine: Engine;
  let registry: LocalRegistry;
  let cluster: LocalCluster;
  let stack: Stack;
  let clientKey: string;
  let kubeconfig: string;
  const log: string[] = [];
  const onOutput = (out: string) => log.push(out);

  before(async () => {
    cluster = await startLocalCluster();
    // A run that was killed half-way (its private backend gone with it) may have left the namespace behind.
    await cluster.kubectl("delete", "namespace", STACK, "--ignore-not-found", "--wait=true", "--timeout=180s");
    engine = await privateEngine("cluster");
    registry = await LocalRegistry.start();
    await registry.pushApps(CATALOG, "master_latest", "build 1");
    await registry.push("bu/wallet", "VERBU-9002_latest", "wallet branch build 1");
    kubeconfig = fs.readFileSync(cluster.kubeconfigPath, "utf8");
    clientKey = /client-key-data: (\S+)/.exec(kubeconfig)?.[1] ?? "";
    expect(clientKey, "the kubeconfig carries a client key to keep secret").to.not.equal("");
    stack = await openStack({
      stackName: STACK,
      envVars: engine.envVars,
      config: {
        registry: { value: registry.address },
        registryInsecure: { value: "true" },
        kubeconfig: { value: kubeconfig, secret: true },
      },
    });
  });

  after(async () => {
    await abandon(engine, stack);
    await registry?.stop();
  });

  it("preview plans the environment; up creates it and every Deployment becomes Available", async () => {
    const preview = await stack.preview({ onOutput });
    expect(preview.changeSummary.create).to.be.greaterThan(200);
    const up = await stack.up({ onOutput });
    expect(up.summary.result).to.equal("succeeded");
    const deployments = await cluster.kubectlJson<DeploymentList>("-n", STACK, "get", "deployments");
    expect(deployments.items).to.have.length(69);
    expect(available(deployments)).to.have.length(69);
    const mongo = await cluster.kubectlJson<{ status: { readyReplicas?: number } }>(
      "-n",
      STACK,
      "get",
      "statefulset",
      "mongodb",
    );
    expect(mongo.status.readyReplicas).to.equal(1);
    const services = await cluster.kubectlJson<{ items: unknown[] }>("-n", STACK, "get", "services");
    expect(services.items).to.have.length(70);
    const namespace = await cluster.kubectlJson<{ metadata: { labels: Record<string, string> } }>(
      "get",
      "namespace",
      STACK,
    );
    expect(namespace.metadata.labels).to.include({
      "qa-k8s/ticket": "VERBU-9002",
      "app.kubernetes.io/managed-by": "qa-k8s",
    });
  });

  it("a no-op up and a refresh change nothing", async () => {
    const up = await stack.up({ onOutput });
    expect(Object.keys(up.summary.resourceChanges ?? {})).to.deep.equal(["same"]);
    const refresh = await stack.refresh({ onOutput });
    expect(refresh.summary.resourceChanges ?? {}).to.not.have.any.keys("update", "delete", "create");
    const preview = await stack.preview({ onOutput });
    expect(Object.keys(preview.changeSummary)).to.deep.equal(["same"]);
  });

  it("refresh sees a change made behind Pulumi's back, and the next up undoes exactly that", async () => {
    await cluster.kubectl("-n", STACK, "scale", "deployment", "wallet", "--replicas=0");
    const refresh = await stack.refresh({ onOutput });
    expect(refresh.summary.resourceChanges?.update, "the scaled Deployment, read back from the API server").to.equal(1);
    const up = await stack.up({ onOutput });
    expect(up.summary.resourceChanges?.update).to.equal(1);
    const wallet = await cluster.kubectlJson<{ spec: { replicas: number } }>(
      "-n",
      STACK,
      "get",
      "deployment",
      "wallet",
    );
    expect(wallet.spec.replicas).to.equal(1);
  });

  it("refresh reads the cluster: a Service deleted behind Pulumi's back is dropped, and up puts it back", async () => {
    await cluster.kubectl("-n", STACK, "delete", "service", "bubot", "--wait=true");
    const refresh = await stack.refresh({ onOutput });
    expect(refresh.summary.resourceChanges?.delete, "the refresh saw the deletion").to.equal(1);
    const up = await stack.up({ onOutput });
    expect(up.summary.resourceChanges?.create).to.equal(1);
    expect(Object.keys(up.summary.resourceChanges ?? {}).sort()).to.deep.equal(["create", "same"]);
    const service = await cluster.kubectlJson<{ metadata: { name: string } }>("-n", STACK, "get", "service", "bubot");
    expect(service.metadata.name).to.equal("bubot");
  });

  it("one re-pushed image updates exactly one Deployment, which rolls out", async () => {
    const pushed = await registry.push("bu/auth", "master_latest", "auth master build 2");
    const up = await stack.up({ onOutput });
    expect(up.summary.resourceChanges?.update).to.equal(1);
    expect(Object.keys(up.summary.resourceChanges ?? {}).sort()).to.deep.equal(["same", "update"]);
    const auth = (await cluster.kubectlJson<DeploymentList>("-n", STACK, "get", "deployments")).items.find(
      (d) => d.metadata.name === "auth",
    )!;
    expect(auth.spec.template.spec.containers[0].image).to.equal(`${registry.address}/bu/auth:master_latest@${pushed}`);
    expect(auth.metadata.generation).to.equal(2);
    expect(auth.status.observedGeneration).to.equal(2);
    expect(auth.status.updatedReplicas).to.equal(1);
  });

  it("keeps the kubeconfig and its client key out of the state, the outputs and the engine output", async () => {
    const leaks = await secretLeaks({
      engine,
      stack,
      engineOutput: log.join(""),
      canary: `${registry.address}/bu/auth:master_latest@`,
      secrets: { "kubeconfig client key": clientKey, kubeconfig },
    });
    expect(leaks).to.deep.equal([]);
  });

  it("destroy removes the namespace and leaves no stack and no lock", async () => {
    await stack.destroy({ onOutput });
    const namespaces = await cluster.kubectl("get", "namespaces", "-o", "name");
    expect(namespaces).to.not.contain(`namespace/${STACK}`);
    expect(remainingStacks(engine), "the stack file the checks below must see gone").to.have.length(1);
    await stack.workspace.removeStack(STACK);
    expect(remainingStacks(engine)).to.deep.equal([]);
    expect(stackLocks(engine)).to.deep.equal([]);
  });
});
