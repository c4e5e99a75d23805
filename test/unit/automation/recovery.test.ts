import { expect } from "chai";
import {
  describePending,
  ExportedState,
  importCandidates,
  kubernetesId,
  mayHoldPendingOperations,
  ownFieldManager,
  pendingOperations,
  resolvePendingCreates,
  PendingOperation,
} from "../../../automation/recovery";

const URN = (type: string, name: string) => `urn:pulumi:verbu-1::qa-k8s::qa-k8s:components:ServiceSet$${type}::${name}`;
const DEPLOYMENT = "kubernetes:apps/v1:Deployment";
const op = (
  type: string,
  name: string,
  metadata?: Record<string, string>,
  opType = "creating",
  typeFields: Record<string, string> = { apiVersion: "apps/v1", kind: "Deployment" },
): PendingOperation => ({
  resource: {
    urn: URN(type, name),
    type,
    custom: true,
    parent: "urn:pulumi:verbu-1::qa-k8s::qa-k8s:components:ServiceSet::verbu-1",
    inputs: metadata ? { ...typeFields, metadata } : {},
  },
  type: opType,
});
const stateOf = (pending: PendingOperation[], resources: { urn: string }[] = []): ExportedState => ({
  version: 3,
  deployment: { manifest: { time: "t" }, resources, pending_operations: pending },
});

describe("recovering a crashed run's pending operations", () => {
  const auth = op(DEPLOYMENT, "auth", { name: "auth", namespace: "verbu-1" });
  const namespace = op("kubernetes:core/v1:Namespace", "ns", { name: "verbu-1" }, "creating", {
    apiVersion: "v1",
    kind: "Namespace",
  });
  const noName = op("kubernetes:core/v1:ConfigMap", "cm", {});
  const provider = op("pulumi:providers:kubernetes", "kubernetes");
  const updating = op(DEPLOYMENT, "x", { name: "x", namespace: "verbu-1" }, "updating");

  it("reads pending operations out of an exported state, and none from a fresh stack", () => {
    expect(pendingOperations(stateOf([namespace]))).to.deep.equal([namespace]);
    expect(pendingOperations({ version: 3, deployment: {} })).to.deep.equal([]);
    expect(pendingOperations(undefined)).to.deep.equal([]);
  });

  it("derives the kubernetes provider's id: <namespace>/<name>, or <name> for cluster-scoped kinds", () => {
    expect(kubernetesId(auth)).to.equal("verbu-1/auth");
    expect(kubernetesId(namespace)).to.equal("verbu-1");
    expect(kubernetesId(noName)).to.equal(undefined);
    expect(kubernetesId(provider)).to.equal(undefined);
  });

  it("looks on the cluster for the pending creates it can name, not for updates nor a replacement's new half", () => {
    const replacing = op(DEPLOYMENT, "web", { name: "web", namespace: "verbu-1" });
    const state = stateOf([auth, namespace, noName, provider, updating, replacing], [{ urn: replacing.resource.urn }]);
    expect(importCandidates(state)).to.deep.equal([
      {
        urn: auth.resource.urn,
        id: "verbu-1/auth",
        apiVersion: "apps/v1",
        kind: "Deployment",
        name: "auth",
        namespace: "verbu-1",
      },
      {
        urn: namespace.resource.urn,
        id: "verbu-1",
        apiVersion: "v1",
        kind: "Namespace",
        name: "verbu-1",
        namespace: undefined,
      },
    ]);
  });

  it("imports what the cluster holds with its id and field manager, after the resources; clears the other creates", () => {
    const existing = { urn: "urn:pulumi:verbu-1::qa-k8s::pulumi:pulumi:Stack::qa-k8s-verbu-1" };
    const state = stateOf([auth, namespace, noName, provider, updating], [existing]);
    const found = new Map([[auth.resource.urn, "pulumi-kubernetes-5c365947"]]);
    const { state: resolved, imported, cleared } = resolvePendingCreates(state, found);
    expect({ imported, cleared }).to.deep.equal({ imported: 1, cleared: 3 });
    expect(resolved.deployment.resources).to.deep.equal([
      existing,
      { ...auth.resource, id: "verbu-1/auth", outputs: { __fieldManager: "pulumi-kubernetes-5c365947" } },
    ]);
    // The update stays pending for the refresh, which clears it once it has read the object back.
    expect(resolved.deployment.pending_operations).to.deep.equal([updating]);
    expect(resolved.deployment.manifest).to.deep.equal({ time: "t" });
    expect(state.deployment.pending_operations, "the export itself is left as it was").to.have.length(5);
  });

  it("drops the pending_operations key when nothing is left, as the engine writes it; render mode clears them all", () => {
    const { state: resolved, imported, cleared } = resolvePendingCreates(stateOf([auth, namespace]), new Map());
    expect({ imported, cleared }).to.deep.equal({ imported: 0, cleared: 2 });
    expect(resolved.deployment).to.not.have.property("pending_operations");
    expect(resolved.deployment.resources).to.deep.equal([]);
  });

  it("takes the newest server-side apply of our provider as the field manager; none when another tool made it", () => {
    const fields = [
      { manager: "pulumi-kubernetes-aaaaaaaa", operation: "Apply", time: "2026-12-03T05:42:39Z" },
      { manager: "pulumi-kubernetes-bbbbbbbb", operation: "Apply", time: new Date("2026-12-03T05:43:00Z") },
      { manager: "kube-controller-manager", operation: "Update", time: "2026-12-03T05:44:00Z" },
    ];
    expect(ownFieldManager(fields)).to.equal("pulumi-kubernetes-bbbbbbbb");
    expect(ownFieldManager([{ manager: "kubectl-client-side-apply", operation: "Update" }])).to.equal(undefined);
    expect(ownFieldManager([{ manager: "pulumi-kubernetes-aaaaaaaa", operation: "Update" }])).to.equal(undefined);
    expect(ownFieldManager(undefined)).to.equal(undefined);
  });

  it("summarises pending operations by kind", () => {
    expect(describePending([namespace, noName, updating])).to.equal("2 creating, 1 updating");
  });

  it("pre-checks a state file's text: no pending_operations key means none, without exporting the state", () => {
    const clean = JSON.stringify({ version: 3, checkpoint: { latest: { resources: [{ urn: "u" }] } } });
    const crashed = JSON.stringify({ version: 3, checkpoint: { latest: { pending_operations: [namespace] } } });
    expect(mayHoldPendingOperations(clean)).to.equal(false);
    expect(mayHoldPendingOperations(crashed)).to.equal(true);
  });
});
