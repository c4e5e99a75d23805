// The capacity guard in overlay mode with the REAL engine, registry, scheduler and kwok nodes, on a small simulated
// cluster of its own (1 server + 1 worker, 4 pod slots each, no headroom): the baseline (stack master, a full
// 5-service environment) takes 5 of the 8 slots; overlays that build only desktop-web (1 pod, no NSQ of its own) are
// admitted while a slot is free, the next one is refused with the ticket and the numbers (pods run out) and creates
// nothing, no admitted pod stays Pending, and an overlay has fewer pods than the full environment (counted).
// Fails at h-overlay 710be99: the driver's pre-flight (automation/capacityGuard.ts needsOf) still sizes an overlay as
// the full catalog (5 pods here), so VERBU-9401 is refused with 3 slots free although it runs 1 pod.
import { expect } from "chai";
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { parse, stringify } from "yaml";
import { Driver } from "../../automation/driver";
import { CapacityError, exitCodeOf } from "../../automation/exitCodes";
import { PROJECT_DIR } from "../../automation/stack";
import type { ConfigEntry } from "../../automation/stack";
import { parseCatalog } from "../../environments/catalog";
import { LocalRegistry } from "../../scripts/lib/localRegistry";
import { listPods, notRunning, podsPerNamespace } from "./support/capacityRun";
import { Engine, privateEngine, remainingStacks } from "./support/engine";
import { LocalCluster, startLocalCluster } from "./support/localCluster";

const SMALL = ["nsqd", "nsqlookupd", "auth", "wallet", "desktop-web"];
const BASELINE = "master";
const OVERLAYS = ["VERBU-9401", "VERBU-9402", "VERBU-9403"];
const REFUSED = "VERBU-9404";
const FEATURE_BUILT = ["desktop-web"];
// Its own cluster dir and ports (the shared cluster's base + 20; capacity.e2e.ts uses base + 10): nodes keep their
// size once made.
const BASE_DIR = process.env.QA_CLUSTER_DIR ?? path.join(os.homedir(), ".cache", "qa-k8s", "local-cluster");
const CLUSTER_ENV = {
  QA_CLUSTER_DIR: `${BASE_DIR}-overlay-small`,
  QA_CLUSTER_PORT: String(Number(process.env.QA_CLUSTER_PORT ?? 16443) + 20),
  QA_CLUSTER_WORKERS: "1",
  QA_CLUSTER_NODE_PODS: "4",
};
const SLOTS = 2 * 4;

