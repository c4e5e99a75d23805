import { expect } from "chai";
import { KeyedQueue } from "../../../automation/queue";

/** A job that records its start and end and finishes when the test releases it. */
function controllable(log: string[], name: string) {
  let release!: () => void;
  const finished = new Promise<void>((resolve) => (release = resolve));
  const job = async () => {
    log.push(`start ${name}`);
    await finished;
    log.push(`end ${name}`);
    return name;
  };
  return { job, release };
}

const tick = () => new Promise((resolve) => setImmediate(resolve));

describe("KeyedQueue", () => {
  it("runs two jobs of the same key one after the other, in submission order", async () => {
    const queue = new KeyedQueue(4);
    const log: string[] = [];
    const a = controllable(log, "a1");
    const b = controllable(log, "a2");
    const first = queue.run("verbu-1", a.job);
    const second = queue.run("verbu-1", b.job);
    await tick();
    expect(log).to.deep.equal(["start a1"]);
    a.release();
    expect(await first).to.equal("a1");
    await tick();
    expect(log).to.deep.equal(["start a1", "end a1", "start a2"]);
    b.release();
    expect(await second).to.equal("a2");
  });

  it("runs different keys at once, up to the limit, and starts the next when one ends", async () => {
    const queue = new KeyedQueue(2);
    const log: string[] = [];
    const jobs = ["x", "y", "z"].map((k) => controllable(log, k));
    const runs = jobs.map((j, i) => queue.run(`k${i}`, j.job));
    await tick();
    expect(log).to.deep.equal(["start x", "start y"]);
    expect(queue.size).to.deep.equal({ running: 2, waiting: 1 });
    jobs[1].release();
    await runs[1];
    await tick();
    expect(log).to.deep.equal(["start x", "start y", "end y", "start z"]);
    jobs[0].release();
    jobs[2].release();
    await Promise.all(runs);
    expect(queue.size).to.deep.equal({ running: 0, waiting: 0 });
  });

  it("does not let a waiting job of a busy key block another key behind it", async () => {
    const queue = new KeyedQueue(2);
    const log: string[] = [];
    const a1 = controllable(log, "a1");
    const a2 = controllable(log, "a2");
    const b = controllable(log, "b");
    const runs = [queue.run("a", a1.job), queue.run("a", a2.job), queue.run("b", b.job)];
    await tick();
    expect(log).to.deep.equal(["start a1", "start b"]);
    [a1, a2, b].forEach((j) => j.release());
    await Promise.all(runs);
  });

  it("tells a job whether and how long it waited for its key", async () => {
    let clock = 1000;
    const queue = new KeyedQueue(4, () => clock);
    const log: string[] = [];
    const a = controllable(log, "a");
    const tickets: unknown[] = [];
    const first = queue.run("k", async (t) => (tickets.push(t), a.job()));
    const second = queue.run("k", async (t) => tickets.push(t));
    await tick();
    clock = 1700;
    a.release();
    await Promise.all([first, second]);
    expect(tickets).to.deep.equal([
      { waitedMs: 0, waitedForSameKey: false },
      { waitedMs: 700, waitedForSameKey: true },
    ]);
  });

  it("frees the key when a job fails, and passes the error on", async () => {
    const queue = new KeyedQueue(1);
    const failing = queue.run("k", async () => {
      throw new Error("engine failed");
    });
    const next = queue.run("k", async () => "ran");
    expect(await failing.catch((e: Error) => e.message)).to.equal("engine failed");
    expect(await next).to.equal("ran");
  });

  it("refuses a limit that is not a whole number ≥ 1", () => {
    expect(() => new KeyedQueue(0)).to.throw("maxConcurrentDeploys 0 must be a whole number ≥ 1");
    expect(() => new KeyedQueue(1.5)).to.throw("maxConcurrentDeploys 1.5 must be a whole number ≥ 1");
  });
});
