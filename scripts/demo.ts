// `npm start`: a complete feature environment on this machine. Builds or reuses the Pulumi toolchain, starts the local
// control plane and a local registry holding an image per catalog service, then deploys VERBU-6202 through the driver
// (automation/driver.ts, what the qa-env CLI and Bamboo use) with the local file backend, showing its progress, and
// prints the environment. `npm start -- --destroy` removes it again.
import { execFileSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { Driver } from "../automation/driver";
import { ProgressReporter, progressMode, ProgressSnapshot, StepUpdate } from "../automation/progress";
import { PROJECT_DIR } from "../automation/stack";
import { parseCatalog } from "../environments/catalog";
import { LocalRegistry } from "./lib/localRegistry";
import { pulumiEnv } from "./lib/toolchain";

const STACK = process.env.QA_DEMO_STACK ?? "verbu-6202";
const TICKET = STACK.toUpperCase();
// A fixed port keeps image references, and so the stack, unchanged between runs.
const REGISTRY_PORT = Number(process.env.QA_DEMO_REGISTRY_PORT ?? 15000);
// Services "built on the branch" in the demo: they get the feature tag, every other app master_latest.
const DEMO_FEATURE_SERVICES = ["auth", "wallet"];

function step(message: string) {
  console.log(`\n[start] ${message}`);
}

function localCluster(...args: string[]): string {
  return execFileSync("bash", [path.join(PROJECT_DIR, "scripts", "local-cluster"), ...args], {
    encoding: "utf8",
    stdio: ["ignore", "pipe", "inherit"],
  }).trim();
}

async function main() {
  const destroy = process.argv.includes("--destroy");
  step("Pulumi toolchain (built from the Go module proxy on first use; reused afterwards)");
  const envVars = await pulumiEnv();
  step("local control plane (etcd, kube-apiserver, controllers, kwok nodes)");
  console.log(localCluster("start"));
  const kubeconfigPath = localCluster("kubeconfig");
  // K3s ships Traefik's CRDs; the local control plane gets the same definitions, from the Traefik the build pins.
  localCluster("traefik-crds");

  step(`local registry on 127.0.0.1:${REGISTRY_PORT} with an image for every service`);
  const registry = await LocalRegistry.start({ port: REGISTRY_PORT });
  try {
    const catalog = parseCatalog(
      fs.readFileSync(path.join(PROJECT_DIR, "environments", "catalog.yaml"), "utf8"),
      "catalog.yaml",
    );
    await registry.pushApps(catalog, "master_latest", "demo");
    await registry.pushApps(
      catalog.filter((s) => DEMO_FEATURE_SERVICES.includes(s.name)),
      `${TICKET}_latest`,
      "demo",
    );
    const config = {
      registry: { value: registry.address },
      registryInsecure: { value: "true" },
      kubeconfig: { value: fs.readFileSync(kubeconfigPath, "utf8"), secret: true },
    };
    const driver = new Driver({ envVars, onMessage: (m) => console.log(`  ${m.text}`) });
    const reporter = new ProgressReporter({
      mode: progressMode(false, process.stdout.isTTY),
      write: (text) => process.stdout.write(text),
    });
    let last: ProgressSnapshot | undefined;
    const onProgress = (snapshot: ProgressSnapshot, step?: StepUpdate) => {
      last = snapshot;
      reporter.update(snapshot, step);
    };
    if (destroy) {
      step(`destroying ${TICKET}`);
      const destroyed = await driver.destroy(TICKET, { onProgress });
      if (last) reporter.finish(last, `${destroyed.changes.delete ?? 0} deleted`);
      return;
    }
    step(`deploying ${TICKET} (backend ${envVars.PULUMI_BACKEND_URL})`);
    const result = await driver.deploy(TICKET, { config, services: DEMO_FEATURE_SERVICES, onProgress });
    if (last) reporter.finish(last, `done in ${(result.durations.totalMs / 1000).toFixed(1)} s`);
    step(`environment ${result.ticket} is up in namespace ${result.namespace} (${describe(result.changes)})`);
    console.log(`  URL: ${result.url}`);
    console.log(`  built on the branch: ${result.featureServices.join(", ") || "none"}`);
    console.log(`  deployed by ${result.record.deployedBy} at ${result.record.lastDeployedAt}`);
    console.log(`  services (${Object.keys(result.images).length}):`);
    for (const [name, image] of Object.entries(result.images)) console.log(`    ${name.padEnd(40)} ${image}`);
    console.log(`\n  scripts/local-cluster kubectl -n ${result.namespace} get deployments`);
    console.log(`  remove it: npm start -- --destroy`);
  } finally {
    await registry.stop();
  }
}

function describe(changes: Record<string, number | undefined>): string {
  return Object.entries(changes)
    .map(([op, n]) => `${n} ${op}`)
    .join(", ");
}

main().catch((error) => {
  console.error(`\n[start] failed: ${error instanceof Error ? error.message : String(error)}`);
  process.exit(1);
});
