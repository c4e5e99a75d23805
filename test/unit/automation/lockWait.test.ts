import { expect } from "chai";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { withLockWait, LockWaitOptions } from "../../../automation/lockWait";
import { CancelledError, LockedError } from "../../../automation/exitCodes";
// The SDK's own factory: the same text → error-class mapping the Automation API applies to a real CLI run.
// eslint-disable-next-line @typescript-eslint/no-require-imports
const { createCommandError } = require("@pulumi/pulumi/automation/errors");
// eslint-disable-next-line @typescript-eslint/no-require-imports
const { CommandResult } = require("@pulumi/pulumi/automation/cmd");

const lockText = (pid: number, host: string) =>
  JSON.stringify({ pid, username: "bamboo", hostname: host, timestamp: "2026-12-02T18:00:00Z" });

describe("waiting for another process's stack lock", () => {
  let dir: string;
  let messages: string[];
  let clock: number;
  const options = (extra: Partial<LockWaitOptions> = {}): LockWaitOptions => ({
    ticket: "VERBU-1",
    stackName: "verbu-1",
    lockDir: dir,
    timeoutMs: 10_000,
    pollMs: 1,
    host: { hostname: "me", isAlive: (pid) => pid === 100 },
    onMessage: (kind, text) => messages.push(`${kind}: ${text}`),
    now: () => clock,
    ...extra,
  });

  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "qa-k8s-lockwait-"));
    messages = [];
    clock = 0;
  });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  it("runs at once when the stack is free", async () => {
    const { result, lockWaitMs } = await withLockWait(async () => ((clock += 5000), "done"), options());
    expect(result).to.equal("done");
    expect(lockWaitMs, "the run's own 5 s are not lock waiting").to.equal(0);
    expect(messages).to.deep.equal([]);
  });

  it("removes a crashed run's lock (its pid gone on this host) and runs", async () => {
    fs.writeFileSync(path.join(dir, "dead.json"), lockText(200, "me"));
    fs.writeFileSync(path.join(dir, "dead.json.attrs"), "{}");
    const { result } = await withLockWait(async () => "done", options());
    expect(result).to.equal("done");
    expect(fs.readdirSync(dir), "the lock and the backend's .attrs beside it").to.deep.equal([]);
    expect(messages).to.deep.equal([
      "cleared-stale-lock: VERBU-1: removed the lock of a crashed run, bamboo@me (pid 200) since 2026-12-02T18:00:00Z: that process no longer exists on me",
    ]);
  });

  it("waits for a live lock, naming the holder once, and runs when it is released", async () => {
    const file = path.join(dir, "live.json");
    fs.writeFileSync(file, lockText(100, "me"));
    let runs = 0;
    const waiting = withLockWait(async () => ++runs, options({ now: () => clock++ }));
    await new Promise((r) => setTimeout(r, 30));
    expect(runs).to.equal(0);
    expect(fs.existsSync(file), "a live lock is never removed").to.equal(true);
    fs.rmSync(file);
    const { result, lockWaitMs } = await waiting;
    expect(result).to.equal(1);
    expect(lockWaitMs).to.be.greaterThan(0);
    expect(messages).to.deep.equal([
      "waiting-for-lock: VERBU-1: stack verbu-1 is locked by bamboo@me (pid 100) since 2026-12-02T18:00:00Z; waiting up to 10 s",
    ]);
  });

  it("never removes a lock of another host, and times out naming it", async () => {
    fs.writeFileSync(path.join(dir, "other.json"), lockText(200, "agent-9"));
    const error = await withLockWait(async () => "never", options({ timeoutMs: 50, now: () => (clock += 10) })).catch(
      (e) => e,
    );
    expect(error).to.be.instanceOf(LockedError);
    expect(error.exitCode).to.equal(4);
    expect(error.message).to.match(
      /^VERBU-1: stack verbu-1 is still locked by bamboo@agent-9 \(pid 200\) since 2026-12-02T18:00:00Z after waiting \d+ s; wait for that run to end, or, if its process is gone on its host, remove the lock with: pulumi cancel --stack verbu-1$/,
    );
    expect(fs.existsSync(path.join(dir, "other.json"))).to.equal(true);
  });

  it("waits out the engine's ConcurrentUpdateError on backends without lock files, then retries", async () => {
    const stderr =
      "error: the stack is currently locked by 1 lock(s). Either wait.\n  postgres://****:****@db/x: created by ci@agent-2 (pid 77) at 2026-12-02T18:00:00Z";
    let attempts = 0;
    const { result } = await withLockWait(
      async () => {
        if (++attempts < 3) throw createCommandError(new CommandResult("", stderr, 255));
        return "done";
      },
      options({ lockDir: undefined }),
    );
    expect(result).to.equal("done");
    expect(attempts).to.equal(3);
    expect(messages).to.deep.equal([
      "waiting-for-lock: VERBU-1: stack verbu-1 is locked by ci@agent-2 (pid 77) since 2026-12-02T18:00:00Z; waiting up to 10 s",
    ]);
  });

  it("passes other engine errors on without retrying", async () => {
    let attempts = 0;
    const error = await withLockWait(async () => {
      attempts++;
      throw createCommandError(new CommandResult("", "error: update failed", 255));
    }, options()).catch((e) => e);
    expect(error.name).to.equal("CommandError");
    expect(attempts).to.equal(1);
  });

  it("stops waiting when cancelled", async () => {
    fs.writeFileSync(path.join(dir, "live.json"), lockText(100, "me"));
    const controller = new AbortController();
    const waiting = withLockWait(async () => "never", options({ signal: controller.signal, pollMs: 60_000 }));
    setTimeout(() => controller.abort(), 10);
    const error = await waiting.catch((e) => e);
    expect(error).to.be.instanceOf(CancelledError);
    expect(error.message).to.equal("VERBU-1: cancelled before the engine started");
  });
});
