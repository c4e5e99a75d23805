// Reads of the driver for many clients at once: every list() or status() runs pulumi CLI processes (and cluster
// queries), seconds each while deploys share the CPU, so 50 status-page readers must neither start 50 of them nor wait
// for one. One load per key and version at a time (single flight). A value of the current version is served at once:
// as is while younger than `freshMs`, with one refresh started behind it until `staleMs`; older values, values of
// another version and missing ones wait for the load. The version is the job store's change mark, which moves when a
// job of any replica is queued or ends, so the service's own changes are never served stale; changes made around the
// service (a `qa-env` run, a pod restarting) show within freshMs of a read, and never later than staleMs. Errors are
// never cached.
import type { DriverApi } from "../cli/driverApi";
import { featureOf } from "../driverInput";

export interface ReadCacheOptions {
  /**
   * @default 5000, the status page's refresh: every refresh spawns pulumi CLI processes, and spawning blocks the event
   * loop (7% of the service's time in the load bench's CPU profile at 2000)
   */
  readonly freshMs?: number;
  /** @default 60000 */
  readonly staleMs?: number;
  readonly now?: () => number;
}

interface Entry {
  readonly value: unknown;
  readonly version: string;
  readonly at: number;
}

export class ReadCache {
  private readonly values = new Map<string, Entry>();
  private readonly loads = new Map<string, Promise<unknown>>();
  private readonly freshMs: number;
  private readonly staleMs: number;
  private readonly now: () => number;

  constructor(options: ReadCacheOptions = {}) {
    this.freshMs = options.freshMs ?? 5000;
    this.staleMs = options.staleMs ?? 60_000;
    this.now = options.now ?? Date.now;
  }

  /** @param version what the value depends on beyond time (the job store's change mark) */
  get<T>(key: string, load: () => Promise<T>, version = ""): Promise<T> {
    const cached = this.values.get(key);
    const current = cached?.version === version ? cached : undefined;
    const age = current ? this.now() - current.at : Infinity;
    if (current && age < this.freshMs) return Promise.resolve(current.value as T);
    const loading = this.load(key, version, load);
    if (current && age < this.staleMs) {
      loading.catch(() => undefined); // a failed background refresh leaves the value; the next read retries
      return Promise.resolve(current.value as T);
    }
    return loading;
  }

  private load<T>(key: string, version: string, load: () => Promise<T>): Promise<T> {
    const flight = `${key}\u0000${version}`;
    const inFlight = this.loads.get(flight);
    if (inFlight) return inFlight as Promise<T>;
    const started = this.now();
    const promise = load()
      .then((value) => {
        // A load that started earlier (of an older version, say) and ended later never replaces a newer one's value.
        const held = this.values.get(key);
        if (!held || held.at <= started) this.values.set(key, { value, version, at: started });
        return value;
      })
      .finally(() => this.loads.delete(flight));
    this.loads.set(flight, promise);
    return promise;
  }
}

type Reads = Pick<DriverApi, "list" | "status" | "capacity">;

/**
 * The driver for readers (the API's GETs, the status page): list, status and capacity through one cache, versioned
 * by `changeMark` (the job store's); everything else, logs included, goes straight through. Writes decide on the
 * plain driver (intake.ts).
 */
export function cachedReads<D extends Reads>(driver: D, changeMark: () => Promise<string>, cache = new ReadCache()): D {
  const read = async <T>(key: string, load: () => Promise<T>) => cache.get(key, load, await changeMark());
  const reads: Reads = {
    list: () => read("list", () => driver.list()),
    status: (ticket) => read(`status:${featureOf(ticket).name}`, () => driver.status(ticket)),
    // Options change what is measured: only the service's default measurement is shared.
    capacity: (options) => (options ? driver.capacity(options) : read("capacity", () => driver.capacity())),
  };
  return new Proxy(driver, {
    get: (target, key, receiver) =>
      Object.hasOwn(reads, key) ? reads[key as keyof Reads] : Reflect.get(target, key, receiver),
  });
}
