// How configuration changes turn into resource changes: upgrades are updates (never replacements), adding or removing
// a node touches only that node, dead hosts are removed without contact, and what a running cluster cannot change is
// refused.
import { expect } from "chai";
import * as pulumi from "@pulumi/pulumi";
import { identityStdout } from "./program.test";
import { isSecret, ofType, ProgramRun, reg, reveal, refusedRun, runProgram } from "./mockProgram";
import { SEED_COMMANDS, seedConfig, server, TOKEN, worker } from "./fixtures";

const CMD = "command:remote:Command";
const short = (urn: string) => urn.split("::").pop() as string;
const depsOf = (run: ProgramRun, name: string) => reg(run, name).dependencies.map(short).sort();
const commands = (run: ProgramRun) =>
  new Map(ofType(run, CMD).map((r) => [r.name, reveal(r.inputs) as Record<string, unknown>]));
const inner = (fragment: string) => fragment.replace(/'/g, "'\\''");

/** Input fields that differ between two runs, per resource present in both. */
function changedFields(a: ProgramRun, b: ProgramRun): Record<string, string[]> {
  const before = commands(a);
  const changes: Record<string, string[]> = {};
  for (const [name, inputs] of commands(b)) {
    const old = before.get(name);
    if (!old) continue;
    const fields = [...new Set([...Object.keys(old), ...Object.keys(inputs)])].filter(
      (k) => JSON.stringify(old[k]) !== JSON.stringify(inputs[k]),
    );
    if (fields.length > 0) changes[name] = fields.sort();
  }
  return changes;
}

const names = (run: ProgramRun) => [...run.regs.keys()].sort();

describe("cluster lifecycle (mocks)", () => {
  let seed: ProgramRun;
  before(async () => {
    seed = await runProgram(seedConfig(), { stdoutFor: identityStdout(TOKEN) });
    expect(seed.errors).to.deep.equal([]);
    expect(seed.leaks).to.equal(0);
  });

  it("never replaces a command: no triggers (the only replace-on-change field of the SDK), no delete-before-replace", () => {
    expect(ofType(seed, CMD)).to.have.length(SEED_COMMANDS);
    for (const r of ofType(seed, CMD)) {
      expect(r.inputs, r.name).not.to.have.property("triggers");
      expect(r.replaceOnChanges, r.name).to.deep.equal(["triggers[*]"]);
      expect(r.deleteBeforeReplace, r.name).to.equal(false);
    }
  });

  describe("k3s.version change", () => {
    let upgraded: ProgramRun;
    before(async () => {
      upgraded = await runProgram(
        { ...seedConfig(), "k3s.version": "v1.34.1+k3s1" },
        { stdoutFor: identityStdout(TOKEN) },
      );
    });

    it("adds and removes nothing", () => {
      expect(names(upgraded)).to.deep.equal(names(seed));
    });

    it("changes only fields the provider updates in place: install.create (ignored) and the upgrade step", () => {
      const changes = changedFields(seed, upgraded);
      const expected: Record<string, string[]> = {};
      for (const n of ["k3s-server-1", ...[1, 2, 3, 4, 5].map((i) => `k3s-worker-${i}`)]) {
        expected[`qa-${n}-install`] = ["create"];
        expected[`qa-${n}-upgrade`] = ["create", "update"];
      }
      expect(changes).to.deep.equal(expected);
    });

    it("re-runs the installer with the new version from the upgrade step; the first install ignores the change", () => {
      const upgrade = reg(upgraded, "qa-k3s-worker-3-upgrade").inputs;
      expect(upgrade.update).to.include(inner("export INSTALL_K3S_VERSION='v1.34.1+k3s1'"));
      expect(upgrade.update).to.include(
        inner("'qa-k8s: running the K3s installer (upgrade, v1.34.1+k3s1) on k3s-worker-3'"),
      );
      // create is a safety net for an install the engine never recorded (see k3sNode.ts); it never runs after creation.
      expect(upgrade.create).to.include(inner("'K3s is installed on k3s-worker-3: nothing to do'"));
      expect(reg(upgraded, "qa-k3s-worker-3-install").ignoreChanges).to.deep.equal(["create", "stdin"]);
      expect(reg(upgraded, "qa-k3s-worker-3-install").inputs.update).to.equal("true");
    });
  });

  it("a changed label re-runs only that node's upgrade and label steps", async () => {
    const config = seedConfig();
    (config.agents as ReturnType<typeof worker>[])[1] = worker(2, { labels: { "agent-type": "worker", disk: "ssd" } });
    const relabelled = await runProgram(config, { stdoutFor: identityStdout(TOKEN) });
    expect(changedFields(seed, relabelled)).to.deep.equal({
      "qa-k3s-worker-2-install": ["create"],
      "qa-k3s-worker-2-upgrade": ["create", "update"],
      "qa-k3s-worker-2-labels": ["create"],
    });
  });

  it("adding an agent adds only that agent's resources and changes no existing input", async () => {
    const grown = await runProgram(
      { ...seedConfig(), agents: [1, 2, 3, 4, 5, 6].map((i) => worker(i)) },
      { stdoutFor: identityStdout(TOKEN) },
    );
    const added = names(grown).filter((n) => !names(seed).includes(n));
    expect(added).to.deep.equal(
      [
        "qa-k3s-worker-6",
        ...["cleanup", "drain", "install", "labels", "membership", "upgrade"].map((r) => `qa-k3s-worker-6-${r}`),
      ].sort(),
    );
    expect(changedFields(seed, grown)).to.deep.equal({});
    expect(depsOf(grown, "qa-k3s-worker-6-install")).to.deep.equal([
      "qa-identity",
      "qa-k3s-server-1-install",
      "qa-k3s-worker-6-cleanup",
      "qa-k3s-worker-6-membership",
    ]);
  });

  it("removing an agent removes only its resources (their delete commands drain, uninstall, forget)", async () => {
    const shrunk = await runProgram(
      { ...seedConfig(), agents: [1, 2, 4, 5].map((i) => worker(i)) },
      { stdoutFor: identityStdout(TOKEN) },
    );
    const removed = names(seed).filter((n) => !names(shrunk).includes(n));
    expect(removed).to.deep.equal(
      [
        "qa-k3s-worker-3",
        ...["cleanup", "drain", "install", "labels", "membership", "upgrade"].map((r) => `qa-k3s-worker-3-${r}`),
      ].sort(),
    );
    const changes = changedFields(seed, shrunk);
    expect(Object.keys(changes)).to.deep.equal([]);
    // The removed agent's steps, as saved in the state, are what Pulumi runs on delete:
    expect(reg(seed, "qa-k3s-worker-3-drain").inputs.delete).to.include(inner("'drain' 'k3s-worker-3'"));
    expect(reg(seed, "qa-k3s-worker-3-cleanup").inputs.delete).to.include("k3s-agent-uninstall.sh");
    expect(reg(seed, "qa-k3s-worker-3-membership").inputs.delete).to.include(inner("'delete' 'node' 'k3s-worker-3'"));
  });

  describe("a dead machine (gone: true)", () => {
    let gone: ProgramRun;
    before(async () => {
      const agents = [1, 2, 3, 4, 5].map((i) => worker(i, i === 2 ? { gone: true } : {}));
      gone = await runProgram({ ...seedConfig(), agents }, { stdoutFor: identityStdout(TOKEN) });
      expect(gone.errors).to.deep.equal([]);
    });

    it("keeps the host's records under new names, without any command, so nothing contacts the host", () => {
      for (const [now, before] of [
        ["host-gone", "install"],
        ["cleanup-gone", "cleanup"],
      ]) {
        const record = reg(gone, `qa-k3s-worker-2-${now}`);
        expect(record.aliasNames).to.deep.equal([`qa-k3s-worker-2-${before}`]);
        for (const field of ["create", "update", "delete", "stdin"])
          expect(record.inputs, `${now} ${field}`).not.to.have.property(field);
        expect((reveal(record.inputs.connection) as { host: string }).host).to.equal("10.0.1.2");
      }
    });

    it("runs only cluster-side steps: mark gone now, then the deleted drain and membership on the first server", () => {
      const mark = reg(gone, "qa-k3s-worker-2-mark-gone");
      expect((reveal(mark.inputs.connection) as { host: string }).host).to.equal("10.0.0.10");
      expect(mark.inputs.create).to.include(inner("'qa-k8s.io/gone=true'"));
      expect(depsOf(gone, "qa-k3s-worker-2-mark-gone")).to.deep.equal(["qa-k3s-server-1-install"]);
      const remaining = names(gone).filter((n) => n.startsWith("qa-k3s-worker-2-"));
      expect(remaining).to.deep.equal([
        "qa-k3s-worker-2-cleanup-gone",
        "qa-k3s-worker-2-host-gone",
        "qa-k3s-worker-2-mark-gone",
      ]);
    });

    it("takes the dead agent out of the upgrade chain", () => {
      expect(depsOf(gone, "qa-k3s-worker-3-upgrade")).to.include("qa-k3s-worker-1-upgrade");
      expect(changedFields(seed, gone)).to.deep.equal({});
    });
  });

  describe("HA: three servers", () => {
    let ha: ProgramRun;
    before(async () => {
      ha = await runProgram({
        ...seedConfig(),
        servers: [server(1), server(2), server(3)],
        "k3s.upgradeBatchSize": "2",
      });
      expect(ha.errors).to.deep.equal([]);
    });

    it("initialises etcd on the first server; the others join it one after the other", () => {
      expect(reg(ha, "qa-k3s-server-1-install").inputs.create).to.include(
        "server --cluster-init --tls-san 10.0.0.10 --tls-san 10.0.0.11 --tls-san 10.0.0.12",
      );
      expect(reg(ha, "qa-k3s-server-2-install").inputs.create).to.include(
        "server --server https://10.0.0.10:6443 --tls-san",
      );
      expect(depsOf(ha, "qa-k3s-server-2-install")).to.deep.equal([
        "qa-identity",
        "qa-k3s-server-1-install",
        "qa-k3s-server-2-cleanup",
        "qa-k3s-server-2-membership",
      ]);
      expect(depsOf(ha, "qa-k3s-server-3-install")).to.deep.equal([
        "qa-identity",
        "qa-k3s-server-2-install",
        "qa-k3s-server-3-cleanup",
        "qa-k3s-server-3-membership",
      ]);
    });

    it("upgrades servers one at a time, then agents in batches of k3s.upgradeBatchSize", () => {
      expect(depsOf(ha, "qa-k3s-server-3-upgrade")).to.deep.equal([
        "qa-identity",
        "qa-k3s-server-2-upgrade",
        "qa-k3s-server-3-install",
      ]);
      expect(depsOf(ha, "qa-k3s-worker-1-upgrade")).to.deep.equal([
        "qa-identity",
        "qa-k3s-server-3-upgrade",
        "qa-k3s-worker-1-install",
      ]);
      expect(depsOf(ha, "qa-k3s-worker-2-upgrade")).to.deep.equal([
        "qa-identity",
        "qa-k3s-server-3-upgrade",
        "qa-k3s-worker-2-install",
      ]);
      expect(depsOf(ha, "qa-k3s-worker-3-upgrade")).to.deep.equal([
        "qa-identity",
        "qa-k3s-server-3-upgrade",
        "qa-k3s-worker-1-upgrade",
        "qa-k3s-worker-3-install",
      ]);
    });
  });

  describe("what a running cluster cannot change", () => {
    it("refuses a changed token before any host command is registered", async () => {
      const run = await runProgram(seedConfig(), { stdoutFor: identityStdout("the-token-the-cluster-was-made-with") });
      const messages = run.errors.map((e) => (e as Error).message);
      expect(
        messages.some((m) =>
          m.startsWith("Pulumi.qa.yaml: k3s.token differs from the token this cluster was created with;"),
        ),
      ).to.equal(true);
      expect(
        run.errors.every((e) => (e as Error).name === "RunError" || (e as Error).message.includes("k3s.token differs")),
      ).to.equal(true);
      expect(ofType(run, CMD).filter((r) => /-(install|upgrade)$/.test(r.name))).to.deep.equal([]);
    });

    it("refuses another first server", async () => {
      const run = await runProgram(seedConfig(), { stdoutFor: identityStdout(TOKEN, "old-server") });
      const messages = run.errors.map((e) => (e as Error).message);
      expect(
        messages.some((m) =>
          m.includes('servers[0] is "k3s-server-1", but this cluster was created with first server "old-server"'),
        ),
      ).to.equal(true);
    });

    it("records token hash and first server as a secret, and never updates the record", () => {
      const identity = reg(seed, "qa-identity");
      expect(identity.type).to.equal("command:local:Command");
      expect(isSecret(identity.inputs.stdin)).to.equal(true);
      expect(identity.ignoreChanges).to.deep.equal(["stdin"]);
      expect(identity.additionalSecretOutputs).to.include("stdout");
      expect(JSON.parse(reveal(identity.inputs.stdin) as string)).to.deep.equal(
        JSON.parse(identityStdout(TOKEN)("qa-identity") as string),
      );
    });
  });

  it("stops with every configuration problem before creating anything", async () => {
    const { error, regs } = await refusedRun({
      ...seedConfig(),
      servers: [server(1), server(2)],
      "k3s.version": "latest",
    });
    expect([...regs.keys()], "registered before the refusal").to.deep.equal([]);
    expect(pulumi.RunError.isInstance(error)).to.equal(true);
    expect(error.message).to.equal(
      'Pulumi.qa.yaml: k3s.version "latest" is not a K3s release tag; use the full tag, e.g. v1.33.5+k3s1\n' +
        "Pulumi.qa.yaml: servers lists 2 servers that are not gone; K3s with embedded etcd needs an odd number (1, 3, 5, ...) to keep quorum; add a server or remove one",
    );
  });
});
