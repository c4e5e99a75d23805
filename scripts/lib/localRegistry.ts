// A local image registry: Debian's docker-registry (distribution 2.x) on 127.0.0.1, for the tests and `npm start`, with
// images pushed over its HTTP API v2. No Docker engine is needed: a manifest with one tiny layer is an image to a registry.
import { ChildProcess, execFileSync, spawn } from "node:child_process";
import { createHash } from "node:crypto";
import * as fs from "node:fs";
import * as net from "node:net";
import * as os from "node:os";
import * as path from "node:path";
import type { CatalogService } from "../../environments/catalog";

export interface LocalRegistryOptions {
  /** Listen on this port of 127.0.0.1. @default a free port */
  readonly port?: number;
  /** Require these credentials (htpasswd, Basic auth). */
  readonly credentials?: { readonly username: string; readonly password: string };
  /** Require Bearer tokens from this token service instead (registry `auth: token`). */
  readonly tokenService?: {
    readonly realm: string;
    readonly certificateFile: string;
    /** What the test itself pushes with. */
    readonly credentials: { readonly username: string; readonly password: string };
  };
}

export class LocalRegistry {
  private constructor(
    readonly port: number,
    private readonly process: ChildProcess,
    private readonly dir: string,
    private readonly credentials?: { username: string; password: string },
    readonly logFile = path.join(dir, "registry.log"),
  ) {}

  /** `127.0.0.1:<port>`: the address to configure as qa-k8s:registry (with registryInsecure). */
  get address(): string {
    return `127.0.0.1:${this.port}`;
  }

