// status() and logs() of the driver against the local control plane: what the kubelet (kwok here) and the scheduler
// write is read back per service. One service is made to crash (kwok's crash-loop Stage, which writes what the kubelet
// writes for a crashing container), one cannot be scheduled (the real scheduler's message), and pod logs come through
// the API server from kwok's kubelet-like server, which serves the files a ClusterLogs object names.
import { expect } from "chai";
import { execFile } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { parse, stringify } from "yaml";
import { promisify } from "node:util";
import { Driver } from "../../automation/driver";
import { PROJECT_DIR } from "../../automation/stack";
import { BadInputError } from "../../automation/exitCodes";
import type { ConfigEntry } from "../../automation/stack";
import type { EnvironmentStatus, ServiceStatus } from "../../automation/observeTypes";
import { parseCatalog } from "../../environments/catalog";
import { LocalRegistry } from "../../scripts/lib/localRegistry";
import { Engine, privateEngine } from "./support/engine";
import { LocalCluster, startLocalCluster } from "./support/localCluster";

const TICKET = "VERBU-9301";
const NS = "verbu-9301";
const SMALL = ["nsqd", "nsqlookupd", "auth", "wallet", "desktop-web"];

describe("driver status and logs, local control plane", function () {
  this.timeout(20 * 60_000);
  let engine: Engine;
  let registry: LocalRegistry;
  let cluster: LocalCluster;
  let tmp: string;
  let driver: Driver;
  let config: Record<string, ConfigEntry>;

  const service = (status: EnvironmentStatus, name: string): ServiceStatus => {
    const found = status.services.find((s) => s.service === name);
    if (!found) throw new Error(`no status for ${name}: ${status.services.map((s) => s.service).join(", ")}`);
    return found;
  };
  async function until(what: string, check: (status: EnvironmentStatus) => boolean): Promise<EnvironmentStatus> {
    let last: EnvironmentStatus | undefined;
    for (let i = 0; i < 90; i++) {
      last = await driver.status(TICKET);
      if (check(last)) return last;
      await new Promise((resolve) => setTimeout(resolve, 1000));
    }
    throw new Error(`${what} not seen in 90 s: ${JSON.stringify(last?.services)}`);
  }

  before(async () => {
    cluster = await startLocalCluster();
    await cluster.kubectl("delete", "namespace", NS, "--ignore-not-found", "--timeout=180s");
    engine = await privateEngine("status");
    registry = await LocalRegistry.start();
    const catalog = parseCatalog(fs.readFileSync("environments/catalog.yaml", "utf8"), "catalog.yaml");
    await registry.pushApps(catalog, "master_latest", "build 1");
    await registry.push("bu/auth", `${TICKET}_latest`, "auth branch build");
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), "qa-k8s-status-"));
    const full = parse(fs.readFileSync("environments/catalog.yaml", "utf8"));
    full.services = full.services.filter((s: { name: string }) => SMALL.includes(s.name));
    fs.writeFileSync(path.join(tmp, "catalog.yaml"), stringify(full));
    config = {
      registry: { value: registry.address },
      registryInsecure: { value: "true" },
      kubeconfig: { value: fs.readFileSync(cluster.kubeconfigPath, "utf8"), secret: true },
      catalog: { value: path.join(tmp, "catalog.yaml") },
    };
    driver = new Driver({ envVars: engine.envVars });
    await driver.deploy(TICKET, { config });
  });

  after(async () => {
    await cluster?.kubectl("delete", "clusterlogs", NS, "--ignore-not-found");
    await driver?.destroy(TICKET).catch(() => undefined);
    await registry?.stop();
    engine?.dispose();
    if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
  });

  it("shows every service active with no restarts, the branch's image marked, and who deployed when", async () => {
    const status = await driver.status(TICKET);
    expect(status.exists).to.equal(true);
    expect(status.services.map((s) => s.service)).to.have.members(SMALL);
    for (const s of status.services) expect(s, s.service).to.include({ state: "active", restartCount: 0 });
    expect(service(status, "auth")).to.include({ tag: `${TICKET}_latest`, builtOnBranch: true });
    expect(service(status, "wallet")).to.include({ tag: "master_latest", builtOnBranch: false });
    expect(service(status, "auth").digest).to.match(/^sha256:[0-9a-f]{64}$/);
    expect(status.record?.deployedBy).to.be.a("string").and.not.equal("");
    expect(status.url).to.match(/^https:\/\/.*verbu-9301/);
    expect(Object.keys(status.appLinks).length).to.be.greaterThan(0);
    expect(status.ageMs).to.be.greaterThan(0);
  });

  it("a crashing service is failing with CrashLoopBackOff, its last exit and a rising restart count", async () => {
    await cluster.kubectl(
      "-n",
      NS,
      "patch",
      "deployment",
      "wallet",
      "--type=merge",
      "-p",
      JSON.stringify({ spec: { template: { metadata: { annotations: { "qa-k8s.test/crash-loop": "true" } } } } }),
    );
    const first = await until("wallet failing", (s) => service(s, "wallet").state === "failing");
    expect(service(first, "wallet").reason).to.match(/CrashLoopBackOff \(last exit: Error, code 1\), \d+ restarts$/);
    const later = await until(
      "restarts rising",
      (s) => service(s, "wallet").restartCount > service(first, "wallet").restartCount,
    );
    expect(service(later, "wallet").restartCount).to.be.greaterThan(0);
    expect(service(later, "auth").state).to.equal("active");
  });

  it("a service no node can take is pending with the scheduler's own message", async () => {
    await cluster.kubectl(
      "-n",
      NS,
      "patch",
      "deployment",
      "desktop-web",
      "--type=merge",
      "-p",
      JSON.stringify({ spec: { template: { spec: { nodeSelector: { "qa-k8s.test/no-such-node": "x" } } } } }),
    );
    const status = await until("desktop-web pending", (s) => service(s, "desktop-web").state === "pending");
    expect(service(status, "desktop-web").reason).to.match(
      /Unschedulable: 0\/\d+ nodes are available: .*node affinity\/selector/,
    );
  });

  it("logs: every replica's lines with its pod, tail and previous honoured, through the API server", async () => {
    const current = path.join(tmp, "auth.log");
    const previous = path.join(tmp, "auth.previous.log");
    // The CRI log format the kubelet writes and kwok reads back: time, stream, partial/full tag, text.
    fs.writeFileSync(
      current,
      ["started auth", "GET /health 200", "GET /login 200"]
        .map((t, i) => `2026-12-02T10:00:0${i}.000000000Z stdout F ${t}\n`)
        .join(""),
    );
    fs.writeFileSync(previous, "2026-12-02T09:59:00.000000000Z stderr F panic: nsqd unreachable\n");
    const clusterLogs = path.join(tmp, "clusterlogs.yaml");
    fs.writeFileSync(
      clusterLogs,
      stringify({
        apiVersion: "kwok.x-k8s.io/v1alpha1",
        kind: "ClusterLogs",
        metadata: { name: NS },
        spec: {
          selector: { matchNamespaces: [NS] },
          logs: [{ containers: ["auth"], logsFile: current, previousLogsFile: previous, follow: true }],
        },
      }),
    );
    await cluster.kubectl("apply", "-f", clusterLogs);
    await cluster.kubectl("-n", NS, "scale", "deployment", "auth", "--replicas=2");
    await until(
      "auth at 2 replicas",
      (s) => service(s, "auth").readyReplicas === 2 && service(s, "auth").state === "active",
    );

    const streamed: string[] = [];
    const lines = await driver.logs(TICKET, "auth", { onLine: (l) => streamed.push(l.text) });
    const pods = [...new Set(lines.map((l) => l.pod))];
    expect(pods).to.have.length(2);
    for (const pod of pods) {
      expect(lines.filter((l) => l.pod === pod).map((l) => l.text)).to.deep.equal([
        "started auth",
        "GET /health 200",
        "GET /login 200",
      ]);
    }
    expect(streamed).to.have.length(6);
    const tail = await driver.logs(TICKET, "auth", { tail: 1 });
    expect(tail.map((l) => l.text)).to.deep.equal(["GET /login 200", "GET /login 200"]);
    const crashed = await driver.logs(TICKET, "auth", { previous: true });
    expect(crashed.map((l) => l.text)).to.deep.equal(["panic: nsqd unreachable", "panic: nsqd unreachable"]);

    // follow: the last line, then lines written after the call, reach onLine; the call ends when the signal aborts
    // (and at the latest after 30 s, so that a follow which never delivers fails instead of hanging).
    const controller = new AbortController();
    const safety = setTimeout(() => controller.abort(), 30_000);
    const followed: string[] = [];
    const following = driver.logs(TICKET, "auth", {
      follow: true,
      tail: 1,
      signal: controller.signal,
      onLine: (l) => {
        followed.push(l.text);
        if (followed.length === 4) controller.abort();
      },
    });
    await new Promise((resolve) => setTimeout(resolve, 2000));
    fs.appendFileSync(current, "2026-12-02T10:00:09.000000000Z stdout F GET /logout 200\n");
    await following;
    clearTimeout(safety);
    expect(followed.sort()).to.deep.equal(["GET /login 200", "GET /login 200", "GET /logout 200", "GET /logout 200"]);
  });

  it("a service without pods and an unknown ticket are told apart, and status never creates a stack", async () => {
    const error = await driver.logs(TICKET, "no-such-service").catch((e) => e);
    expect(error).to.be.instanceOf(BadInputError);
    expect(error.message).to.contain('service "no-such-service" has no pod');
    const unknown = await driver.status("VERBU-9399");
    expect(unknown).to.include({ exists: false, namespace: "verbu-9399" });
    expect((await driver.list()).map((e) => e.ticket)).to.deep.equal([TICKET]);
  });

  it("qa-env status and logs print the same from the command line, as one JSON document", async () => {
    const qaEnv = async (...args: string[]) => {
      const { stdout } = await promisify(execFile)(path.join(PROJECT_DIR, "scripts", "qa-env"), args, {
        env: { ...process.env, ...engine.envVars },
      });
      return JSON.parse(stdout);
    };
    const status = await qaEnv("status", TICKET, "--json");
    expect(status.ok).to.equal(true);
    const wallet = status.result.services.find((s: ServiceStatus) => s.service === "wallet");
    expect(wallet.state).to.equal("failing");
    const logs = await qaEnv("logs", TICKET, "auth", "--tail", "1", "--json");
    expect(logs.ok).to.equal(true);
    expect(JSON.stringify(logs.result)).to.contain("GET /logout 200");
  });
});
