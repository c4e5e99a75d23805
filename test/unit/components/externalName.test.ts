import { expect } from "chai";
import { externalNameServiceObject } from "../../../components/specs/externalName";
import { networkPolicyObject } from "../../../components/specs/namespace";
import { serviceObject } from "../../../components/specs/workload";
import { spec } from "./fixtures";

describe("ExternalName Service into the baseline", () => {
  const nsqd = spec({ name: "nsqd", kind: "infra", port: 4151, extraPorts: [{ name: "tcp", port: 4150 }] });

  it("has the name, labels and named ports of the selector Service it stands in for, and no selector", () => {
    const external = externalNameServiceObject(nsqd, { namespace: "verbu-1", targetNamespace: "master" })!;
    const selector = serviceObject(nsqd, { namespace: "verbu-1" })!;
    expect(external.metadata).to.deep.equal(selector.metadata);
    expect(external.spec).to.deep.equal({
      type: "ExternalName",
      externalName: "nsqd.master.svc.cluster.local",
      ports: selector.spec.ports,
    });
    expect(external.spec).to.not.have.property("selector");
  });

  it("makes nothing for a background worker", () => {
    expect(externalNameServiceObject(spec({ port: undefined }), { namespace: "a", targetNamespace: "b" })).to.equal(
      undefined,
    );
  });
});

describe("NetworkPolicy of a baseline", () => {
  it("also admits the namespaces labelled as its overlays; without labels it is unchanged", () => {
    const plain = networkPolicyObject("master", ["kube-system"]);
    expect(networkPolicyObject("master", ["kube-system"], {})).to.deep.equal(plain);
    const baseline = networkPolicyObject("master", ["kube-system"], { "qa-k8s/baseline": "master" });
    expect(baseline.spec.ingress[0].from).to.deep.equal([
      ...plain.spec.ingress[0].from,
      { namespaceSelector: { matchLabels: { "qa-k8s/baseline": "master" } } },
    ]);
  });
});
