// Overlay mode's pure parts: which services an overlay deploys itself (feature-built + what they own, by default the
// infra they name), what resolves to the baseline, and the catalog rule for overlayOwn.
import { expect } from "chai";
import * as fs from "node:fs";
import { catalogNeeds } from "../../../environments/capacity";
import { CatalogError, parseCatalog } from "../../../environments/catalog";
import { featureFromStack } from "../../../environments/feature";
import { checkOverlayMode, validateEnvironmentConfig } from "../../../environments/config";
import { defaultOverlayOwn, environmentShape, hostsIn, overlayPlan } from "../../../environments/overlay";
import { spec } from "../components/fixtures";

const CATALOG = parseCatalog(fs.readFileSync("environments/catalog.yaml", "utf8"), "catalog.yaml");
const service = (name: string) => CATALOG.find((s) => s.name === name)!;

function catalogProblems(yaml: string): string[] {
  try {
    parseCatalog(yaml, "catalog.yaml");
    return [];
  } catch (error) {
    return [...(error as CatalogError).problems];
  }
}

describe("overlay: what an overlay deploys itself", () => {
  it("reads host names out of URLs, host:port values and flags", () => {
    expect(hostsIn("mongodb://mongodb:27017/wallet")).to.deep.equal(["mongodb"]);
    expect(hostsIn("nsqd:4151")).to.deep.equal(["nsqd"]);
    expect(hostsIn("--lookupd-tcp-address=nsqlookupd:4160")).to.deep.equal(["nsqlookupd"]);
    expect(hostsIn("a:1,b:2")).to.deep.equal(["a", "b"]);
    expect(hostsIn("qa+verbu-1@qa.example.test")).to.deep.equal([]);
    expect(hostsIn("https://services-verbu-1.qa.example.test/app")).to.deep.equal([]);
  });

  it("defaults overlayOwn to the infra a service uses: NSQ when it requires NSQ, infra named in env or args", () => {
    expect(defaultOverlayOwn(service("wallet"), CATALOG)).to.deep.equal(["nsqd", "mongodb", "nsqlookupd"]);
    expect(defaultOverlayOwn(service("auth"), CATALOG)).to.deep.equal(["mongodb"]);
    expect(defaultOverlayOwn(service("desktop-web"), CATALOG)).to.deep.equal([]);
    expect(defaultOverlayOwn(service("nsqd"), CATALOG), "nsqd's --lookupd-tcp-address").to.deep.equal(["nsqlookupd"]);
    expect(defaultOverlayOwn(service("mongodb"), CATALOG)).to.deep.equal([]);
  });

  it("deploys the feature-built services and, transitively, what they own; the rest with a port resolves to the baseline", () => {
    const plan = overlayPlan(CATALOG, ["wallet", "auth"]);
    expect(plan.deployed).to.deep.equal(["wallet", "auth", "nsqd", "nsqlookupd", "mongodb"]);
    expect(plan.resolvedInBaseline).to.include.members(["communicator", "nsqadmin", "bubot"]);
    expect(plan.resolvedInBaseline).to.not.include.members(plan.deployed as string[]);
    const workers = CATALOG.filter((s) => s.port === undefined).map((s) => s.name);
    expect(plan.deployed.length + plan.resolvedInBaseline.length + workers.length).to.equal(CATALOG.length);
    expect(overlayPlan(CATALOG, ["desktop-web"]).deployed, "a frontend owns nothing").to.deep.equal(["desktop-web"]);
    expect(overlayPlan(CATALOG, []).deployed).to.deep.equal([]);
  });

  it("follows an explicit overlayOwn, [] meaning the baseline's", () => {
    const catalog = parseCatalog(
      `services:
  - { name: api, kind: app, image: bu/api, port: 3000, env: { MONGO_URL: "mongodb://mongodb:27017/api" }, overlayOwn: [] }
  - { name: ui, kind: app, image: bu/ui, port: 3000, overlayOwn: [api] }
  - { name: worker, kind: app, image: bu/worker }
  - { name: mongodb, kind: infra, image: mongo:7.0, port: 27017 }
`,
      "catalog.yaml",
    );
    expect(overlayPlan(catalog, ["api"])).to.deep.equal({ deployed: ["api"], resolvedInBaseline: ["ui", "mongodb"] });
    expect(overlayPlan(catalog, ["ui"]).deployed, "catalog order").to.deep.equal(["api", "ui"]);
    expect(overlayPlan(catalog, ["worker"])).to.deep.equal({
      deployed: ["worker"],
      resolvedInBaseline: ["api", "ui", "mongodb"],
    });
  });

  it("refuses overlayOwn names outside the catalog, and the service itself", () => {
    expect(
      catalogProblems(`services:
  - { name: api, kind: app, image: bu/api, port: 3000, overlayOwn: [mongo, api] }
`),
    ).to.deep.equal([
      'catalog.yaml: service "api": overlayOwn "mongo" is not a service of the catalog; use catalog service names (e.g. mongodb, nsqd), or [] to use the baseline\'s',
      'catalog.yaml: service "api": overlayOwn lists the service itself; an overlay deploys a feature-built service anyway, so list only what it needs next to it (or [] for the baseline\'s)',
    ]);
    expect(
      catalogProblems(`services:\n  - { name: api, kind: app, image: bu/api, overlayOwn: "mongodb" }\n`),
    ).to.deep.equal(['catalog.yaml: service "api": overlayOwn must be an array, got "mongodb"']);
  });
});

