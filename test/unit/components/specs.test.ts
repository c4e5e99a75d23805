import { expect } from "chai";
import { ingressObjects, stripPrefixMiddlewareObject } from "../../../components/specs/ingress";
import {
  limitRangeObject,
  namespaceObject,
  networkPolicyObject,
  resourceQuotaObject,
} from "../../../components/specs/namespace";
import { dockerConfigJson, registryServer } from "../../../components/specs/pullSecret";
import { formatCpu, formatMemory, parseCpu, parseMemory } from "../../../components/specs/quantities";
import { deploymentObject, serviceObject, statefulSetObject } from "../../../components/specs/workload";
import { spec } from "./fixtures";

const ctx = { namespace: "verbu-6202" };

describe("quantities", () => {
  it("parses CPU and memory the way Kubernetes writes them", () => {
    expect([parseCpu("250m"), parseCpu("0.5"), parseCpu("2"), parseCpu("fast")]).to.deep.equal([
      250,
      500,
      2000,
      undefined,
    ]);
    expect([parseMemory("64Mi"), parseMemory("1Gi"), parseMemory("500M"), parseMemory("64MB")]).to.deep.equal([
      64 * 1024 ** 2,
      1024 ** 3,
      500e6,
      undefined,
    ]);
    expect([formatCpu(12.2), formatMemory(64 * 1024 ** 2 + 1)]).to.deep.equal(["13m", "65Mi"]);
  });
});

describe("namespace objects", () => {
  it("labels the namespace with feature, ticket and manager", () => {
    expect(namespaceObject({ namespace: "verbu-6202", labels: { "qa-k8s/ticket": "VERBU-6202" } })).to.deep.equal({
      metadata: {
        name: "verbu-6202",
        labels: { "qa-k8s/ticket": "VERBU-6202", "app.kubernetes.io/managed-by": "qa-k8s" },
      },
    });
  });

  it("sizes the quota from the catalog with room for a full rollout and the wait containers", () => {
    const services = [
      spec(),
      spec({ name: "wallet", replicas: 2 }),
      spec({ name: "mongodb", storage: { size: "2Gi", storageClass: "local-path" } }),
    ];
    // 4 pods × 2 for the rollout; requests 4 × 10m × 2 + 8 × 10m (wait containers) = 160m.
    expect(resourceQuotaObject("ns", services).spec.hard).to.deep.equal({
      pods: "8",
      "requests.cpu": "160m",
      "requests.memory": `${4 * 64 * 2 + 8 * 16}Mi`,
      "limits.cpu": `${4 * 250 * 2 + 8 * 10}m`,
      "limits.memory": `${4 * 256 * 2 + 8 * 16}Mi`,
      persistentvolumeclaims: "2",
    });
  });

  it("defaults undeclared containers and caps them at the largest catalog limit", () => {
    const range = limitRangeObject("ns", [
      spec(),
      spec({ resources: { requests: { cpu: "1m", memory: "1Mi" }, limits: { cpu: "500m", memory: "512Mi" } } }),
    ]);
    expect(range.spec.limits[0]).to.deep.equal({
      type: "Container",
      default: { cpu: "100m", memory: "128Mi" },
      defaultRequest: { cpu: "5m", memory: "64Mi" },
      max: { cpu: "500m", memory: "512Mi" },
    });
  });

  it("keeps default ≤ max and defaultRequest ≤ default when every catalog limit is small", () => {
    // The API server refuses a LimitRange whose default exceeds its max (see apiserver-rules.e2e.ts).
    const tiny = { requests: { cpu: "1m", memory: "8Mi" }, limits: { cpu: "3m", memory: "32Mi" } };
    expect(limitRangeObject("ns", [spec({ resources: tiny })]).spec.limits[0]).to.deep.include({
      default: { cpu: "3m", memory: "32Mi" },
      defaultRequest: { cpu: "3m", memory: "32Mi" },
      max: { cpu: "3m", memory: "32Mi" },
    });
    // LimitRanger refuses a pod with any container above max: the NSQ wait container (10m, 16Mi) raises it.
    const waiting = limitRangeObject("ns", [
      spec({
        resources: { requests: { cpu: "1m", memory: "8Mi" }, limits: { cpu: "3m", memory: "8Mi" } },
        waitForNsqImage: "busybox",
      }),
    ]);
    expect(waiting.spec.limits[0].max).to.deep.equal({ cpu: "10m", memory: "16Mi" });
  });

  it("admits traffic only from its own namespace and the ingress controller's", () => {
    const policy = networkPolicyObject("verbu-6202", ["kube-system"]);
    expect(policy.spec).to.deep.equal({
      podSelector: {},
      policyTypes: ["Ingress"],
      ingress: [
        {
          from: [
            { podSelector: {} },
            { namespaceSelector: { matchLabels: { "kubernetes.io/metadata.name": "kube-system" } } },
          ],
        },
      ],
    });
  });
});

