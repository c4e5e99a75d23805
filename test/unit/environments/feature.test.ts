import { expect } from "chai";
import { featureFromStack, mainHost, tagFromPattern } from "../../../environments/feature";

describe("feature names", () => {
  it("derives namespace and ticket from the stack name, in either case", () => {
    expect(featureFromStack("verbu-6202")).to.deep.equal({ name: "verbu-6202", ticket: "VERBU-6202" });
    expect(featureFromStack("VERBU-6202")).to.deep.equal({ name: "verbu-6202", ticket: "VERBU-6202" });
    expect(featureFromStack("organization/qa-k8s/verbu-6202").name).to.equal("verbu-6202");
  });

  it("takes an explicit ticket over the derived one", () => {
    expect(featureFromStack("demo", "VERBU-1")).to.deep.equal({ name: "demo", ticket: "VERBU-1" });
  });

  it("refuses stack names that cannot be a namespace", () => {
    expect(() => featureFromStack("verbu_6202")).to.throw(
      `stack "verbu_6202": "verbu_6202" cannot name a namespace: use lower-case letters, digits and '-', starting and ending with a letter or digit (e.g. verbu-6202)`,
    );
    expect(() => featureFromStack("-verbu")).to.throw(`"-verbu" cannot name a namespace`);
    expect(() => featureFromStack("a.b")).to.throw(`"a.b" cannot name a namespace`);
  });

  it("refuses stack names that are namespaces the cluster already has or reserves", () => {
    expect(() => featureFromStack("kube-node-lease")).to.throw(
      `stack "kube-node-lease": namespace "kube-node-lease" is reserved: kube-* namespaces belong to Kubernetes (kube-system, kube-public, kube-node-lease); name the stack after the ticket (e.g. verbu-6202)`,
    );
    expect(() => featureFromStack("organization/qa-k8s/Default")).to.throw(
      `stack "organization/qa-k8s/Default": namespace "default" is the cluster's default namespace; name the stack after the ticket (e.g. verbu-6202)`,
    );
    expect(() => featureFromStack("KUBE-SYSTEM")).to.throw(`namespace "kube-system" is reserved`);
    expect(() => featureFromStack("cattle-system")).to.throw(
      `stack "cattle-system": namespace "cattle-system" is reserved: cattle-* namespaces belong to Rancher's agents; name the stack after the ticket (e.g. verbu-6202)`,
    );
    expect(featureFromStack("kubeflow-1").name).to.equal("kubeflow-1");
  });

  it("refuses a ticket that cannot be the namespace's qa-k8s/ticket label", () => {
    const rule = "at most 63 letters, digits, '-', '_' or '.', starting and ending with a letter or digit";
    expect(() => featureFromStack("demo", "VERBU-1_")).to.throw(
      `qa-k8s:ticket "VERBU-1_" cannot be the value of the namespace label qa-k8s/ticket: use ${rule} (e.g. VERBU-6202)`,
    );
    const long = `T${"1".repeat(63)}`;
    expect(() => featureFromStack("demo", long)).to.throw(
      `qa-k8s:ticket "${long}" cannot be the value of the namespace label qa-k8s/ticket: use ${rule} (e.g. VERBU-6202)`,
    );
    expect(featureFromStack("demo", long.slice(0, 63)).ticket).to.have.length(63);
  });

  it("refuses names whose host label would exceed 63 characters", () => {
    const long = "x".repeat(55);
    expect(() => featureFromStack(long)).to.throw(
      `stack "${long}": "${long}" is 55 characters; the host label "services-${long}" must fit in 63, so use at most 54 characters`,
    );
    expect(featureFromStack("x".repeat(54)).name).to.have.length(54);
  });

  it("refuses a ticket that cannot be part of an image tag", () => {
    expect(() => featureFromStack("demo", "VERBU 1;rm")).to.throw(
      `qa-k8s:ticket "VERBU 1;rm" cannot be part of an image tag: use letters, digits, '_', '.' and '-' (e.g. VERBU-6202)`,
    );
  });

  it("builds the main host and tags", () => {
    const feature = featureFromStack("verbu-6202");
    expect(mainHost(feature, "qa.example.test")).to.equal("services-verbu-6202.qa.example.test");
    expect(tagFromPattern("${ticket}_latest", feature, "featureTag")).to.equal("VERBU-6202_latest");
    expect(tagFromPattern("${feature}-snapshot", feature, "featureTag")).to.equal("verbu-6202-snapshot");
    expect(() => tagFromPattern("${branch}_latest", feature, "featureTag")).to.throw(
      `qa-k8s:featureTag "\${branch}_latest" gives the tag "\${branch}_latest", which is not a valid image tag: use letters, digits, '_', '.' and '-' (at most 128) and only the placeholders \${ticket} and \${feature}`,
    );
  });
});
