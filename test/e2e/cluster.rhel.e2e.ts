// The cluster stack on hosts like RHEL / Rocky: a non-root ssh.user whose sudo has secure_path
// /sbin:/bin:/usr/sbin:/usr/bin, so nothing in /usr/local/bin (where K3s lives) is on PATH under sudo. Real engine,
// real command provider, real sshd and Debian's sudo; each host has its own filesystem view, so "nothing of K3s is
// left" is read from the real paths of that host. Also: a missing uninstaller fails the removal, and an air-gapped
// install from a file:// installer pinned by sha256 checks the pre-copied binary before the installer starts it.
import { expect } from "chai";
import * as fs from "node:fs";
import * as path from "node:path";
import { remainingStacks } from "./support/engine";
import { fakeK3sBinary, hostCalls, installs, k3sLeftovers, onHost, sha256 } from "./support/installerServer";
import { ClusterRig, editStackConfig, nodeFor, startClusterRig } from "./support/sshStack";
import type { SshHost } from "./support/sshHosts";

const USER = "qa-admin";
const RHEL_SECURE_PATH = "/sbin:/bin:/usr/sbin:/usr/bin";
const INSTALLER = path.resolve(__dirname, "fixtures", "fake-k3s-install.sh");

describe("cluster stack on RHEL-like hosts (non-root ssh.user, sudo secure_path without /usr/local/bin)", function () {
  let rig: ClusterRig;
  let server: SshHost, agent: SshHost;
  const up = () => rig.stack.up({ onOutput: rig.onOutput });
  const clusterNodes = () => fs.readdirSync(path.join(rig.hosts.clusterDir as string, "nodes")).sort();
  const servers = () => [nodeFor(server, "rhel-server-1")];
  const withAgent = () =>
    editStackConfig(rig.workDir, { servers: servers(), agents: [nodeFor(agent, "rhel-worker-1")] });
  const withoutAgent = () => editStackConfig(rig.workDir, { servers: servers(), agents: [] });
  const failure = async () => {
    let error: Error | undefined;
    await up().catch((err: Error) => (error = err));
    expect(error, "the up must fail").not.to.equal(undefined);
    return error?.message ?? "";
  };

  before(async () => {
    rig = await startClusterRig(2, {}, { user: { name: USER, securePath: RHEL_SECURE_PATH }, firstOctet: 20 });
    [server, agent] = rig.hosts.hosts;
    withAgent();
  });

  after(async () => {
    await rig?.dispose();
  });

  it("installs through sudo as root, calling k3s by absolute path", async () => {
    const result = await up();
    expect(result.summary.result).to.equal("succeeded");
    for (const host of [server, agent]) {
      expect(installs(host), host.name).to.have.length(1);
      expect(installs(host)[0]).to.include({ UID: "0", INSTALL_K3S_BIN_DIR: "/usr/local/bin" });
    }
    expect(fs.readFileSync(path.join(server.dir, "sshd.log"), "utf8")).to.include(`Accepted publickey for ${USER}`);
    expect(clusterNodes()).to.deep.equal(["rhel-server-1", "rhel-worker-1"]);
    // The Ready wait, labels and kubeconfig ran `k3s kubectl` under sudo: only reachable by absolute path.
    expect(hostCalls(server)).to.include("k3s kubectl config view --raw");
  });

  it("removing a node leaves nothing of K3s on its host (custom data dir included) and no Node object", async () => {
    withoutAgent();
    await up();
    expect(hostCalls(agent)).to.include(`uninstall k3s-agent-uninstall.sh K3S_DATA_DIR=${rig.dataDir}`);
    expect(k3sLeftovers(agent, rig.dataDir)).to.deep.equal([]);
    expect(clusterNodes()).to.deep.equal(["rhel-server-1"]);
  });

  it("fails the removal, instead of 'nothing to uninstall', when K3s is there but its uninstaller is not", async () => {
    withAgent();
    await up();
    const uninstaller = onHost(agent, "/usr/local/bin/k3s-agent-uninstall.sh");
    const saved = fs.readFileSync(uninstaller);
    fs.rmSync(uninstaller);
    withoutAgent();
    expect(await failure()).to.include(
      `K3s is installed on rhel-worker-1 (${rig.dataDir}/.qa-k8s-installed-rhel-worker-1 or /usr/local/bin/k3s exists), but its uninstaller /usr/local/bin/k3s-agent-uninstall.sh is missing`,
    );
    expect(k3sLeftovers(agent, rig.dataDir)).to.include("/usr/local/bin/k3s");
    fs.writeFileSync(uninstaller, saved, { mode: 0o755 });
    await up();
    expect(k3sLeftovers(agent, rig.dataDir)).to.deep.equal([]);
  });

  describe("air-gapped, installer from file:// pinned by k3s.installScriptSha256", () => {
    const version = "v1.33.5+k3s1";
    before(() => {
      // The installer and the binary are pre-copied, as an air-gapped host gets them; no curl is needed for file://.
      for (const host of [server, agent]) fs.copyFileSync(INSTALLER, onHost(host, "/srv/install.sh"));
      editStackConfig(rig.workDir, {
        "k3s.airgap": true,
        "k3s.binaryMirrorUrl": undefined,
        "k3s.installScriptUrl": "file:///srv/install.sh",
        "k3s.installScriptSha256": sha256(fs.readFileSync(INSTALLER)),
      });
    });

    it("refuses a pre-copied binary of another version before the installer enables and starts it", async () => {
      fs.writeFileSync(onHost(agent, "/usr/local/bin/k3s"), fakeK3sBinary("v1.32.9+k3s1"), { mode: 0o755 });
      const before = installs(agent).length;
      withAgent();
      const message = await failure();
      expect(message).to.include('the pre-copied k3s binary reports "k3s version v1.32.9+k3s1 (fake)"');
      expect(message).to.include(`k3s.version is ${version}: copy the matching k3s binary and images`);
      expect(installs(agent).length, "the installer did not run").to.equal(before);
      expect(clusterNodes()).to.deep.equal(["rhel-server-1"]);
    });

    it("refuses an installer whose digest differs, naming the digest it found", async () => {
      fs.writeFileSync(onHost(agent, "/usr/local/bin/k3s"), fakeK3sBinary(version), { mode: 0o755 });
      fs.appendFileSync(onHost(agent, "/srv/install.sh"), "# changed\n");
      const found = sha256(fs.readFileSync(onHost(agent, "/srv/install.sh")));
      const message = await failure();
      expect(message).to.include(
        `the K3s installer from file:///srv/install.sh has sha256 ${found}, but k3s.installScriptSha256 is`,
      );
      expect(clusterNodes()).to.deep.equal(["rhel-server-1"]);
    });

    it("installs once binary and installer are the right ones", async () => {
      fs.copyFileSync(INSTALLER, onHost(agent, "/srv/install.sh"));
      await up();
      expect(installs(agent)[installs(agent).length - 1]).to.include({ INSTALL_K3S_SKIP_DOWNLOAD: "true" });
      expect(clusterNodes()).to.deep.equal(["rhel-server-1", "rhel-worker-1"]);
    });
  });

  // In a describe of its own: mocha runs a suite's own tests before its nested suites, and this one must come last.
  describe("at the end", () => {
    it("destroy leaves nothing of K3s on any host", async () => {
      await rig.stack.destroy({ onOutput: rig.onOutput });
      for (const host of [server, agent]) expect(k3sLeftovers(host, rig.dataDir), host.name).to.deep.equal([]);
      await rig.stack.workspace.removeStack("qa");
      expect(remainingStacks(rig.engine)).to.deep.equal([]);
    });
  });
});
