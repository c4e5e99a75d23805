// qa-env cleanup, pin and unpin through the real command line (runCli) against the in-memory backend of the cleanup
// tests, whose driver and store share one set of stacks as the real ones share the backend.
import { expect } from "chai";
import { EventEmitter } from "node:events";
import type { DriverApi } from "../../../automation/cli/driverApi";
import { runCli } from "../../../automation/cli/program";
import type { CliIo } from "../../../automation/cli/run";
import { PIN_TAGS } from "../../../automation/records";
import { fakeBackend, FakeStack, ours } from "../cleanup/fakes";

const daysAgo = (days: number) => new Date(Date.now() - days * 86_400_000).toISOString();

function harness(stacks: Record<string, FakeStack>, env: Record<string, string> = {}) {
  const backend = fakeBackend(stacks);
  const stdout: string[] = [];
  const stderr: string[] = [];
  let built = 0;
  const io: CliIo = {
    out: (t) => stdout.push(t),
    err: (t) => stderr.push(t),
    env,
    stderrIsTTY: false,
    signals: new EventEmitter(),
  };
  const makeDriver = () => (built++, backend.driver as unknown as DriverApi);
  return {
    ...backend,
    stdout,
    stderr,
    built: () => built,
    run: (...argv: string[]) => runCli({ io, makeDriver, makeStore: () => backend.store }, argv),
  };
}

describe("qa-env cleanup, pin, unpin (in-memory backend)", () => {
  const three = () => ({
    "verbu-9701": ours(daysAgo(10)),
    "verbu-9702": ours(daysAgo(2)),
    "verbu-9703": { tags: {} },
  });

  it("--dry-run lists the decisions and removes nothing; the log lines go to stderr", async () => {
    const h = harness(three());
    expect(await h.run("cleanup", "--dry-run")).to.equal(0);
    expect(h.destroyed).to.deep.equal([]);
    const out = h.stdout.join("");
    expect(out).to.match(/^dry run: 1 would be destroyed, 2 kept\nOUTCOME {8}TICKET {6}WHY\n/);
    expect(out).to.match(/would destroy {2}VERBU-9701 {2}idle 10d since the last deploy at .* \(idle TTL 7d\)/);
    expect(out).to.include(
      "kept           VERBU-9703  no qa-k8s record tags on the stack: not created by qa-env, never removed",
    );
    const err = h.stderr.join("");
    expect(err).to.match(
      /^\d{4}-\d\d-\d\dT\S+ cleanup \(dry run\): 3 environment\(s\), idle TTL 7d from the last deploy\n/,
    );
    expect(err).to.include("cleanup (dry run): keep VERBU-9702: last deployed 2d ago");
  });

  it("removes the idle one with --json: one document with the decisions, JSON log lines on stderr", async () => {
    const h = harness(three());
    expect(await h.run("cleanup", "--idle-days", "1", "--json")).to.equal(0);
    expect(h.destroyed).to.deep.equal(["VERBU-9701", "VERBU-9702"]);
    const doc = JSON.parse(h.stdout.join(""));
    expect(doc).to.include({ ok: true, command: "cleanup" });
    expect(doc.result).to.include({ destroyed: 2, kept: 1, failed: 0, dryRun: false, idleTtlMs: 86_400_000 });
    const lines = h.stderr
      .join("")
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l));
    expect(lines.every((l) => l.kind === "cleanup")).to.equal(true);
    expect(lines.map((l) => l.text)).to.include("cleanup: destroyed VERBU-9701: 12 resource(s), stack removed");
  });

  it("a failed destroy exits 5 naming the ticket, after the others were handled", async () => {
    const h = harness({ ...three(), "verbu-9704": { ...ours(daysAgo(30)), failDestroy: "engine said no" } });
    expect(await h.run("cleanup")).to.equal(5);
    expect(h.destroyed).to.deep.equal(["VERBU-9701"]);
    expect(h.stderr.join("")).to.include(
      "qa-env cleanup: 1 of 2 destroy(s) failed: VERBU-9704 (engine said no)\n(exit 5: failed)",
    );
  });

  it("bad --idle-days exits 2 before the driver is built", async () => {
    for (const value of ["0", "x", "1.5", "-3", "99999"]) {
      const h = harness(three());
      expect(await h.run("cleanup", "--idle-days", value), value).to.equal(2);
      expect(h.built()).to.equal(0);
      expect(h.stderr.join("")).to.include(`--idle-days "${value}" must be a whole number from 1 to 3650 (e.g. 7)`);
    }
  });

  it("pin keeps an environment from cleanup, unpin lets it go", async () => {
    const h = harness(three());
    expect(await h.run("pin", "VERBU-9701", "--by", "jane.doe")).to.equal(0);
    expect(h.stdout.join("")).to.match(
      /^VERBU-9701 pinned by jane\.doe at \S+Z: idle cleanup keeps it until qa-env unpin VERBU-9701\n$/,
    );
    expect(h.stacks["verbu-9701"].tags[PIN_TAGS.pinnedBy]).to.equal("jane.doe");
    expect(await h.run("cleanup")).to.equal(0);
    expect(h.destroyed).to.deep.equal([]);
    expect(h.stderr.join("")).to.include("cleanup: keep VERBU-9701: pinned by jane.doe at ");
    expect(await h.run("unpin", "VERBU-9701", "--json")).to.equal(0);
    expect(JSON.parse(h.stdout.slice(-1)[0]).result).to.deep.equal({
      ticket: "VERBU-9701",
      stack: "verbu-9701",
      pinned: false,
      wasPinned: true,
    });
    expect(await h.run("cleanup")).to.equal(0);
    expect(h.destroyed).to.deep.equal(["VERBU-9701"]);
  });

  it("pin and unpin refuse unknown and hostile tickets with exit 2", async () => {
    const h = harness(three());
    expect(await h.run("pin", "VERBU-9799")).to.equal(2);
    expect(h.stderr.join("")).to.include(
      "qa-env pin: VERBU-9799: no environment to pin (stack verbu-9799 does not exist); check the ticket with qa-env list",
    );
    expect(await h.run("unpin", "x; rm -rf /", "--json")).to.equal(2);
    expect(JSON.parse(h.stdout.join("")).error.message).to.match(/^ticket "x; rm -rf \/" contains '\/'/);
    expect(await h.run("pin", "VERBU-9701", "--by", " ")).to.equal(2);
    expect(await h.run("pin", "VERBU-9701", "--by", "jane\u001b[2J")).to.equal(2);
    expect(h.stacks["verbu-9701"].tags).to.not.have.property(PIN_TAGS.pinnedBy);
  });
});
