// The pod network stand-in on the local control plane: kwok's pods get loopback addresses (127.64.0.0/16) and
// Services loopback ClusterIPs (127.96.0.0/16), and real HTTP reaches both, the way a Traefik in the tests will.
import { expect } from "chai";
import * as fs from "node:fs";
import * as http from "node:http";
import * as os from "node:os";
import * as path from "node:path";
import { LocalCluster, startLocalCluster } from "./support/localCluster";
import { PodNetwork, startPodNetwork } from "./support/podNetwork";
import { isLoopbackIPv4, NetworkPlan } from "./support/podNetworkPlan";

const NS = "pod-network-e2e";

interface Answer {
  service: string;
  namespace: string;
  pod: string;
  path: string;
  host: string;
  method: string;
}

function get(ip: string, port: number, urlPath: string): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = http.get({ host: ip, port, path: urlPath, timeout: 5000, agent: false }, (res) => {
      let body = "";
      res.on("data", (chunk) => (body += chunk));
      res.on("end", () => resolve(JSON.parse(body) as Answer));
    });
    req.on("timeout", () => req.destroy(new Error(`GET ${ip}:${port}${urlPath} timed out`)));
    req.on("error", reject);
  });
}

const manifest = {
  apiVersion: "v1",
  kind: "List",
  items: [
    {
      apiVersion: "apps/v1",
      kind: "Deployment",
      metadata: { name: "echo", namespace: NS },
      spec: {
        replicas: 2,
        selector: { matchLabels: { app: "echo" } },
        template: {
          metadata: { labels: { app: "echo" } },
          // kwok fakes the pod: the image is never pulled.
          spec: { containers: [{ name: "echo", image: "echo:1", ports: [{ containerPort: 8080 }] }] },
        },
      },
    },
    {
      apiVersion: "v1",
      kind: "Service",
      metadata: { name: "echo", namespace: NS },
      spec: { selector: { app: "echo" }, ports: [{ port: 80, targetPort: 8080 }] },
    },
    {
      apiVersion: "v1",
      kind: "Service",
      metadata: { name: "alias", namespace: NS },
      spec: { type: "ExternalName", externalName: `echo.${NS}.svc.cluster.local` },
    },
  ],
};

describe("pod network stand-in, local control plane", () => {
  let cluster: LocalCluster;
  let network: PodNetwork | undefined;
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "pod-network-"));
  const echo = (plan: NetworkPlan) => plan.forwarders.find((f) => f.service === "echo");

  before(async () => {
    cluster = await startLocalCluster();
    await cluster.kubectl("delete", "namespace", NS, "--ignore-not-found", "--wait=true");
    await cluster.kubectl("create", "namespace", NS);
  });

  after(async () => {
    await network?.stop();
    fs.rmSync(tmp, { recursive: true, force: true });
    await cluster?.kubectl("delete", "namespace", NS, "--ignore-not-found", "--wait=false");
  });

  it("serves each pod address and the ClusterIP, and closes them when the pods go", async () => {
    await applyManifest(cluster, tmp);
    const hostsPath = path.join(tmp, "hosts");
    network = await startPodNetwork({ kubeconfig: cluster.kubeconfigPath, namespaces: [NS], hostsPath });
    const plan = await network.waitFor((p) => p.responders.length === 2 && echo(p)?.backends.length === 2);
    expect(network.errors()).to.deep.equal([]);

    const pods = await cluster.kubectlJson<{ items: { metadata: { name: string }; status: { podIP: string } }[] }>(
      "-n",
      NS,
      "get",
      "pods",
      "-l",
      "app=echo",
    );
    expect(pods.items).to.have.length(2);
    for (const p of pods.items) {
      expect(p.status.podIP, "kwok's pod range is loopback").to.match(/^127\.64\./);
      const answer = await get(p.status.podIP, 8080, "/x");
      expect(answer).to.deep.include({ service: "echo", namespace: NS, pod: p.metadata.name, path: "/x" });
      expect(answer).to.deep.include({ method: "GET", host: `${p.status.podIP}:8080` });
    }

    const svc = await cluster.kubectlJson<{ spec: { clusterIP: string } }>("-n", NS, "get", "service", "echo");
    expect(svc.spec.clusterIP, "the service range is loopback").to.match(/^127\.96\./);
    const names = pods.items.map((p) => p.metadata.name);
    const seen = new Set<string>();
    for (let i = 0; i < 4; i++) {
      const answer = await get(svc.spec.clusterIP, 80, "/y");
      expect(answer).to.deep.include({ service: "echo", namespace: NS, path: "/y" });
      expect(names).to.include(answer.pod);
      seen.add(answer.pod);
    }
    expect(seen.size, "round robin reaches both pods").to.equal(2);

    const hosts = network.hostsFile().split("\n");
    expect(hosts).to.include("127.0.0.1 localhost");
    expect(fs.readFileSync(hostsPath, "utf8"), "the hosts file on disk").to.equal(network.hostsFile());
    expect(hosts).to.include(`${svc.spec.clusterIP} echo.${NS}.svc.cluster.local echo.${NS}.svc`);
    // The ExternalName Service is a name only: no socket, no line of its own; its target is the line above.
    expect(network.hostsFile()).not.to.include(`alias.${NS}`);
    const alias = await cluster.kubectlJson<{ spec: { externalName: string } }>("-n", NS, "get", "service", "alias");
    const line = hosts.find((l) => l.split(" ").slice(1).includes(alias.spec.externalName));
    expect(line?.split(" ")[0], `${alias.spec.externalName} resolves to the ClusterIP`).to.equal(svc.spec.clusterIP);
    expect(plan.forwarders.map((f) => f.service)).to.deep.equal(["echo"]);
    const listening = network.listening();
    expect(listening).to.have.length(3);
    for (const l of listening) expect(isLoopbackIPv4(l.address), `${l.kind} on ${l.address}`).to.equal(true);

    await cluster.kubectl("-n", NS, "scale", "deployment", "echo", "--replicas=0");
    await network.waitFor((p) => p.responders.length === 0 && echo(p)?.backends.length === 0);
    expect(network.listening().map((l) => l.kind)).to.deep.equal(["service"]);
    for (const p of pods.items) {
      const refused = await get(p.status.podIP, 8080, "/gone").catch((e: NodeJS.ErrnoException) => e.code);
      expect(refused, `${p.metadata.name} closed`).to.equal("ECONNREFUSED");
    }
    // With no Ready pod the ClusterIP still accepts but resets, as kube-proxy rejects a Service without endpoints.
    const reset = await get(svc.spec.clusterIP, 80, "/none").catch((e: NodeJS.ErrnoException) => e.code);
    expect(reset).to.be.oneOf(["ECONNRESET", "ECONNREFUSED", "EPIPE"]);
  });
});

async function applyManifest(cluster: LocalCluster, dir: string) {
  const file = path.join(dir, "manifest.json");
  fs.writeFileSync(file, JSON.stringify(manifest));
  await cluster.kubectl("apply", "-f", file);
}
