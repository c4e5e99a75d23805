// `npm run bench:e2e` (capacity part): the capacity guard's figures on a dedicated local control plane shaped like
// the seed's cluster (1 server + 5 workers × 4 CPU / 7.8 GiB / 110 pods; the server node untainted, as K3s leaves it).
// Full environments are deployed through the Driver until the guard refuses; after they are destroyed, the baseline
// (stack master) and overlay environments (1–5 feature-built services each, via featureServices) until it refuses
// again. Printed, never asserted: how many fit, the refusal messages, pods per environment counted on the cluster,
// time to ready (the driver's durations), pods not Running after each admission phase, and the wall time.
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { spawnSync } from "node:child_process";
import { DEFAULT_MAX_CONCURRENT_DEPLOYS, Driver } from "../../automation/driver";
import type { ConfigEntry } from "../../automation/stack";
import { PROJECT_DIR } from "../../automation/stack";
import type { DeployResult } from "../../automation/types";
import { catalogNeeds } from "../../environments/capacity";
import { CAPACITY_DEFAULTS, capacitySettings } from "../../environments/capacityGuard";
import { parseCatalog } from "../../environments/catalog";
import { featureFromStack } from "../../environments/feature";
import { LocalRegistry } from "../../scripts/lib/localRegistry";
import { privateEngine } from "../e2e/support/engine";
import { startLocalCluster } from "../e2e/support/localCluster";
import type { LocalCluster } from "../e2e/support/localCluster";
import {
  admitUntilRefused,
  AdmissionRun,
  Candidate,
  listPods,
  notRunning,
  overlayBound,
  overlayServices,
  podsPerNamespace,
  spread,
} from "../e2e/support/capacityRun";

// `free -h` prints 7.8Gi for 7.75–7.85 GiB: 7.8 × 1024 = 7987Mi. (The script's default node, 8178Mi, is 7.99 GiB:
// `free -h` would print 8.0Gi.) Every value can be overridden for a smaller trial run in another directory.
const CLUSTER_ENV = {
  QA_CLUSTER_DIR: process.env.QA_BENCH_CLUSTER_DIR ?? path.join(os.homedir(), ".cache", "qa-k8s", "lc-capacity-proof"),
  QA_CLUSTER_PORT: process.env.QA_BENCH_CLUSTER_PORT ?? "16583",
  QA_CLUSTER_WORKERS: process.env.QA_BENCH_CLUSTER_WORKERS ?? "5",
  QA_CLUSTER_NODE_CPU: "4",
  QA_CLUSTER_NODE_MEMORY: "7987Mi",
  QA_CLUSTER_NODE_PODS: "110",
  // local-path provisions a volume per claim on K3s; here a pool stands in, large enough that no MongoDB waits for one.
  QA_CLUSTER_PVS: "160",
};
const MAX_FULL = 20;
const MAX_OVERLAYS = Number(process.env.QA_BENCH_MAX_OVERLAYS ?? 150);
const BASELINE = "master";

const s = (ms: number) => `${(ms / 1000).toFixed(1)} s`;

function printTimes(label: string, results: readonly DeployResult[]) {
  const total = spread(results.map((r) => r.durations.totalMs));
  const engine = spread(results.map((r) => r.durations.engineMs));
  const queued = spread(results.map((r) => r.durations.queuedMs));
  console.log(
    `${label}: time to ready (driver totalMs) median ${s(total.median)}, min ${s(total.min)}, max ${s(total.max)}; ` +
      `engine median ${s(engine.median)}; queued median ${s(queued.median)} (${results.length} deploys)`,
  );
}

async function printPods(label: string, cluster: LocalCluster, results: readonly DeployResult[]) {
  const pods = await listPods(cluster);
  const namespaces = results.map((r) => r.namespace);
  const counts = [...podsPerNamespace(pods, namespaces).values()];
  const c = spread(counts);
  console.log(`${label}: pods per environment (counted on the cluster) median ${c.median}, min ${c.min}, max ${c.max}`);
  const stuck = notRunning(pods, namespaces);
  console.log(`${label}: admitted pods not Running on a node: ${stuck.length} of ${counts.reduce((a, b) => a + b, 0)}`);
  for (const pod of stuck) console.log(`  ${pod}`);
  const elsewhere = pods.filter((p) => !namespaces.includes(p.metadata.namespace) && p.status.phase === "Pending");
  if (elsewhere.length > 0)
    console.log(`${label}: Pending elsewhere: ${elsewhere.map((p) => `${p.metadata.namespace}/${p.metadata.name}`)}`);
  return counts;
}

function printRun(label: string, run: AdmissionRun) {
  console.log(`${label}: ${run.admitted.length} admitted in batches of ${run.batches.join(",")}`);
  console.log(`${label}: refusal: ${run.refused ? run.refused.error.message : "none (candidates ran out)"}`);
}

async function destroyAll(driver: Driver, tickets: readonly string[]) {
  const started = Date.now();
  const outcomes = await Promise.allSettled(tickets.map((t) => driver.destroy(t)));
  const failed = outcomes.filter((o) => o.status === "rejected").length;
  console.log(`destroyed ${tickets.length - failed} of ${tickets.length} in ${s(Date.now() - started)}`);
  for (const o of outcomes) if (o.status === "rejected") console.log(`  destroy failed: ${String(o.reason)}`);
}

