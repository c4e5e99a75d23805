// The guard's decisions (new environment refused with the numbers, existing one never, disabled) and its config.
import { expect } from "chai";
import { catalogNeeds } from "../../../environments/capacity";
import type { ClusterView } from "../../../environments/capacityCluster";
import type { NodeShape, PodShape } from "../../../environments/capacityFit";
import {
  CAPACITY_DEFAULTS,
  capacitySettings,
  CapacityRefusal,
  guardNewEnvironment,
} from "../../../environments/capacityGuard";
import { parseCatalog } from "../../../environments/catalog";
import { featureFromStack } from "../../../environments/feature";

const CATALOG = parseCatalog(
  "services:\n  - { name: api, kind: app, image: bu/api, port: 3000, replicas: 2, resources: { requests: { cpu: 100m, memory: 256Mi } } }\n",
  "small.yaml",
);
const needs = catalogNeeds(CATALOG, featureFromStack("verbu-7001"));

// A cluster as the API server would list it: what the reader returns for nodes, non-terminal pods, namespaces.
function cluster(nodeMemory: string, namespaces: string[] = [], pods: PodShape[] = []): ClusterView {
  const nodes: NodeShape[] = [
    {
      metadata: { name: "w1" },
      spec: {},
      status: {
        allocatable: { cpu: "2", memory: nodeMemory, pods: "110" },
        conditions: [{ type: "Ready", status: "True" }],
      },
    },
  ];
  return {
    nodes: async () => nodes,
    pods: async () => pods,
    namespaceExists: async (name) => namespaces.includes(name),
  };
}

const settings = capacitySettings({});
const args = (view: ClusterView) => ({ ticket: "VERBU-7001", namespace: "verbu-7001", needs, settings, cluster: view });

describe("capacity guard", () => {
  it("admits a new environment that fits, with the report", async () => {
    const outcome = await guardNewEnvironment(args(cluster("1280Mi")));
    expect(outcome.decision).to.equal("admitted");
    expect(outcome.decision === "admitted" && outcome.report.environmentsThatFit).to.equal(2);
  });

  it("refuses a new environment that does not fit, with the issue's message", async () => {
    const error = await guardNewEnvironment(args(cluster("700Mi"))).catch((e: unknown) => e);
    expect(error).to.be.instanceOf(CapacityRefusal);
    expect((error as Error).message).to.equal(
      "VERBU-7001 needs 0.20 CPU / 0.5 GiB / 2 pods; free: 1.90 CPU / 0.4 GiB / 108 pods (1 node); 0 more environments of this size fit",
    );
  });

  it("never refuses an existing environment (an update), and does nothing when disabled", async () => {
    expect(await guardNewEnvironment(args(cluster("1Mi", ["verbu-7001"])))).to.deep.equal({ decision: "existing" });
    const off = { ...args(cluster("1Mi")), settings: capacitySettings({ guard: "false" }) };
    expect(await guardNewEnvironment(off)).to.deep.equal({ decision: "disabled" });
  });

  it("has documented defaults and reads typed (program) or string (driver) values", () => {
    expect(settings).to.deep.equal({
      enabled: true,
      headroom: { cpuMillis: 100, memoryBytes: 256 * 1024 ** 2, pods: 2 },
    });
    expect(CAPACITY_DEFAULTS).to.deep.equal({
      guard: true,
      headroomCpu: "100m",
      headroomMemory: "256Mi",
      headroomPods: 2,
    });
    expect(
      capacitySettings({ guard: false, headroomCpu: "0.5", headroomMemory: "1Gi", headroomPods: "0" }),
    ).to.deep.equal({
      enabled: false,
      headroom: { cpuMillis: 500, memoryBytes: 1024 ** 3, pods: 0 },
    });
  });

  it("refuses bad values, naming key, value and rule, all at once", () => {
    expect(() =>
      capacitySettings({ guard: "yes", headroomCpu: "1 core", headroomMemory: "1GB", headroomPods: "-1; rm -rf /" }),
    ).to.throw(
      "invalid configuration:\n" +
        '  qa-k8s:capacity.guard "yes" is not true or false; run: pulumi config set capacity.guard true\n' +
        '  qa-k8s:capacity.headroomCpu "1 core" is not a Kubernetes quantity; use a number with an optional suffix (250m, 0.5, 1Gi, 512M, 1e3)\n' +
        '  qa-k8s:capacity.headroomMemory "1GB" is not a Kubernetes quantity; use a number with an optional suffix (250m, 0.5, 1Gi, 512M, 1e3)\n' +
        '  qa-k8s:capacity.headroomPods "-1; rm -rf /" is not a whole number of pods 0–9999; e.g. 2',
    );
    expect(() => capacitySettings({ headroomCpu: "-1" })).to.throw("qa-k8s:capacity.headroomCpu must not be negative");
  });
});
