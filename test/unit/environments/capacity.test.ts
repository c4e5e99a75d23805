// What a pod and an environment ask the scheduler for: the effective-request rule (init containers, sidecars,
// overhead, pod-level resources) and the catalog's real needs, from the same pod templates the program deploys.
import { expect } from "chai";
import * as fs from "node:fs";
import { parse } from "yaml";
import { catalogNeeds, environmentNeeds, podRequests } from "../../../environments/capacity";
import { parseCatalog } from "../../../environments/catalog";
import { featureFromStack } from "../../../environments/feature";

const MI = 1024 ** 2;
const container = (name: string, cpu: string, memory: string, restartPolicy?: string) => ({
  name,
  ...(restartPolicy ? { restartPolicy } : {}),
  resources: { requests: { cpu, memory } },
});

describe("capacity: a pod's effective request", () => {
  it("is the sum of the containers when the init containers ask for less", () => {
    const pod = {
      containers: [container("a", "100m", "64Mi"), container("b", "50m", "32Mi")],
      initContainers: [container("init", "10m", "16Mi")],
    };
    expect(podRequests(pod, "p")).to.deep.equal({ cpuMillis: 150, memoryBytes: 96 * MI, pods: 1 });
  });

  it("is the largest init container per resource when it asks for more (max(max(init), sum(containers)))", () => {
    const pod = {
      containers: [container("a", "100m", "64Mi")],
      initContainers: [container("i1", "500m", "16Mi"), container("i2", "10m", "256Mi")],
    };
    expect(podRequests(pod, "p")).to.deep.equal({ cpuMillis: 500, memoryBytes: 256 * MI, pods: 1 });
  });

  it("adds sidecars (restartPolicy Always) to the containers and to every init container that runs after them", () => {
    // KEP-753: i2 runs next to sidecar s1 (started before it): 300m + 100m; the pod then runs app + s1 + s2.
    const pod = {
      containers: [container("app", "200m", "100Mi")],
      initContainers: [
        container("i1", "250m", "10Mi"),
        container("s1", "100m", "50Mi", "Always"),
        container("i2", "300m", "10Mi"),
        container("s2", "20m", "20Mi", "Always"),
      ],
    };
    // init peak: max(250, 100+300=400, 100+20=120) = 400m; running: 200 + 100 + 20 = 320m → 400m.
    // memory: init peak max(10, 50+10=60, 70) = 70Mi; running 100 + 50 + 20 = 170Mi → 170Mi.
    expect(podRequests(pod, "p")).to.deep.equal({ cpuMillis: 400, memoryBytes: 170 * MI, pods: 1 });
  });

  it("takes a limit as the request when only the limit is set (API defaulting), adds overhead, honours pod-level requests", () => {
    const onlyLimit = { containers: [{ name: "a", resources: { limits: { cpu: "1", memory: "1Gi" } } }] };
    expect(podRequests(onlyLimit, "p")).to.deep.equal({ cpuMillis: 1000, memoryBytes: 1024 * MI, pods: 1 });
    const overhead = { containers: [container("a", "100m", "64Mi")], overhead: { cpu: "250m", memory: "120Mi" } };
    expect(podRequests(overhead, "p")).to.deep.equal({ cpuMillis: 350, memoryBytes: 184 * MI, pods: 1 });
    const podLevel = { containers: [container("a", "100m", "64Mi")], resources: { requests: { cpu: "2" } } };
    expect(podRequests(podLevel, "p")).to.deep.equal({ cpuMillis: 2000, memoryBytes: 64 * MI, pods: 1 });
    expect(podRequests({ containers: [{ name: "bare" }] }, "p")).to.deep.equal({
      cpuMillis: 0,
      memoryBytes: 0,
      pods: 1,
    });
  });

  it("names the pod and container of a request that is not a quantity", () => {
    expect(() => podRequests({ containers: [container("web", "lots", "1Gi")] }, "pod team-a/web-1")).to.throw(
      'pod team-a/web-1: container "web" cpu request "lots" is not a Kubernetes quantity',
    );
  });
});

describe("capacity: what one environment of the catalog needs", () => {
  const text = fs.readFileSync("environments/catalog.yaml", "utf8");
  const catalog = parseCatalog(text, "catalog.yaml");
  const needs = catalogNeeds(catalog, featureFromStack("verbu-7001"));

  it("counts every replica and, per pod, the larger of its container and its nsqd wait container (10m / 16Mi)", () => {
    // Independent of the builders: straight from the catalog's numbers and the rule above.
    const raw = parse(text) as {
      services: {
        resources?: { requests?: { cpu?: string; memory?: string } };
        replicas?: number;
        requiresNsq?: boolean;
      }[];
    };
    let cpu = 0;
    let memory = 0;
    let pods = 0;
    for (const service of raw.services) {
      const replicas = service.replicas ?? 1;
      const c = Number((service.resources?.requests?.cpu ?? "5m").replace("m", ""));
      const m = Number((service.resources?.requests?.memory ?? "64Mi").replace("Mi", "")) * MI;
      cpu += (service.requiresNsq ? Math.max(c, 10) : c) * replicas;
      memory += (service.requiresNsq ? Math.max(m, 16 * MI) : m) * replicas;
      pods += replicas;
    }
    expect(needs.total).to.deep.equal({ cpuMillis: cpu, memoryBytes: memory, pods });
    expect(needs.pods).to.have.length(pods);
    // The figures the README quotes.
    expect(needs.total).to.deep.equal({ cpuMillis: 832, memoryBytes: 5_981_077_504, pods: 70 });
  });

  it("knows its largest pod and the ResourceQuota the program sets on the namespace", () => {
    expect(needs.largestPod.name).to.equal("mongodb");
    expect(needs.largestPod.requests).to.deep.equal({ cpuMillis: 24, memoryBytes: 110 * MI, pods: 1 });
    // resourceQuotaObject: (requests × replicas + wait container × pods) × 2 for a full rollout.
    expect(needs.quota.pods).to.equal(140);
    expect(needs.quota.cpuMillis).to.be.greaterThan(needs.total.cpuMillis * 2);
  });

  it("follows the pod templates: a service without requiresNsq has no wait container to count", () => {
    const small = parseCatalog(
      "services:\n  - { name: api, kind: app, image: bu/api, port: 3000, replicas: 3, resources: { requests: { cpu: 2m, memory: 8Mi } }, requiresNsq: true }\n  - { name: nsqd, kind: infra, image: nsq, port: 4151, resources: { requests: { cpu: 2m, memory: 8Mi } } }\n",
      "small.yaml",
    );
    const n = catalogNeeds(small, featureFromStack("verbu-1"));
    expect(n.total).to.deep.equal({ cpuMillis: 3 * 10 + 2, memoryBytes: 3 * 16 * MI + 8 * MI, pods: 4 });
  });

  it("refuses an environment without services", () => {
    expect(() => environmentNeeds([], "verbu-1")).to.throw("the environment has no services");
  });
});