async function main() {
  const wall = Date.now();
  const cluster = await startLocalCluster(CLUSTER_ENV);
  const engine = await privateEngine("capacity-bench");
  const registry = await LocalRegistry.start();
  const driver = new Driver({ envVars: engine.envVars });
  const deployed: string[] = [];
  // A refused stack keeps its Pulumi.<stack>.yaml; remove the ones this run made, never one that was there before.
  const configFile = (ticket: string) => path.join(PROJECT_DIR, `Pulumi.${ticket.toLowerCase()}.yaml`);
  const existedBefore = (ticket: string) => fs.existsSync(configFile(ticket));
  const catalog = parseCatalog(fs.readFileSync("environments/catalog.yaml", "utf8"), "catalog.yaml");
  const apps = catalog.filter((c) => c.kind === "app").map((c) => c.name);
  const headroom = capacitySettings({}).headroom;
  const base: Record<string, ConfigEntry> = {
    registry: { value: registry.address },
    registryInsecure: { value: "true" },
    kubeconfig: { value: fs.readFileSync(cluster.kubeconfigPath, "utf8"), secret: true },
  };
  const deploy = (ticket: string, config: Record<string, ConfigEntry>, services: string[]) => async () => {
    if (!existedBefore(ticket)) deployed.push(ticket);
    return driver.deploy(ticket, { config, services });
  };
  try {
    await registry.pushApps(catalog, "master_latest", "build 1");
    const nodes = await cluster.kubectlJson<{ items: unknown[] }>("get", "nodes");
    console.log(
      `cluster: ${nodes.items.length} nodes × ${CLUSTER_ENV.QA_CLUSTER_NODE_CPU} CPU / ${CLUSTER_ENV.QA_CLUSTER_NODE_MEMORY} / ` +
        `${CLUSTER_ENV.QA_CLUSTER_NODE_PODS} pods; guard headroom per node ${CAPACITY_DEFAULTS.headroomCpu} / ` +
        `${CAPACITY_DEFAULTS.headroomMemory} / ${CAPACITY_DEFAULTS.headroomPods} pods (defaults); ` +
        `${DEFAULT_MAX_CONCURRENT_DEPLOYS} deploys at once at most`,
    );

    // --- Full environments until refused.
    const fullBound = catalogNeeds(catalog, featureFromStack("SIZING-1"));
    const fullCandidates: Candidate[] = Array.from({ length: MAX_FULL }, (_, i) => {
      const ticket = `FULL-${101 + i}`;
      return { ticket, bound: fullBound, deploy: deploy(ticket, base, []) };
    });
    let phase = Date.now();
    const full = await admitUntilRefused({
      candidates: fullCandidates,
      maxAtOnce: DEFAULT_MAX_CONCURRENT_DEPLOYS,
      headroom,
      cluster,
    });
    printRun("full", full);
    const fullPods = await printPods("full", cluster, full.admitted);
    printTimes("full", full.admitted);
    console.log(`full: phase wall time ${s(Date.now() - phase)}`);
    await destroyAll(
      driver,
      full.admitted.map((r) => r.ticket),
    );

    // --- Baseline + overlays until refused.
    phase = Date.now();
    const baseline = await deploy(BASELINE, base, [])();
    console.log(`baseline: stack ${baseline.stack} ready in ${s(baseline.durations.totalMs)}`);
    const overlayConfig = { ...base, mode: { value: "overlay" }, baseline: { value: BASELINE } };
    const candidates: Candidate[] = [];
    for (let i = 0; i < MAX_OVERLAYS; i++) {
      const ticket = `OVL-${201 + i}`;
      const services = overlayServices(apps, i);
      for (const name of services) {
        const image = catalog.find((c) => c.name === name)!.image;
        await registry.push(image, `${ticket}_latest`, `${name} ${ticket}`);
      }
      candidates.push({
        ticket,
        bound: overlayBound(catalog, services),
        deploy: deploy(ticket, overlayConfig, services),
      });
    }
    const overlays = await admitUntilRefused({
      candidates,
      maxAtOnce: DEFAULT_MAX_CONCURRENT_DEPLOYS,
      headroom,
      cluster,
    });
    printRun("overlay", overlays);
    const sizes = spread(overlays.admitted.map((r) => r.featureServices.length));
    console.log(
      `overlay: feature-built services per overlay median ${sizes.median}, min ${sizes.min}, max ${sizes.max}`,
    );
    const overlayPods = await printPods("overlay", cluster, overlays.admitted);
    const baselinePods = (await printPods("baseline", cluster, [baseline]))[0];
    printTimes("overlay", overlays.admitted);
    console.log(`overlay: phase wall time ${s(Date.now() - phase)}`);

    const median = (xs: number[]) => spread(xs).median;
    console.log(
      `SUMMARY: ${full.admitted.length} full environments fit (${median(fullPods)} pods each); ` +
        `${overlays.admitted.length} overlays fit beside the baseline (${baselinePods} pods; overlays ` +
        `${median(overlayPods)} pods median); time to ready median full ${s(median(full.admitted.map((r) => r.durations.totalMs)))} ` +
        `vs overlay ${s(median(overlays.admitted.map((r) => r.durations.totalMs)))}`,
    );
    await destroyAll(
      driver,
      overlays.admitted.map((r) => r.ticket),
    );
    await destroyAll(driver, [BASELINE]);
  } finally {
    // Whatever a failure left: destroy is a no-op for a stack that is gone.
    const left = (await driver.list().catch(() => [])).map((e) => e.ticket);
    if (left.length > 0) await destroyAll(driver, left);
    for (const ticket of deployed) fs.rmSync(configFile(ticket), { force: true });
    await registry.stop();
    engine.dispose();
    spawnSync("bash", [path.join(PROJECT_DIR, "scripts", "local-cluster"), "stop"], {
      env: { ...process.env, ...CLUSTER_ENV },
      stdio: "inherit",
    });
    console.log(`wall time ${s(Date.now() - wall)}`);
  }
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
