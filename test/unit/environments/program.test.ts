// The whole feature-environment program under mocks: what a 70-service environment registers, and that an up with one
// changed image changes exactly one resource.
import { RunError } from "@pulumi/pulumi";
import { expect } from "chai";
import * as fs from "node:fs";
import { parseCatalog } from "../../../environments/catalog";
import {
  installMocks,
  isSecret,
  outputValue,
  RegisteredResource,
  setConfig,
  settle,
  unwrapSecrets,
} from "../support/mocks";
import { MemoryRegistry } from "../support/memoryRegistry";
import { failure } from "../../support/fixtures";

const CATALOG = parseCatalog(fs.readFileSync("environments/catalog.yaml", "utf8"), "environments/catalog.yaml");
const APPS = CATALOG.filter((s) => s.kind === "app");
const REGISTRY = "registry.test:5000/docker";

type Program = typeof import("../../../environments/index");

async function evaluate(registry: MemoryRegistry, config: Record<string, unknown> = {}, secretKeys: string[] = []) {
  const resources = installMocks("verbu-6202", { kubeconfig: "apiVersion: v1\nkind: Config\n" });
  // No cluster behind the mocks: the capacity guard has its own tests (capacityProgram.test.ts).
  setConfig({ registry: REGISTRY, "capacity.guard": false, ...config }, secretKeys);
  const program: Program = await import("../../../environments/index");
  const outputs = await program.default({ registry, now: () => new Date("2026-11-29T10:00:00Z") });
  await settle();
  return { resources, outputs };
}

function byName(resources: RegisteredResource[]) {
  return new Map(resources.map((r) => [`${r.type}::${r.name}`, r]));
}

function baselineRegistry() {
  return MemoryRegistry.withTag(
    APPS.map((s) => s.image),
    "master_latest",
    REGISTRY,
  );
}

