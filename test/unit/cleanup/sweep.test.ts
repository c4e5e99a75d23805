import { expect } from "chai";
import { listEnvironments, pin, unpin } from "../../../automation/cleanup/pins";
import { destroyRefusal, sweep } from "../../../automation/cleanup/sweep";
import { BadInputError } from "../../../automation/exitCodes";
import { PIN_TAGS } from "../../../automation/records";
import { fakeBackend, ours } from "./fakes";

const DAY = 86_400_000;
const now = new Date("2026-12-03T12:00:00.000Z");
const OLD = "2026-11-20T12:00:00.000Z";
const RECENT = "2026-12-02T12:00:00.000Z";

describe("pins", () => {
  it("pins and unpins as stack tags, read back by listEnvironments", async () => {
    const { store, driver, stacks } = fakeBackend({ "verbu-9701": ours(OLD) });
    const pinned = await pin(store, "verbu-9701", { by: "jane.doe", now, env: {} });
    expect(pinned).to.deep.equal({
      ticket: "VERBU-9701",
      stack: "verbu-9701",
      pinned: true,
      pin: { pinnedBy: "jane.doe", pinnedAt: "2026-12-03T12:00:00.000Z" },
    });
    expect(stacks["verbu-9701"].tags).to.include({
      [PIN_TAGS.pinnedBy]: "jane.doe",
      [PIN_TAGS.pinnedAt]: "2026-12-03T12:00:00.000Z",
    });
    expect((await listEnvironments(driver, store))[0].pin).to.deep.equal(pinned.pin);
    expect(await unpin(store, "VERBU-9701")).to.deep.equal({
      ticket: "VERBU-9701",
      stack: "verbu-9701",
      pinned: false,
      wasPinned: true,
    });
    expect(stacks["verbu-9701"].tags).to.not.have.any.keys(PIN_TAGS.pinnedBy, PIN_TAGS.pinnedAt);
    expect((await unpin(store, "VERBU-9701")).wasPinned).to.equal(false);
    expect((await listEnvironments(driver, store))[0]).to.not.have.property("pin");
  });

  it("takes who pins from Bamboo's user when --by is not given", async () => {
    const { store } = fakeBackend({ "verbu-9701": ours(OLD) });
    const env = { bamboo_ManualBuildTriggerReason_userName: "bamboo.user" };
    expect((await pin(store, "VERBU-9701", { now, env })).pin?.pinnedBy).to.equal("bamboo.user");
  });

  it("refuses an unknown ticket, a hostile ticket and a hostile name, and writes nothing", async () => {
    const { store, stacks } = fakeBackend({ "verbu-9701": ours(OLD) });
    const before = JSON.stringify(stacks);
    const refused = async (work: Promise<unknown>) => {
      const error = await work.then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(error).to.be.instanceOf(BadInputError);
      return (error as Error).message;
    };
    expect(await refused(pin(store, "VERBU-9799", { by: "jane" }))).to.equal(
      "VERBU-9799: no environment to pin (stack verbu-9799 does not exist); check the ticket with qa-env list",
    );
    expect(await refused(unpin(store, "VERBU-9799"))).to.equal(
      "VERBU-9799: no environment to unpin (stack verbu-9799 does not exist); check the ticket with qa-env list",
    );
    expect(await refused(pin(store, "x; rm -rf /", { by: "jane" }))).to.match(/^ticket "x; rm -rf \/" contains '\/'/);
    expect(await refused(pin(store, "VERBU-9701", { by: "jane; rm -rf /", env: {} }))).to.equal(
      'pinned-by "jane; rm -rf /" (from option) is not a plain name: use at most 100 letters, digits, spaces and . _ @ + - (e.g. "Jane Doe" or jane.doe@example.com)',
    );
    expect(JSON.stringify(stacks)).to.equal(before);
  });
});

