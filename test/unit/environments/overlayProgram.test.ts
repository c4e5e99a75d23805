// The whole program in overlay mode under mocks: what it registers per mode, that every Service keeps its resource
// name across modes (an update, not a replacement), the baseline check before any resource, and that the capacity
// guard measures only what the overlay runs.
import * as pulumi from "@pulumi/pulumi";
import { RunError } from "@pulumi/pulumi";
import { expect } from "chai";
import * as fs from "node:fs";
import type { ClusterView } from "../../../environments/capacityCluster";
import { parseCatalog } from "../../../environments/catalog";
import { MemoryRegistry } from "../support/memoryRegistry";
import { outputValue, RegisteredResource, setConfig, settle } from "../support/mocks";

const REGISTRY = "registry.test:5000/docker";
const CATALOG = parseCatalog(fs.readFileSync("environments/catalog.yaml", "utf8"), "catalog.yaml");
const APPS = CATALOG.filter((s) => s.kind === "app");
const KUBECONFIG = "apiVersion: v1\nkind: Config\nclusters: []\n";
const WITH_PORT = CATALOG.filter((s) => s.port !== undefined);

function view(memory: string, namespaces: string[]): ClusterView & { reads: string[] } {
  const reads: string[] = [];
  return {
    reads,
    nodes: async () => {
      reads.push("nodes");
      return [1, 2, 3, 4, 5].map((i) => ({
        metadata: { name: `qa-worker-${i}` },
        status: { allocatable: { cpu: "4", memory, pods: "110" }, conditions: [{ type: "Ready", status: "True" }] },
      }));
    },
    pods: async () => [],
    namespaceExists: async (name) => {
      reads.push(`namespace ${name}`);
      return namespaces.includes(name);
    },
  };
}

async function run(stack: string, config: Record<string, unknown>, cluster = view("7.8Gi", ["master"])) {
  const resources: RegisteredResource[] = [];
  pulumi.runtime.setMocks(
    {
      newResource(args) {
        resources.push({ type: args.type, name: args.name, inputs: args.inputs, provider: args.provider });
        return { id: `${args.name}-id`, state: args.inputs };
      },
      call: (args) => args.inputs,
    },
    "qa-k8s",
    stack,
    false,
  );
  setConfig({ registry: REGISTRY, kubeconfig: KUBECONFIG, ...config }, ["kubeconfig"]);
  const program = await import("../../../environments/index");
  const registry = MemoryRegistry.withTag(
    APPS.map((s) => s.image),
    "master_latest",
    REGISTRY,
  )
    .set("bu/wallet", `${stack.toUpperCase()}_latest`, "sha256:" + "a".repeat(64))
    .set("bu/desktop-web", `${stack.toUpperCase()}_latest`, "sha256:" + "b".repeat(64));
  const outcome = await program
    .default({ registry, cluster: () => cluster })
    .then((outputs) => ({ outputs, error: undefined }))
    .catch((error: unknown) => ({ outputs: undefined, error }));
  await settle();
  return { resources, cluster, ...outcome };
}

const count = (resources: RegisteredResource[], type: string) => resources.filter((r) => r.type === type).length;
const services = (resources: RegisteredResource[]) =>
  new Map(resources.filter((r) => r.type === "kubernetes:core/v1:Service").map((r) => [r.name, r.inputs]));

