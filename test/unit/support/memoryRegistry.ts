// An in-memory ImageRegistry for the mock layer: `repository:tag` → digest. The real registry client is tested against
// Debian's docker-registry in test/e2e/registry.e2e.ts.
import type { ImageRegistry } from "../../../environments/registry";

export class MemoryRegistry implements ImageRegistry {
  readonly address: string;
  readonly lookups: string[] = [];
  inFlight = 0;
  maxInFlight = 0;

  constructor(
    private readonly digests: Map<string, string>,
    address = "registry.test:5000/docker",
    private readonly delayMs = 0,
  ) {
    this.address = address;
  }

  /** Every app of the catalog at `tag`, with a digest derived from the name (stable across runs). */
  static withTag(repositories: readonly string[], tag: string, address?: string): MemoryRegistry {
    return new MemoryRegistry(
      new Map(repositories.map((repo) => [`${repo}:${tag}`, digestFor(`${repo}:${tag}`)])),
      address,
    );
  }

  set(repository: string, tag: string, digest: string): this {
    this.digests.set(`${repository}:${tag}`, digest);
    return this;
  }

  async digestOf(repository: string, tag: string, signal?: AbortSignal): Promise<string | undefined> {
    this.lookups.push(`${repository}:${tag}`);
    this.inFlight++;
    this.maxInFlight = Math.max(this.maxInFlight, this.inFlight);
    try {
      if (this.delayMs > 0) {
        await new Promise<void>((resolve, reject) => {
          if (signal?.aborted) return reject(signal.reason);
          const onAbort = () => {
            clearTimeout(timer);
            reject(signal?.reason);
          };
          const timer = setTimeout(() => {
            signal?.removeEventListener("abort", onAbort);
            resolve();
          }, this.delayMs);
          signal?.addEventListener("abort", onAbort, { once: true });
        });
      }
      return this.digests.get(`${repository}:${tag}`);
    } finally {
      this.inFlight--;
    }
  }
}

export function digestFor(text: string): string {
  let hash = 0;
  for (const char of text) hash = (hash * 31 + char.charCodeAt(0)) >>> 0;
  return `sha256:${hash.toString(16).padStart(8, "0").repeat(8)}`;
}
