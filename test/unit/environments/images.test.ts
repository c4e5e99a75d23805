import { expect } from "chai";
import { appService as app, failure } from "../../support/fixtures";
import { ImagePlan, resolveImages } from "../../../environments/images";
import { ImageRegistry, RegistryError } from "../../../environments/registry";
import { MemoryRegistry } from "../support/memoryRegistry";

const D1 = "sha256:" + "1".repeat(64);
const D2 = "sha256:" + "2".repeat(64);
const D3 = "sha256:" + "3".repeat(64);

const SERVICES = [app("auth"), app("wallet"), { ...app("nsqd"), kind: "infra" as const, image: "${nsqImage}" }];

function plan(registry: ImageRegistry, overrides: Partial<ImagePlan> = {}): ImagePlan {
  return {
    registry,
    featureTag: "VERBU-6202_latest",
    baselineTag: "master_latest",
    rollout: "digest",
    infraImages: { nsqImage: "nsqio/nsq:v1.3.0" },
    timeoutMs: 5000,
    ...overrides,
  };
}

function registry() {
  return new MemoryRegistry(new Map(), "reg.test:5000/docker")
    .set("bu/auth", "master_latest", D1)
    .set("bu/wallet", "master_latest", D2)
    .set("bu/auth", "VERBU-6202_latest", D3);
}

describe("image selection", () => {
  it("detects feature-built services by the presence of the feature tag and pins digests", async () => {
    const images = await resolveImages(SERVICES, plan(registry()));
    expect(Object.fromEntries(images)).to.deep.equal({
      auth: {
        reference: `reg.test:5000/docker/bu/auth:VERBU-6202_latest@${D3}`,
        tag: "VERBU-6202_latest",
        digest: D3,
        builtOnBranch: true,
      },
      wallet: {
        reference: `reg.test:5000/docker/bu/wallet:master_latest@${D2}`,
        tag: "master_latest",
        digest: D2,
        builtOnBranch: false,
      },
      nsqd: { reference: "nsqio/nsq:v1.3.0", builtOnBranch: false },
    });
  });

  it("uses the listed feature services without detection", async () => {
    const reg = registry();
    const images = await resolveImages(SERVICES, plan(reg, { featureServices: [] }));
    expect(images.get("auth")?.tag).to.equal("master_latest");
    expect(reg.lookups).to.deep.equal(["bu/auth:master_latest", "bu/wallet:master_latest"]);
  });

  it("asks nothing of the registry in restart mode with a list, and pins no digest", async () => {
    const reg = new MemoryRegistry(new Map(), "reg.test:5000/docker");
    const images = await resolveImages(SERVICES, plan(reg, { rollout: "restart", featureServices: ["wallet"] }));
    expect(reg.lookups).to.deep.equal([]);
    expect(images.get("wallet")).to.deep.equal({
      reference: "reg.test:5000/docker/bu/wallet:VERBU-6202_latest",
      tag: "VERBU-6202_latest",
      builtOnBranch: true,
    });
    expect(images.get("auth")?.reference).to.equal("reg.test:5000/docker/bu/auth:master_latest");
  });

  it("detects in restart mode without a list but deploys plain tags", async () => {
    const images = await resolveImages(SERVICES, plan(registry(), { rollout: "restart" }));
    expect(images.get("auth")).to.include({
      reference: "reg.test:5000/docker/bu/auth:VERBU-6202_latest",
      builtOnBranch: true,
    });
  });

  it("names the service, the image and the fix when an image is missing", async () => {
    const missingListed = await failure(resolveImages(SERVICES, plan(registry(), { featureServices: ["wallet"] })));
    expect(missingListed.message).to.equal(
      `service "wallet": registry reg.test:5000/docker has no image bu/wallet:VERBU-6202_latest; push it, or remove the service from qa-k8s:featureServices`,
    );
    const noBaseline = new MemoryRegistry(new Map(), "reg.test:5000/docker").set("bu/auth", "master_latest", D1);
    const error = await failure(resolveImages(SERVICES, plan(noBaseline)));
    expect(error).to.be.instanceOf(RegistryError);
    expect(error.message).to.equal(
      `service "wallet": registry reg.test:5000/docker has no image bu/wallet:master_latest; every service needs a baseline image (qa-k8s:baselineTag) unless built on the branch`,
    );
  });

  it("fails with the registry and the service when the registry fails, never falling back silently", async () => {
    const down: ImageRegistry = {
      address: "reg.test:5000",
      digestOf: async () => {
        throw new RegistryError("registry reg.test:5000 is unreachable (ECONNREFUSED)");
      },
    };
    const error = await failure(resolveImages([app("auth")], plan(down)));
    expect(error.message).to.equal(
      `service "auth": registry reg.test:5000 is unreachable (ECONNREFUSED); for a registry that cannot be queried use qa-k8s:rollout restart with qa-k8s:featureServices`,
    );
    const both = await failure(resolveImages([app("auth"), app("wallet")], plan(down)));
    expect(both.message).to.equal(
      `2 services could not be resolved:\n  services "auth", "wallet": registry reg.test:5000 is unreachable (ECONNREFUSED); for a registry that cannot be queried use qa-k8s:rollout restart with qa-k8s:featureServices`,
    );
  });

  it("lists each distinct reason once, naming the first services it hit", async () => {
    const many = Array.from({ length: 8 }, (_, i) => app(`svc-${i}`));
    const flaky: ImageRegistry = {
      address: "reg.test",
      digestOf: async (repository) => {
        if (repository === "bu/svc-7") return undefined;
        throw new RegistryError("registry reg.test answered HTTP 500 for a manifest");
      },
    };
    const error = await failure(resolveImages(many, plan(flaky, { featureServices: [] })));
    expect(error.message).to.equal(
      [
        "8 services could not be resolved:",
        `  services "svc-0", "svc-1", "svc-2", "svc-3", "svc-4" and 2 more: registry reg.test answered HTTP 500 for a manifest; for a registry that cannot be queried use qa-k8s:rollout restart with qa-k8s:featureServices`,
        `  service "svc-7": registry reg.test has no image bu/svc-7:master_latest; every service needs a baseline image (qa-k8s:baselineTag) unless built on the branch`,
      ].join("\n"),
    );
  });

  it("resolves many services concurrently, bounded, and within the time limit", async () => {
    const many = Array.from({ length: 70 }, (_, i) => app(`svc-${i}`));
    const slow = new MemoryRegistry(new Map(), "reg.test", 20);
    many.forEach((s) => slow.set(s.image, "master_latest", D1));
    await resolveImages(many, plan(slow, { featureServices: [], concurrency: 8 }));
    expect(slow.maxInFlight).to.equal(8);
    expect(slow.lookups).to.have.length(70);

    const tooSlow = new MemoryRegistry(new Map(), "reg.test", 10_000);
    const error = await failure(resolveImages(many, plan(tooSlow, { featureServices: [], timeoutMs: 50 })));
    expect(error.message).to.equal(
      `resolving images in registry reg.test timed out after 0.05s (0 of 70 services done); check that the registry answers, or raise qa-k8s:registryTimeoutSeconds`,
    );
  });
});
