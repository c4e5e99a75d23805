import { expect } from "chai";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import {
  describeLocks,
  fileBackendDir,
  holdersFromErrorText,
  isStale,
  parseLockFile,
  processIsAlive,
  readStackLocks,
  stackLockDir,
  stackStateFile,
} from "../../../automation/locks";

// What pulumi 3.248's diy backend writes (json.Marshal of lockContent: time.Time as RFC 3339 with nanoseconds).
const ENGINE_LOCK = `{"pid":4242,"username":"bamboo","hostname":"agent-3","timestamp":"2026-12-02T18:01:02.123456789Z"}`;
// What its checkForLock prints when another lock is held (the text ConcurrentUpdateError carries).
const ENGINE_ERROR =
  "error: the stack is currently locked by 1 lock(s). Either wait for the other process(es) to end or delete the lock " +
  "file with `pulumi cancel`.\n  file:///state/.pulumi/locks/organization/qa-k8s/verbu-1/0b1c.json: created by " +
  "jane.doe@agent-7.example.test (pid 991) at 2026-12-02T18:05:00Z";

describe("stack locks of the file backend", () => {
  it("parses a lock file as the engine writes it", () => {
    expect(parseLockFile(ENGINE_LOCK)).to.deep.equal({
      pid: 4242,
      username: "bamboo",
      hostname: "agent-3",
      since: "2026-12-02T18:01:02.123456789Z",
    });
  });

  it("returns undefined for anything that is not such a lock", () => {
    for (const text of [
      "",
      "{",
      "null",
      "[]",
      `{"pid":"1","username":"a","hostname":"h","timestamp":"t"}`,
      `{"pid":0,"username":"a","hostname":"h","timestamp":"t"}`,
      `{"pid":1,"hostname":"h","timestamp":"t"}`,
    ]) {
      expect(parseLockFile(text), text).to.equal(undefined);
    }
  });

  it("reads the holders out of the engine's lock error text", () => {
    expect(holdersFromErrorText(ENGINE_ERROR)).to.deep.equal([
      { username: "jane.doe", hostname: "agent-7.example.test", pid: 991, since: "2026-12-02T18:05:00Z" },
    ]);
    expect(holdersFromErrorText("some other failure")).to.deep.equal([]);
    // The postgres:// backend names each holder twice in its text.
    expect(holdersFromErrorText(`${ENGINE_ERROR}\n${ENGINE_ERROR}`)).to.have.length(1);
  });

  it("names who holds the lock since when", () => {
    const holder = parseLockFile(ENGINE_LOCK);
    expect(describeLocks([{ holder }, {}])).to.equal(
      "bamboo@agent-3 (pid 4242) since 2026-12-02T18:01:02.123456789Z, an unreadable lock",
    );
    expect(describeLocks([])).to.equal("another process (no lock details available)");
  });

  it("judges a lock stale only when taken on this host by a process that is gone", () => {
    const holder = parseLockFile(ENGINE_LOCK)!;
    const alive = new Set<number>();
    const host = { hostname: "agent-3", isAlive: (pid: number) => alive.has(pid) };
    expect(isStale({ holder }, host)).to.equal(true);
    alive.add(4242);
    expect(isStale({ holder }, host), "a live process").to.equal(false);
    expect(
      isStale({ holder: { ...holder, hostname: "agent-4" } }, { ...host, isAlive: () => false }),
      "another host",
    ).to.equal(false);
    expect(isStale({}, { ...host, isAlive: () => false }), "an unreadable lock").to.equal(false);
  });

  it("checks processes for real: this one is alive, a reaped child is not", async () => {
    expect(processIsAlive(process.pid)).to.equal(true);
    const { spawn } = await import("node:child_process");
    const child = spawn("true");
    await new Promise((resolve) => child.on("exit", resolve));
    expect(processIsAlive(child.pid!)).to.equal(false);
  });

  it("finds the folder of a file backend in each URL form, and none for other backends", () => {
    expect(fileBackendDir("file:///var/state", "/home/u", "/cwd")).to.equal("/var/state");
    expect(fileBackendDir("file://~/.cache/qa-k8s/state", "/home/u", "/cwd")).to.equal("/home/u/.cache/qa-k8s/state");
    expect(fileBackendDir("file://state?no_tmp_dir=true", "/home/u", "/cwd")).to.equal("/cwd/state");
    expect(fileBackendDir("postgres://u:p@127.0.0.1:5432/db")).to.equal(undefined);
    expect(fileBackendDir("https://api.pulumi.com")).to.equal(undefined);
  });

  it("puts a project-scoped stack's locks under organization/<project>/<stack>", () => {
    expect(stackLockDir("/s", "qa-k8s", "verbu-1")).to.equal("/s/.pulumi/locks/organization/qa-k8s/verbu-1");
    expect(stackLockDir("/s", "qa-k8s", "acme/qa-k8s/verbu-1")).to.equal("/s/.pulumi/locks/acme/qa-k8s/verbu-1");
  });

  it("finds a stack's state file, plain or gzip'd, and none for a stack never written", () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "qa-k8s-state-"));
    try {
      const stacks = path.join(dir, ".pulumi", "stacks", "qa-k8s");
      fs.mkdirSync(stacks, { recursive: true });
      fs.writeFileSync(path.join(stacks, "verbu-1.json"), "{}");
      fs.writeFileSync(path.join(stacks, "verbu-2.json.gz"), "");
      expect(stackStateFile(dir, "qa-k8s", "verbu-1")).to.equal(path.join(stacks, "verbu-1.json"));
      expect(stackStateFile(dir, "qa-k8s", "organization/qa-k8s/verbu-2")).to.equal(
        path.join(stacks, "verbu-2.json.gz"),
      );
      expect(stackStateFile(dir, "qa-k8s", "verbu-3")).to.equal(undefined);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it("reads every lock file of a stack folder", () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "qa-k8s-locks-"));
    try {
      expect(readStackLocks(path.join(dir, "missing"))).to.deep.equal([]);
      fs.writeFileSync(path.join(dir, "a.json"), ENGINE_LOCK);
      fs.writeFileSync(path.join(dir, "b.json"), "garbage");
      fs.writeFileSync(path.join(dir, "notes.txt"), ENGINE_LOCK);
      const locks = readStackLocks(dir).sort((x, y) => x.file!.localeCompare(y.file!));
      expect(locks.map((l) => path.basename(l.file!))).to.deep.equal(["a.json", "b.json"]);
      expect(locks[0].holder?.pid).to.equal(4242);
      expect(locks[1].holder).to.equal(undefined);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