describe("workload objects", () => {
  it("names the Deployment after the service and selects on the name only", () => {
    const deployment = deploymentObject(spec({ replicas: 2 }), ctx);
    expect(deployment.metadata.name).to.equal("auth");
    expect(deployment.metadata.namespace).to.equal("verbu-6202");
    expect(deployment.spec.selector).to.deep.equal({ matchLabels: { "app.kubernetes.io/name": "auth" } });
    expect(deployment.spec.replicas).to.equal(2);
  });

  it("keeps selectors stable whatever else changes", () => {
    const a = deploymentObject(spec(), ctx);
    const b = deploymentObject(spec({ image: "other", env: { X: "1" }, podAnnotations: { x: "y" } }), ctx);
    expect(a.spec.selector).to.deep.equal(b.spec.selector);
  });

  it("pulls a digest-pinned image only when absent, a plain tag always", () => {
    const pinned = deploymentObject(spec(), ctx).spec.template.spec.containers[0];
    const tagged = deploymentObject(spec({ image: "reg/bu/auth:master_latest" }), ctx).spec.template.spec.containers[0];
    expect([pinned.imagePullPolicy, tagged.imagePullPolicy]).to.deep.equal(["IfNotPresent", "Always"]);
  });

  it("adds the NSQ wait container, the pull secret, probes and pod annotations when asked", () => {
    const deployment = deploymentObject(
      spec({
        waitForNsqImage: "busybox:1.36",
        readinessProbe: { path: "/health" },
        podAnnotations: { "qa-k8s/deployment-id": "42" },
      }),
      { namespace: "ns", imagePullSecret: "registry-pull-secret" },
    );
    const template = deployment.spec.template;
    expect(template.metadata.annotations).to.deep.equal({ "qa-k8s/deployment-id": "42" });
    expect(template.spec.imagePullSecrets).to.deep.equal([{ name: "registry-pull-secret" }]);
    expect(template.spec.initContainers?.[0].image).to.equal("busybox:1.36");
    expect(template.spec.containers[0].readinessProbe).to.deep.equal({
      httpGet: { path: "/health", port: "http" },
      initialDelaySeconds: 2,
      periodSeconds: 5,
    });
    const bare = deploymentObject(spec(), ctx).spec.template;
    expect(bare.spec).to.not.have.any.keys("initContainers", "imagePullSecrets");
    expect(bare.metadata).to.not.have.property("annotations");
  });

  it("runs a service with storage as a StatefulSet with one claim of the storage class", () => {
    const mongo = statefulSetObject(
      spec({ name: "mongodb", storage: { size: "2Gi", storageClass: "local-path" } }),
      ctx,
    );
    expect(mongo.spec.serviceName).to.equal("mongodb");
    expect(mongo.spec.volumeClaimTemplates[0].spec).to.deep.equal({
      accessModes: ["ReadWriteOnce"],
      storageClassName: "local-path",
      resources: { requests: { storage: "2Gi" } },
    });
    expect(() => statefulSetObject(spec(), ctx)).to.throw(`service "auth" has no storage; it is a Deployment`);
  });

  it("exposes the main port as http and extra ports by name", () => {
    const service = serviceObject(spec({ name: "nsqd", port: 4151, extraPorts: [{ name: "tcp", port: 4150 }] }), ctx)!;
    expect(service.metadata.name).to.equal("nsqd");
    // Readiness is the workload's await; the Service's own would wait for Endpoints (never there for loopback pods).
    expect(service.metadata.annotations).to.deep.equal({ "pulumi.com/skipAwait": "true" });
    expect(service.spec.ports).to.deep.equal([
      { name: "http", port: 4151, targetPort: "http", protocol: "TCP" },
      { name: "tcp", port: 4150, targetPort: "tcp", protocol: "TCP" },
    ]);
  });
});

