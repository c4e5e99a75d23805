// Routing proven with real HTTPS requests through a real Traefik (the version K3s bundles, built from the Go module
// proxy) on the local control plane: a full environment (also the baseline) and an overlay of two feature-built
// services beside it, deployed by the real engine. kwok's pods live on loopback addresses where the pod network
// stand-ins answer with the pod's service and namespace (support/podNetwork.ts), Traefik reaches Services at their
// ClusterIPs and resolves ExternalName targets through a private /etc/hosts built from the cluster's Services, as
// CoreDNS would answer them. Every request is `curl --resolve <host>:<port>:127.0.0.1` against the environment's TLS
// secret, so nothing leaves the machine.
import { expect } from "chai";
import { execFile } from "node:child_process";
import { X509Certificate } from "node:crypto";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import * as tls from "node:tls";
import { promisify } from "node:util";
import type { Stack } from "@pulumi/pulumi/automation";
import { openStack } from "../../automation/stack";
import { parseCatalog } from "../../environments/catalog";
import { ENVIRONMENT_DEFAULTS } from "../../environments/config";
import { overlayPlan } from "../../environments/overlay";
import { LocalRegistry } from "../../scripts/lib/localRegistry";
import { Engine, privateEngine } from "./support/engine";
import { LocalCluster, startLocalCluster, testClusterEnv } from "./support/localCluster";
import { PodNetwork, startPodNetwork } from "./support/podNetwork";
import { Router, startTraefik, Traefik } from "./support/traefik";

const run = promisify(execFile);
const BASELINE = "verbu-9720";
const OVERLAY = "verbu-9721";
const FEATURE_BUILT = ["auth", "wallet"];
const DOMAIN = "qa.example.test";
const PROBE = "/routing-probe";
const CATALOG = parseCatalog(fs.readFileSync("environments/catalog.yaml", "utf8"), "catalog.yaml");
const ROUTES = CATALOG.flatMap((s) => s.ingress.map((route) => ({ service: s.name, ...route })));
const WITH_PORT = CATALOG.filter((s) => s.port !== undefined).map((s) => s.name);
const PLAN = overlayPlan(CATALOG, FEATURE_BUILT);

interface Answer {
  status: number;
  body: { service?: string; namespace?: string; path?: string; host?: string };
  raw: string;
}

interface ServiceList {
  items: { metadata: { name: string }; spec: { type: string; externalName?: string; clusterIP?: string } }[];
}

