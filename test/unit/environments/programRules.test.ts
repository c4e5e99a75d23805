// The feature program under mocks with inputs the API server would refuse: each is refused before anything is
// registered (not even the provider); and a background worker without a port gets a Deployment only.
import * as k8s from "@pulumi/kubernetes";
import { expect } from "chai";
import { stringify } from "yaml";
import { validateEnvironmentConfig } from "../../../environments/config";
import { installMocks, setConfig, settle } from "../support/mocks";
import { MemoryRegistry } from "../support/memoryRegistry";

const REGISTRY = "registry.test:5000/docker";

type Program = typeof import("../../../environments/index");

describe("feature environment program: the API server's rules, before anything exists (mocks)", () => {
  const settings = validateEnvironmentConfig({ registry: REGISTRY });
  const provider = () => new k8s.Provider("kubernetes", { renderYamlToDirectory: "/nonexistent/never-written" });
  const nsqd = { name: "nsqd", kind: "infra", image: "${nsqImage}", port: 4151 };

  async function deploy(stack: string, services: unknown[]) {
    const resources = installMocks(stack);
    setConfig({ registry: REGISTRY });
    const registry = MemoryRegistry.withTag(["bu/auth", "bu/mailer"], "master_latest", REGISTRY);
    const text = stringify({ services: [nsqd, ...services] });
    const { deployEnvironment }: Program = await import("../../../environments/index");
    const result = await deployEnvironment(settings, text, registry, provider, undefined, () => new Date()).catch(
      (error: Error) => error,
    );
    await settle();
    return { resources, result };
  }

  it("refuses a stack named after a namespace the cluster has, registering nothing", async () => {
    const { resources, result } = await deploy("kube-node-lease", []);
    expect((result as Error).message).to.equal(
      `stack "kube-node-lease": namespace "kube-node-lease" is reserved: kube-* namespaces belong to Kubernetes (kube-system, kube-public, kube-node-lease); name the stack after the ticket (e.g. verbu-6202)`,
    );
    expect(resources).to.deep.equal([]);
  });

  it("refuses a Service name that starts with a digit and an upper-case host, registering nothing", async () => {
    const viewer = { name: "3d-viewer", kind: "app", image: "bu/auth", port: 3000 };
    const admin = {
      name: "auth",
      kind: "app",
      image: "bu/auth",
      port: 3000,
      ingress: [{ path: "/", host: "${ticket}.${domain}" }],
    };
    const named = await deploy("verbu-6202", [viewer]);
    expect((named.result as Error).message).to.match(
      /^the catalog has a problem:\n {2}environments\/catalog\.yaml: service "3d-viewer": name "3d-viewer" is not a DNS-1035 label/,
    );
    expect(named.resources).to.deep.equal([]);
    const hosted = await deploy("verbu-6202", [admin]);
    expect((hosted.result as Error).message).to.equal(
      `the catalog has a problem:\n  environments/catalog.yaml: service "auth": ingress host "\${ticket}.\${domain}" gives "VERBU-6202.qa.example.test" for feature verbu-6202, which is not a DNS-1123 subdomain (lower-case letters, digits, '-' and '.', each part starting and ending with a letter or digit, at most 253 characters); use \${feature} (lower-case) instead of \${ticket}`,
    );
    expect(hosted.resources).to.deep.equal([]);
  });

  it("deploys a background worker without a port: a Deployment, no Service, no Ingress", async () => {
    const mailer = { name: "mailer", kind: "app", image: "bu/mailer" };
    const { resources, result } = await deploy("verbu-6202", [mailer]);
    expect(result).to.not.be.instanceOf(Error);
    const of = (type: string) => resources.filter((r) => r.type === type).map((r) => r.name);
    expect(of("kubernetes:apps/v1:Deployment")).to.deep.equal([
      "verbu-6202-nsqd-deployment",
      "verbu-6202-mailer-deployment",
    ]);
    expect(of("kubernetes:core/v1:Service")).to.deep.equal(["verbu-6202-nsqd-service"]);
    expect(of("kubernetes:networking.k8s.io/v1:Ingress")).to.deep.equal([]);
    const mailerDeployment = resources.find((r) => r.name === "verbu-6202-mailer-deployment")!;
    const container = (mailerDeployment.inputs.spec as { template: { spec: { containers: object[] } } }).template.spec
      .containers[0];
    expect(container).to.not.have.any.keys("ports", "readinessProbe");
  });
});