describe("a background worker (no port)", () => {
  const worker = spec({ name: "mailer", port: undefined, readinessProbe: { tcp: true } });

  it("runs a container without ports or a port probe, and gets no Service", () => {
    const container = deploymentObject(worker, ctx).spec.template.spec.containers[0];
    expect(container).to.not.have.any.keys("ports", "readinessProbe");
    expect(serviceObject(worker, ctx)).to.equal(undefined);
    expect(ingressObjects(worker, "ns", "tls")).to.deep.equal([]);
  });

  it("refuses routes it could not send anywhere", () => {
    const routed = { ...worker, routes: [{ host: "h.test", path: "/", stripPrefix: false }] };
    expect(() => ingressObjects(routed, "ns", "tls")).to.throw(
      `service "mailer" has ingress routes but no port to route them to`,
    );
  });
});

describe("ingress objects", () => {
  const host = "services-verbu-6202.qa.example.test";

  it("makes no Ingress or Middleware for a service without routes", () => {
    expect(ingressObjects(spec(), "ns", "tls")).to.deep.equal([]);
    expect(stripPrefixMiddlewareObject(spec(), "ns")).to.equal(undefined);
  });

  it("strips prefixes through a namespaced Middleware referenced by annotation", () => {
    const nsqd = spec({ name: "nsqd", routes: [{ host, path: "/eventbus", stripPrefix: true }] });
    const [ingress] = ingressObjects(nsqd, "verbu-6202", "qa-bu-ssl-certificate");
    expect(ingress.role).to.equal("ingress-stripped");
    expect(ingress.object.metadata.name).to.equal("nsqd-stripped");
    expect(ingress.object.metadata.annotations["traefik.ingress.kubernetes.io/router.middlewares"]).to.equal(
      "verbu-6202-nsqd-strip-prefix@kubernetescrd",
    );
    expect(ingress.object.spec.rules).to.deep.equal([
      {
        host,
        http: {
          paths: [
            { path: "/eventbus", pathType: "Prefix", backend: { service: { name: "nsqd", port: { name: "http" } } } },
          ],
        },
      },
    ]);
    expect(stripPrefixMiddlewareObject(nsqd, "verbu-6202")).to.deep.include({
      apiVersion: "traefik.io/v1alpha1",
      kind: "Middleware",
      spec: { stripPrefix: { prefixes: ["/eventbus"] } },
    });
  });

  it("keeps stripping and plain routes of one service in separate Ingresses", () => {
    const both = spec({
      routes: [
        { host, path: "/", stripPrefix: false },
        { host, path: "/api", stripPrefix: true },
      ],
    });
    const objects = ingressObjects(both, "ns", "tls");
    expect(objects.map((o) => o.object.metadata.name)).to.deep.equal(["auth", "auth-stripped"]);
    expect(objects[0].object.metadata.annotations).to.not.have.property(
      "traefik.ingress.kubernetes.io/router.middlewares",
    );
    expect(objects[0].object.spec.tls).to.deep.equal([{ hosts: [host], secretName: "tls" }]);
  });
});

describe("pull secret", () => {
  it("writes one auth entry keyed by the registry host", () => {
    expect(registryServer("nexus.example.test:5000/docker")).to.equal("nexus.example.test:5000");
    expect(JSON.parse(dockerConfigJson("reg:5000", "ci", "pw"))).to.deep.equal({
      auths: { "reg:5000": { username: "ci", password: "pw", auth: Buffer.from("ci:pw").toString("base64") } },
    });
  });
});