describe("overlay: what it needs from the cluster", () => {
  it("counts only the pods an overlay runs itself", () => {
    const feature = featureFromStack("verbu-1");
    const full = catalogNeeds(CATALOG, feature);
    const overlay = catalogNeeds(CATALOG, feature, { overlayOf: ["wallet", "auth"] });
    expect(full.total.pods).to.equal(70);
    expect(overlay.pods.map((p) => p.name).sort()).to.deep.equal(["auth", "mongodb", "nsqd", "nsqlookupd", "wallet"]);
    expect(overlay.total.memoryBytes).to.be.lessThan(full.total.memoryBytes / 10);
  });
});

describe("overlay: environment shape per mode", () => {
  const services = CATALOG.map((s) => spec({ name: s.name, port: s.port }));
  const shape = (mode: "full" | "overlay", namespace: string) =>
    environmentShape({ mode, baseline: "master", namespace, catalog: CATALOG, services, builtOnBranch: ["auth"] });

  it("full: everything deployed; only the baseline itself admits namespaces labelled as its overlays", () => {
    expect(shape("full", "verbu-1").deployed).to.have.length(70);
    expect(shape("full", "verbu-1").admittedNamespaceLabels).to.equal(undefined);
    expect(shape("full", "verbu-1").namespaceLabels).to.deep.equal({});
    expect(shape("full", "master").admittedNamespaceLabels).to.deep.equal({ "qa-k8s/baseline": "master" });
  });

  it("overlay: its own services, the rest answered by the baseline namespace, labels naming mode and baseline", () => {
    const overlay = shape("overlay", "verbu-1");
    expect(overlay.deployed.map((s) => s.name)).to.deep.equal(["auth", "mongodb"]);
    expect(overlay.baseline?.namespace).to.equal("master");
    expect(overlay.baseline?.services.map((s) => s.name)).to.have.length(68 - CATALOG.filter((s) => !s.port).length);
    expect(overlay.namespaceLabels).to.deep.equal({ "qa-k8s/mode": "overlay", "qa-k8s/baseline": "master" });
    expect(overlay.admittedNamespaceLabels).to.equal(undefined);
  });
});

describe("overlay: config", () => {
  const problems = (raw: Parameters<typeof validateEnvironmentConfig>[0]) => {
    try {
      validateEnvironmentConfig(raw);
      return [];
    } catch (error) {
      return (error as Error).message
        .split("\n")
        .slice(1)
        .map((l) => l.trim());
    }
  };

  it("defaults to full mode on baseline master, and names field, value, rule and fix", () => {
    expect(validateEnvironmentConfig({})).to.include({ mode: "full", baseline: "master" });
    expect(validateEnvironmentConfig({ mode: "overlay", baseline: "verbu-9700" })).to.include({
      mode: "overlay",
      baseline: "verbu-9700",
    });
    expect(problems({ mode: "partial" })).to.deep.equal([
      'qa-k8s:mode "partial" is not one of full, overlay; run: pulumi config set mode overlay (or full)',
    ]);
    expect(problems({ baseline: "Master_1" })).to.deep.equal([
      `qa-k8s:baseline "Master_1" is not a namespace name (lower-case letters, digits and '-'); name the baseline environment's stack, e.g. pulumi config set baseline master`,
    ]);
    expect(problems({ baseline: "kube-system" })[0]).to.match(/^qa-k8s:baseline "kube-system" is reserved: kube-\*/);
  });

  it("refuses overlay mode on the baseline's own stack", () => {
    expect(() => checkOverlayMode({ mode: "overlay", baseline: "master" }, "master")).to.throw(
      'qa-k8s:mode "overlay" on stack "master", which is the baseline (qa-k8s:baseline "master"): the baseline must be a full environment; run: pulumi config set mode full, or set qa-k8s:baseline to another stack',
    );
    expect(() => checkOverlayMode({ mode: "full", baseline: "master" }, "master")).to.not.throw();
    expect(() => checkOverlayMode({ mode: "overlay", baseline: "master" }, "verbu-1")).to.not.throw();
  });
});