describe("feature environment program (mocks)", () => {
  it("registers every object of a 70-service environment under stable, name-keyed names", async () => {
    const registry = baselineRegistry().set("bu/auth", "VERBU-6202_latest", "sha256:" + "a".repeat(64));
    const { resources, outputs } = await evaluate(registry);
    expect(CATALOG).to.have.length(70);
    const count = (type: string) => resources.filter((r) => r.type === type).length;
    expect(count("qa-k8s:components:ServiceSet")).to.equal(1);
    expect(count("kubernetes:core/v1:Namespace")).to.equal(1);
    expect(count("kubernetes:core/v1:ResourceQuota")).to.equal(1);
    expect(count("kubernetes:core/v1:LimitRange")).to.equal(1);
    expect(count("kubernetes:networking.k8s.io/v1:NetworkPolicy")).to.equal(1);
    expect(count("kubernetes:apps/v1:Deployment")).to.equal(69);
    expect(count("kubernetes:apps/v1:StatefulSet")).to.equal(1);
    expect(count("kubernetes:core/v1:Service")).to.equal(70);
    const routed = CATALOG.filter((s) => s.ingress.length > 0);
    const stripping = CATALOG.filter((s) => s.ingress.some((r) => r.stripPrefix));
    const plain = CATALOG.filter((s) => s.ingress.some((r) => !r.stripPrefix));
    expect(count("kubernetes:networking.k8s.io/v1:Ingress")).to.equal(stripping.length + plain.length);
    expect(count("kubernetes:traefik.io/v1alpha1:Middleware")).to.equal(stripping.length);
    expect(routed.length).to.be.greaterThan(40);
    expect(count("kubernetes:core/v1:Secret")).to.equal(0, "no pull secret without registry credentials");

    const names = byName(resources);
    const auth = names.get("kubernetes:apps/v1:Deployment::verbu-6202-auth-deployment");
    expect(auth, "deployment named after the catalog service").to.not.equal(undefined);
    const meta = auth!.inputs.metadata as { name: string; namespace: string };
    expect(meta).to.include({ name: "auth", namespace: "verbu-6202" });
    expect(names.has("kubernetes:apps/v1:StatefulSet::verbu-6202-mongodb-statefulset")).to.equal(true);
    expect(names.has("kubernetes:core/v1:Service::verbu-6202-nsqd-service")).to.equal(true);

    expect(await outputValue(outputs.namespace)).to.equal("verbu-6202");
    expect(outputs.url).to.equal("https://services-verbu-6202.qa.example.test/");
    expect(outputs.featureServices).to.deep.equal(["auth"]);
    const images = await outputValue(outputs.images);
    expect(images.auth).to.equal(`${REGISTRY}/bu/auth:VERBU-6202_latest@sha256:${"a".repeat(64)}`);
    expect(images.wallet).to.match(new RegExp(`^${REGISTRY}/bu/wallet:master_latest@sha256:[0-9a-f]{64}$`));
    expect(images.nsqd).to.equal("nsqio/nsq:v1.3.0");
    expect(images.mongodb).to.equal("mongo:7.0");
    const urls = await outputValue(outputs.urls);
    expect(urls.nsqd).to.deep.equal(["https://services-verbu-6202.qa.example.test/eventbus"]);
  });

  it("gives app containers the platform env, expanded catalog env and the NSQ wait container", async () => {
    const { resources } = await evaluate(baselineRegistry(), { waitImage: "busybox:1.37" });
    const communicator = byName(resources).get("kubernetes:apps/v1:Deployment::verbu-6202-communicator-deployment")!;
    const pod = (communicator.inputs.spec as { template: { spec: Record<string, unknown> } }).template.spec;
    const container = (pod.containers as { env: { name: string; value: string }[] }[])[0];
    const env = Object.fromEntries(container.env.map((e) => [e.name, e.value]));
    expect(env).to.include({
      FEATURE: "verbu-6202",
      FQDN: "services-verbu-6202.qa.example.test",
      NODE_ENV: "qa",
      NODE_MAX_PROCESSES: "1",
      MAIL_FROM: "qa+verbu-6202@qa.example.test",
      NSQD_HTTP_ADDRESS: "nsqd:4151",
    });
    expect(pod.terminationGracePeriodSeconds).to.equal(0);
    const init = pod.initContainers as { name: string; image: string; command: string[] }[];
    expect(init.map((c) => [c.name, c.image])).to.deep.equal([["wait-for-nsqd", "busybox:1.37"]]);
    expect(init[0].command.join(" ")).to.contain("nc -z nsqd 4151");

    const nsqd = byName(resources).get("kubernetes:apps/v1:Deployment::verbu-6202-nsqd-deployment")!;
    const nsqdPod = (nsqd.inputs.spec as { template: { spec: Record<string, unknown> } }).template.spec;
    expect(nsqdPod.initContainers).to.equal(undefined);
    const nsqdEnv = (nsqdPod.containers as { env: { name: string }[] }[])[0].env;
    expect(nsqdEnv.map((e) => e.name)).to.not.include("FEATURE");
  });

  it("routes through Traefik with TLS and strips prefixes with a Middleware", async () => {
    const { resources } = await evaluate(baselineRegistry());
    const names = byName(resources);
    const ingress = names.get("kubernetes:networking.k8s.io/v1:Ingress::verbu-6202-nsqd-ingress-stripped")!;
    const metadata = ingress.inputs.metadata as { annotations: Record<string, string> };
    expect(metadata.annotations["traefik.ingress.kubernetes.io/router.middlewares"]).to.equal(
      "verbu-6202-nsqd-strip-prefix@kubernetescrd",
    );
    const spec = ingress.inputs.spec as { ingressClassName: string; tls: unknown[]; rules: { host: string }[] };
    expect(spec.ingressClassName).to.equal("traefik");
    expect(spec.tls).to.deep.equal([
      { hosts: ["services-verbu-6202.qa.example.test"], secretName: "qa-bu-ssl-certificate" },
    ]);
    const middleware = names.get("kubernetes:traefik.io/v1alpha1:Middleware::verbu-6202-nsqd-strip-prefix")!;
    expect(middleware.inputs.spec).to.deep.equal({ stripPrefix: { prefixes: ["/eventbus"] } });
    const web = names.get("kubernetes:networking.k8s.io/v1:Ingress::verbu-6202-desktop-web-ingress")!;
    expect((web.inputs.metadata as { annotations: Record<string, string> }).annotations).to.not.have.property(
      "traefik.ingress.kubernetes.io/router.middlewares",
    );
  });

  it("keeps registry credentials and the kubeconfig secret", async () => {
    const { resources } = await evaluate(
      baselineRegistry(),
      { registryUsername: "ci", registryPassword: "s3cr3t-pass", kubeconfig: "kubeconfig-with-token" },
      ["registryPassword", "kubeconfig"],
    );
    const secret = resources.find((r) => r.type === "kubernetes:core/v1:Secret")!;
    expect(secret.inputs.type).to.equal("kubernetes.io/dockerconfigjson");
    // The provider marks all of stringData secret; the value inside is the dockerconfigjson.
    expect(isSecret(secret.inputs.stringData), "dockerconfigjson arrives as a secret").to.equal(true);
    const provider = resources.find((r) => r.type === "pulumi:providers:kubernetes")!;
    expect(isSecret(provider.inputs.kubeconfig), "kubeconfig arrives as a secret").to.equal(true);
    expect(resources.length, "the scan below sees the whole environment").to.be.greaterThan(200);
    for (const resource of resources) {
      const plainParts = JSON.stringify(resource.inputs, (_key, value) => (isSecret(value) ? "<secret>" : value));
      expect(plainParts, `${resource.type} ${resource.name}`).to.not.contain("s3cr3t-pass");
      expect(plainParts).to.not.contain("kubeconfig-with-token");
    }
    const workloads = resources.filter((r) => /^kubernetes:apps\/v1:(Deployment|StatefulSet)$/.test(r.type));
    expect(workloads, "every workload of the catalog").to.have.length(CATALOG.length);
    for (const workload of workloads) {
      const pod = (workload.inputs.spec as { template: { spec: { imagePullSecrets: unknown } } }).template.spec;
      expect(pod.imagePullSecrets, workload.name).to.deep.equal([{ name: "registry-pull-secret" }]);
    }
  });

  it("takes the kubeconfig from the cluster stack when none is configured, and renders when renderTo is set", async () => {
    const fromStack = await evaluate(baselineRegistry(), { clusterStack: "organization/qa-k8s/qa" });
    const reference = fromStack.resources.find((r) => r.type === "pulumi:pulumi:StackReference")!;
    expect(reference.inputs.name).to.equal("organization/qa-k8s/qa");
    const rendered = await evaluate(baselineRegistry(), { renderTo: "rendered/verbu-6202" });
    const provider = rendered.resources.find((r) => r.type === "pulumi:providers:kubernetes")!;
    expect(provider.inputs.renderYamlToDirectory).to.match(/rendered\/verbu-6202$/);
    expect(rendered.resources.some((r) => r.type === "pulumi:pulumi:StackReference")).to.equal(false);
  });

  describe("only what changed", () => {
    function diff(before: RegisteredResource[], after: RegisteredResource[]) {
      const old = byName(before);
      return after
        .filter(
          (r) =>
            JSON.stringify(unwrapSecrets(r.inputs)) !==
            JSON.stringify(unwrapSecrets(old.get(`${r.type}::${r.name}`)?.inputs)),
        )
        .map((r) => `${r.type}::${r.name}`);
    }

    it("digest mode: the same images change nothing; one re-pushed image changes exactly its Deployment", async () => {
      const first = await evaluate(baselineRegistry());
      const same = await evaluate(baselineRegistry());
      expect(diff(first.resources, same.resources)).to.deep.equal([]);
      const repushed = await evaluate(baselineRegistry().set("bu/wallet", "master_latest", "sha256:" + "b".repeat(64)));
      expect(repushed.resources).to.have.length(first.resources.length);
      expect(diff(first.resources, repushed.resources)).to.deep.equal([
        "kubernetes:apps/v1:Deployment::verbu-6202-wallet-deployment",
      ]);
    });

    it("restart mode: a new deployment id changes only the feature-built services", async () => {
      const config = { rollout: "restart", featureServices: ["auth", "wallet"] };
      const first = await evaluate(new MemoryRegistry(new Map()), { ...config, deploymentId: "build-41" });
      const second = await evaluate(new MemoryRegistry(new Map()), { ...config, deploymentId: "build-42" });
      expect(diff(first.resources, second.resources).sort()).to.deep.equal([
        "kubernetes:apps/v1:Deployment::verbu-6202-auth-deployment",
        "kubernetes:apps/v1:Deployment::verbu-6202-wallet-deployment",
      ]);
      const auth = byName(second.resources).get("kubernetes:apps/v1:Deployment::verbu-6202-auth-deployment")!;
      const template = (auth.inputs.spec as { template: { metadata: { annotations: Record<string, string> } } })
        .template;
      expect(template.metadata.annotations).to.deep.equal({ "qa-k8s/deployment-id": "build-42" });
    });
  });

  it("refuses secrets stored in plain text, without echoing them, before creating anything", async () => {
    const resources = installMocks("verbu-6202");
    setConfig({ registry: REGISTRY, registryUsername: "ci", registryPassword: "plain-pass" });
    const program: Program = await import("../../../environments/index");
    const error = await failure(program.default({ registry: baselineRegistry() }));
    await settle();
    expect(RunError.isInstance(error), "reported without a stack trace").to.equal(true);
    expect(error.message).to.equal(
      "qa-k8s:registryPassword is stored in plain text; store it encrypted: pulumi config set --secret registryPassword <value> (and remove the plain value from Pulumi.verbu-6202.yaml history)",
    );
    expect(resources).to.deep.equal([]);
  });

  // The engine's nested shape (`--path`, Pulumi.yaml's defaults) is flattened by the root index.ts before the wing
  // runs: tested through it with the cluster wing, and for real by the render e2e's TLS secret.
  it("reads dotted keys as flat keys", async () => {
    const { resources, outputs } = await evaluate(baselineRegistry(), {
      "tls.secretName": "flat-cert",
      "nsq.image": "nsq:flat",
    });
    const ingress = byName(resources).get("kubernetes:networking.k8s.io/v1:Ingress::verbu-6202-nsqd-ingress-stripped");
    expect((ingress!.inputs.spec as { tls: { secretName: string }[] }).tls[0].secretName).to.equal("flat-cert");
    expect((await outputValue(outputs.images)).nsqd).to.equal("nsq:flat");
  });

  it("names a catalog path that cannot be read, before creating anything", async () => {
    const resources = installMocks("verbu-6202");
    setConfig({ registry: REGISTRY, catalog: "environments/no-such-catalog.yaml" });
    const program: Program = await import("../../../environments/index");
    const error = await failure(program.default({ registry: baselineRegistry() }));
    expect(error.message).to.equal(
      'qa-k8s:catalog "environments/no-such-catalog.yaml" cannot be read (ENOENT); the path is relative to the project directory',
    );
    await settle();
    expect(resources).to.deep.equal([]);
  });

  it("creates nothing when the registry lacks an image", async () => {
    const resources = installMocks("verbu-6202");
    setConfig({ registry: REGISTRY });
    const program: Program = await import("../../../environments/index");
    const error = await failure(program.default({ registry: new MemoryRegistry(new Map(), REGISTRY) }));
    await settle();
    expect(error.message).to.match(/^\d+ services could not be resolved:/);
    expect(resources).to.deep.equal([]);
  });

  it("refuses a feature service the catalog does not have, before creating anything", async () => {
    const resources = installMocks("verbu-6202");
    setConfig({ registry: REGISTRY, featureServices: ["autth"], rollout: "restart" });
    const program: Program = await import("../../../environments/index");
    let error: Error | undefined;
    await program.default({ registry: baselineRegistry() }).catch((e: Error) => (error = e));
    await settle();
    expect(error?.message).to.equal(
      'qa-k8s:featureServices: "autth" is not an app service of environments/catalog.yaml; use the catalog\'s service names (infra services always use their configured image)',
    );
    expect(resources, "not even the provider or the StackReference").to.deep.equal([]);
  });
});
