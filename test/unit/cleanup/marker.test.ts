import { expect } from "chai";
import { MANAGED_BY_LABEL, notOursReason } from "../../../automation/cleanup/marker";
import { namespaceObject } from "../../../components/specs/namespace";
import { record } from "./fakes";

const ours = { stack: "verbu-9701", record: record("2026-11-01T00:00:00.000Z") };

describe("managed-by markers", () => {
  it("the label checked is the one every environment's namespace gets", () => {
    const labels = namespaceObject({ namespace: "verbu-9701", labels: { "app.kubernetes.io/managed-by": "someone" } })
      .metadata.labels;
    expect(MANAGED_BY_LABEL).to.equal("app.kubernetes.io/managed-by=qa-k8s");
    expect(notOursReason(ours, "verbu-9701", { state: "present", labels })).to.equal(undefined);
  });

  it("a stack with the record and a labelled, absent or rendered namespace is ours", () => {
    expect(notOursReason(ours, "verbu-9701", { state: "absent" })).to.equal(undefined);
    expect(notOursReason(ours, "verbu-9701", { state: "rendered" })).to.equal(undefined);
  });

  it("a stack without the record is not ours, whatever its namespace says", () => {
    const labels = { "app.kubernetes.io/managed-by": "qa-k8s" };
    expect(notOursReason({ stack: "verbu-9703" }, "verbu-9703", { state: "present", labels })).to.equal(
      "stack verbu-9703 has no qa-k8s record tags: not created by qa-env, never removed",
    );
  });

  it("a namespace without the label, or with another manager or odd case, is not ours", () => {
    expect(notOursReason(ours, "verbu-9701", { state: "present", labels: {} })).to.equal(
      "namespace verbu-9701 lacks the label app.kubernetes.io/managed-by=qa-k8s (it has no such label): not created by qa-k8s, never removed",
    );
    for (const value of ["Helm", "QA-K8S", "qa-k8s "])
      expect(
        notOursReason(ours, "verbu-9701", { state: "present", labels: { "app.kubernetes.io/managed-by": value } }),
      ).to.equal(
        `namespace verbu-9701 lacks the label app.kubernetes.io/managed-by=qa-k8s (it has app.kubernetes.io/managed-by=${JSON.stringify(value)}): not created by qa-k8s, never removed`,
      );
  });
});