describe("routing through a real Traefik, local control plane", function () {
  this.timeout(40 * 60_000);
  let cluster: LocalCluster;
  let engine: Engine;
  let registry: LocalRegistry;
  let network: PodNetwork | undefined;
  let traefik: Traefik | undefined;
  let tmp: string;
  let certFile: string;
  const stacks: Stack[] = [];
  const log: string[] = [];

  const host = (feature: string) => `services-${feature}.${DOMAIN}`;
  const get = async (feature: string, urlPath: string): Promise<Answer> => {
    const name = host(feature);
    const port = traefik!.httpsPort;
    const { stdout } = await run("curl", [
      ...["-sS", "--max-time", "15", "--cacert", certFile, "--resolve", `${name}:${port}:127.0.0.1`],
      ...["-w", "\n%{http_code}", `https://${name}:${port}${urlPath}`],
    ]);
    const cut = stdout.lastIndexOf("\n");
    const raw = stdout.slice(0, cut);
    let body = {};
    try {
      body = JSON.parse(raw);
    } catch {
      // Traefik's own answers (404 page not found, 502) are text: kept in `raw` for the failure message.
    }
    return { status: Number(stdout.slice(cut + 1)), body, raw };
  };
  /** What a pod behind `route` sees of a request to route.path + PROBE: the prefix gone when the route strips it. */
  const seenPath = (route: (typeof ROUTES)[number]) =>
    route.stripPrefix ? PROBE : `${route.path === "/" ? "" : route.path}${PROBE}`;
  const requestPath = (route: (typeof ROUTES)[number]) => `${route.path === "/" ? "" : route.path}${PROBE}`;

  /** Every catalog route on a feature's host, each answered by its service in the namespace expected: what went wrong. */
  const wrongRoutes = async (feature: string, namespaceOf: (route: (typeof ROUTES)[number]) => string) => {
    const wrong: string[] = [];
    for (const route of ROUTES) {
      const answer = await get(feature, requestPath(route));
      const want = { service: route.service, namespace: namespaceOf(route), path: seenPath(route) };
      const got = { service: answer.body.service, namespace: answer.body.namespace, path: answer.body.path };
      if (answer.status !== 200 || JSON.stringify(got) !== JSON.stringify(want))
        wrong.push(
          `${requestPath(route)} → ${answer.status} ${answer.raw.slice(0, 200)} (want ${JSON.stringify(want)})`,
        );
    }
    return wrong;
  };

  before(async () => {
    cluster = await startLocalCluster(testClusterEnv());
    for (const ns of [OVERLAY, BASELINE])
      await cluster.kubectl("delete", "namespace", ns, "--ignore-not-found", "--wait=true", "--timeout=180s");
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), "qa-k8s-routing-"));
    engine = await privateEngine("routing");
    registry = await LocalRegistry.start();
    await registry.pushApps(CATALOG, "master_latest", "build 1");
    for (const service of FEATURE_BUILT) await registry.push(`bu/${service}`, "VERBU-9721_latest", "branch build");
    const kubeconfig = fs.readFileSync(cluster.kubeconfigPath, "utf8");
    const config = (mode: string) => ({
      registry: { value: registry.address },
      registryInsecure: { value: "true" },
      kubeconfig: { value: kubeconfig, secret: true },
      domain: { value: DOMAIN },
      baseline: { value: BASELINE },
      mode: { value: mode },
    });
    for (const [name, mode] of [
      [BASELINE, "full"],
      [OVERLAY, "overlay"],
    ]) {
      const stack = await openStack({ stackName: name, envVars: engine.envVars, config: config(mode) });
      stacks.push(stack);
      const up = await stack.up({ onOutput: (out) => log.push(out) });
      expect(up.summary.result, `${name} (${mode})`).to.equal("succeeded");
    }
    // The environment's certificate, in the Secret every Ingress names (qa-k8s:tls.secretName, its default here).
    certFile = path.join(tmp, "tls.crt");
    const keyFile = path.join(tmp, "tls.key");
    await run("openssl", [
      ...["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", `/CN=*.${DOMAIN}`],
      ...["-addext", `subjectAltName=DNS:*.${DOMAIN}`, "-keyout", keyFile, "-out", certFile],
    ]);
    for (const ns of [BASELINE, OVERLAY])
      await cluster.kubectl(
        ...["-n", ns, "create", "secret", "tls", ENVIRONMENT_DEFAULTS.tlsSecretName],
        ...[`--cert=${certFile}`, `--key=${keyFile}`],
      );

    const hostsPath = path.join(tmp, "hosts");
    network = await startPodNetwork({ kubeconfig: cluster.kubeconfigPath, namespaces: [BASELINE, OVERLAY], hostsPath });
    // Every Service with a ClusterIP has a Ready pod behind it: the baseline's all, the overlay's own.
    const expectedForwarders = WITH_PORT.length + PLAN.deployed.filter((s) => WITH_PORT.includes(s)).length;
    await network.waitFor(
      (plan) => plan.forwarders.filter((f) => f.backends.length > 0).length >= expectedForwarders,
      5 * 60_000,
    );
    traefik = await startTraefik({
      kubeconfig: cluster.kubeconfigPath,
      namespaces: [BASELINE, OVERLAY],
      hostsFile: hostsPath,
    });
    // A router per route and host (rule "Host(`...`) && PathPrefix(`...`)"), enabled once its Service is resolved.
    const enabledFor = (routers: Router[], feature: string) =>
      routers.filter((r) => r.status === "enabled" && r.rule.includes(host(feature))).length;
    await traefik
      .waitForRouters(
        (routers) => enabledFor(routers, BASELINE) >= ROUTES.length && enabledFor(routers, OVERLAY) >= ROUTES.length,
        120_000,
      )
      .catch(async (error: Error) => {
        const routers = await traefik!.routers();
        const errors = traefik!
          .log()
          .split("\n")
          .filter((l) => / (ERR|WRN) /.test(l));
        const missing = [BASELINE, OVERLAY].flatMap((feature) =>
          ROUTES.filter(
            (route) =>
              !routers.some(
                (r) => r.status === "enabled" && r.rule.includes(host(feature)) && r.rule.includes(`"${route.path}"`),
              ),
          ).map((route) => `${feature} ${route.path} (${route.service})`),
        );
        const unwell = routers.filter((r) => r.status !== "enabled").map((r) => `${r.name} ${r.status} ${r.error}`);
        throw new Error(
          `${error.message.slice(0, 120)}…\nroutes without an enabled router: ${missing.join(", ")}\n` +
            `routers not enabled: ${unwell.join("; ") || "none"}\nTraefik:\n${errors.slice(-30).join("\n")}`,
        );
      });
  });

  after(async () => {
    await traefik?.stop();
    await network?.stop();
    for (const stack of [...stacks].reverse()) {
      await stack.destroy().catch(() => undefined);
      await stack.workspace.removeStack(stack.name).catch(() => undefined);
    }
    engine?.dispose();
    await registry?.stop();
    if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
  });

  it(`full mode: each of the catalog's ${ROUTES.length} routes reaches its own service's pod`, async () => {
    const wrong = await wrongRoutes(BASELINE, () => BASELINE);
    expect(wrong, `${wrong.length} of ${ROUTES.length} routes went wrong`).to.deep.equal([]);
    expect(ROUTES.length).to.be.greaterThan(40);
  });

  it("/eventbus/... reaches nsqd with the prefix stripped, query kept; an unknown host is Traefik's 404", async () => {
    const answer = await get(BASELINE, "/eventbus/pub?topic=bets");
    expect(answer.status, answer.raw).to.equal(200);
    expect(answer.body).to.include({ service: "nsqd", namespace: BASELINE, path: "/pub?topic=bets" });
    // The Host header as the client sent it (curl names the port when it is not 443).
    expect(answer.body.host).to.equal(`${host(BASELINE)}:${traefik!.httpsPort}`);
    expect((await get("verbu-1", "/auth")).status).to.equal(404);
  });

  it("serves the certificate of the environment's TLS secret, not Traefik's default", async () => {
    const served = await new Promise<tls.PeerCertificate>((resolve, reject) => {
      const socket = tls.connect(
        { host: "127.0.0.1", port: traefik!.httpsPort, servername: host(BASELINE), rejectUnauthorized: false },
        () => {
          resolve(socket.getPeerCertificate());
          socket.end();
        },
      );
      socket.on("error", reject);
    });
    const ours = new X509Certificate(fs.readFileSync(certFile));
    expect(served.fingerprint256).to.equal(ours.fingerprint256);
    expect(served.subject.CN).to.equal(`*.${DOMAIN}`);
  });

  it("overlay: the feature-built services' paths reach the overlay's pods, every other path the baseline's", async () => {
    expect(PLAN.deployed).to.include.members(FEATURE_BUILT);
    const reached = new Map<string, number>();
    const wrong = await wrongRoutes(OVERLAY, (route) => {
      const namespace = PLAN.deployed.includes(route.service) ? OVERLAY : BASELINE;
      reached.set(namespace, (reached.get(namespace) ?? 0) + 1);
      return namespace;
    });
    expect(wrong, `${wrong.length} of ${ROUTES.length} routes went wrong`).to.deep.equal([]);
    console.log(
      `      overlay host: ${reached.get(OVERLAY)} routes to ${OVERLAY}, ${reached.get(BASELINE)} to ${BASELINE}`,
    );
    expect(reached.get(OVERLAY)).to.be.at.least(FEATURE_BUILT.length);
  });

  it("overlay: in-cluster names resolve to the baseline's Services (objects, the hosts file, a connection)", async () => {
    const services = (await cluster.kubectlJson<ServiceList>("-n", OVERLAY, "get", "services")).items;
    const baseline = new Map(
      (await cluster.kubectlJson<ServiceList>("-n", BASELINE, "get", "services")).items.map((s) => [
        s.metadata.name,
        s,
      ]),
    );
    const hosts = fs.readFileSync(path.join(tmp, "hosts"), "utf8");
    for (const s of services) {
      if (PLAN.deployed.includes(s.metadata.name)) {
        expect(s.spec.type, s.metadata.name).to.equal("ClusterIP");
        continue;
      }
      const target = `${s.metadata.name}.${BASELINE}.svc.cluster.local`;
      expect(s.spec, s.metadata.name).to.include({ type: "ExternalName", externalName: target });
      const clusterIP = baseline.get(s.metadata.name)!.spec.clusterIP!;
      expect(hosts, target).to.match(
        new RegExp(`^${clusterIP.replace(/\./g, "\\.")}\\s.*${target.replace(/\./g, "\\.")}`, "m"),
      );
    }
    // The resolver path Traefik uses (nsswitch files through the bind-mounted /etc/hosts), for one name.
    const nsqd = `nsqd.${BASELINE}.svc.cluster.local`;
    const { stdout } = await run("unshare", [
      ...["--mount", "sh", "-c", 'mount --bind "$1" /etc/hosts && getent hosts "$2"', "sh"],
      ...[path.join(tmp, "hosts"), nsqd],
    ]);
    expect(stdout.split(/\s+/)[0]).to.equal(baseline.get("nsqd")!.spec.clusterIP);
    const answer = await fetch(`http://${baseline.get("nsqd")!.spec.clusterIP}:4151/ping`);
    expect(await answer.json()).to.include({ service: "nsqd", namespace: BASELINE, path: "/ping" });
  });
});
