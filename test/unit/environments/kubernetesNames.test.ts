// The API server's rules as pure checks, each at its boundary: the last value accepted and the first refused.
// test/e2e/apiserver-rules.e2e.ts holds the same boundaries against the real kube-apiserver.
import { expect } from "chai";
import {
  ingressHostProblem,
  ingressPathProblem,
  isDns1035Label,
  isDns1123Label,
  isDns1123Subdomain,
  isLabelValue,
  isPortName,
  reservedNamespaceProblem,
  STATEFULSET_NAME_MAX,
  suggestDns1035Label,
  suggestPortName,
} from "../../../environments/kubernetesNames";

describe("Kubernetes name rules", () => {
  it("DNS-1035 labels start with a letter; DNS-1123 labels may start with a digit; both hold 63", () => {
    expect(["viewer-3d", "a", "a".repeat(63)].map(isDns1035Label)).to.deep.equal([true, true, true]);
    expect(["3d-viewer", "a".repeat(64), "a-", "A", "a_b", ""].map(isDns1035Label)).to.deep.equal([
      false,
      false,
      false,
      false,
      false,
      false,
    ]);
    expect(["3d-viewer", "0"].map(isDns1123Label)).to.deep.equal([true, true]);
    expect(["a.b", "-a", "x".repeat(64)].map(isDns1123Label)).to.deep.equal([false, false, false]);
  });

  it("label values: at most 63, letters, digits, '-', '_', '.', alphanumeric at both ends; empty is allowed", () => {
    expect(["VERBU-6202", "a_b.c", "x".repeat(63), ""].map(isLabelValue)).to.deep.equal([true, true, true, true]);
    expect(["x".repeat(64), "_VERBU", "VERBU-", "VER BU"].map(isLabelValue)).to.deep.equal([
      false,
      false,
      false,
      false,
    ]);
  });

  it("port names: at most 15, lower-case, one letter at least, no '--' and no '-' at either end", () => {
    expect(["metrics", "tcp-4150", "a".repeat(15)].map(isPortName)).to.deep.equal([true, true, true]);
    expect(["a".repeat(16), "Metrics", "4150", "a--b", "-a", "a-", "a_b"].map(isPortName)).to.deep.equal([
      false,
      false,
      false,
      false,
      false,
      false,
      false,
    ]);
    expect([
      suggestPortName("Metrics_Port"),
      suggestPortName("4150"),
      suggestPortName("very-long-port-name"),
    ]).to.deep.equal(["metrics-port", "p4150", "very-long-port"]);
  });

  it("Ingress hosts: DNS-1123 subdomains of at most 253, a leading '*.' allowed, never an IP address", () => {
    const label = "a".repeat(63);
    const at253 = [label, label, label, "a".repeat(61)].join(".");
    expect(at253).to.have.length(253);
    expect(isDns1123Subdomain(at253)).to.equal(true);
    expect(ingressHostProblem(at253)).to.equal(undefined);
    expect(ingressHostProblem("*.qa.example.test")).to.equal(undefined);
    expect(ingressHostProblem(`${at253}a`)).to.equal(
      "is not a DNS-1123 subdomain (lower-case letters, digits, '-' and '.', each part starting and ending with a letter or digit, at most 253 characters)",
    );
    expect(ingressHostProblem("admin-VERBU-6202.qa.example.test")).to.match(/^is not a DNS-1123 subdomain/);
    expect(ingressHostProblem("a.*.example.test")).to.match(/^is not a DNS-1123 subdomain/);
    expect(ingressHostProblem("10.0.0.1")).to.equal("is an IP address, not a DNS name");
    expect(ingressHostProblem("::1")).to.equal("is an IP address, not a DNS name");
  });

  it("Prefix paths: absolute, without '//', '/./', '/../', '%2f' and without a trailing '/.' or '/..'", () => {
    expect(["/", "/auth", "/a.b/c", "/..a"].map(ingressPathProblem)).to.deep.equal([
      undefined,
      undefined,
      undefined,
      undefined,
    ]);
    expect(ingressPathProblem("auth")).to.equal(`must start with "/"`);
    expect(ingressPathProblem("/a//b")).to.equal(`must not contain "//" (Kubernetes refuses // /./ /../ %2f %2F)`);
    expect(ingressPathProblem("/a%2Fb")).to.equal(`must not contain "%2F" (Kubernetes refuses // /./ /../ %2f %2F)`);
    expect(ingressPathProblem("/a/..")).to.equal(`must not end with "/.."`);
    expect(ingressPathProblem("/a/.")).to.equal(`must not end with "/."`);
  });

  it("reserves the namespaces the cluster makes itself", () => {
    expect(reservedNamespaceProblem("default")).to.equal("is the cluster's default namespace");
    expect(reservedNamespaceProblem("kube-node-lease")).to.equal(
      "is reserved: kube-* namespaces belong to Kubernetes (kube-system, kube-public, kube-node-lease)",
    );
    expect(reservedNamespaceProblem("cattle-system")).to.equal(
      "is reserved: cattle-* namespaces belong to Rancher's agents",
    );
    expect(["kube", "kubeflow", "defaults", "verbu-6202"].map(reservedNamespaceProblem)).to.deep.equal([
      undefined,
      undefined,
      undefined,
      undefined,
    ]);
  });

  it("leaves a StatefulSet name room for the controller's '-<10-character hash>' in a 63-character label", () => {
    expect(STATEFULSET_NAME_MAX).to.equal(52);
  });

  it("suggests a DNS-1035 label close to a refused name", () => {
    expect(["3d-viewer", "Auth_UI", "-x-", "___"].map(suggestDns1035Label)).to.deep.equal([
      "svc-3d-viewer",
      "auth-ui",
      "x",
      "service",
    ]);
    expect(suggestDns1035Label(`9${"a".repeat(70)}`)).to.have.length(63);
  });
});
