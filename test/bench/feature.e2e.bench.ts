// `npm run bench:e2e` (feature part): wall times of the real engine on the local control plane for the 70-service
// environment: first up to all-Available, no-op up, one-service update, destroy; with the resources each changed.
// Printed, never asserted.
import * as fs from "node:fs";
import type { UpdateSummary } from "@pulumi/pulumi/automation";
import { destroyStack, openStack } from "../../automation/stack";
import { parseCatalog } from "../../environments/catalog";
import { LocalRegistry } from "../../scripts/lib/localRegistry";
import { privateEngine } from "../e2e/support/engine";
import { startLocalCluster } from "../e2e/support/localCluster";

const STACK = "bench-7000";

function changes(summary: UpdateSummary | undefined): string {
  const counts = Object.entries(summary?.resourceChanges ?? {}).filter(([op]) => op !== "same");
  return counts.length === 0 ? "0 changed" : counts.map(([op, n]) => `${n} ${op}`).join(", ");
}

async function timed<T>(label: string, action: () => Promise<T>, describe: (result: T) => string): Promise<number> {
  const started = Date.now();
  const result = await action();
  const seconds = (Date.now() - started) / 1000;
  console.log(`${label.padEnd(36)} ${seconds.toFixed(1).padStart(7)} s   ${describe(result)}`);
  return seconds;
}

async function main() {
  const cluster = await startLocalCluster();
  const engine = await privateEngine("bench");
  const registry = await LocalRegistry.start();
  try {
    const catalog = parseCatalog(fs.readFileSync("environments/catalog.yaml", "utf8"), "catalog.yaml");
    for (const app of catalog.filter((s) => s.kind === "app"))
      await registry.push(app.image, "master_latest", `${app.name} 1`);
    const stack = await openStack({
      stackName: STACK,
      envVars: engine.envVars,
      config: {
        registry: { value: registry.address },
        registryInsecure: { value: "true" },
        kubeconfig: { value: fs.readFileSync(cluster.kubeconfigPath, "utf8"), secret: true },
      },
    });
    console.log(`real engine, ${catalog.length}-service environment on the local control plane`);
    const first = await timed(
      "first up (all Available)",
      () => stack.up(),
      (r) => changes(r.summary),
    );
    const noop = await timed(
      "no-op up",
      () => stack.up(),
      (r) => changes(r.summary),
    );
    await registry.push("bu/auth", "master_latest", "auth 2");
    const one = await timed(
      "one-service update",
      () => stack.up(),
      (r) => changes(r.summary),
    );
    const destroy = await timed(
      "destroy",
      () => destroyStack(stack),
      () => "namespace removed",
    );
    console.log(
      `ratios: no-op / first up x${(noop / first).toFixed(2)}, one-service / first up x${(one / first).toFixed(2)}, destroy / first up x${(destroy / first).toFixed(2)}`,
    );
  } finally {
    await registry.stop();
    engine.dispose();
  }
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
