// Free room and "how many more fit" on the seed's cluster (5 workers × 4 CPU / 7.8 GiB / 110 pods + 1 server) with
// the catalog's real needs; which nodes and pods count; the headroom; the message.
import { expect } from "chai";
import * as fs from "node:fs";
import { catalogNeeds, EnvironmentNeeds } from "../../../environments/capacity";
import { capacityMessage, fitEnvironments, NodeShape, nodeRooms, PodShape } from "../../../environments/capacityFit";
import { parseCatalog } from "../../../environments/catalog";
import { featureFromStack } from "../../../environments/feature";
import type { CapacityReport } from "../../../automation/observeTypes";

const MI = 1024 ** 2;
const DEFAULT_HEADROOM = { cpuMillis: 100, memoryBytes: 256 * MI, pods: 2 };
const NO_HEADROOM = { cpuMillis: 0, memoryBytes: 0, pods: 0 };

function node(name: string, overrides: { cpu?: string; memory?: string; pods?: string; ready?: boolean } = {}) {
  return {
    metadata: { name },
    spec: {} as { unschedulable?: boolean; taints?: { key: string; value?: string; effect: string }[] },
    status: {
      allocatable: { cpu: overrides.cpu ?? "4", memory: overrides.memory ?? "7.8Gi", pods: overrides.pods ?? "110" },
      conditions: [
        { type: "MemoryPressure", status: "False" },
        { type: "Ready", status: overrides.ready === false ? "False" : "True" },
      ],
    },
  };
}

// The seed: K3s server tainted for the control plane (it runs no QA pods), five workers.
function seedNodes(): NodeShape[] {
  const server = node("qa-server-1", { cpu: "2", memory: "3.8Gi" });
  server.spec.taints = [{ key: "node-role.kubernetes.io/control-plane", effect: "NoSchedule" }];
  return [server, ...[1, 2, 3, 4, 5].map((i) => node(`qa-worker-${i}`))];
}

function pod(name: string, nodeName: string | undefined, cpu: string, memory: string, phase = "Running"): PodShape {
  return {
    metadata: { name, namespace: "other" },
    spec: { nodeName, containers: [{ name: "c", resources: { requests: { cpu, memory } } }] },
    status: { phase },
  };
}

/** The pods of `count` environments as the scheduler spreads them: round-robin over the workers. */
function deployedEnvironments(needs: EnvironmentNeeds, count: number): PodShape[] {
  const pods: PodShape[] = [];
  let i = 0;
  for (let env = 0; env < count; env++)
    for (const p of needs.pods)
      pods.push({
        metadata: { name: `${p.name}-${env}`, namespace: `verbu-${env}` },
        spec: {
          nodeName: `qa-worker-${(i++ % 5) + 1}`,
          containers: [
            {
              name: p.name,
              resources: { requests: { cpu: `${p.requests.cpuMillis}m`, memory: `${p.requests.memoryBytes}` } },
            },
          ],
        },
        status: { phase: "Running" },
      });
  return pods;
}

