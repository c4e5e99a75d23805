// `npm run bench`: how long evaluating a feature environment's program takes under mocks (no engine, no cluster), for the
// full 70-service catalog and, as a baseline in the same process, a 10-service slice of it. Figures are printed, never
// asserted: machines differ.
import * as fs from "node:fs";
import { stringify, parse } from "yaml";
import * as k8s from "@pulumi/kubernetes";
import { validateEnvironmentConfig } from "../../environments/config";
import { parseCatalog } from "../../environments/catalog";
import { installMocks, settle } from "../unit/support/mocks";
import { MemoryRegistry } from "../unit/support/memoryRegistry";

const RUNS = Number(process.env.BENCH_RUNS ?? 7);
const catalogText = fs.readFileSync("environments/catalog.yaml", "utf8");

function sliceCatalog(count: number): string {
  const raw = parse(catalogText) as { services: { name: string; kind: string }[] };
  const infra = raw.services.filter((s) => s.kind === "infra");
  const apps = raw.services.filter((s) => s.kind === "app").slice(0, count - infra.length);
  return stringify({ ...raw, services: [...apps, ...infra] });
}

async function evaluateOnce(text: string): Promise<{ ms: number; resources: number }> {
  const resources = installMocks("verbu-6202");
  const catalog = parseCatalog(text, "bench");
  const registry = MemoryRegistry.withTag(
    catalog.filter((s) => s.kind === "app").map((s) => s.image),
    "master_latest",
    "registry.test:5000/docker",
  );
  const { deployEnvironment } = await import("../../environments/index");
  const settings = validateEnvironmentConfig({ registry: registry.address, catalog: "bench" });
  const started = process.hrtime.bigint();
  await deployEnvironment(
    settings,
    text,
    registry,
    () => new k8s.Provider("kubernetes", { kubeconfig: "{}" }),
    undefined,
    () => new Date(),
  );
  await settle();
  return { ms: Number(process.hrtime.bigint() - started) / 1e6, resources: resources.length };
}

async function measure(label: string, text: string) {
  await evaluateOnce(text); // warm-up: module loading and JIT are not what we measure
  const runs: { ms: number; resources: number }[] = [];
  for (let i = 0; i < RUNS; i++) runs.push(await evaluateOnce(text));
  const sorted = runs.map((r) => r.ms).sort((a, b) => a - b);
  const median = sorted[Math.floor(sorted.length / 2)];
  const resources = runs[0].resources;
  console.log(
    `${label.padEnd(28)} median ${median.toFixed(0).padStart(6)} ms  (min ${sorted[0].toFixed(0)}, max ${sorted.at(-1)!.toFixed(0)}, ${RUNS} runs)  ` +
      `${resources} resources  ${((resources / median) * 1000).toFixed(0)} resources/s`,
  );
  return { median, resources };
}

async function main() {
  console.log(`program evaluation under mocks (node ${process.version})`);
  const baseline = await measure("baseline: 10 services", sliceCatalog(10));
  const full = await measure("catalog: 70 services", catalogText);
  console.log(
    `ratio 70 / 10 services: time x${(full.median / baseline.median).toFixed(2)} for resources x${(full.resources / baseline.resources).toFixed(2)}`,
  );
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
