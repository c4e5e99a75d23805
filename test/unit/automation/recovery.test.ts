import { expect } from "chai";
import {
  describePending,
  kubernetesId,
  mayHoldPendingOperations,
  pendingOperations,
  recoveryPlan,
  refreshArgs,
  PendingOperation,
} from "../../../automation/recovery";

const URN = (type: string, name: string) =>
  `urn:pulumi:verbu-1::qa-k8s::qa-k8s:environment:ServiceSet$${type}::${name}`;
const op = (type: string, name: string, metadata?: Record<string, string>, opType = "creating"): PendingOperation => ({
  resource: { urn: URN(type, name), type, inputs: metadata ? { metadata } : {} },
  type: opType,
});

describe("recovering a crashed run's pending operations", () => {
  const deployment = (ns: string) => op("kubernetes:apps/v1:Deployment", "auth", { name: "auth", namespace: ns });
  const namespace = op("kubernetes:core/v1:Namespace", "ns", { name: "verbu-1" });
  const noName = op("kubernetes:core/v1:ConfigMap", "cm", {});
  const custom = op("random:index/randomId:RandomId", "id");

  it("reads pending operations out of an exported state, and none from a fresh stack", () => {
    expect(pendingOperations({ version: 3, deployment: { pending_operations: [namespace] } })).to.deep.equal([
      namespace,
    ]);
    expect(pendingOperations({ version: 3, deployment: {} })).to.deep.equal([]);
    expect(pendingOperations(undefined)).to.deep.equal([]);
  });

  it("derives the kubernetes provider's id: <namespace>/<name>, or <name> for cluster-scoped kinds", () => {
    expect(kubernetesId(deployment("verbu-1"))).to.equal("verbu-1/auth");
    expect(kubernetesId(namespace)).to.equal("verbu-1");
    expect(kubernetesId(noName)).to.equal(undefined);
    expect(kubernetesId(custom)).to.equal(undefined);
  });

  it("on a cluster imports every pending create it can name and clears the rest", () => {
    const plan = recoveryPlan(
      [deployment("verbu-1"), namespace, noName, op("kubernetes:apps/v1:Deployment", "x", { name: "x" }, "updating")],
      "cluster",
    );
    expect(plan.imports).to.deep.equal([
      [URN("kubernetes:apps/v1:Deployment", "auth"), "verbu-1/auth"],
      [URN("kubernetes:core/v1:Namespace", "ns"), "verbu-1"],
    ]);
    expect(plan.clearRemainingCreates).to.equal(true);
    expect(refreshArgs(plan)).to.deep.equal([
      "refresh",
      "--yes",
      "--skip-preview",
      "--non-interactive",
      "--import-pending-creates",
      URN("kubernetes:apps/v1:Deployment", "auth"),
      "--import-pending-creates",
      "verbu-1/auth",
      "--import-pending-creates",
      URN("kubernetes:core/v1:Namespace", "ns"),
      "--import-pending-creates",
      "verbu-1",
      "--clear-pending-creates",
    ]);
  });

  it("in render mode clears the pending creates (nothing to read back)", () => {
    const plan = recoveryPlan([deployment("verbu-1"), namespace], "render");
    expect(plan.imports).to.deep.equal([]);
    expect(refreshArgs(plan)).to.deep.equal([
      "refresh",
      "--yes",
      "--skip-preview",
      "--non-interactive",
      "--clear-pending-creates",
    ]);
  });

  it("needs no clearing when every create is imported, or when nothing is a create", () => {
    expect(recoveryPlan([namespace], "cluster").clearRemainingCreates).to.equal(false);
    expect(
      recoveryPlan([op("kubernetes:apps/v1:Deployment", "x", { name: "x" }, "updating")], "render")
        .clearRemainingCreates,
    ).to.equal(false);
  });

  it("summarises pending operations by kind", () => {
    expect(describePending([namespace, noName, op("kubernetes:apps/v1:Deployment", "x", {}, "updating")])).to.equal(
      "2 creating, 1 updating",
    );
  });

  it("pre-checks a state file's text: no pending_operations key means none, without exporting the state", () => {
    const clean = JSON.stringify({ version: 3, checkpoint: { latest: { resources: [{ urn: "u" }] } } });
    const crashed = JSON.stringify({ version: 3, checkpoint: { latest: { pending_operations: [namespace] } } });
    expect(mayHoldPendingOperations(clean)).to.equal(false);
    expect(mayHoldPendingOperations(crashed)).to.equal(true);
  });
});
