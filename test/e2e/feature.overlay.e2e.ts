// Overlay mode with the REAL engine and kubernetes provider against the local control plane: a full baseline, an
// overlay of two feature-built services beside it, a third service built on the branch, the ticket switched to full
// and back. Each step is checked on the API server and by the engine's own account of what it changed: every Service
// keeps its resource, so a switch updates Services in place (ClusterIP <-> ExternalName) and never replaces one.
import { expect } from "chai";
import * as fs from "node:fs";
import type { EngineEvent, Stack } from "@pulumi/pulumi/automation";
import { openStack } from "../../automation/stack";
import { parseCatalog } from "../../environments/catalog";
import { overlayPlan } from "../../environments/overlay";
import { LocalRegistry } from "../../scripts/lib/localRegistry";
import { Engine, privateEngine, remainingStacks, stackLocks } from "./support/engine";
import { LocalCluster, startLocalCluster, testClusterEnv } from "./support/localCluster";

const BASELINE = "verbu-9700";
const OVERLAY = "verbu-9701";
const CATALOG = parseCatalog(fs.readFileSync("environments/catalog.yaml", "utf8"), "catalog.yaml");
const WITH_PORT = CATALOG.filter((s) => s.port !== undefined).map((s) => s.name);
const ROUTE_OBJECTS =
  CATALOG.filter((s) => s.ingress.some((r) => r.stripPrefix)).length +
  CATALOG.filter((s) => s.ingress.some((r) => !r.stripPrefix)).length;

interface ServiceList {
  items: {
    metadata: { name: string };
    spec: { type: string; externalName?: string; clusterIP?: string; selector?: object; ports: { name: string }[] };
  }[];
}
interface NamedList {
  items: { metadata: { name: string; labels?: Record<string, string> } }[];
}

/** What one engine run did, resource by resource (the engine's events), next to its summary. */
class Changes {
  readonly ops = new Map<string, string>();
  readonly onEvent = (event: EngineEvent) => {
    const meta = event.resourcePreEvent?.metadata;
    if (meta && meta.op !== "same" && meta.op !== "read") this.ops.set(meta.urn, meta.op);
  };
  /** `op type name` of every change, e.g. "update kubernetes:core/v1:Service verbu-9701-auth-service". */
  list(): string[] {
    // urn:pulumi:<stack>::<project>::<parent type>$<type>::<name>
    return [...this.ops]
      .map(([urn, op]) => {
        const [, , types, name] = urn.split("::");
        return `${op} ${types.split("$").pop()} ${name}`;
      })
      .sort();
  }
  of(op: string, type: string): string[] {
    return this.list()
      .filter((line) => line.startsWith(`${op} ${type} `))
      .map((line) => line.split(" ")[2]);
  }
}