describe("feature environment program: overlay mode (mocks)", function () {
  this.timeout(60_000);

  it("deploys only the feature-built services and what they own; every other Service is ExternalName to the baseline", async () => {
    const { resources, outputs, error } = await run("verbu-7101", { mode: "overlay" });
    expect(error).to.equal(undefined);
    const workloads = resources
      .filter((r) => r.type === "kubernetes:apps/v1:Deployment" || r.type === "kubernetes:apps/v1:StatefulSet")
      .map((r) => (r.inputs.metadata as { name: string }).name);
    expect(workloads.sort()).to.deep.equal(["desktop-web", "mongodb", "nsqd", "nsqlookupd", "wallet"]);
    const byName = services(resources);
    expect(byName.size).to.equal(WITH_PORT.length);
    const external = [...byName.values()].filter((s) => (s.spec as { type?: string }).type === "ExternalName");
    expect(external).to.have.length(WITH_PORT.length - 5);
    expect(byName.get("verbu-7101-auth-service")?.spec).to.deep.include({
      type: "ExternalName",
      externalName: "auth.master.svc.cluster.local",
    });
    expect(byName.get("verbu-7101-auth-service")?.spec).to.not.have.property("selector");
    expect(byName.get("verbu-7101-wallet-service")?.spec).to.have.property("selector");
    const stripping = CATALOG.filter((s) => s.ingress.some((r) => r.stripPrefix));
    const plain = CATALOG.filter((s) => s.ingress.some((r) => !r.stripPrefix));
    expect(count(resources, "kubernetes:networking.k8s.io/v1:Ingress"), "every catalog route").to.equal(
      stripping.length + plain.length,
    );
    expect(count(resources, "kubernetes:traefik.io/v1alpha1:Middleware")).to.equal(stripping.length);
    const namespace = resources.find((r) => r.type === "kubernetes:core/v1:Namespace")!;
    expect((namespace.inputs.metadata as { labels: Record<string, string> }).labels).to.include({
      "qa-k8s/mode": "overlay",
      "qa-k8s/baseline": "master",
      "qa-k8s/ticket": "VERBU-7101",
    });
    const quota = resources.find((r) => r.type === "kubernetes:core/v1:ResourceQuota")!;
    expect((quota.inputs.spec as { hard: Record<string, string> }).hard.pods, "5 workloads × 2").to.equal("10");
    expect(outputs!.mode).to.equal("overlay");
    expect(outputs!.baseline).to.equal("master");
    expect(outputs!.featureServices).to.deep.equal(["desktop-web", "wallet"]);
    expect(Object.keys(await outputValue(outputs!.urls))).to.include.members(["auth", "wallet", "nsqd"]);
  });

  it("keeps every Service and route under the same resource name in both modes", async () => {
    const overlay = await run("verbu-7101", { mode: "overlay" });
    const full = await run("verbu-7101", { mode: "full" });
    expect([...services(overlay.resources).keys()].sort()).to.deep.equal([...services(full.resources).keys()].sort());
    const routes = (r: RegisteredResource[]) =>
      r
        .filter((x) => x.type.includes("Ingress") || x.type.includes("Middleware"))
        .map((x) => JSON.stringify([x.name, x.inputs]))
        .sort();
    expect(routes(overlay.resources), "identical Ingress and Middleware objects").to.deep.equal(routes(full.resources));
    expect(count(full.resources, "kubernetes:apps/v1:Deployment")).to.equal(69);
    expect(full.outputs!.mode).to.equal("full");
    expect(full.outputs!.baseline).to.equal("");
  });

  it("refuses an overlay whose baseline namespace is missing, before any resource", async () => {
    const { resources, error } = await run("verbu-7101", { mode: "overlay", baseline: "verbu-7100" });
    expect(error).to.be.instanceOf(RunError);
    expect((error as Error).message).to.equal(
      'qa-k8s:baseline "verbu-7100": namespace "verbu-7100" does not exist on the cluster, and an overlay resolves every service it does not build there; deploy the baseline first (pulumi up --stack verbu-7100, mode full), or set qa-k8s:baseline to a deployed baseline',
    );
    expect(resources).to.deep.equal([]);
  });

  it("checks the baseline even with the capacity guard off, and reads no cluster in render mode", async () => {
    const off = await run("verbu-7101", { mode: "overlay", "capacity.guard": false }, view("1Gi", []));
    expect((off.error as Error).message).to.contain('namespace "master" does not exist');
    const rendered = await run("verbu-7101", { mode: "overlay", renderTo: "rendered/verbu-7101" }, view("1Gi", []));
    expect(rendered.error).to.equal(undefined);
    expect(rendered.cluster.reads).to.deep.equal([]);
  });

  it("refuses overlay mode on the baseline's own stack", async () => {
    const { error, resources } = await run("master", { mode: "overlay" });
    expect((error as Error).message).to.contain('qa-k8s:mode "overlay" on stack "master", which is the baseline');
    expect(resources).to.deep.equal([]);
  });

  it("sizes the capacity guard from the overlay's own services: admitted where a full environment is refused", async () => {
    // 5 × 1 GiB: a full environment (5.6 GiB) does not fit, the overlay (5 pods) does.
    const full = await run("verbu-7101", { mode: "full" }, view("1Gi", ["master"]));
    expect((full.error as Error).message).to.match(/^VERBU-7101 needs 0\.84 CPU \/ 5\.6 GiB \/ 70 pods/);
    const overlay = await run("verbu-7101", { mode: "overlay" }, view("1Gi", ["master"]));
    expect(overlay.error).to.equal(undefined);
    expect(overlay.cluster.reads).to.deep.equal(["namespace master", "namespace verbu-7101", "nodes"]);
  });

  it("the baseline admits its overlays' namespaces in its NetworkPolicy; other full environments do not", async () => {
    const policy = async (stack: string) => {
      const { resources } = await run(stack, { mode: "full" });
      const p = resources.find((r) => r.type === "kubernetes:networking.k8s.io/v1:NetworkPolicy")!;
      return JSON.stringify(p.inputs.spec);
    };
    expect(await policy("master")).to.contain('{"namespaceSelector":{"matchLabels":{"qa-k8s/baseline":"master"}}}');
    expect(await policy("verbu-7101")).to.not.contain("qa-k8s/baseline");
  });
});
