// `npm start`: a complete feature environment on this machine. Builds or reuses the Pulumi toolchain, starts the local
// control plane and a local registry holding an image per catalog service, then `pulumi up`s stack verbu-6202 with the
// local file backend and prints the environment. `npm start -- --destroy` removes it again.
import { execFileSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { destroyStack, openStack, PROJECT_DIR } from "../automation/stack";
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
  // K3s ships Traefik's CRDs; the local control plane gets the one Middleware definition environments use.
  console.log(localCluster("kubectl", "apply", "-f", path.join(__dirname, "lib", "traefik-middleware-crd.yaml")));

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
    const stack = await openStack({
      stackName: STACK,
      envVars,
      config: {
        registry: { value: registry.address },
        registryInsecure: { value: "true" },
        kubeconfig: { value: fs.readFileSync(kubeconfigPath, "utf8"), secret: true },
      },
    });
    const onOutput = (out: string) => process.stdout.write(out);
    if (destroy) {
      step(`destroying stack ${STACK}`);
      await destroyStack(stack, onOutput);
      return;
    }
    step(`pulumi up --stack ${STACK} (backend ${envVars.PULUMI_BACKEND_URL})`);
    const result = await stack.up({ onOutput });
    const outputs = Object.fromEntries(Object.entries(result.outputs).map(([k, v]) => [k, v.value]));
    const images = outputs.images as Record<string, string>;
    step(`environment ${outputs.ticket} is up in namespace ${outputs.namespace}`);
    console.log(`  URL: ${outputs.url}`);
    console.log(`  built on the branch: ${(outputs.featureServices as string[]).join(", ") || "none"}`);
    console.log(`  services (${Object.keys(images).length}):`);
    for (const [name, image] of Object.entries(images)) console.log(`    ${name.padEnd(40)} ${image}`);
    console.log(`\n  scripts/local-cluster kubectl -n ${outputs.namespace} get deployments`);
    console.log(`  remove it: npm start -- --destroy`);
  } finally {
    await registry.stop();
  }
}

main().catch((error) => {
  console.error(`\n[start] failed: ${error instanceof Error ? error.message : String(error)}`);
  process.exit(1);
});
