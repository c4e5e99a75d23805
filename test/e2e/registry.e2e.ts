// The registry client against a real registry (Debian's docker-registry on 127.0.0.1): detection of feature tags,
// digest resolution, re-pushes, missing repositories, authentication and a registry that is down.
import { expect } from "chai";
import * as http from "node:http";
import type { AddressInfo } from "node:net";
import { appService as app, failure } from "../support/fixtures";
import { resolveImages } from "../../environments/images";
import { RegistryClient, RegistryError } from "../../environments/registry";
import { freePort, LocalRegistry } from "../../scripts/lib/localRegistry";
import { TokenServer } from "./support/tokenServer";

function digestPlan(registry: RegistryClient) {
  return {
    registry,
    featureTag: "VERBU-6202_latest",
    baselineTag: "master_latest",
    rollout: "digest" as const,
    infraImages: {},
    timeoutMs: 10_000,
  };
}

describe("registry client against a real registry", function () {
  this.timeout(60_000);
  let registry: LocalRegistry;
  let client: RegistryClient;

  before(async () => {
    registry = await LocalRegistry.start();
    client = new RegistryClient({ address: registry.address, insecure: true });
  });
  after(() => registry?.stop());

  it("resolves a tag to the digest the push produced, and follows a re-push", async () => {
    const first = await registry.push("bu/wallet", "master_latest", "wallet build 1");
    expect(await client.digestOf("bu/wallet", "master_latest")).to.equal(first);
    const second = await registry.push("bu/wallet", "master_latest", "wallet build 2");
    expect(second).to.not.equal(first);
    expect(await client.digestOf("bu/wallet", "master_latest")).to.equal(second);
  });

  it("answers undefined for a missing tag and a missing repository", async () => {
    await registry.push("bu/auth", "master_latest", "auth");
    expect(await client.digestOf("bu/auth", "VERBU-1_latest")).to.equal(undefined);
    expect(await client.digestOf("bu/no-such-service", "master_latest")).to.equal(undefined);
  });

  it("detects which services were built on the branch and pins their digests", async () => {
    const authFeature = await registry.push("bu/auth", "VERBU-6202_latest", "auth on the branch");
    // The expected digest comes from the push, never from the client under test.
    const wallet = await registry.push("bu/wallet", "master_latest", "wallet build 3");
    const images = await resolveImages([app("auth"), app("wallet")], digestPlan(client));
    expect(images.get("auth")).to.deep.include({
      builtOnBranch: true,
      reference: `${registry.address}/bu/auth:VERBU-6202_latest@${authFeature}`,
    });
    expect(images.get("wallet")).to.deep.include({
      builtOnBranch: false,
      reference: `${registry.address}/bu/wallet:master_latest@${wallet}`,
    });
  });

  it("names the service and image when a repository does not exist", async () => {
    const error = await failure(resolveImages([app("ghost")], digestPlan(client)));
    expect(error.message).to.equal(
      `service "ghost": registry ${registry.address} has no image bu/ghost:master_latest; every service needs a baseline image (qa-k8s:baselineTag) unless built on the branch`,
    );
  });

  it("reports a registry that is down, naming it", async () => {
    const port = await freePort();
    const down = new RegistryClient({ address: `127.0.0.1:${port}`, insecure: true });
    const error = await failure(down.digestOf("bu/auth", "master_latest"));
    expect(error).to.be.instanceOf(RegistryError);
    expect(error.message).to.equal(`registry 127.0.0.1:${port} is unreachable (ECONNREFUSED)`);
  });

  describe("with authentication", () => {
    let secured: LocalRegistry;
    let pushed: string;
    before(async () => {
      secured = await LocalRegistry.start({ credentials: { username: "ci", password: "right-password" } });
      pushed = await secured.push("bu/auth", "master_latest", "auth");
    });
    after(() => secured?.stop());

    it("authenticates with the configured credentials", async () => {
      const ok = new RegistryClient({
        address: secured.address,
        insecure: true,
        username: "ci",
        password: "right-password",
      });
      expect(pushed).to.match(/^sha256:[0-9a-f]{64}$/);
      expect(await ok.digestOf("bu/auth", "master_latest")).to.equal(pushed);
    });

    it("says which credentials were refused, and how to fix them", async () => {
      const wrong = new RegistryClient({ address: secured.address, insecure: true, username: "ci", password: "wrong" });
      const error = await failure(wrong.digestOf("bu/auth", "master_latest"));
      expect(error.message).to.equal(
        `registry ${secured.address} refused user "ci" for bu/auth:master_latest (HTTP 401); check qa-k8s:registryUsername and qa-k8s:registryPassword`,
      );
      expect(error.message).to.not.contain("wrong");
    });

    it("asks for credentials when none are configured", async () => {
      const anonymous = new RegistryClient({ address: secured.address, insecure: true });
      const error = await failure(anonymous.digestOf("bu/auth", "master_latest"));
      expect(error.message).to.equal(
        `registry ${secured.address} requires credentials for bu/auth; set qa-k8s:registryUsername and qa-k8s:registryPassword (--secret)`,
      );
    });
  });

  describe("with Bearer tokens from a token service", () => {
    let tokens: TokenServer;
    let secured: LocalRegistry;
    const credentials = { username: "ci", password: "token-password" };
    before(async () => {
      tokens = await TokenServer.start(credentials);
      secured = await LocalRegistry.start({
        tokenService: { realm: tokens.realm, certificateFile: tokens.certificateFile, credentials },
      });
    });
    after(async () => {
      await secured?.stop();
      await tokens?.stop();
    });

    it("fetches a token for the repository with Basic credentials and resolves with it", async () => {
      const pushed = await secured.push("bu/auth", "master_latest", "auth behind tokens");
      tokens.requests.length = 0;
      const client = new RegistryClient({ address: secured.address, insecure: true, ...credentials });
      expect(await client.digestOf("bu/auth", "master_latest")).to.equal(pushed);
      expect(await client.digestOf("bu/auth", "VERBU-1_latest")).to.equal(undefined);
      expect(
        tokens.requests.map((r) => r.scope),
        "one token serves the repository",
      ).to.deep.equal(["repository:bu/auth:pull"]);
      expect(tokens.requests.at(-1)?.authorization).to.equal(
        `Basic ${Buffer.from("ci:token-password").toString("base64")}`,
      );
    });

    it("reports credentials the token service refuses", async () => {
      const client = new RegistryClient({ address: secured.address, insecure: true, username: "ci", password: "nope" });
      const error = await failure(client.digestOf("bu/auth", "master_latest"));
      expect(error.message).to.equal(
        `registry ${secured.address}: token service http://127.0.0.1:${new URL(tokens.realm).port} refused user "ci" (HTTP 401); check qa-k8s:registryUsername and qa-k8s:registryPassword`,
      );
    });
  });

  describe("answers no real registry gives on the happy path", () => {
    // A tiny HTTP server on 127.0.0.1 that answers every manifest request with the status and headers under test.
    let answer: { status: number; headers: Record<string, string> } = { status: 200, headers: {} };
    let server: http.Server;
    let client: RegistryClient;
    before(async () => {
      server = http.createServer((_request, response) => response.writeHead(answer.status, answer.headers).end());
      await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
      client = new RegistryClient({ address: `127.0.0.1:${(server.address() as AddressInfo).port}`, insecure: true });
    });
    after(() => new Promise<void>((resolve) => server.close(() => resolve())));

    async function messageFor(status: number, headers: Record<string, string> = {}): Promise<string> {
      answer = { status, headers };
      return (await failure(client.digestOf("bu/auth", "master_latest"))).message;
    }

    it("names each refusal with the registry, the image and the status", async () => {
      const at = client.address;
      expect(await messageFor(403)).to.equal(
        `registry ${at} denied anonymous access to bu/auth:master_latest (HTTP 403)`,
      );
      expect(await messageFor(500)).to.equal(`registry ${at} answered HTTP 500 for bu/auth:master_latest`);
      expect(await messageFor(200)).to.equal(
        `registry ${at} sent no Docker-Content-Digest header for bu/auth:master_latest`,
      );
      expect(await messageFor(401, { "WWW-Authenticate": 'Negotiate realm="x"' })).to.equal(
        `registry ${at} asked for unsupported authentication "Negotiate realm="x""`,
      );
      expect(await messageFor(401, { "WWW-Authenticate": 'Bearer service="x"' })).to.equal(
        `registry ${at} sent a Bearer challenge without a realm`,
      );
    });

    it("refuses an address that is not host[:port][/path]", () => {
      expect(() => new RegistryClient({ address: "https://nexus/docker" })).to.throw(
        `registry address "https://nexus/docker" is not host[:port][/path]`,
      );
    });
  });
});
