// Registry HTTP API v2 client: the digest behind a tag (HEAD /v2/<name>/manifests/<tag>). A digest pins exactly what a
// mutable tag like VERBU-6202_latest points at now, so a re-push changes the Deployment and nothing else does.

/** What the program needs from a registry; tests substitute an in-memory one under mocks. */
export interface ImageRegistry {
  /** Human-readable address for messages, e.g. `nexus.example.test:5000/docker`. */
  readonly address: string;
  /** `sha256:…` digest of repository:tag, or undefined when the tag or the repository does not exist. */
  digestOf(repository: string, tag: string, signal?: AbortSignal): Promise<string | undefined>;
}

export interface RegistryOptions {
  /** `host[:port][/path]`; the path is a prefix of every repository name (Nexus/Harbor projects). */
  readonly address: string;
  /** Plain HTTP instead of HTTPS. @default false */
  readonly insecure?: boolean;
  readonly username?: string;
  readonly password?: string;
}

export class RegistryError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "RegistryError";
  }
}

// Multi-arch indexes first: their digest is what `docker push` of a multi-platform image publishes.
const MANIFEST_TYPES = [
  "application/vnd.oci.image.index.v1+json",
  "application/vnd.docker.distribution.manifest.list.v2+json",
  "application/vnd.oci.image.manifest.v1+json",
  "application/vnd.docker.distribution.manifest.v2+json",
].join(", ");

const REGISTRY_ADDRESS = /^([A-Za-z0-9.-]+|\[[0-9A-Fa-f:]+\])(:\d{1,5})?(\/[a-z0-9._/-]+)?$/;

export function isRegistryAddress(address: string): boolean {
  return REGISTRY_ADDRESS.test(address);
}

export class RegistryClient implements ImageRegistry {
  readonly address: string;
  private readonly baseUrl: string;
  private readonly prefix: string;
  private readonly basic?: string;
  /** Bearer tokens by scope; one token serves every request for that repository. */
  private readonly tokens = new Map<string, Promise<string>>();

  constructor(private readonly options: RegistryOptions) {
    if (!isRegistryAddress(options.address)) {
      throw new RegistryError(`registry address "${options.address}" is not host[:port][/path]`);
    }
    this.address = options.address;
    const slash = options.address.indexOf("/");
    const host = slash < 0 ? options.address : options.address.slice(0, slash);
    this.prefix = slash < 0 ? "" : options.address.slice(slash + 1).replace(/\/+$/, "");
    this.baseUrl = `${options.insecure ? "http" : "https"}://${host}`;
    if (options.username !== undefined) {
      this.basic = Buffer.from(`${options.username}:${options.password ?? ""}`).toString("base64");
    }
  }

  async digestOf(repository: string, tag: string, signal?: AbortSignal): Promise<string | undefined> {
    const name = this.prefix ? `${this.prefix}/${repository}` : repository;
    const url = `${this.baseUrl}/v2/${name}/manifests/${encodeURIComponent(tag)}`;
    let response = await this.request(url, undefined, signal);
    if (response.status === 401) {
      response = await this.request(url, await this.authorization(response, name, signal), signal);
      if (response.status === 401) {
        throw new RegistryError(
          `registry ${this.address} refused ${this.who()} for ${name}:${tag} (HTTP 401); ` +
            `check qa-k8s:registryUsername and qa-k8s:registryPassword`,
        );
      }
    }
    if (response.status === 404) return undefined;
    if (response.status === 403) {
      throw new RegistryError(`registry ${this.address} denied ${this.who()} access to ${name}:${tag} (HTTP 403)`);
    }
    if (!response.ok) {
      throw new RegistryError(`registry ${this.address} answered HTTP ${response.status} for ${name}:${tag}`);
    }
    const digest = response.headers.get("docker-content-digest");
    if (!digest) {
      throw new RegistryError(`registry ${this.address} sent no Docker-Content-Digest header for ${name}:${tag}`);
    }
    return digest;
  }

  private who(): string {
    return this.options.username === undefined ? "anonymous" : `user "${this.options.username}"`;
  }

  private async request(url: string, authorization: string | undefined, signal?: AbortSignal): Promise<Response> {
    const headers: Record<string, string> = { Accept: MANIFEST_TYPES };
    if (authorization) headers.Authorization = authorization;
    try {
      return await fetch(url, { method: "HEAD", headers, signal, redirect: "follow" });
    } catch (error) {
      throw this.unreachable(error);
    }
  }

  private unreachable(error: unknown): Error {
    if (error instanceof Error && error.name === "AbortError") return error;
    if (error instanceof Error && error.name === "TimeoutError") return error;
    const cause = (error as { cause?: { code?: string; message?: string } }).cause;
    const reason = cause?.code ?? cause?.message ?? (error as Error).message;
    return new RegistryError(`registry ${this.address} is unreachable (${reason})`);
  }

  /** Answers a 401 challenge: Basic credentials, or a Bearer token from the realm the registry names. */
  private async authorization(challenge: Response, name: string, signal?: AbortSignal): Promise<string> {
    const header = challenge.headers.get("www-authenticate") ?? "";
    const scheme = header.split(" ")[0].toLowerCase();
    if (scheme === "basic") {
      if (!this.basic) {
        throw new RegistryError(
          `registry ${this.address} requires credentials for ${name}; set qa-k8s:registryUsername and ` +
            `qa-k8s:registryPassword (--secret)`,
        );
      }
      return `Basic ${this.basic}`;
    }
    if (scheme !== "bearer") {
      throw new RegistryError(`registry ${this.address} asked for unsupported authentication "${header}"`);
    }
    const params = Object.fromEntries(
      [...header.slice(header.indexOf(" ") + 1).matchAll(/(\w+)="([^"]*)"/g)].map((m) => [m[1], m[2]]),
    );
    const scope = params.scope ?? `repository:${name}:pull`;
    let token = this.tokens.get(scope);
    if (!token) {
      token = this.fetchToken(params.realm, params.service, scope, signal);
      this.tokens.set(scope, token);
      token.catch(() => this.tokens.delete(scope));
    }
    return `Bearer ${await token}`;
  }

  private async fetchToken(
    realm: string | undefined,
    service: string | undefined,
    scope: string,
    signal?: AbortSignal,
  ) {
    if (!realm) throw new RegistryError(`registry ${this.address} sent a Bearer challenge without a realm`);
    const url = new URL(realm);
    if (service) url.searchParams.set("service", service);
    url.searchParams.set("scope", scope);
    let response: Response;
    try {
      response = await fetch(url, { headers: this.basic ? { Authorization: `Basic ${this.basic}` } : {}, signal });
    } catch (error) {
      throw this.unreachable(error);
    }
    if (!response.ok) {
      throw new RegistryError(
        `registry ${this.address}: token service ${url.origin} refused ${this.who()} (HTTP ${response.status}); ` +
          `check qa-k8s:registryUsername and qa-k8s:registryPassword`,
      );
    }
    const body = (await response.json()) as { token?: string; access_token?: string };
    const token = body.token ?? body.access_token;
    if (!token) throw new RegistryError(`registry ${this.address}: token service ${url.origin} returned no token`);
    return token;
  }
}