  static async start(options: LocalRegistryOptions = {}): Promise<LocalRegistry> {
    const binary = "/usr/bin/docker-registry";
    if (!fs.existsSync(binary)) {
      throw new Error(
        `${binary} is missing: install Debian's docker-registry (apt-get install docker-registry; .ci/run does)`,
      );
    }
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "qa-k8s-registry-"));
    const port = options.port ?? (await freePort());
    const auth = options.credentials
      ? `auth:\n  htpasswd:\n    realm: qa-k8s-test\n    path: ${writeHtpasswd(dir, options.credentials)}\n`
      : options.tokenService
        ? `auth:\n  token:\n    realm: ${options.tokenService.realm}\n    service: ${TOKEN_SERVICE}\n    issuer: ${TOKEN_ISSUER}\n` +
          `    rootcertbundle: ${options.tokenService.certificateFile}\n`
        : "";
    const config = path.join(dir, "config.yml");
    fs.writeFileSync(
      config,
      `version: 0.1\nlog:\n  level: warn\nstorage:\n  filesystem:\n    rootdirectory: ${dir}/data\n  delete:\n    enabled: true\n` +
        `http:\n  addr: 127.0.0.1:${port}\n${auth}`,
    );
    const log = fs.openSync(path.join(dir, "registry.log"), "a");
    const child = spawn(binary, ["serve", config], { stdio: ["ignore", log, log] });
    const registry = new LocalRegistry(port, child, dir, options.credentials ?? options.tokenService?.credentials);
    await registry.waitUntilUp();
    return registry;
  }

  private async waitUntilUp(): Promise<void> {
    const deadline = Date.now() + 15_000;
    while (Date.now() < deadline) {
      if (this.process.exitCode !== null) break;
      try {
        await fetch(`http://${this.address}/v2/`);
        return;
      } catch {
        await new Promise((r) => setTimeout(r, 100));
      }
    }
    throw new Error(
      `docker-registry did not start on ${this.address}:\n${fs.readFileSync(this.logFile, "utf8").slice(-2000)}`,
    );
  }

  /** Pushes a one-layer image whose content is `content`; returns its manifest digest. */
  async push(repository: string, tag: string, content: string): Promise<string> {
    const layer = Buffer.from(content);
    const imageConfig = Buffer.from(
      JSON.stringify({ architecture: "amd64", os: "linux", rootfs: { type: "layers", diff_ids: [sha256(layer)] } }),
    );
    await this.uploadBlob(repository, layer);
    await this.uploadBlob(repository, imageConfig);
    const manifest = JSON.stringify({
      schemaVersion: 2,
      mediaType: "application/vnd.docker.distribution.manifest.v2+json",
      config: {
        mediaType: "application/vnd.docker.container.image.v1+json",
        size: imageConfig.length,
        digest: sha256(imageConfig),
      },
      layers: [
        { mediaType: "application/vnd.docker.image.rootfs.diff.tar.gzip", size: layer.length, digest: sha256(layer) },
      ],
    });
    const response = await this.fetch(`/v2/${repository}/manifests/${tag}`, {
      method: "PUT",
      headers: { "Content-Type": "application/vnd.docker.distribution.manifest.v2+json" },
      body: manifest,
    });
    if (response.status !== 201)
      throw new Error(`pushing ${repository}:${tag}: HTTP ${response.status} ${await response.text()}`);
    return response.headers.get("docker-content-digest") ?? sha256(Buffer.from(manifest));
  }

  /**
   * Pushes `<image>:<tag>` for every app service; the content names service and `build`, so pushing the same build
   * again gives the same digests and a new build gives new ones.
   */
  async pushApps(services: readonly CatalogService[], tag: string, build: string): Promise<void> {
    for (const service of services.filter((s) => s.kind === "app")) {
      await this.push(service.image, tag, `${service.name} ${tag} ${build}`);
    }
  }

  private async uploadBlob(repository: string, blob: Buffer): Promise<void> {
    const start = await this.fetch(`/v2/${repository}/blobs/uploads/`, { method: "POST" });
    if (start.status !== 202) throw new Error(`starting upload to ${repository}: HTTP ${start.status}`);
    const location = new URL(start.headers.get("location")!, `http://${this.address}`);
    location.searchParams.set("digest", sha256(blob));
    const put = await this.fetch(location.pathname + location.search, {
      method: "PUT",
      headers: { "Content-Type": "application/octet-stream" },
      body: blob,
    });
    if (put.status !== 201) throw new Error(`uploading a blob to ${repository}: HTTP ${put.status}`);
  }

  private async fetch(pathAndQuery: string, init: RequestInit): Promise<Response> {
    const url = `http://${this.address}${pathAndQuery}`;
    const basic =
      this.credentials &&
      `Basic ${Buffer.from(`${this.credentials.username}:${this.credentials.password}`).toString("base64")}`;
    const headers = new Headers(init.headers);
    if (basic) headers.set("Authorization", basic);
    const response = await fetch(url, { ...init, headers });
    const challenge = response.headers.get("www-authenticate") ?? "";
    if (response.status !== 401 || !challenge.startsWith("Bearer ") || !basic) return response;
    const params = Object.fromEntries([...challenge.matchAll(/(\w+)="([^"]*)"/g)].map((m) => [m[1], m[2]]));
    const tokenUrl = new URL(params.realm);
    tokenUrl.searchParams.set("service", params.service);
    tokenUrl.searchParams.set("scope", params.scope);
    const { token } = (await (await fetch(tokenUrl, { headers: { Authorization: basic } })).json()) as {
      token: string;
    };
    headers.set("Authorization", `Bearer ${token}`);
    return fetch(url, { ...init, headers });
  }

  async stop(): Promise<void> {
    if (this.process.exitCode === null) {
      const exited = new Promise((resolve) => this.process.once("exit", resolve));
      this.process.kill("SIGTERM");
      await exited;
    }
    fs.rmSync(this.dir, { recursive: true, force: true });
  }
}

export const TOKEN_SERVICE = "qa-k8s-test-registry";
export const TOKEN_ISSUER = "qa-k8s-test-token-issuer";

function sha256(data: Buffer): string {
  return `sha256:${createHash("sha256").update(data).digest("hex")}`;
}

function writeHtpasswd(dir: string, credentials: { username: string; password: string }): string {
  const file = path.join(dir, "htpasswd");
  // distribution accepts only bcrypt entries.
  const line = execFileSync("htpasswd", ["-Bbn", credentials.username, credentials.password], { encoding: "utf8" });
  fs.writeFileSync(file, line.trim() + "\n");
  return file;
}

/** A port that was free a moment ago on 127.0.0.1. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}