describe("capacity guard in overlay mode, real engine, small local cluster", function () {
  this.timeout(40 * 60_000);
  let engine: Engine;
  let registry: LocalRegistry;
  let cluster: LocalCluster;
  let tmp: string;
  let catalogFile: string;
  let kubeconfig: string;
  let driver: Driver;
  const made: string[] = [];

  // Exact pod slots decide: no headroom.
  const config = (overlay: boolean): Record<string, ConfigEntry> => ({
    registry: { value: registry.address },
    registryInsecure: { value: "true" },
    kubeconfig: { value: kubeconfig, secret: true },
    catalog: { value: catalogFile },
    "capacity.headroomCpu": { value: "0" },
    "capacity.headroomMemory": { value: "0" },
    "capacity.headroomPods": { value: "0" },
    ...(overlay ? { mode: { value: "overlay" }, baseline: { value: BASELINE } } : {}),
  });

  const namespaceOf = (ticket: string) => ticket.toLowerCase();
  const allNamespaces = () => [BASELINE, ...OVERLAYS, REFUSED].map(namespaceOf);

  async function namespaces(): Promise<string[]> {
    return (await cluster.kubectl("get", "namespaces", "-o", "name"))
      .split("\n")
      .map((n) => n.replace(/^namespace\//, ""));
  }

  before(async () => {
    cluster = await startLocalCluster(CLUSTER_ENV);
    for (const ns of allNamespaces())
      await cluster.kubectl("delete", "namespace", ns, "--ignore-not-found", "--wait=true");
    kubeconfig = fs.readFileSync(cluster.kubeconfigPath, "utf8");
    engine = await privateEngine("capacity-overlay");
    registry = await LocalRegistry.start();
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), "qa-k8s-capacity-overlay-"));
    const full = parse(fs.readFileSync("environments/catalog.yaml", "utf8"));
    full.services = full.services.filter((s: { name: string }) => SMALL.includes(s.name));
    catalogFile = path.join(tmp, "catalog.yaml");
    fs.writeFileSync(catalogFile, stringify(full));
    const catalog = parseCatalog(stringify(full), "catalog.yaml");
    await registry.pushApps(catalog, "master_latest", "build 1");
    for (const ticket of [...OVERLAYS, REFUSED])
      await registry.pushApps(
        catalog.filter((s) => FEATURE_BUILT.includes(s.name)),
        `${ticket}_latest`,
        ticket,
      );
    for (const ticket of [BASELINE, ...OVERLAYS, REFUSED])
      if (!fs.existsSync(path.join(PROJECT_DIR, `Pulumi.${namespaceOf(ticket)}.yaml`))) made.push(ticket);
    driver = new Driver({ envVars: engine.envVars });
  });

  after(async () => {
    // Overlays first: they point into the baseline's namespace.
    for (const ticket of OVERLAYS) await driver?.destroy(ticket).catch(() => undefined);
    await driver?.destroy(BASELINE).catch(() => undefined);
    for (const ticket of made) fs.rmSync(path.join(PROJECT_DIR, `Pulumi.${namespaceOf(ticket)}.yaml`), { force: true });
    await registry?.stop();
    engine?.dispose();
    if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
    spawnSync("bash", [path.join(PROJECT_DIR, "scripts", "local-cluster"), "stop"], {
      env: { ...process.env, ...CLUSTER_ENV },
      stdio: "inherit",
    });
  });

  it("deploys the baseline as a full environment: one pod per catalog service, all Running", async () => {
    await driver.deploy(BASELINE, { config: config(false), services: [] });
    const pods = await listPods(cluster);
    expect(podsPerNamespace(pods, [BASELINE]).get(BASELINE)).to.equal(SMALL.length);
    expect(notRunning(pods, [BASELINE])).to.deep.equal([]);
  });

  it("admits overlays while a slot is free; each has fewer pods than the full environment; none is Pending", async () => {
    for (const ticket of OVERLAYS) {
      const result = await driver.deploy(ticket, { config: config(true), services: FEATURE_BUILT });
      expect(result.featureServices, ticket).to.deep.equal(FEATURE_BUILT);
    }
    const pods = await listPods(cluster);
    const counts = podsPerNamespace(pods, [BASELINE, ...OVERLAYS].map(namespaceOf));
    for (const ticket of OVERLAYS) {
      const count = counts.get(namespaceOf(ticket)) ?? 0;
      expect(count, `${ticket}: only its feature-built service runs`).to.equal(FEATURE_BUILT.length);
      expect(count, `${ticket} vs the full baseline`).to.be.lessThan(counts.get(BASELINE) ?? 0);
    }
    const used = [...counts.values()].reduce((a, b) => a + b, 0);
    expect(used, "the baseline and the overlays fill every pod slot").to.equal(SLOTS);
    expect(notRunning(pods, allNamespaces())).to.deep.equal([]);
  });

  it("refuses the next overlay with exit code 3, its ticket and the pods it needs, and creates nothing of it", async () => {
    const error = await driver
      .deploy(REFUSED, { config: config(true), services: FEATURE_BUILT })
      .catch((e: unknown) => e);
    expect(error).to.be.instanceOf(CapacityError);
    expect(exitCodeOf(error)).to.equal(3);
    // What the overlay itself needs (1 pod, not the full environment's 5), against 0 free pod slots: so no node has
    // a slot for its one pod either.
    expect((error as Error).message, (error as Error).message).to.match(
      /^VERBU-9404 needs \d+\.\d\d CPU \/ \d+\.\d GiB \/ 1 pods; free: \d+\.\d\d CPU \/ \d+\.\d GiB \/ 0 pods \(2 nodes\); 0 more environments of this size fit; its largest pod \(desktop-web: \d+\.\d\d CPU \/ \d+\.\d GiB\) fits on no node$/,
    );
    expect(await namespaces()).to.not.include(namespaceOf(REFUSED));
    expect(
      remainingStacks(engine).filter((f) => f.includes(namespaceOf(REFUSED))),
      "no stack, so no resources",
    ).to.deep.equal([]);
    expect((await driver.list()).map((e) => e.ticket)).to.not.include(REFUSED);
    expect(notRunning(await listPods(cluster), allNamespaces()), "the refusal left nothing Pending").to.deep.equal([]);
  });
});