describe("sweep (in-memory backend and cluster)", () => {
  function backend() {
    return fakeBackend({
      "verbu-9701": ours(OLD),
      "verbu-9702": ours(OLD, { [PIN_TAGS.pinnedBy]: "jane", [PIN_TAGS.pinnedAt]: RECENT }),
      "verbu-9703": { tags: {} },
      "verbu-9704": { ...ours(OLD), namespace: { state: "present", labels: { team: "payments" } } },
      "verbu-9705": ours(RECENT),
      "verbu-9706": { ...ours(OLD), updateInProgress: true },
    });
  }

  it("dry run: decides, logs one line per environment, destroys nothing", async () => {
    const { store, driver, destroyed, stacks } = backend();
    const lines: string[] = [];
    const result = await sweep({ driver, store, idleTtlMs: 7 * DAY, dryRun: true, now, log: (l) => lines.push(l) });
    expect(destroyed).to.deep.equal([]);
    expect(Object.keys(stacks)).to.have.length(6);
    expect(result.entries.map((e) => [e.ticket, e.action, e.outcome])).to.deep.equal([
      ["VERBU-9701", "destroy", "would-destroy"],
      ["VERBU-9702", "keep", "kept"],
      ["VERBU-9703", "keep", "kept"],
      ["VERBU-9704", "keep", "kept"],
      ["VERBU-9705", "keep", "kept"],
      ["VERBU-9706", "keep", "kept"],
    ]);
    expect(lines).to.deep.equal([
      "cleanup (dry run): 6 environment(s), idle TTL 7d from the last deploy",
      "cleanup (dry run): would destroy VERBU-9701 (stack verbu-9701): idle 13d since the last deploy at 2026-11-20T12:00:00.000Z (idle TTL 7d)",
      "cleanup (dry run): keep VERBU-9702: pinned by jane at 2026-12-02T12:00:00.000Z",
      "cleanup (dry run): keep VERBU-9703: no qa-k8s record tags on the stack: not created by qa-env, never removed",
      "cleanup (dry run): keep VERBU-9704: idle 13d since the last deploy at 2026-11-20T12:00:00.000Z (idle TTL 7d), but namespace verbu-9704 lacks the label app.kubernetes.io/managed-by=qa-k8s (it has no such label): not created by qa-k8s, never removed",
      "cleanup (dry run): keep VERBU-9705: last deployed 1d ago at 2026-12-02T12:00:00.000Z (idle TTL 7d)",
      "cleanup (dry run): keep VERBU-9706: a run is in progress on the stack",
    ]);
    expect(JSON.parse(JSON.stringify(result))).to.deep.equal(result);
  });

  it("destroys only the idle, unpinned environment that is ours, and counts the outcomes", async () => {
    const { store, driver, destroyed, stacks } = backend();
    const lines: string[] = [];
    const result = await sweep({ driver, store, idleTtlMs: 7 * DAY, now, log: (l) => lines.push(l) });
    expect(destroyed).to.deep.equal(["VERBU-9701"]);
    expect(Object.keys(stacks)).to.deep.equal(["verbu-9702", "verbu-9703", "verbu-9704", "verbu-9705", "verbu-9706"]);
    expect(result).to.include({ destroyed: 1, kept: 5, failed: 0, dryRun: false, idleTtlMs: 7 * DAY });
    expect(lines).to.include.members([
      "cleanup: destroy VERBU-9701 (stack verbu-9701): idle 13d since the last deploy at 2026-11-20T12:00:00.000Z (idle TTL 7d)",
      "cleanup: destroyed VERBU-9701: 12 resource(s), stack removed",
    ]);
  });

  it("a failed destroy is reported and the sweep goes on; an unreadable cluster keeps the environment", async () => {
    const { store, driver, destroyed } = fakeBackend({
      "verbu-9701": { ...ours(OLD), failDestroy: "VERBU-9701: destroy failed: connection refused" },
      "verbu-9702": ours(OLD),
      "verbu-9703": ours(OLD),
    });
    const namespace = store.namespace;
    store.namespace = async (stack, ns) => {
      if (stack === "verbu-9703") throw new Error("connect ECONNREFUSED 127.0.0.1:19443");
      return namespace(stack, ns);
    };
    const lines: string[] = [];
    const result = await sweep({ driver, store, idleTtlMs: DAY, now, log: (l) => lines.push(l) });
    expect(destroyed).to.deep.equal(["VERBU-9702"]);
    expect(result).to.include({ destroyed: 1, kept: 1, failed: 1 });
    expect(result.entries[0]).to.include({
      outcome: "failed",
      error: "VERBU-9701: destroy failed: connection refused",
    });
    expect(lines).to.include("cleanup: failed to destroy VERBU-9701: VERBU-9701: destroy failed: connection refused");
    expect(result.entries[2].reason).to.match(
      /, but the namespace verbu-9703 could not be checked for its managed-by label \(connect ECONNREFUSED 127\.0\.0\.1:19443\)$/,
    );
  });
});

describe("sweep and stacks made by hand", () => {
  it("keeps a stack whose name the naming rules refuse, even with record tags, and sweeps the others", async () => {
    const { store, driver, destroyed } = fakeBackend({ Team_Stack: ours(OLD), "verbu-9701": ours(OLD) });
    const result = await sweep({ driver, store, idleTtlMs: DAY, now, log: () => undefined });
    expect(destroyed).to.deep.equal(["VERBU-9701"]);
    expect(result.entries[0]).to.include({ ticket: "Team_Stack", action: "keep", outcome: "kept" });
    expect(result.entries[0].reason).to.match(
      /, but stack Team_Stack does not follow qa-env's naming rules \(stack "Team_Stack": "team_stack" cannot name a namespace/,
    );
  });
});

describe("destroyRefusal (the Jira hook's marker check)", () => {
  it("allows ours, refuses a foreign stack, a foreign namespace and a ticket without a stack", async () => {
    const { store, driver } = fakeBackend({
      "verbu-9701": ours(RECENT),
      "verbu-9703": { tags: {} },
      "verbu-9704": { ...ours(OLD), namespace: { state: "present", labels: {} } },
    });
    const refusal = destroyRefusal(driver, store);
    expect(await refusal("VERBU-9701")).to.equal(undefined);
    expect(await refusal("VERBU-9703")).to.equal(
      "stack verbu-9703 has no qa-k8s record tags: not created by qa-env, never removed",
    );
    expect(await refusal("VERBU-9704")).to.match(/^namespace verbu-9704 lacks the label/);
    expect(await refusal("VERBU-9799")).to.equal("VERBU-9799 has no environment (no stack verbu-9799)");
  });
});
