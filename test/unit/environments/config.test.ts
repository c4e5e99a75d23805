import { expect } from "chai";
import { checkFeatureServices, ENVIRONMENT_DEFAULTS, validateEnvironmentConfig } from "../../../environments/config";

function problemsOf(raw: Parameters<typeof validateEnvironmentConfig>[0]): string[] {
  try {
    validateEnvironmentConfig(raw);
    return [];
  } catch (error) {
    return (error as Error).message
      .split("\n")
      .slice(1)
      .map((line) => line.trim());
  }
}

describe("environment config", () => {
  it("applies the same defaults as Pulumi.yaml", () => {
    const config = validateEnvironmentConfig({});
    expect(config.domain).to.equal("qa.example.test");
    expect(config.rollout).to.equal("digest");
    expect(config.registry).to.deep.equal({
      address: "nexus.example.test:5000/docker",
      insecure: false,
      username: undefined,
      timeoutSeconds: 30,
    });
    expect(config.featureTagPattern).to.equal("${ticket}_latest");
    expect(config.baselineTagPattern).to.equal("master_latest");
    expect(config.tlsSecretName).to.equal("qa-bu-ssl-certificate");
    expect(config.featureServices).to.equal(undefined);
    expect(validateEnvironmentConfig({ featureServices: [] }).featureServices, "[] = detect").to.equal(undefined);
  });

  it("keeps Pulumi.yaml and the code's defaults in step", async () => {
    const { parse } = await import("yaml");
    const fs = await import("node:fs");
    const project = parse(fs.readFileSync("Pulumi.yaml", "utf8")) as { config: Record<string, { default?: unknown }> };
    const declared = (key: string) => project.config[`qa-k8s:${key}`]?.default;
    const d = ENVIRONMENT_DEFAULTS;
    expect(declared("domain")).to.equal(d.domain);
    expect(declared("registry")).to.equal(d.registry);
    expect(declared("registryTimeoutSeconds")).to.equal(d.registryTimeoutSeconds);
    expect(declared("catalog")).to.equal(d.catalog);
    expect(declared("featureTag")).to.equal(d.featureTag);
    expect(declared("baselineTag")).to.equal(d.baselineTag);
    expect(declared("rollout")).to.equal(d.rollout);
    expect(declared("clusterStack")).to.equal(d.clusterStack);
    expect(declared("tls.secretName")).to.equal(d.tlsSecretName);
    expect(declared("nsq.image")).to.equal(d.nsqImage);
    expect(declared("waitImage")).to.equal(d.waitImage);
    expect(declared("storageClass")).to.equal(d.storageClass);
    // Optional keys need a default, or the engine refuses to run a stack that does not set them.
    for (const [key, type] of Object.entries(project.config)) {
      expect(type, `${key} has a default`).to.have.property("default");
    }
  });

  it("names the key, the value, the rule and the fix for every bad value", () => {
    expect(problemsOf({ domain: "QA_example" })).to.deep.equal([
      `qa-k8s:domain "QA_example" is not a DNS name; use lower-case labels separated by dots (e.g. qa.example.test)`,
    ]);
    expect(problemsOf({ registry: "https://nexus/docker" })).to.deep.equal([
      `qa-k8s:registry "https://nexus/docker" is not host[:port][/path]; e.g. nexus.example.test:5000/docker`,
    ]);
    expect(problemsOf({ registryTimeoutSeconds: 0 })).to.deep.equal([
      `qa-k8s:registryTimeoutSeconds 0 is out of range 1–600`,
    ]);
    expect(problemsOf({ rollout: "digests" })).to.deep.equal([
      `qa-k8s:rollout "digests" is not one of digest, restart; run: pulumi config set rollout digest`,
    ]);
    expect(problemsOf({ featureServices: "auth" })).to.deep.equal([
      `qa-k8s:featureServices must be a list of service names, got "auth"; e.g. ["auth","wallet"]`,
    ]);
    expect(problemsOf({ featureServices: ["auth", "auth"] })).to.deep.equal([
      `qa-k8s:featureServices lists "auth" twice; list each service once`,
    ]);
    expect(problemsOf({ clusterStack: "a b" })).to.deep.equal([
      `qa-k8s:clusterStack "a b" is not a stack name (stack or org/project/stack)`,
    ]);
    expect(problemsOf({ tlsSecretName: "Bad_Name" })).to.deep.equal([
      `qa-k8s:tls.secretName "Bad_Name" is not a valid Secret name; use lower-case letters, digits, '-' and '.'`,
    ]);
    expect(problemsOf({ storageClass: "local path" })).to.deep.equal([
      `qa-k8s:storageClass "local path" is not a valid StorageClass name; use lower-case letters, digits, '-' and '.'`,
    ]);
    expect(problemsOf({ nsqImage: "nsq image" })).to.deep.equal([
      `qa-k8s:nsq.image "nsq image" is not an image reference; e.g. busybox:1.36`,
    ]);
    expect(problemsOf({ waitImage: "$(id)" })).to.deep.equal([
      `qa-k8s:waitImage "$(id)" is not an image reference; e.g. busybox:1.36`,
    ]);
    expect(problemsOf({ deploymentId: "build 42" })).to.deep.equal([
      `qa-k8s:deploymentId "build 42" must be 1–63 letters, digits or _.:+- (e.g. the CI build number)`,
    ]);
  });

  it("reports every problem at once", () => {
    expect(problemsOf({ domain: "x y", rollout: "fast" })).to.have.length(2);
  });

  it("refuses feature services that are not apps of the catalog", () => {
    expect(() => checkFeatureServices(["auth"], ["auth", "wallet"], "c.yaml")).to.not.throw();
    expect(() => checkFeatureServices(undefined, ["auth"], "c.yaml")).to.not.throw();
    expect(() => checkFeatureServices(["autth", "mongodb"], ["auth"], "c.yaml")).to.throw(
      `qa-k8s:featureServices: "autth", "mongodb" are not app services of c.yaml; use the catalog's service names (infra services always use their configured image)`,
    );
  });
});
