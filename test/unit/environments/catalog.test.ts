import { expect } from "chai";
import * as fs from "node:fs";
import { stringify } from "yaml";
import { CatalogError, parseCatalog } from "../../../environments/catalog";

const FILE = "catalog.yaml";
const SEED_SERVICES =
  `communicator desktop-web desktop-app wallet u-tipper u-flipper tofu bullet-insurance-application-requests
insurance-application-requests-api jent mobile-app gf-mobile gf-desktop bulu accounting-api acid addressservice auth
auth-ui brain bu-cleanup bubot bubot-accounting bubot-appointments bubot-consulting-process bubot-documents
bubot-insurance-application-requests bubot-mailing bubot-rivo bubot-salary bus coachman consulting-process-api
customer-area bu-tariff-admin gf-tariff-admin temple ripple miami customer-activities eventbus nsqd nsqlookupd nsqadmin
mongodb`.split(/\s+/);

function service(overrides: Record<string, unknown> = {}) {
  return { name: "auth", kind: "app", image: "bu/auth", port: 3000, ...overrides };
}

/** Problems reported for a catalog of `services` (after a valid nsqd). */
function problems(services: unknown[], extra: Record<string, unknown> = {}): string[] {
  const nsqd = { name: "nsqd", kind: "infra", image: "${nsqImage}", port: 4151 };
  try {
    parseCatalog(stringify({ ...extra, services: [nsqd, ...services] }), FILE);
    return [];
  } catch (error) {
    expect(error).to.be.instanceOf(CatalogError);
    return [...(error as CatalogError).problems];
  }
}

describe("the shipped catalog", () => {
  const catalog = parseCatalog(fs.readFileSync("environments/catalog.yaml", "utf8"), "environments/catalog.yaml");

  it("is valid and holds ~70 services including every service of the seed system", () => {
    expect(catalog).to.have.length(70);
    expect(catalog.map((s) => s.name)).to.include.members(SEED_SERVICES);
    expect(SEED_SERVICES).to.have.length(45);
  });

  it("stays within the memory and CPU the seed measured", () => {
    for (const s of catalog) {
      const memory = Number(/^(\d+)Mi$/.exec(s.resources.requests.memory)?.[1]);
      const cpu = Number(/^(\d+)m$/.exec(s.resources.requests.cpu)?.[1]);
      expect(memory, s.name).to.be.within(49, 110);
      expect(cpu, s.name).to.be.within(1, 24);
    }
  });

  it("runs NSQ and one MongoDB with storage from infra entries, and routes /eventbus to nsqd", () => {
    const infra = catalog.filter((s) => s.kind === "infra").map((s) => s.name);
    expect(infra).to.deep.equal(["nsqd", "nsqlookupd", "nsqadmin", "mongodb"]);
    expect(catalog.find((s) => s.name === "mongodb")?.storage).to.equal("2Gi");
    expect(catalog.find((s) => s.name === "nsqd")?.ingress).to.deep.equal([
      { host: "services-${feature}.${domain}", path: "/eventbus", stripPrefix: true },
    ]);
  });
});