describe("capacity: free room and environments that fit", () => {
  const catalog = parseCatalog(fs.readFileSync("environments/catalog.yaml", "utf8"), "catalog.yaml");
  const needs = catalogNeeds(catalog, featureFromStack("verbu-7001"));

  it("on the seed's empty cluster: 6 environments of the catalog fit, memory runs out first", () => {
    const report: CapacityReport = fitEnvironments(needs, seedNodes(), [], DEFAULT_HEADROOM);
    expect(report.nodes.map((n) => n.node)).to.deep.equal([1, 2, 3, 4, 5].map((i) => `qa-worker-${i}`));
    const workerFree = Math.ceil(7.8 * 1024 ** 3) - 256 * MI;
    expect(report.nodes[0].free).to.deep.equal({ cpuMillis: 3900, memoryBytes: workerFree, pods: 108 });
    expect(report.free).to.deep.equal({ cpuMillis: 19_500, memoryBytes: 5 * workerFree, pods: 540 });
    expect(report.environmentsThatFit).to.equal(6);
    expect(report.limitedBy).to.equal("memory");
    expect(capacityMessage("VERBU-7001", report)).to.equal(
      "VERBU-7001 needs 0.84 CPU / 5.6 GiB / 70 pods; free: 19.50 CPU / 37.7 GiB / 540 pods (5 nodes); 6 more environments of this size fit",
    );
  });

  it("the seed's 'unstable after the 6th deployment': with 5 running, 1 more fits; with 6, none, and the message says so", () => {
    expect(
      fitEnvironments(needs, seedNodes(), deployedEnvironments(needs, 5), DEFAULT_HEADROOM).environmentsThatFit,
    ).to.equal(1);
    const full = fitEnvironments(needs, seedNodes(), deployedEnvironments(needs, 6), DEFAULT_HEADROOM);
    expect(full.environmentsThatFit).to.equal(0);
    expect(capacityMessage("VERBU-7001", full)).to.equal(
      "VERBU-7001 needs 0.84 CPU / 5.6 GiB / 70 pods; free: 14.50 CPU / 4.3 GiB / 120 pods (5 nodes); 0 more environments of this size fit",
    );
  });

  it("the headroom is kept on every node: a larger one admits fewer environments", () => {
    expect(fitEnvironments(needs, seedNodes(), [], NO_HEADROOM).environmentsThatFit).to.equal(6);
    const big = fitEnvironments(needs, seedNodes(), [], { cpuMillis: 0, memoryBytes: 1536 * MI, pods: 0 });
    expect(big.free.memoryBytes).to.equal(5 * (Math.ceil(7.8 * 1024 ** 3) - 1536 * MI));
    expect(big.environmentsThatFit).to.equal(5);
    const pods = fitEnvironments(needs, seedNodes(), [], { cpuMillis: 0, memoryBytes: 0, pods: 100 });
    expect(pods.free.pods).to.equal(50);
    expect([pods.environmentsThatFit, pods.limitedBy]).to.deep.equal([0, "pods"]);
  });

  it("leaves out cordoned, NotReady and tainted nodes, but keeps a node whose taint the pods tolerate or that only prefers", () => {
    const nodes = seedNodes();
    (nodes[1].spec as { unschedulable?: boolean }).unschedulable = true;
    nodes[2] = node("qa-worker-2", { ready: false });
    (nodes[3].spec as { taints?: object[] }).taints = [{ key: "dedicated", value: "db", effect: "NoExecute" }];
    (nodes[4].spec as { taints?: object[] }).taints = [{ key: "spot", effect: "PreferNoSchedule" }];
    const rooms = nodeRooms(nodes, [], DEFAULT_HEADROOM);
    expect(rooms.map((r) => r.node)).to.deep.equal(["qa-worker-4", "qa-worker-5"]);
    const tolerating = nodeRooms(nodes, [], DEFAULT_HEADROOM, [{ key: "dedicated", operator: "Exists" }]);
    expect(tolerating.map((r) => r.node)).to.deep.equal(["qa-worker-3", "qa-worker-4", "qa-worker-5"]);
    const report = fitEnvironments(needs, nodes, [], DEFAULT_HEADROOM);
    expect([report.nodes.length, report.environmentsThatFit]).to.deep.equal([2, 2]);
  });

  it("subtracts non-terminal pods bound to a node, ignores Succeeded/Failed ones, and packs unbound Pending pods first", () => {
    const nodes = [node("w1", { cpu: "1", memory: "1Gi", pods: "10" })];
    const pods = [
      pod("running", "w1", "200m", "256Mi"),
      pod("pending-bound", "w1", "100m", "128Mi", "Pending"),
      pod("done", "w1", "900m", "900Mi", "Succeeded"),
      pod("crashed", "w1", "900m", "900Mi", "Failed"),
      pod("elsewhere", "gone-node", "900m", "900Mi"),
    ];
    const [room] = nodeRooms(nodes, pods, NO_HEADROOM);
    expect(room.free).to.deep.equal({ cpuMillis: 700, memoryBytes: 640 * MI, pods: 8 });
    const tiny: EnvironmentNeeds = {
      total: { cpuMillis: 100, memoryBytes: 200 * MI, pods: 1 },
      pods: [{ name: "api", requests: { cpuMillis: 100, memoryBytes: 200 * MI, pods: 1 }, tolerations: [] }],
      largestPod: { name: "api", requests: { cpuMillis: 100, memoryBytes: 200 * MI, pods: 1 }, tolerations: [] },
      quota: { cpuMillis: 200, memoryBytes: 400 * MI, pods: 2 },
    };
    expect(fitEnvironments(tiny, nodes, pods, NO_HEADROOM).environmentsThatFit).to.equal(3);
    const unbound = [...pods, pod("unbound", undefined, "100m", "300Mi", "Pending")];
    expect(fitEnvironments(tiny, nodes, unbound, NO_HEADROOM).environmentsThatFit).to.equal(1);
  });

  it("the largest pod must fit on one node, however much room there is in total", () => {
    const nodes = [1, 2, 3].map((i) => node(`w${i}`, { cpu: "1", memory: "1Gi" }));
    const big: EnvironmentNeeds = {
      total: { cpuMillis: 100, memoryBytes: 1536 * MI, pods: 1 },
      pods: [{ name: "mongodb", requests: { cpuMillis: 100, memoryBytes: 1536 * MI, pods: 1 }, tolerations: [] }],
      largestPod: { name: "mongodb", requests: { cpuMillis: 100, memoryBytes: 1536 * MI, pods: 1 }, tolerations: [] },
      quota: { cpuMillis: 200, memoryBytes: 3072 * MI, pods: 2 },
    };
    const report = fitEnvironments(big, nodes, [], NO_HEADROOM);
    expect([report.environmentsThatFit, report.limitedBy]).to.deep.equal([0, "largest-pod"]);
    expect(capacityMessage("VERBU-7002", report)).to.equal(
      "VERBU-7002 needs 0.10 CPU / 1.5 GiB / 1 pods; free: 3.00 CPU / 3.0 GiB / 330 pods (3 nodes); 0 more environments of this size fit; its largest pod (mongodb: 0.10 CPU / 1.5 GiB) fits on no node",
    );
  });

  it("rounds needs up and free room down, and says '1 node' / '1 more environment ... fits'", () => {
    const nodes = [node("w1", { cpu: "1001m", memory: "1.09Gi", pods: "3" })];
    const one: EnvironmentNeeds = {
      total: { cpuMillis: 501, memoryBytes: 513 * MI, pods: 2 },
      pods: [{ name: "a", requests: { cpuMillis: 501, memoryBytes: 513 * MI, pods: 1 }, tolerations: [] }],
      largestPod: { name: "a", requests: { cpuMillis: 501, memoryBytes: 513 * MI, pods: 1 }, tolerations: [] },
      quota: { cpuMillis: 0, memoryBytes: 0, pods: 0 },
    };
    expect(capacityMessage("VERBU-1", fitEnvironments(one, nodes, [], NO_HEADROOM))).to.equal(
      "VERBU-1 needs 0.51 CPU / 0.6 GiB / 2 pods; free: 1.00 CPU / 1.0 GiB / 3 pods (1 node); 1 more environment of this size fits",
    );
  });
});
