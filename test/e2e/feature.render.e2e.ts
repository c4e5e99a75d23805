// A feature stack with the REAL engine and kubernetes provider in render mode (qa-k8s:renderTo): the lifecycle every
// Pulumi program is held to (preview → up → no-op preview → no-op refresh → update → destroy), and "a re-pushed image
// updates exactly one Deployment and rewrites exactly one file".
import { expect } from "chai";
import { createHash } from "node:crypto";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import type { Stack } from "@pulumi/pulumi/automation";
import { openStack } from "../../automation/stack";
import { parseCatalog } from "../../environments/catalog";
import { LocalRegistry } from "../../scripts/lib/localRegistry";
import { dockerConfigJson, registryServer } from "../../components/specs/pullSecret";
import { abandon, Engine, privateEngine, remainingStacks, stackLocks } from "./support/engine";
import { secretLeaks } from "./support/secretScan";

const STACK = "verbu-9001";
const CATALOG = parseCatalog(fs.readFileSync("environments/catalog.yaml", "utf8"), "catalog.yaml");
const REGISTRY_PASSWORD = "render-test-registry-password";

/** sha256 of every rendered file, by path relative to the render directory. */
function renderedFiles(dir: string): Map<string, string> {
  if (!fs.existsSync(dir)) return new Map();
  return new Map(
    fs
      .readdirSync(dir, { recursive: true, withFileTypes: true })
      .filter((entry) => entry.isFile())
      .map((entry) => {
        const file = path.join(entry.parentPath, entry.name);
        return [path.relative(dir, file), createHash("sha256").update(fs.readFileSync(file)).digest("hex")];
      }),
  );
}

function changed(before: Map<string, string>, after: Map<string, string>): string[] {
  const names = new Set([...before.keys(), ...after.keys()]);
  return [...names].filter((name) => before.get(name) !== after.get(name)).sort();
}

