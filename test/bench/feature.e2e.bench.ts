// `npm run bench:e2e` (feature part): wall times of the 70-service environment through the driver on the local
// control plane — first up to all-Available, no-op up, one-image update, destroy — once at the engine's own default
// parallelism (8 here, the baseline) and once per setting in QA_BENCH_PARALLEL (default: the driver's default), in
// the same process, with ratios against the baseline. Printed, never asserted.
import * as fs from "node:fs";
import type { OpMap } from "@pulumi/pulumi/automation";
import { DEFAULT_PARALLEL, Driver } from "../../automation/driver";
import type { ConfigEntry } from "../../automation/stack";
import { parseCatalog } from "../../environments/catalog";
import { LocalRegistry } from "../../scripts/lib/localRegistry";
import { privateEngine } from "../e2e/support/engine";
import { startLocalCluster } from "../e2e/support/localCluster";

/** The engine's default: 4 operations per CPU (pulumi/pulumi pkg/engine). */
const ENGINE_DEFAULT_PARALLEL = 8;
const PHASES = ["first up (all Available)", "no-op up", "one-image update", "destroy"] as const;

function changed(changes: OpMap): string {
  const counts = Object.entries(changes).filter(([op]) => op !== "same");
  return counts.length === 0 ? "0 changed" : counts.map(([op, n]) => `${n} ${op}`).join(", ");
}

function settings(): number[] {
  const raw = process.env.QA_BENCH_PARALLEL ?? String(DEFAULT_PARALLEL);
  const values = raw.split(",").map((v) => Number(v.trim()));
  if (values.some((v) => !Number.isInteger(v) || v < 1)) {
    throw new Error(`QA_BENCH_PARALLEL="${raw}": expected comma-separated positive integers, e.g. 64,256`);
  }
  return [ENGINE_DEFAULT_PARALLEL, ...values.filter((v) => v !== ENGINE_DEFAULT_PARALLEL)];
}

async function main() {
  const cluster = await startLocalCluster();
  const engine = await privateEngine("bench");
  const registry = await LocalRegistry.start();
  try {
    const catalog = parseCatalog(fs.readFileSync("environments/catalog.yaml", "utf8"), "catalog.yaml");
    await registry.pushApps(catalog, "master_latest", "build 1");
    const config: Record<string, ConfigEntry> = {
      registry: { value: registry.address },
      registryInsecure: { value: "true" },
      kubeconfig: { value: fs.readFileSync(cluster.kubeconfigPath, "utf8"), secret: true },
    };
    console.log(`real engine through the driver, ${catalog.length}-service environment on the local control plane`);
    const seconds = new Map<number, number[]>();
    for (const [round, parallel] of settings().entries()) {
      const ticket = `BENCH-${7000 + round}`;
      const driver = new Driver({ envVars: engine.envVars, parallel });
      const timed = async (phase: string, run: () => Promise<{ changes: OpMap }>) => {
        const started = Date.now();
        const result = await run();
        const s = (Date.now() - started) / 1000;
        seconds.set(parallel, [...(seconds.get(parallel) ?? []), s]);
        console.log(
          `parallel ${String(parallel).padStart(3)}  ${phase.padEnd(26)} ${s.toFixed(1).padStart(6)} s   ${changed(result.changes)}`,
        );
      };
      await timed(PHASES[0], () => driver.deploy(ticket, { config, services: [] }));
      await timed(PHASES[1], () => driver.deploy(ticket, { config, services: [] }));
      await registry.push("bu/auth", "master_latest", `auth ${round + 2}`);
      await timed(PHASES[2], () => driver.deploy(ticket, { config, services: [] }));
      await timed(PHASES[3], () => driver.destroy(ticket));
    }
    const baseline = seconds.get(ENGINE_DEFAULT_PARALLEL)!;
    for (const [parallel, times] of seconds) {
      if (parallel === ENGINE_DEFAULT_PARALLEL) continue;
      const ratios = PHASES.map((phase, i) => `${phase} x${(times[i] / baseline[i]).toFixed(2)}`);
      console.log(`parallel ${parallel} vs ${ENGINE_DEFAULT_PARALLEL}: ${ratios.join(", ")}`);
    }
  } finally {
    await registry.stop();
    engine.dispose();
  }
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
