// The real Traefik (K3s's bundled version, built from the Go module proxy) against the local control plane with
// Traefik's own CRDs: an Ingress of class traefik with a traefik.io Middleware attached by annotation becomes routers
// with the right rules, an ExternalName backend is accepted (the cluster stack allows them, as it does on K3s), and
// requests through the TLS entrypoint are answered: 404 for an unknown host, and the ExternalName path delivered, with
// its prefix stripped, to a listener on 127.0.0.1 that Traefik finds through its private /etc/hosts, and 502 for the
// ClusterIP path (nativeLB dials the ClusterIP, a loopback address in this cluster, where nothing listens here; pod
// stand-ins that answer there are test/e2e/support/podNetwork.ts's job).
import { expect } from "chai";
import { execFile } from "node:child_process";
import * as fs from "node:fs";
import * as http from "node:http";
import * as os from "node:os";
import * as path from "node:path";
import { promisify } from "node:util";
import { stringify } from "yaml";
import { PROJECT_DIR } from "../../automation/stack";
import { LocalCluster, startLocalCluster } from "./support/localCluster";
import { freePort } from "./support/serviceProcess";
import { Router, startTraefik, Traefik } from "./support/traefik";

const run = promisify(execFile);
const NS = "qa-traefik-e2e";
const HOST = "services-verbu-1.qa.local";
const EXTERNAL = "auth.other.svc.cluster.local";
// Its own cluster dir and ports (the shared cluster's base + 30; capacity tests use + 10 and + 20).
const BASE_DIR = process.env.QA_CLUSTER_DIR ?? path.join(os.homedir(), ".cache", "qa-k8s", "local-cluster");
const CLUSTER_ENV = {
  QA_CLUSTER_DIR: `${BASE_DIR}-traefik`,
  QA_CLUSTER_PORT: String(Number(process.env.QA_CLUSTER_PORT ?? 16443) + 30),
  QA_CLUSTER_WORKERS: "1",
};

function objects(externalPort: number): object[] {
  return [
    { apiVersion: "v1", kind: "Namespace", metadata: { name: NS } },
    {
      apiVersion: "v1",
      kind: "Service",
      metadata: { name: "auth", namespace: NS },
      spec: { type: "ClusterIP", ports: [{ name: "http", port: 80, targetPort: 8080 }] },
    },
    {
      apiVersion: "v1",
      kind: "Service",
      metadata: { name: "auth-other", namespace: NS },
      spec: { type: "ExternalName", externalName: EXTERNAL, ports: [{ name: "http", port: externalPort }] },
    },
    {
      apiVersion: "traefik.io/v1alpha1",
      kind: "Middleware",
      metadata: { name: "strip", namespace: NS },
      spec: { stripPrefix: { prefixes: ["/auth", "/other"] } },
    },
    {
      apiVersion: "networking.k8s.io/v1",
      kind: "Ingress",
      metadata: {
        name: "services",
        namespace: NS,
        annotations: { "traefik.ingress.kubernetes.io/router.middlewares": `${NS}-strip@kubernetescrd` },
      },
      spec: {
        ingressClassName: "traefik",
        rules: [
          {
            host: HOST,
            http: {
              paths: [
                { path: "/auth", pathType: "Prefix", backend: { service: { name: "auth", port: { number: 80 } } } },
                {
                  path: "/other",
                  pathType: "Prefix",
                  backend: { service: { name: "auth-other", port: { number: externalPort } } },
                },
              ],
            },
          },
        ],
      },
    },
  ];
}

async function curl(port: number, host: string, urlPath: string): Promise<{ code: string; body: string }> {
  const { stdout } = await run("curl", [
    "-sS",
    "-k",
    "--max-time",
    "10",
    "--resolve",
    `${host}:${port}:127.0.0.1`,
    "-w",
    "\n%{http_code}",
    `https://${host}:${port}${urlPath}`,
  ]);
  const at = stdout.lastIndexOf("\n");
  return { body: stdout.slice(0, at), code: stdout.slice(at + 1) };
}