describe("feature stack, real engine, render mode", function () {
  this.timeout(30 * 60_000);
  let engine: Engine;
  let registry: LocalRegistry;
  let stack: Stack;
  let renderDir: string;
  const log: string[] = [];
  const onOutput = (out: string) => log.push(out);

  before(async () => {
    // Gzip'd state and history, so the secret scan must open compressed files to find its canary.
    engine = await privateEngine("render", { PULUMI_DIY_BACKEND_GZIP: "true" });
    registry = await LocalRegistry.start();
    await registry.pushApps(CATALOG, "master_latest", "build 1");
    await registry.push("bu/auth", "VERBU-9001_latest", "auth branch build 1");
    renderDir = fs.mkdtempSync(path.join(os.tmpdir(), "qa-k8s-rendered-"));
    stack = await openStack({
      stackName: STACK,
      envVars: engine.envVars,
      config: {
        registry: { value: registry.address },
        registryInsecure: { value: "true" },
        registryUsername: { value: "ci" },
        registryPassword: { value: REGISTRY_PASSWORD, secret: true },
        renderTo: { value: renderDir },
      },
    });
  });

  after(async () => {
    await registry?.stop();
    await abandon(engine, stack);
    if (renderDir) fs.rmSync(renderDir, { recursive: true, force: true });
  });

  it("previews the whole environment without writing anything", async () => {
    const preview = await stack.preview({ onOutput });
    expect(preview.changeSummary.create).to.be.greaterThan(200);
    expect(renderedFiles(renderDir).size).to.equal(0);
  });

  let firstRender: Map<string, string>;
  it("up writes one manifest per object, and the stack outputs tell what runs", async () => {
    const up = await stack.up({ onOutput });
    expect(up.summary.result).to.equal("succeeded");
    firstRender = renderedFiles(renderDir);
    const deployments = [...firstRender.keys()].filter((f) => /deployment/i.test(f));
    expect(deployments, "one file per Deployment").to.have.length(69);
    // "One manifest per object", every object: as many files as Kubernetes objects in the state.
    const objects = (await stack.exportStack()).deployment.resources.filter((r: { type: string }) =>
      r.type.startsWith("kubernetes:"),
    );
    expect(objects.length, "the environment's objects").to.be.greaterThan(200);
    expect(firstRender.size, "one file per object").to.equal(objects.length);
    expect([...firstRender.keys()].some((f) => f.startsWith("0-crd"))).to.equal(false);
    expect(up.outputs.namespace.value).to.equal("verbu-9001");
    expect(up.outputs.featureServices.value).to.deep.equal(["auth"]);
    expect(up.outputs.images.value.auth).to.match(new RegExp(`^${registry.address}/bu/auth:VERBU-9001_latest@sha256:`));
    // Pulumi.yaml's default for the dotted key tls.secretName reaches the program nested (object `tls`), which the
    // root index.ts flattens: the real engine's delivery, not a mock's.
    const ingresses = [...firstRender.keys()]
      .map((file) => fs.readFileSync(path.join(renderDir, file), "utf8"))
      .filter((text) => /^kind: Ingress$/m.test(text));
    expect(ingresses.length).to.be.greaterThan(40);
    for (const text of ingresses) expect(text).to.match(/secretName: qa-bu-ssl-certificate$/m);
  });

  it("a second preview plans no changes", async () => {
    const preview = await stack.preview({ onOutput });
    expect(Object.keys(preview.changeSummary)).to.deep.equal(["same"]);
  });

  it("the README's refresh of a rendered stack runs and keeps the state and every rendered file", async () => {
    // In render mode there is no cluster to read: with PULUMI_K8S_SKIP_UPDATE_UNREACHABLE the provider hands back the
    // stored state, so "no changes" holds by construction here. What this proves is that the README's command works
    // and loses nothing; refresh against a real API server is proven in feature.cluster.e2e.ts (a deleted object).
    const before = (await stack.exportStack()).deployment.resources.length;
    const env = stack.workspace.envVars;
    env.PULUMI_K8S_SKIP_UPDATE_UNREACHABLE = "true";
    const refresh = await stack.refresh({ onOutput }).finally(() => delete env.PULUMI_K8S_SKIP_UPDATE_UNREACHABLE);
    expect(refresh.summary.result).to.equal("succeeded");
    expect((await stack.exportStack()).deployment.resources).to.have.length(before);
    expect(changed(firstRender, renderedFiles(renderDir))).to.deep.equal([]);
  });

  it("a re-pushed image: preview shows exactly 1 update, up rewrites exactly that Deployment's file", async () => {
    await registry.push("bu/wallet", "master_latest", "wallet master build 2");
    const preview = await stack.preview({ onOutput });
    expect(preview.changeSummary.update).to.equal(1);
    expect(Object.keys(preview.changeSummary).sort()).to.deep.equal(["same", "update"]);
    const up = await stack.up({ onOutput });
    expect(up.summary.resourceChanges?.update).to.equal(1);
    const files = changed(firstRender, renderedFiles(renderDir));
    expect(files).to.have.length(1);
    expect(files[0]).to.match(/wallet/);
  });

  it("keeps the registry credentials out of the state, the outputs and the engine output, in every form", async () => {
    const leaks = await secretLeaks({
      engine,
      stack,
      engineOutput: log.join(""),
      canary: `${registry.address}/bu/auth:VERBU-9001_latest@sha256:`,
      secrets: {
        "registry password": REGISTRY_PASSWORD,
        "registry user:password": `ci:${REGISTRY_PASSWORD}`,
        ".dockerconfigjson": dockerConfigJson(registryServer(registry.address), "ci", REGISTRY_PASSWORD),
      },
    });
    expect(leaks).to.deep.equal([]);
  });

  it("destroy removes every rendered file and leaves no stack and no lock", async () => {
    await stack.destroy({ onOutput });
    expect(renderedFiles(renderDir).size).to.equal(0);
    expect(remainingStacks(engine), "the stack file the checks below must see gone").to.have.length(1);
    await stack.workspace.removeStack(STACK);
    expect(remainingStacks(engine)).to.deep.equal([]);
    expect(stackLocks(engine)).to.deep.equal([]);
    expect(fs.existsSync(`Pulumi.${STACK}.yaml`), "stack config file removed").to.equal(false);
  });
});
