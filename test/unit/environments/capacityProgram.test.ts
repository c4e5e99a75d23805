// The program's own guard (what `pulumi up/preview --stack <new-ticket>` runs): a new environment without room is
// refused with the numbers before ANY resource is registered, in preview as in up; an existing one is not; render mode
// reads no cluster. The cluster is an in-memory view with the reader's interface.
import * as pulumi from "@pulumi/pulumi";
import { RunError } from "@pulumi/pulumi";
import { expect } from "chai";
import * as fs from "node:fs";
import type { ClusterView } from "../../../environments/capacityCluster";
import { parseCatalog } from "../../../environments/catalog";
import { MemoryRegistry } from "../support/memoryRegistry";
import { RegisteredResource, setConfig, settle } from "../support/mocks";

const REGISTRY = "registry.test:5000/docker";
const APPS = parseCatalog(fs.readFileSync("environments/catalog.yaml", "utf8"), "catalog.yaml").filter(
  (s) => s.kind === "app",
);
const KUBECONFIG = "apiVersion: v1\nkind: Config\nclusters: []\n";

function view(memory: string, namespaces: string[] = []): ClusterView & { reads: string[] } {
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

async function run(preview: boolean, cluster: ClusterView, config: Record<string, unknown> = {}) {
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
    "verbu-7001",
    preview,
  );
  setConfig({ registry: REGISTRY, kubeconfig: KUBECONFIG, ...config }, ["kubeconfig"]);
  const program = await import("../../../environments/index");
  const registry = MemoryRegistry.withTag(
    APPS.map((s) => s.image),
    "master_latest",
    REGISTRY,
  );
  const kubeconfigs: string[] = [];
  const error = await program
    .default({
      registry,
      cluster: (text) => {
        kubeconfigs.push(text);
        return cluster;
      },
    })
    .then(() => undefined)
    .catch((e: unknown) => e);
  await settle();
  return { resources, error, kubeconfigs };
}

describe("feature environment program: the capacity guard (mocks)", function () {
  this.timeout(60_000);
  for (const preview of [true, false]) {
    it(`refuses a new environment without room, registering nothing (${preview ? "preview" : "up"})`, async () => {
      const { resources, error, kubeconfigs } = await run(preview, view("1Gi"));
      expect(error).to.be.instanceOf(RunError);
      expect((error as Error).message).to.equal(
        "VERBU-7001 needs 0.84 CPU / 5.6 GiB / 70 pods; free: 19.50 CPU / 3.7 GiB / 540 pods (5 nodes); 0 more environments of this size fit",
      );
      expect(resources).to.deep.equal([]);
      expect(kubeconfigs, "the configured kubeconfig, decrypted").to.deep.equal([KUBECONFIG]);
    });
  }

  it("admits a new environment that fits, and never refuses an existing one (an update)", async () => {
    const roomy = await run(false, view("7.8Gi"));
    expect(roomy.error).to.equal(undefined);
    expect(roomy.resources.filter((r) => r.type === "kubernetes:apps/v1:Deployment")).to.have.length(69);
    const existing = view("1Gi", ["verbu-7001"]);
    const update = await run(false, existing);
    expect(update.error).to.equal(undefined);
    expect(existing.reads, "an existing namespace ends the check").to.deep.equal(["namespace verbu-7001"]);
  });

  it("uses the configured headroom, and reads no cluster when disabled or rendering", async () => {
    // 7.8 GiB nodes admit it with the default headroom (above); keeping 6.7 GiB free on each leaves 5 × 1.1 GiB.
    const tight = await run(false, view("7.8Gi"), { "capacity.headroomMemory": "6.7Gi" });
    expect((tight.error as Error).message).to.contain("free: 19.50 CPU / 5.5 GiB / 540 pods (5 nodes); 0 more");
    const disabled = view("1Gi");
    expect((await run(false, disabled, { "capacity.guard": false })).error).to.equal(undefined);
    const rendered = view("1Gi");
    expect((await run(false, rendered, { renderTo: "rendered/verbu-7001" })).error).to.equal(undefined);
    expect([...disabled.reads, ...rendered.reads]).to.deep.equal([]);
  });

  it("refuses a bad headroom before reading the cluster", async () => {
    const cluster = view("7.8Gi");
    const { error, resources } = await run(false, cluster, { "capacity.headroomPods": "many" });
    expect((error as Error).message).to.contain("qa-k8s:capacity.headroomPods");
    expect(resources).to.deep.equal([]);
    expect(cluster.reads).to.deep.equal([]);
  });
});
