// Reads of the driver for many clients at once: every list() or status() runs pulumi CLI processes (and cluster
// queries), seconds each under load, so 50 status-page readers must not start 50 of them. One load per key at a
// time (single flight); a value younger than `freshMs` is served as is; one younger than `staleMs` is served at once
// while a single refresh runs behind it; older or missing ones wait for the load. Errors are never cached.
export interface ReadCacheOptions {
  /** @default 2000 */
  readonly freshMs?: number;
  /**
   * @default freshMs: serving older values meant an environment removed through one replica stayed listed by another
   * for up to this long after its job ended (service.replicas.e2e.ts).
   */
  readonly staleMs?: number;
  readonly now?: () => number;
}

export class ReadCache {
  private readonly values = new Map<string, { value: unknown; at: number }>();
  private readonly loads = new Map<string, Promise<unknown>>();
  private readonly freshMs: number;
  private readonly staleMs: number;
  private readonly now: () => number;

  constructor(options: ReadCacheOptions = {}) {
    this.freshMs = options.freshMs ?? 2000;
    this.staleMs = options.staleMs ?? this.freshMs;
    this.now = options.now ?? Date.now;
  }

  get<T>(key: string, load: () => Promise<T>): Promise<T> {
    const cached = this.values.get(key);
    const age = cached ? this.now() - cached.at : Infinity;
    if (cached && age < this.freshMs) return Promise.resolve(cached.value as T);
    const loading = this.load(key, load);
    if (cached && age < this.staleMs) {
      loading.catch(() => undefined); // a failed background refresh leaves the stale value; the next read retries
      return Promise.resolve(cached.value as T);
    }
    return loading;
  }

  /** After a change (a job queued or ended): the next read loads anew. */
  invalidate(key?: string): void {
    if (key === undefined) this.values.clear();
    else this.values.delete(key);
  }

  private load<T>(key: string, load: () => Promise<T>): Promise<T> {
    const inFlight = this.loads.get(key);
    if (inFlight) return inFlight as Promise<T>;
    const started = this.now();
    const promise = load()
      .then((value) => {
        this.values.set(key, { value, at: started });
        return value;
      })
      .finally(() => this.loads.delete(key));
    this.loads.set(key, promise);
    return promise;
  }
}
