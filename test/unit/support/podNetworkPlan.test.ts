// The pod network stand-in's rules: which pod addresses answer, where a ClusterIP forwards, what the hosts file says,
// and that nothing outside 127.0.0.0/8 is ever bound or dialled.
import { expect } from "chai";
import type { V1Pod, V1Service } from "@kubernetes/client-node";
import { startForwarder, startResponder } from "../../e2e/support/podListeners";
import { assertLoopback, isLoopbackIPv4, planNetwork } from "../../e2e/support/podNetworkPlan";

function pod(name: string, ip: string, extra: { labels?: Record<string, string>; ready?: boolean } = {}): V1Pod {
  return {
    metadata: { name, namespace: "ns", labels: extra.labels ?? { app: "echo" } },
    spec: { containers: [{ name: "c", image: "i", ports: [{ name: "http", containerPort: 8080 }] }] },
    status: {
      phase: "Running",
      podIP: ip,
      conditions: [{ type: "Ready", status: extra.ready === false ? "False" : "True" }],
    },
  };
}

function service(name: string, clusterIP: string, targetPort: number | string = 8080): V1Service {
  return {
    metadata: { name, namespace: "ns" },
    spec: { type: "ClusterIP", clusterIP, selector: { app: "echo" }, ports: [{ port: 80, targetPort }] },
  };
}

describe("pod network plan", () => {
  describe("the loopback guard", () => {
    it("accepts 127.0.0.0/8 and nothing else", () => {
      for (const ok of ["127.0.0.1", "127.64.0.1", "127.96.255.254", "127.255.255.255"]) {
        expect(isLoopbackIPv4(ok), ok).to.equal(true);
      }
      const bad = ["10.0.0.1", "10.244.0.5", "10.96.0.1", "128.0.0.1", "0.0.0.0", "::1", "::", "localhost"];
      for (const no of [...bad, "127.1", "127.0.0.256", "127.0.0.1.5", " 127.0.0.1", "::ffff:127.0.0.1", ""]) {
        expect(isLoopbackIPv4(no), no).to.equal(false);
      }
    });

    it("refuses with a message naming the address", () => {
      expect(assertLoopback("127.64.0.3", "bind")).to.equal("127.64.0.3");
      expect(() => assertLoopback("10.0.0.1", "bind")).to.throw(
        'pod network: refusing to bind "10.0.0.1": only 127.0.0.0/8 addresses are used',
      );
    });

    it("never binds a responder or forwarder outside loopback", async () => {
      const outside = { ip: "10.244.0.1", port: 8080, pod: "p", namespace: "ns", service: "echo" };
      await startResponder(outside, () => outside).then(
        () => expect.fail("bound 10.244.0.1"),
        (e: Error) => expect(e.message).to.include('refusing to bind "10.244.0.1"'),
      );
      const forwarder = { ip: "0.0.0.0", port: 80, service: "echo", namespace: "ns", backends: [] };
      await startForwarder(forwarder, () => []).then(
        () => expect.fail("bound 0.0.0.0"),
        (e: Error) => expect(e.message).to.include('refusing to bind "0.0.0.0"'),
      );
    });
  });

  it("answers on each Ready pod's containerPorts, named by its app label", () => {
    const plan = planNetwork(
      [
        pod("b", "127.64.0.2"),
        pod("a", "127.64.0.1", { labels: { "app.kubernetes.io/name": "auth" } }),
        pod("c", "127.64.0.3", { ready: false }),
        pod("d", "10.244.0.4"),
      ],
      [],
    );
    expect(plan.responders).to.deep.equal([
      { ip: "127.64.0.1", port: 8080, pod: "a", namespace: "ns", service: "auth" },
      { ip: "127.64.0.2", port: 8080, pod: "b", namespace: "ns", service: "echo" },
    ]);
    expect(plan.forwarders).to.deep.equal([]);
  });

  it("forwards a ClusterIP port to the selected pods' targetPort, numeric or named, and answers there too", () => {
    const pods = [pod("a", "127.64.0.1"), pod("b", "127.64.0.2"), pod("x", "127.64.0.9", { labels: { app: "x" } })];
    const [numeric, named] = [service("echo", "127.96.0.10", 9090), service("web", "127.96.0.11", "http")];
    const plan = planNetwork(pods, [numeric, named]);
    expect(plan.forwarders).to.deep.equal([
      {
        ip: "127.96.0.10",
        port: 80,
        service: "echo",
        namespace: "ns",
        backends: [
          { ip: "127.64.0.1", port: 9090, pod: "a" },
          { ip: "127.64.0.2", port: 9090, pod: "b" },
        ],
      },
      {
        ip: "127.96.0.11",
        port: 80,
        service: "web",
        namespace: "ns",
        backends: [
          { ip: "127.64.0.1", port: 8080, pod: "a" },
          { ip: "127.64.0.2", port: 8080, pod: "b" },
        ],
      },
    ]);
    // 9090 is no containerPort, but the Service sends there, so the pod answers there.
    expect(plan.responders.map((r) => `${r.pod}@${r.ip}:${r.port}`)).to.deep.equal([
      "a@127.64.0.1:8080",
      "a@127.64.0.1:9090",
      "b@127.64.0.2:8080",
      "b@127.64.0.2:9090",
      "x@127.64.0.9:8080",
    ]);
  });

  it("gives a Service with no Ready pod a forwarder with no backends, and none to a name it cannot resolve", () => {
    const plan = planNetwork([pod("a", "127.64.0.1", { ready: false })], [service("echo", "127.96.0.10")]);
    expect(plan.forwarders.map((f) => f.backends)).to.deep.equal([[]]);
    const unnamed = planNetwork([pod("a", "127.64.0.1")], [service("echo", "127.96.0.10", "grpc")]);
    expect(unnamed.forwarders[0].backends).to.deep.equal([]);
  });

  it("maps every ClusterIP in the hosts file; ExternalName, headless and non-loopback Services get no line or socket", () => {
    const external: V1Service = {
      metadata: { name: "ext", namespace: "ns" },
      spec: { type: "ExternalName", externalName: "echo.ns.svc.cluster.local" },
    };
    const headless = service("headless", "None");
    const plan = planNetwork(
      [pod("a", "127.64.0.1")],
      [service("echo", "127.96.0.10"), external, headless, service("old", "10.96.0.7")],
    );
    expect(plan.hosts).to.equal("127.0.0.1 localhost\n127.96.0.10 echo.ns.svc.cluster.local echo.ns.svc\n");
    expect(plan.forwarders.map((f) => f.service)).to.deep.equal(["echo"]);
  });
});
