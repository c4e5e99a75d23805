// The local cluster's node size variables (for the capacity guard's small-cluster e2e): checked before they reach YAML,
// defaults unchanged, and written into every kwok Node with the annotation that detects a reused dir of another size.
import { expect } from "chai";
import { spawnSync } from "node:child_process";
import * as path from "node:path";
import { parse } from "yaml";

const LIB = path.resolve(__dirname, "../../../scripts/lib");

function shell(script: string, env: Record<string, string> = {}) {
  const base = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith("QA_CLUSTER_NODE_")));
  return spawnSync(
    "bash",
    ["-c", `source '${LIB}/local-cluster-common.sh'; source '${LIB}/local-cluster-objects.sh'; ${script}`],
    {
      encoding: "utf8",
      env: { ...base, ...env },
    },
  );
}

describe("scripts/lib/local-cluster node size", () => {
  it("defaults to the QA VMs' size", () => {
    const run = shell("lc_node_yaml qa-worker-1 worker");
    expect(run.status, run.stderr).to.equal(0);
    const node = parse(run.stdout.replace(/^---\n/, ""));
    expect(node.status.allocatable).to.deep.include({ cpu: "4", memory: "8178Mi", pods: "110" });
    expect(node.metadata.annotations["qa-k8s.local/size"]).to.equal("4 8178Mi 110");
  });

  it("writes QA_CLUSTER_NODE_CPU/_MEMORY/_PODS into capacity and allocatable", () => {
    const run = shell("lc_node_yaml qa-worker-1 worker", {
      QA_CLUSTER_NODE_CPU: "1500m",
      QA_CLUSTER_NODE_MEMORY: "2Gi",
      QA_CLUSTER_NODE_PODS: "6",
    });
    const node = parse(run.stdout.replace(/^---\n/, ""));
    for (const field of ["capacity", "allocatable"])
      expect(node.status[field]).to.deep.include({ cpu: "1500m", memory: "2Gi", pods: "6" });
    expect(node.metadata.annotations["qa-k8s.local/size"]).to.equal("1500m 2Gi 6");
  });

  for (const [name, value, message] of [
    [
      "QA_CLUSTER_NODE_CPU",
      '4"\nspec: {}',
      'QA_CLUSTER_NODE_CPU "4"\nspec: {}" is not a CPU quantity; e.g. 4, 1.5 or 500m',
    ],
    [
      "QA_CLUSTER_NODE_MEMORY",
      "1Gi; rm -rf /",
      'QA_CLUSTER_NODE_MEMORY "1Gi; rm -rf /" is not a memory quantity; e.g. 8178Mi or 2Gi',
    ],
    ["QA_CLUSTER_NODE_PODS", "0", 'QA_CLUSTER_NODE_PODS "0" is not a pod count 1-9999; e.g. 110'],
  ]) {
    it(`refuses ${name}=${JSON.stringify(value)} before anything runs`, () => {
      const run = shell("echo reached", { [name]: value });
      expect(run.status).to.equal(2);
      expect(run.stdout).to.equal("");
      expect(run.stderr).to.equal(`[local-cluster] ERROR: ${message}\n`);
    });
  }
});
