// The cluster stack against what upstream pulumi-command v1.2.1 does and the aligned test provider now does too:
// every connection through a bastion (ssh.bastion, a second sshd), a host with two host keys verified by its pinned
// one, a failed create that leaves no state, and stdout/stderr that are secret only where the program says so.
// Hosts: 127.0.0.2 server, .3 agent with an RSA and an ed25519 host key, .4 agent whose install fails, .5 bastion.
// The fake installer prints the token on both streams on every host (flag file echo-token).
import { execFileSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { expect } from "chai";
import { remainingStacks, stackLocks } from "./support/engine";
import { hostCalls, installs, k3sInstalled } from "./support/installerServer";
import { ClusterRig, editStackConfig, nodeFor, rigLeaks, startClusterRig, TOKEN } from "./support/sshStack";
import type { SshHost } from "./support/sshHosts";

/** How the state marks an encrypted value (sdk/go/common/resource/sig). */
const SECRET_SIG = "1b47061264138c4ac30d75fd1eb44270";

interface StateResource {
  urn: string;
  type: string;
  outputs?: Record<string, unknown>;
}

/** Where the fake installer looks for its opt-in flag files: the host's own /mnt. */
const flagDir = (host: SshHost) => host.view?.mounts["/mnt"] ?? host.root;

describe("cluster stack over SSH: bastion, host keys, failed creates, secret output (upstream provider behaviour)", function () {
  let rig: ClusterRig;
  let server: SshHost, dual: SshHost, flaky: SshHost, bastion: SshHost;
  const targets = () => [server, dual, flaky];
  const up = () => rig.stack.up({ onOutput: rig.onOutput });
  const failedUp = async () => {
    let error: Error | undefined;
    await up().catch((err: Error) => (error = err));
    expect(error, "the up should have failed").to.not.equal(undefined);
    return error as Error;
  };
  const bastionConfig = (hostKey: string) => ({
    "ssh.bastion": { host: bastion.address, port: bastion.port, user: "root", hostKey },
  });
  const serverEntry = () => nodeFor(server, "k3s-server-1");
  const dualEntry = () => nodeFor(dual, "k3s-worker-1");
  const flakyEntry = () => nodeFor(flaky, "k3s-worker-2");
  const resources = async (): Promise<StateResource[]> =>
    ((await rig.stack.exportStack()).deployment?.resources ?? []) as StateResource[];
  const named = async (suffix: string) => (await resources()).filter((r) => r.urn.endsWith(`::${suffix}`));
  /** The state with secrets decrypted, as `pulumi stack export --show-secrets` prints it. */
  const decryptedState = () =>
    execFileSync(rig.engine.envVars.QA_PULUMI_BIN ?? "pulumi", ["stack", "export", "--show-secrets", "--stack", "qa"], {
      cwd: rig.workDir,
      env: { ...process.env, ...rig.engine.envVars },
      encoding: "utf8",
    });
  const leaks = () => rigLeaks(rig);

  before(async () => {
    rig = await startClusterRig(4, {}, { rsaHostKeyFor: [1] });
    [server, dual, flaky, bastion] = rig.hosts.hosts;
    for (const host of targets()) fs.writeFileSync(path.join(flagDir(host), "echo-token"), "");
    editStackConfig(rig.workDir, {
      servers: [serverEntry()],
      agents: [dualEntry()],
      ...bastionConfig(bastion.hostKey),
    });
  });

  after(async () => {
    await rig?.dispose();
  });

  it("refuses a pinned ssh-rsa key in preview, naming field, value, rule and fix, before any host is contacted", async () => {
    const rsa = dual.rsaHostKey as string;
    editStackConfig(rig.workDir, { agents: [{ ...dualEntry(), hostKey: rsa }] });
    let error: Error | undefined;
    await rig.stack.preview().catch((err: Error) => (error = err));
    expect(error?.message).to.include(
      `Pulumi.qa.yaml: agents[0].hostKey ${JSON.stringify(rsa)} is an ssh-rsa host key, which cannot be verified`,
    );
    expect(error?.message).to.include(
      "pin the host's ed25519 (or ecdsa) key instead: ssh-keyscan -t ed25519 <host> | cut -d' ' -f2-",
    );
    expect(rig.hosts.hosts.map((h) => rig.hosts.logins(h))).to.deep.equal([0, 0, 0, 0]);
    editStackConfig(rig.workDir, { agents: [dualEntry()] });
  });

  it("a bastion presenting another host key fails the up with a clear error; no host is contacted", async () => {
    editStackConfig(rig.workDir, bastionConfig(server.hostKey));
    const error = await failedUp();
    expect(error.message).to.include("proxy: after 2 failed attempts: ssh: handshake failed: ssh: host key mismatch");
    expect(rig.hosts.hosts.map((h) => rig.hosts.logins(h))).to.deep.equal([0, 0, 0, 0]);
    expect(targets().map((h) => hostCalls(h).length)).to.deep.equal([0, 0, 0]);
    // Only records that contact nothing on create are in the state; no install, no cluster-side step.
    const commands = (await resources()).filter((r) => r.type === "command:remote:Command");
    expect(commands.map((r) => r.urn.split("::").pop())).to.deep.equal(["qa-k3s-server-1-cleanup"]);
  });

  it("a host behind the bastion presenting another key fails the up; nothing runs on it", async () => {
    editStackConfig(rig.workDir, {
      servers: [{ ...serverEntry(), hostKey: dual.hostKey }],
      ...bastionConfig(bastion.hostKey),
    });
    const error = await failedUp();
    // Upstream retries the handshake on the tunnelled connection the first failure closed, so what it reports is
    // that later failure, not "host key mismatch" (the test provider does the same).
    expect(error.message).to.include("proxy: after 2 failed attempts: ssh: handshake failed");
    expect(rig.hosts.logins(bastion)).to.be.greaterThan(0);
    expect(targets().map((h) => rig.hosts.logins(h))).to.deep.equal([0, 0, 0]);
    expect(targets().map((h) => hostCalls(h).length)).to.deep.equal([0, 0, 0]);
    editStackConfig(rig.workDir, { servers: [serverEntry()] });
  });

  it("with the bastion's key pinned, every command runs through it; a host with RSA + ed25519 keys is verified by its pinned ed25519 key", async () => {
    const bastionBefore = rig.hosts.logins(bastion);
    const result = await up();
    expect(result.summary.result).to.equal("succeeded");
    expect(installs(server)).to.have.length(1);
    expect(installs(dual)).to.have.length(1);
    expect(installs(dual)[0].INSTALL_K3S_EXEC).to.include("--node-name k3s-worker-1");
    const targetLogins = rig.hosts.logins(server) + rig.hosts.logins(dual);
    expect(targetLogins).to.be.greaterThan(3);
    // One bastion login per command: each target session was tunnelled, none went direct.
    expect(rig.hosts.logins(bastion) - bastionBefore).to.equal(targetLogins);
  });

  it("the token the installer printed on both streams is [secret] in the step's output, which is encrypted in the state", async () => {
    const [install] = await named("qa-k3s-worker-1-install");
    for (const stream of ["stdout", "stderr"])
      expect(JSON.stringify(install.outputs?.[stream]), stream).to.include(SECRET_SIG);
    const plain = JSON.parse(decryptedState()).deployment.resources.find((r: StateResource) =>
      r.urn.endsWith("::qa-k3s-worker-1-install"),
    );
    // Positive control: the installer did print it (twice, stdout and stderr merged into the step's log).
    expect(
      JSON.stringify(plain.outputs.stdout).match(/\[fake\] K3S_TOKEN=\[secret\]/g),
      "decrypted stdout",
    ).to.have.length(2);
    expect(await leaks()).to.deep.equal([]);
  });

  it("an install that fails after K3s landed is not recorded; the host's cleanup record is", async () => {
    fs.writeFileSync(path.join(flagDir(flaky), "fail-service-start"), "");
    editStackConfig(rig.workDir, { agents: [dualEntry(), flakyEntry()] });
    const error = await failedUp();
    expect(error.message).to.include('qa-k8s: step "install" failed on node k3s-worker-2');
    expect(error.message).to.include("Job for k3s-agent.service failed");
    // The failure's output went to the step's stderr, redacted, and from there into the engine's error.
    expect(error.message).to.include("[fake] K3S_TOKEN=[secret]");
    expect(error.message).not.to.include(TOKEN);
    expect(k3sInstalled(flaky)).to.equal(true);
    expect(await named("qa-k3s-worker-2-install")).to.deep.equal([]);
    expect(await named("qa-k3s-worker-2-cleanup")).to.have.length(1);
    expect(await named("qa-k3s-worker-2-membership")).to.have.length(1);
  });

  it("removing that node from the config uninstalls K3s from its host and deletes its Node object", async () => {
    const serverCalls = hostCalls(server).length;
    editStackConfig(rig.workDir, { agents: [dualEntry()] });
    const result = await up();
    expect(result.summary.result).to.equal("succeeded");
    expect(hostCalls(flaky)).to.include(`uninstall k3s-agent-uninstall.sh K3S_DATA_DIR=${rig.dataDir}`);
    expect(k3sInstalled(flaky)).to.equal(false);
    expect(hostCalls(server).slice(serverCalls)).to.include(
      "k3s kubectl delete node k3s-worker-2 --ignore-not-found --timeout=120s",
    );
    // The fake cluster's own record of Node objects, not only the call that deletes one.
    expect(fs.readdirSync(path.join(rig.hosts.clusterDir as string, "nodes")).sort()).to.deep.equal([
      "k3s-server-1",
      "k3s-worker-1",
    ]);
    expect((await resources()).filter((r) => r.urn.includes("k3s-worker-2"))).to.deep.equal([]);
    expect(k3sInstalled(dual)).to.equal(true);
  });

  it("destroy through the bastion removes K3s; history, backups and engine output never held the token", async () => {
    await rig.stack.destroy({ onOutput: rig.onOutput });
    for (const host of [server, dual]) expect(k3sInstalled(host), host.name).to.equal(false);
    expect(await leaks(), "every state the backend kept, and everything the engine printed").to.deep.equal([]);
    await rig.stack.workspace.removeStack("qa");
    expect(remainingStacks(rig.engine)).to.deep.equal([]);
    expect(stackLocks(rig.engine)).to.deep.equal([]);
  });
});
