// The read cache in front of the driver: one load per key at a time, fresh values served, stale ones served while a
// single refresh runs, errors never cached.
import { expect } from "chai";
import { ReadCache } from "../../../automation/service/routesCache";

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

  it("never caches an error, and invalidate forces a new load", async () => {
    const c = cache();
    let calls = 0;
    const failing = async () => {
      calls++;
      throw new Error("backend down");
    };
    await c.get("k", failing).catch((e: Error) => expect(e.message).to.equal("backend down"));
    await c.get("k", failing).catch((e: Error) => expect(e.message).to.equal("backend down"));
    expect(calls).to.equal(2);
    let loads = 0;
    await c.get("j", async () => ++loads);
    c.invalidate();
    expect(await c.get("j", async () => ++loads)).to.equal(2);
  });
});