describe("catalog validation", () => {
  it("applies catalog defaults, then built-in defaults", () => {
    const [, auth] = parseCatalog(
      stringify({
        defaults: { replicas: 2, resources: { limits: { memory: "300Mi" } } },
        services: [
          { name: "nsqd", kind: "infra", image: "nsq", port: 4151 },
          service({ resources: { requests: { cpu: "7m" } } }),
        ],
      }),
      FILE,
    );
    expect(auth.replicas).to.equal(2);
    expect(auth.resources).to.deep.equal({
      requests: { cpu: "7m", memory: "64Mi" },
      limits: { cpu: "250m", memory: "300Mi" },
    });
  });

  it("reports YAML syntax errors with the line", () => {
    expect(() => parseCatalog("services:\n  - name: a\n   kind: app", FILE)).to.throw(
      CatalogError,
      /catalog\.yaml: not valid YAML at line 3: /,
    );
  });

  it("refuses unknown keys", () => {
    expect(problems([service({ prot: 3000 })])).to.deep.equal([
      `${FILE}: service "auth": unknown key "prot"; remove it or check the spelling`,
    ]);
    expect(problems([service({ resources: { requets: {} } })])).to.deep.equal([
      `${FILE}: service "auth": unknown key "requets" in resources; remove it or check the spelling`,
    ]);
  });

  it("refuses wrong types and missing fields", () => {
    expect(problems([service({ port: "3000" })])).to.deep.equal([
      `${FILE}: service "auth": port must be a number, got "3000"`,
    ]);
    expect(problems([{ name: "auth", kind: "app", port: 3000 }])).to.deep.equal([
      `${FILE}: service "auth": image is required (string)`,
    ]);
    expect(problems([service({ kind: "backend" })])).to.deep.equal([
      `${FILE}: service "auth": kind "backend" is not one of "app", "infra"`,
    ]);
  });

  it("refuses duplicate names", () => {
    expect(problems([service(), service()])).to.deep.equal([
      `${FILE}: service "auth" is defined twice (services[1] and services[2]); give each service a unique name`,
    ]);
  });

  it("refuses names that are not DNS-1123 labels", () => {
    expect(problems([service({ name: "Auth_UI" })])).to.deep.equal([
      `${FILE}: service "Auth_UI": name must be a DNS-1123 label (lower-case letters, digits and '-', at most 63 characters); rename it, e.g. "auth-ui"`,
    ]);
  });

  it("refuses ports out of range", () => {
    expect(problems([service({ port: 0 })])).to.deep.equal([`${FILE}: service "auth": port 0 is out of range 1–65535`]);
    expect(problems([service({ extraPorts: [{ name: "tcp", port: 70000 }] })])).to.deep.equal([
      `${FILE}: service "auth": extraPorts.tcp 70000 is out of range 1–65535`,
    ]);
  });

  it("refuses two services on the same path of one host", () => {
    const route = [{ path: "/auth" }];
    expect(problems([service({ ingress: route }), service({ name: "auth-v2", ingress: route })])).to.deep.equal([
      `${FILE}: service "auth-v2": ingress path "/auth" on host "services-\${feature}.\${domain}" is already routed to service "auth"; use another path`,
    ]);
    const otherHost = [{ path: "/auth", host: "admin-${feature}.${domain}" }];
    expect(problems([service({ ingress: route }), service({ name: "auth-v2", ingress: otherHost })])).to.deep.equal([]);
  });

  it("refuses paths without a leading slash and unknown host placeholders", () => {
    expect(problems([service({ ingress: [{ path: "auth", host: "${fqdn}" }] })])).to.deep.equal([
      `${FILE}: service "auth": ingress path "auth" must start with "/"`,
      `${FILE}: service "auth": ingress host "\${fqdn}" uses unknown placeholder \${fqdn}; known: feature, ticket, domain`,
    ]);
  });

  it("refuses bad resource quantities", () => {
    expect(problems([service({ resources: { requests: { memory: "64MB", cpu: "fast" } } })])).to.deep.equal([
      `${FILE}: service "auth": resources.requests.cpu "fast" is not a Kubernetes quantity; use e.g. 10m or 0.5`,
      `${FILE}: service "auth": resources.requests.memory "64MB" is not a Kubernetes quantity; use e.g. 64Mi`,
    ]);
    expect(problems([service({ storage: "lots" })])).to.deep.equal([
      `${FILE}: service "auth": storage "lots" is not a Kubernetes quantity; use e.g. 1Gi`,
    ]);
  });

  it("refuses requests above limits and says when the limit is the catalog default", () => {
    expect(problems([service({ resources: { requests: { cpu: "300m" }, limits: { cpu: "200m" } } })])).to.deep.equal([
      `${FILE}: service "auth": resources.requests.cpu 300m is above resources.limits.cpu 200m; raise the limit or lower the request`,
    ]);
    expect(problems([service({ resources: { requests: { memory: "1Gi" } } })])).to.deep.equal([
      `${FILE}: service "auth": resources.requests.memory 1Gi is above resources.limits.memory 256Mi (the catalog default); raise the limit or lower the request`,
    ]);
  });

  it("refuses unknown placeholders in env values and images", () => {
    expect(problems([service({ env: { URL: "https://${fdqn}/x" } })])).to.deep.equal([
      `${FILE}: service "auth": env.URL uses unknown placeholder \${fdqn}; known: feature, ticket, fqdn, domain, namespace`,
    ]);
    expect(problems([service({ image: "bu/${ticket}" })])).to.deep.equal([
      `${FILE}: service "auth": image uses unknown placeholder \${ticket}; app images take no placeholders`,
    ]);
    expect(problems([service({ kind: "infra", image: "${mongoImage}" })])).to.deep.equal([
      `${FILE}: service "auth": image uses unknown placeholder \${mongoImage}; known: nsqImage`,
    ]);
  });

  it("refuses env names that are invalid or set by qa-k8s itself", () => {
    expect(problems([service({ env: { "MY-VAR": "1", FEATURE: "x" } })])).to.deep.equal([
      `${FILE}: service "auth": env name "MY-VAR" is not a valid variable name; use letters, digits and '_', not starting with a digit`,
      `${FILE}: service "auth": env.FEATURE is set by qa-k8s on every app container; remove it from the catalog`,
    ]);
  });

  it("refuses requiresNsq without nsqd, and an ambiguous readiness probe", () => {
    expect(() =>
      parseCatalog(
        stringify({ services: [service({ requiresNsq: true, readinessProbe: { path: "/h", tcp: true } })] }),
        FILE,
      ),
    )
      .to.throw(CatalogError)
      .with.property("problems")
      .that.deep.equals([
        `${FILE}: service "auth": requiresNsq is true but the catalog has no service "nsqd"; add nsqd or set requiresNsq: false`,
        `${FILE}: service "auth": readinessProbe needs exactly one of path (HTTP GET) or tcp: true`,
      ]);
  });

  it("lists every problem of the catalog in one error", () => {
    let error: Error | undefined;
    try {
      parseCatalog(stringify({ services: [service({ port: 0, name: "A" })] }), FILE);
    } catch (e) {
      error = e as Error;
    }
    expect(error?.message).to.equal(
      `the catalog has 2 problems:\n  ${FILE}: service "A": name must be a DNS-1123 label (lower-case letters, digits and '-', at most 63 characters); rename it, e.g. "a"\n  ${FILE}: service "A": port 0 is out of range 1–65535`,
    );
  });
});