describe("Traefik (real, K3s's version) on the local control plane", function () {
  this.timeout(30 * 60_000);
  let cluster: LocalCluster;
  let traefik: Traefik | undefined;
  let backend: http.Server | undefined;
  let tmp: string;
  let seen: { url?: string; host?: string }[] = [];

  before(async () => {
    cluster = await startLocalCluster(CLUSTER_ENV);
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), "qa-traefik-e2e-"));
    // The ExternalName target: a plain listener on loopback standing in for auth in another namespace.
    const externalPort = await freePort();
    backend = http.createServer((req, res) => {
      seen.push({ url: req.url, host: req.headers.host });
      res.end(`other:${req.url}`);
    });
    await new Promise<void>((resolve) => backend!.listen(externalPort, "127.0.0.1", resolve));
    await cluster.kubectl("delete", "namespace", NS, "--ignore-not-found", "--wait=true");
    const manifest = path.join(tmp, "objects.yaml");
    fs.writeFileSync(
      manifest,
      objects(externalPort)
        .map((o) => stringify(o))
        .join("---\n"),
    );
    await cluster.kubectl("apply", "-f", manifest);
    const hostsFile = path.join(tmp, "hosts");
    fs.writeFileSync(hostsFile, `127.0.0.1 localhost\n127.0.0.1 ${EXTERNAL}\n`);
    traefik = await startTraefik({ kubeconfig: cluster.kubeconfigPath, namespaces: [NS], hostsFile });
  });

  after(async () => {
    await traefik?.stop();
    backend?.close();
    await cluster?.kubectl("delete", "namespace", NS, "--ignore-not-found", "--wait=false").catch(() => undefined);
    if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
    await run("bash", [path.join(PROJECT_DIR, "scripts", "local-cluster"), "stop"], {
      env: { ...process.env, ...CLUSTER_ENV },
    }).catch(() => undefined);
  });

  const forPath = (routers: Router[], p: string) =>
    routers.filter((r) => r.provider === "kubernetes" && r.rule.includes(`PathPrefix("${p}")`));
  // The two providers load independently: until the CRD provider's first configuration arrives, the Ingress's routers
  // exist but are disabled for a missing middleware, so wait for them to be enabled.
  const ready = (routers: Router[]) =>
    ["/auth", "/other"].every(
      (p) => forPath(routers, p).length > 0 && forPath(routers, p).every((r) => r.status === "enabled"),
    );

  it("installs Traefik's own CRDs (all traefik.io kinds, real schemas) and the IngressClass", async () => {
    const crds = await cluster.kubectlJson<{ items: { metadata: { name: string } }[] }>("get", "crd");
    const names = crds.items.map((c) => c.metadata.name).filter((n) => n.endsWith(".traefik.io"));
    expect(names).to.include.members(["middlewares.traefik.io", "ingressroutes.traefik.io", "tlsoptions.traefik.io"]);
    expect(names.length).to.be.at.least(10);
    // A real schema: a value of the wrong type is refused, where the old open-schema CRD accepted anything.
    const bad = path.join(tmp, "bad.yaml");
    fs.writeFileSync(
      bad,
      stringify({
        apiVersion: "traefik.io/v1alpha1",
        kind: "Middleware",
        metadata: { name: "bad", namespace: NS },
        spec: { stripPrefix: { prefixes: "/not-a-list" } },
      }),
    );
    const err = await cluster.kubectl("apply", "-f", bad).then(
      () => "",
      (e: { stderr?: string }) => e.stderr ?? String(e),
    );
    expect(err).to.match(/prefixes/);
    const cls = await cluster.kubectlJson<{ spec: { controller: string } }>("get", "ingressclass", "traefik");
    expect(cls.spec.controller).to.equal("traefik.io/ingress-controller");
  });

  it("turns the Ingress into routers with the host and path rules and the Middleware attached", async () => {
    const routers = await traefik!.waitForRouters(ready, 60_000);
    for (const p of ["/auth", "/other"]) {
      for (const r of forPath(routers, p)) {
        // The Ingress provider quotes with %q; Prefix paths match character-wise, as on K3s (no strictPrefixMatching).
        expect(r.rule).to.equal(`Host("${HOST}") && PathPrefix("${p}")`);
        expect(r.middlewares, JSON.stringify(r)).to.deep.equal([`${NS}-strip@kubernetescrd`]);
        expect(r.error ?? []).to.deep.equal([]);
      }
    }
    expect(forPath(routers, "/auth")[0].service).to.equal(`${NS}-auth-80`);
    expect(forPath(routers, "/other")[0].service).to.match(new RegExp(`^${NS}-auth-other-\\d+$`));
  });

  it("accepts the ExternalName backend", async () => {
    const res = await fetch(`http://127.0.0.1:${traefik!.apiPort}/api/http/services`);
    const services = (await res.json()) as {
      name: string;
      status: string;
      loadBalancer?: { servers?: { url: string }[] };
    }[];
    const other = services.find((s) => s.name.includes("auth-other"));
    expect(other, JSON.stringify(services)).to.not.equal(undefined);
    expect(other!.status).to.equal("enabled");
    expect(other!.loadBalancer?.servers?.[0].url).to.match(
      new RegExp(`^http://${EXTERNAL.replace(/\./g, "\\.")}:\\d+$`),
    );
    // nativeLB: the ClusterIP Service is one server at its ClusterIP, no EndpointSlices needed.
    const auth = services.find((s) => s.name.includes(`${NS}-auth-`) && !s.name.includes("auth-other"));
    const svc = await cluster.kubectlJson<{ spec: { clusterIP: string } }>("get", "service", "auth", "-n", NS);
    expect(auth?.loadBalancer?.servers?.map((s) => s.url)).to.deep.equal([`http://${svc.spec.clusterIP}:80`]);
    expect(traefik!.log()).to.not.match(/externalName services not allowed/i);
  });

  it("answers over TLS: 404 for an unknown host, 502 for the ClusterIP without a listener, ExternalName delivered stripped", async () => {
    expect((await curl(traefik!.httpsPort, "unknown.qa.local", "/")).code).to.equal("404");
    // Only dial it when it is loopback: nothing a test sends may leave the machine.
    const svc = await cluster.kubectlJson<{ spec: { clusterIP: string } }>("get", "service", "auth", "-n", NS);
    expect(svc.spec.clusterIP).to.match(/^127\./);
    expect((await curl(traefik!.httpsPort, HOST, "/auth/login")).code).to.equal("502");
    seen = [];
    const res = await curl(traefik!.httpsPort, HOST, "/other/session?x=1");
    expect(res.code, `${res.body}\n${traefik!.log()}`).to.equal("200");
    expect(res.body).to.equal("other:/session?x=1");
    expect(seen[0]).to.deep.include({ url: "/session?x=1" });
  });
});
