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
    expect(catalog, "the loop below sees every service").to.have.length(70);
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

  const DNS1035 =
    "lower-case letters, digits and '-', starting with a letter and ending with a letter or digit, at most 63 characters";

  it("refuses names that are not DNS-1035 labels, as Service names must be", () => {
    expect(problems([service({ name: "Auth_UI" })])).to.deep.equal([
      `${FILE}: service "Auth_UI": name "Auth_UI" is not a DNS-1035 label, which a Service name must be (${DNS1035}); rename it, e.g. "auth-ui"`,
    ]);
    expect(problems([service({ name: "3d-viewer" })])).to.deep.equal([
      `${FILE}: service "3d-viewer": name "3d-viewer" is not a DNS-1035 label, which a Service name must be (${DNS1035}); rename it, e.g. "svc-3d-viewer"`,
    ]);
    const long = `a${"b".repeat(63)}`;
    expect(problems([service({ name: long })])).to.deep.equal([
      `${FILE}: service "${long}": name "${long}" is not a DNS-1035 label, which a Service name must be (${DNS1035}); rename it, e.g. "${long.slice(0, 63)}"`,
    ]);
    expect(problems([service({ name: "a".repeat(63) })])).to.deep.equal([]);
  });

  it("leaves a service with storage room for the StatefulSet controller's revision hash (52 characters)", () => {
    const name = "m".repeat(53);
    expect(problems([service({ name, storage: "1Gi" })])).to.deep.equal([
      `${FILE}: service "${name}": name "${name}" has 53 characters, too many for a service with storage: it runs as a StatefulSet, whose controller labels every pod controller-revision-hash=<name>-<hash of up to 10 characters>, and a label value holds at most 63; use at most 52 characters`,
    ]);
    expect(problems([service({ name: "m".repeat(52), storage: "1Gi" })])).to.deep.equal([]);
    expect(problems([service({ name, storage: undefined })]), "a Deployment has no such limit").to.deep.equal([]);
  });

  it("refuses extra port names Kubernetes refuses, and port names or numbers used twice", () => {
    const rule =
      "at most 15 lower-case letters, digits and '-', with at least one letter and no leading, trailing or double '-'";
    expect(problems([service({ extraPorts: [{ name: "Metrics_Port", port: 9100 }] })])).to.deep.equal([
      `${FILE}: service "auth": extraPorts name "Metrics_Port" is not a valid port name (${rule}); rename it, e.g. "metrics-port"`,
    ]);
    expect(problems([service({ extraPorts: [{ name: "prometheus-metrics", port: 9100 }] })])).to.deep.equal([
      `${FILE}: service "auth": extraPorts name "prometheus-metrics" is not a valid port name (${rule}); rename it, e.g. "prometheus-metr"`,
    ]);
    expect(problems([service({ extraPorts: [{ name: "http", port: 8080 }] })])).to.deep.equal([
      `${FILE}: service "auth": extraPorts name "http" is used twice (the main port is named "http"); give every extra port its own name`,
    ]);
    expect(
      problems([
        service({
          extraPorts: [
            { name: "tcp", port: 4150 },
            { name: "tcp", port: 4160 },
          ],
        }),
      ]),
    ).to.deep.equal([
      `${FILE}: service "auth": extraPorts name "tcp" is used twice (the main port is named "http"); give every extra port its own name`,
    ]);
    expect(problems([service({ extraPorts: [{ name: "admin", port: 3000 }] })])).to.deep.equal([
      `${FILE}: service "auth": extraPorts.admin 3000 repeats port; a Service exposes each port number once, so remove one of them`,
    ]);
    expect(problems([service({ extraPorts: [{ name: "a".repeat(15), port: 9100 }] })])).to.deep.equal([]);
  });

  it("runs a background worker without a port, and refuses what would need one", () => {
    const [, worker] = parseCatalog(
      stringify({
        services: [{ name: "nsqd", kind: "infra", image: "nsq", port: 4151 }, service({ port: undefined })],
      }),
      FILE,
    );
    expect(worker.port).to.equal(undefined);
    expect(
      problems([
        service({
          port: undefined,
          extraPorts: [{ name: "tcp", port: 4150 }],
          ingress: [{ path: "/auth" }],
          readinessProbe: { tcp: true },
        }),
      ]),
    ).to.deep.equal([
      `${FILE}: service "auth": extraPorts needs the main port, and the service has none; set port or remove extraPorts`,
      `${FILE}: service "auth": ingress needs the main port, and the service has none; set port or remove ingress`,
      `${FILE}: service "auth": readinessProbe needs the main port, and the service has none; set port or remove readinessProbe`,
    ]);
  });

  it("refuses a service whose Ingress name is the stripPrefix Ingress of another", () => {
    expect(
      problems([
        service({ ingress: [{ path: "/auth", stripPrefix: true }] }),
        service({ name: "auth-stripped", ingress: [{ path: "/auth-stripped" }] }),
      ]),
    ).to.deep.equal([
      `${FILE}: service "auth-stripped": its Ingress would have the name "auth-stripped" of the stripPrefix Ingress of service "auth"; rename one of them`,
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

  it("refuses paths Kubernetes refuses for pathType Prefix, and unknown host placeholders", () => {
    expect(problems([service({ ingress: [{ path: "/a/../b" }] })])).to.deep.equal([
      `${FILE}: service "auth": ingress path "/a/../b" must not contain "/../" (Kubernetes refuses // /./ /../ %2f %2F)`,
    ]);
    expect(problems([service({ ingress: [{ path: "/auth/." }] })])).to.deep.equal([
      `${FILE}: service "auth": ingress path "/auth/." must not end with "/."`,
    ]);
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
    expect(problems([service({ storage: "0Gi" })])).to.deep.equal([
      `${FILE}: service "auth": storage "0Gi" must be greater than zero (a claim's size); use e.g. 1Gi`,
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

  it("refuses an empty image and one with whitespace", () => {
    expect(problems([service({ kind: "infra", image: "mongo:7.0 " })])).to.deep.equal([
      `${FILE}: service "auth": image "mongo:7.0 " is empty or contains whitespace, which no image reference does; e.g. bu/auth (app) or mongo:7.0 (infra)`,
    ]);
    expect(problems([service({ image: "" })])).to.deep.equal([
      `${FILE}: service "auth": image "" is empty or contains whitespace, which no image reference does; e.g. bu/auth (app) or mongo:7.0 (infra)`,
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
      `the catalog has 2 problems:\n  ${FILE}: service "A": name "A" is not a DNS-1035 label, which a Service name must be (${DNS1035}); rename it, e.g. "a"\n  ${FILE}: service "A": port 0 is out of range 1–65535`,
    );
  });
});