describe("overlay environments, real engine, local control plane", function () {
  this.timeout(60 * 60_000);
  let engine: Engine;
  let registry: LocalRegistry;
  let cluster: LocalCluster;
  let baseline: Stack;
  let overlay: Stack;
  let config: (mode: string) => Record<string, { value: string; secret?: boolean }>;
  const log: string[] = [];
  const onOutput = (out: string) => log.push(out);

  const services = async () => (await cluster.kubectlJson<ServiceList>("-n", OVERLAY, "get", "services")).items;
  const workloads = async () => {
    const list = await cluster.kubectlJson<NamedList>("-n", OVERLAY, "get", "deployments,statefulsets");
    return list.items.map((w) => w.metadata.name).sort();
  };
  const up = async (stack: Stack) => {
    const changes = new Changes();
    const result = await stack.up({ onOutput, onEvent: changes.onEvent });
    expect(result.summary.result).to.equal("succeeded");
    return { summary: result.summary.resourceChanges ?? {}, changes };
  };
  const expectOverlayShape = async (own: string[]) => {
    expect(await workloads()).to.deep.equal([...own].sort());
    const byName = new Map((await services()).map((s) => [s.metadata.name, s]));
    expect([...byName.keys()].sort()).to.deep.equal([...WITH_PORT].sort());
    for (const name of WITH_PORT) {
      const service = byName.get(name)!;
      if (own.includes(name)) {
        expect(service.spec.type, name).to.equal("ClusterIP");
        continue;
      }
      expect(service.spec, name).to.deep.include({
        type: "ExternalName",
        externalName: `${name}.${BASELINE}.svc.cluster.local`,
      });
      expect(service.spec.selector, `${name} has no selector`).to.equal(undefined);
      expect(service.spec.clusterIP, `${name} holds no cluster IP`).to.equal(undefined);
    }
    const ingresses = await cluster.kubectlJson<NamedList>("-n", OVERLAY, "get", "ingresses");
    expect(ingresses.items).to.have.length(ROUTE_OBJECTS);
  };

  before(async () => {
    cluster = await startLocalCluster(testClusterEnv());
    // A run that was killed half-way (its private backend gone with it) may have left the namespaces behind.
    for (const ns of [OVERLAY, BASELINE])
      await cluster.kubectl("delete", "namespace", ns, "--ignore-not-found", "--wait=true", "--timeout=180s");
    engine = await privateEngine("overlay");
    registry = await LocalRegistry.start();
    await registry.pushApps(CATALOG, "master_latest", "build 1");
    await registry.push("bu/wallet", "VERBU-9701_latest", "wallet branch build 1");
    await registry.push("bu/auth", "VERBU-9701_latest", "auth branch build 1");
    const kubeconfig = fs.readFileSync(cluster.kubeconfigPath, "utf8");
    config = (mode) => ({
      registry: { value: registry.address },
      registryInsecure: { value: "true" },
      kubeconfig: { value: kubeconfig, secret: true },
      baseline: { value: BASELINE },
      mode: { value: mode },
    });
    baseline = await openStack({ stackName: BASELINE, envVars: engine.envVars, config: config("full") });
    overlay = await openStack({ stackName: OVERLAY, envVars: engine.envVars, config: config("overlay") });
  });

  after(async () => {
    for (const stack of [overlay, baseline]) {
      if (!stack || remainingStacks(engine).length === 0) continue;
      await stack.destroy().catch(() => undefined);
      await stack.workspace.removeStack(stack.name).catch(() => undefined);
    }
    engine?.dispose();
    await registry?.stop();
  });

  it("an overlay is refused while its baseline namespace does not exist, before any resource", async () => {
    const failure = await overlay.preview({ onOutput }).catch((error: unknown) => error);
    expect(String(failure)).to.contain(
      `qa-k8s:baseline "${BASELINE}": namespace "${BASELINE}" does not exist on the cluster`,
    );
  });

  it("the baseline is a full environment whose NetworkPolicy admits its overlays", async () => {
    const { summary } = await up(baseline);
    expect(summary.create).to.be.greaterThan(200);
    const deployments = await cluster.kubectlJson<NamedList>("-n", BASELINE, "get", "deployments");
    expect(deployments.items).to.have.length(69);
    const policy = await cluster.kubectlJson<{ spec: { ingress: { from: object[] }[] } }>(
      "-n",
      BASELINE,
      "get",
      "networkpolicy",
      "isolate-environment",
    );
    expect(policy.spec.ingress[0].from).to.deep.include({
      namespaceSelector: { matchLabels: { "qa-k8s/baseline": BASELINE } },
    });
  });

  it("an overlay of 2 feature-built services runs only those and their own infra; every other Service is ExternalName", async () => {
    const { summary, changes } = await up(overlay);
    const own = overlayPlan(CATALOG, ["wallet", "auth"]).deployed as string[];
    expect(own.sort()).to.deep.equal(["auth", "mongodb", "nsqd", "nsqlookupd", "wallet"]);
    await expectOverlayShape(own);
    const pods = await cluster.kubectlJson<NamedList>("-n", OVERLAY, "get", "pods");
    const podServices = new Set(pods.items.map((p) => p.metadata.labels?.["app.kubernetes.io/name"]));
    expect([...podServices].sort()).to.deep.equal(own.sort());
    const namespace = await cluster.kubectlJson<NamedList["items"][0]>("get", "namespace", OVERLAY);
    expect(namespace.metadata.labels).to.include({ "qa-k8s/mode": "overlay", "qa-k8s/baseline": BASELINE });
    expect(changes.of("create", "kubernetes:apps/v1:Deployment")).to.have.length(4);
    expect(changes.of("create", "kubernetes:apps/v1:StatefulSet")).to.deep.equal([`${OVERLAY}-mongodb-statefulset`]);
    expect(changes.of("create", "kubernetes:core/v1:Service")).to.have.length(WITH_PORT.length);
    expect(changes.of("create", "kubernetes:networking.k8s.io/v1:Ingress")).to.have.length(ROUTE_OBJECTS);
    expect(summary).to.not.have.any.keys("update", "delete", "replace");
    const outputs = await overlay.outputs();
    expect(outputs.mode.value).to.equal("overlay");
    expect(outputs.baseline.value).to.equal(BASELINE);
    expect(outputs.featureServices.value).to.deep.equal(["wallet", "auth"]);
  });

  it("a third service built on the branch changes exactly its own objects", async () => {
    await registry.push("bu/bulu", "VERBU-9701_latest", "bulu branch build 1");
    const { summary, changes } = await up(overlay);
    expect(changes.list()).to.deep.equal([
      "create kubernetes:apps/v1:Deployment verbu-9701-bulu-deployment",
      "update kubernetes:core/v1:ResourceQuota verbu-9701-quota",
      "update kubernetes:core/v1:Service verbu-9701-bulu-service",
    ]);
    expect(summary).to.include({ create: 1, update: 2 });
    expect(summary).to.not.have.any.keys("delete", "replace");
    await expectOverlayShape(overlayPlan(CATALOG, ["wallet", "auth", "bulu"]).deployed as string[]);
  });

  it("switching the ticket to full converges: Services updated in place, the missing workloads created", async () => {
    await overlay.setConfig("qa-k8s:mode", { value: "full" });
    const own = overlayPlan(CATALOG, ["wallet", "auth", "bulu"]).deployed;
    const { summary, changes } = await up(overlay);
    const external = WITH_PORT.filter((name) => !own.includes(name));
    expect(changes.of("update", "kubernetes:core/v1:Service").sort()).to.deep.equal(
      external.map((name) => `${OVERLAY}-${name}-service`).sort(),
    );
    expect(changes.of("create", "kubernetes:apps/v1:Deployment")).to.have.length(69 - (own.length - 1));
    expect(changes.of("update", "kubernetes:core/v1:Namespace")).to.deep.equal([`${OVERLAY}-namespace`]);
    expect(summary).to.not.have.any.keys("delete", "replace");
    expect(summary.create).to.equal(69 - (own.length - 1));
    const services = (await cluster.kubectlJson<ServiceList>("-n", OVERLAY, "get", "services")).items;
    expect(services.filter((s) => s.spec.type === "ClusterIP" && s.spec.clusterIP)).to.have.length(WITH_PORT.length);
    expect(services.filter((s) => s.spec.externalName)).to.deep.equal([]);
    expect(await workloads()).to.have.length(70);
    const namespace = await cluster.kubectlJson<NamedList["items"][0]>("get", "namespace", OVERLAY);
    expect(namespace.metadata.labels).to.not.have.any.keys("qa-k8s/mode", "qa-k8s/baseline");
    expect(Object.keys((await up(overlay)).summary), "converged").to.deep.equal(["same"]);
  });

  it("switching back to overlay converges: the same Services become ExternalName again, the extra workloads go", async () => {
    await overlay.setConfig("qa-k8s:mode", { value: "overlay" });
    const own = overlayPlan(CATALOG, ["wallet", "auth", "bulu"]).deployed as string[];
    const { summary, changes } = await up(overlay);
    expect(changes.of("delete", "kubernetes:apps/v1:Deployment")).to.have.length(69 - (own.length - 1));
    expect(changes.of("update", "kubernetes:core/v1:Service")).to.have.length(WITH_PORT.length - own.length);
    expect(summary).to.not.have.any.keys("create", "replace");
    await expectOverlayShape(own);
    expect(Object.keys((await up(overlay)).summary), "converged").to.deep.equal(["same"]);
  });

  it("destroy removes both namespaces and leaves no stack and no lock", async () => {
    for (const stack of [overlay, baseline]) {
      await stack.destroy({ onOutput });
      await stack.workspace.removeStack(stack.name);
    }
    const namespaces = await cluster.kubectl("get", "namespaces", "-o", "name");
    expect(namespaces).to.not.contain(`namespace/${OVERLAY}`);
    expect(namespaces).to.not.contain(`namespace/${BASELINE}`);
    expect(remainingStacks(engine)).to.deep.equal([]);
    expect(stackLocks(engine)).to.deep.equal([]);
  });
});
