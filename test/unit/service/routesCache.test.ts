// The read cache in front of the driver: one load per key at a time, fresh values served, stale ones served while a
// single refresh runs, errors never cached.
import { expect } from "chai";
import { cachedReads, ReadCache } from "../../../automation/service/routesCache";

describe("ReadCache", () => {
  let now = 0;
  const cache = () => new ReadCache({ freshMs: 100, staleMs: 1000, now: () => now });
  beforeEach(() => (now = 0));

  it("shares one load among concurrent readers and serves it while fresh", async () => {
    const c = cache();
    let loads = 0;
    const load = async () => ++loads;
    expect(await Promise.all([c.get("k", load), c.get("k", load), c.get("k", load)])).to.deep.equal([1, 1, 1]);
    now = 99;
    expect(await c.get("k", load)).to.equal(1);
    expect(loads).to.equal(1);
  });

  it("serves a stale value at once while one refresh runs; waits when too old", async () => {
    const c = cache();
    let loads = 0;
    let release!: () => void;
    const slow = () => new Promise<number>((resolve) => (release = () => resolve(++loads)));
    const first = c.get("k", slow);
    release();
    expect(await first).to.equal(1);
    now = 500;
    expect(await c.get("k", slow)).to.equal(1); // stale, refresh started
    expect(await c.get("k", slow)).to.equal(1); // same refresh, not a second one
    release();
    await new Promise((r) => setImmediate(r));
    expect(await c.get("k", slow)).to.equal(2);
    now = 5000;
    const waited = c.get("k", slow);
    release();
    expect(await waited).to.equal(3);
  });

  it("never caches an error", async () => {
    const c = cache();
    let calls = 0;
    const failing = async () => {
      calls++;
      throw new Error("backend down");
    };
    await c.get("k", failing).catch((e: Error) => expect(e.message).to.equal("backend down"));
    await c.get("k", failing).catch((e: Error) => expect(e.message).to.equal("backend down"));
    expect(calls).to.equal(2);
  });

  it("waits for a new load when the version moved, however fresh the value; an older load never wins", async () => {
    const c = cache();
    let loads = 0;
    expect(await c.get("k", async () => ++loads, "1|")).to.equal(1);
    expect(await c.get("k", async () => ++loads, "1|")).to.equal(1);
    expect(await c.get("k", async () => ++loads, "2|2")).to.equal(2); // a job queued in some replica
    let releaseOld!: () => void;
    const old = c.get("k", () => new Promise<string>((resolve) => (releaseOld = () => resolve("old"))), "3|");
    now = 1;
    expect(await c.get("k", async () => "new", "4|")).to.equal("new");
    releaseOld();
    expect(await old).to.equal("old");
    expect(await c.get("k", async () => "again", "4|")).to.equal("new");
  });
});

describe("cachedReads", () => {
  const fakeDriver = () => {
    const calls: string[] = [];
    const driver = {
      list: async () => (calls.push("list"), [{ ticket: "VERBU-1" }]),
      status: async (ticket: string) => (calls.push(`status ${ticket}`), { ticket }),
      capacity: async (options?: object) => (calls.push(`capacity ${JSON.stringify(options ?? {})}`), { fit: 3 }),
      logs: async () => (calls.push("logs"), []),
    };
    return { calls, driver };
  };

  it("shares list, status (per stack) and the default capacity among readers until the change mark moves", async () => {
    const { calls, driver } = fakeDriver();
    let mark = "7|";
    const reads = cachedReads(driver as never, async () => mark) as unknown as typeof driver;
    await Promise.all([reads.list(), reads.list(), reads.status("VERBU-1"), reads.status("verbu-1"), reads.capacity()]);
    await reads.capacity();
    expect(calls.sort()).to.deep.equal(["capacity {}", "list", "status VERBU-1"]);
    mark = "7|7";
    await reads.list();
    expect(calls.filter((c) => c === "list")).to.have.length(2);
  });

  it("passes logs and a capacity with options straight through", async () => {
    const { calls, driver } = fakeDriver();
    const reads = cachedReads(driver as never, async () => "1|") as unknown as typeof driver;
    await reads.logs();
    await reads.logs();
    await reads.capacity({ config: {} });
    await reads.capacity({ config: {} });
    expect(calls).to.deep.equal(["logs", "logs", 'capacity {"config":{}}', 'capacity {"config":{}}']);
  });
});
