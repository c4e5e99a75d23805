// Ingress hosts as an up will send them: the catalog's host templates expanded for one feature, held to the API
// server's rule for Ingress hosts (see kubernetesNames.ts).
import { expect } from "chai";
import { stringify } from "yaml";
import { parseCatalog } from "../../../environments/catalog";
import { routeHostProblems } from "../../../environments/catalogChecks";

const FILE = "catalog.yaml";

function service(overrides: Record<string, unknown> = {}) {
  return { name: "auth", kind: "app", image: "bu/auth", port: 3000, ...overrides };
}

describe("ingress hosts of one feature", () => {
  const values = { feature: "verbu-6202", ticket: "VERBU-6202", domain: "qa.example.test" };
  const routed = (host?: string) =>
    parseCatalog(stringify({ services: [service({ ingress: [{ path: "/auth", ...(host ? { host } : {}) }] })] }), FILE);

  it("accepts the main host and lower-case templates", () => {
    expect(routeHostProblems(routed(), values, FILE)).to.deep.equal([]);
    expect(routeHostProblems(routed("admin-${feature}.${domain}"), values, FILE)).to.deep.equal([]);
  });

  it("refuses a host the upper-case ticket makes invalid, and says to use the feature", () => {
    expect(routeHostProblems(routed("admin-${ticket}.${domain}"), values, FILE)).to.deep.equal([
      `${FILE}: service "auth": ingress host "admin-\${ticket}.\${domain}" gives "admin-VERBU-6202.qa.example.test" for feature verbu-6202, which is not a DNS-1123 subdomain (lower-case letters, digits, '-' and '.', each part starting and ending with a letter or digit, at most 253 characters); use \${feature} (lower-case) instead of \${ticket}`,
    ]);
  });

  it("refuses a main host longer than 253 characters and an IP address", () => {
    const domain = `${"d".repeat(60)}.${"d".repeat(60)}.${"d".repeat(60)}.${"d".repeat(51)}`;
    const host = `services-verbu-6202.${domain}`;
    expect(host).to.have.length(254);
    expect(routeHostProblems(routed(), { ...values, domain }, FILE)).to.deep.equal([
      `${FILE}: service "auth": ingress host "services-\${feature}.\${domain}" gives "${host}" for feature verbu-6202, which is not a DNS-1123 subdomain (lower-case letters, digits, '-' and '.', each part starting and ending with a letter or digit, at most 253 characters); use a shorter host, or lower-case letters, digits, '-' and '.'`,
    ]);
    expect(routeHostProblems(routed("10.0.0.1"), values, FILE)).to.deep.equal([
      `${FILE}: service "auth": ingress host "10.0.0.1" gives "10.0.0.1" for feature verbu-6202, which is an IP address, not a DNS name; an Ingress routes by host name, so use one`,
    ]);
  });
});
