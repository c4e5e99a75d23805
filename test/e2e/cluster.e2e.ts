// The cluster stack with the real engine and the real command provider, over real SSH: sshd test hosts on
// 127.0.0.2-5, each with its own filesystem view, and an upstream-like fake K3s installer and binary served from
// 127.0.0.1 (a node is NotFound until its host installed K3s). Rancher is off.
// The tests run in order and share one stack: the lifecycle preview -> up -> preview/refresh without changes ->
// updates (add, upgrade, remove, dead host) -> destroy with nothing left.
import { expect } from "chai";
import * as fs from "node:fs";
import * as path from "node:path";
import * as YAML from "yaml";
import { OpMap } from "@pulumi/pulumi/automation";
import { remainingStacks, stackLocks } from "./support/engine";
import { hostCalls, installs, k3sInstalled, k3sLeftovers, onHost } from "./support/installerServer";
import { ClusterRig, editStackConfig, nodeFor, rigLeaks, startClusterRig, TOKEN } from "./support/sshStack";
import type { SshHost } from "./support/sshHosts";

const changes = (summary: OpMap | undefined) =>
  Object.fromEntries(Object.entries(summary ?? {}).filter(([op, n]) => op !== "same" && (n ?? 0) > 0));

describe("cluster stack over SSH (real engine, command provider, sshd)", function () {
  let rig: ClusterRig;
  let server: SshHost, agentA: SshHost, agentB: SshHost, agentC: SshHost;
  /** Logins per host, to prove which hosts a run touched. */
  const logins = () => rig.hosts.hosts.map((h) => rig.hosts.logins(h));
  const setNodes = (servers: unknown[], agents: unknown[]) => editStackConfig(rig.workDir, { servers, agents });
  const up = () => rig.stack.up({ onOutput: rig.onOutput });
  /** Node objects of the fake cluster (registered by the hosts' k3s at start-up, deleted by kubectl). */
  const clusterNodes = () => fs.readdirSync(path.join(rig.hosts.clusterDir as string, "nodes")).sort();

  before(async () => {
    rig = await startClusterRig(4);
    [server, agentA, agentB, agentC] = rig.hosts.hosts;
    setNodes(
      [nodeFor(server, "k3s-server-1", { labels: { "agent-type": "server" } })],
      [
        nodeFor(agentA, "k3s-worker-1", { labels: { "agent-type": "worker" } }),
        nodeFor(agentB, "k3s-worker-2", { labels: { "agent-type": "worker" } }),
      ],
    );
  });

  after(async () => {
    await rig?.dispose();
  });

  it("preview plans the cluster and runs nothing on the hosts", async () => {
    const preview = await rig.stack.preview({ onOutput: rig.onOutput });
    expect(changes(preview.changeSummary)).to.have.property("create").that.is.greaterThan(10);
    expect(logins()).to.deep.equal([0, 0, 0, 0]);
  });

  it("up installs 1 server + 2 agents with the right environment", async () => {
    const result = await up();
    expect(result.summary.result).to.equal("succeeded");
    const [s] = installs(server);
    expect(s.INSTALL_K3S_EXEC).to.equal(
      `server --tls-san ${server.address} --node-name k3s-server-1 --data-dir ${rig.dataDir} --node-label agent-type=server`,
    );
    expect(s).to.include({
      INSTALL_K3S_VERSION: "v1.33.5+k3s1",
      INSTALL_K3S_BIN_DIR: "/usr/local/bin",
      GITHUB_URL: rig.installer.mirrorUrl,
      K3S_TOKEN: TOKEN,
      K3S_URL: "",
      K3S_KUBECONFIG_MODE: "644",
      HOST: server.name,
    });
    for (const [host, name] of [
      [agentA, "k3s-worker-1"],
      [agentB, "k3s-worker-2"],
    ] as const) {
      const records = installs(host);
      expect(records, host.name).to.have.length(1);
      expect(records[0]).to.include({
        INSTALL_K3S_EXEC: `agent --node-name ${name} --data-dir ${rig.dataDir} --node-label agent-type=worker`,
        K3S_URL: `https://${server.address}:6443`,
        K3S_TOKEN: TOKEN,
        INSTALL_K3S_VERSION: "v1.33.5+k3s1",
        HOST: host.name,
      });
    }
    expect(installs(agentC)).to.deep.equal([]);
    // Every host downloaded and verified the binary from the mirror (GITHUB_URL), and its node registered.
    expect(rig.installer.binaryDownloads()).to.deep.equal(["v1.33.5+k3s1", "v1.33.5+k3s1", "v1.33.5+k3s1"]);
    expect(clusterNodes()).to.deep.equal(["k3s-server-1", "k3s-worker-1", "k3s-worker-2"]);
    // Before each agent joined, admit found no node of its name (the fake answers NotFound until the install).
    expect(hostCalls(server)).to.include("k3s kubectl delete node k3s-worker-1 --ignore-not-found");
    // The bundled Traefik's HelmChartConfig sits in the server's auto-deploy manifests, and only there.
    const traefikConfig = `${rig.dataDir}/server/manifests/qa-k8s-traefik-config.yaml`;
    const written = YAML.parse(fs.readFileSync(onHost(server, traefikConfig), "utf8"));
    expect(YAML.parse(written.spec.valuesContent).providers.kubernetesIngress).to.deep.equal({
      allowExternalNameServices: true,
    });
    expect([agentA, agentB].map((agent) => fs.existsSync(onHost(agent, traefikConfig)))).to.deep.equal([false, false]);
    // Cluster-side steps ran on the first server: labels reconciled for every node.
    expect(hostCalls(server)).to.include("k3s kubectl label node k3s-worker-2 --overwrite agent-type=worker");
    const kubeconfig = YAML.parse(result.outputs.kubeconfig.value);
    expect(result.outputs.kubeconfig.secret).to.equal(true);
    expect(kubeconfig.clusters[0].cluster.server).to.equal(`https://${server.address}:6443`);
    expect(result.outputs.nodes.value.map((n: { name: string; role: string }) => `${n.name}:${n.role}`)).to.deep.equal([
      "k3s-server-1:server",
      "k3s-worker-1:agent",
      "k3s-worker-2:agent",
    ]);
  });

  it("preview after up has no changes", async () => {
    const preview = await rig.stack.preview({ onOutput: rig.onOutput });
    expect(changes(preview.changeSummary)).to.deep.equal({});
  });

  // The command provider hands back the stored state on refresh, so this cannot detect drift on the hosts; it checks
  // only that a refresh runs clean and records nothing new.
  it("refresh runs clean (no drift detection: the provider returns the stored state)", async () => {
    const refresh = await rig.stack.refresh({ onOutput: rig.onOutput });
    expect(changes(refresh.summary.resourceChanges)).to.deep.equal({});
  });

  it("up without a change runs no command on any host", async () => {
    const before = { logins: logins(), calls: rig.hosts.hosts.map((h) => hostCalls(h).length) };
    const result = await up();
    expect(changes(result.summary.resourceChanges)).to.deep.equal({});
    expect(logins()).to.deep.equal(before.logins);
    expect(rig.hosts.hosts.map((h) => hostCalls(h).length)).to.deep.equal(before.calls);
  });

  /** Every form of the token and the SSH key, in every state, stack output and line the engine printed. */
  const leaks = () => rigLeaks(rig);

  it("keeps the token and the SSH key out of the state, the outputs and the engine output", async () => {
    expect(await leaks()).to.deep.equal([]);
    expect(rig.output.join("")).not.to.include("client-key-data");
  });

  it("adding a third agent installs only that host (the first server runs its cluster-side steps)", async () => {
    const before = logins();
    const serverCalls = hostCalls(server).length;
    setNodes(
      [nodeFor(server, "k3s-server-1", { labels: { "agent-type": "server" } })],
      [
        nodeFor(agentA, "k3s-worker-1", { labels: { "agent-type": "worker" } }),
        nodeFor(agentB, "k3s-worker-2", { labels: { "agent-type": "worker" } }),
        nodeFor(agentC, "k3s-worker-3", { labels: { "agent-type": "worker" } }),
      ],
    );
    const result = await up();
    expect(result.summary.resourceChanges?.update ?? 0).to.equal(0);
    expect(installs(agentC)).to.have.length(1);
    expect(installs(agentC)[0].INSTALL_K3S_EXEC).to.include("--node-name k3s-worker-3");
    const after = logins();
    expect([after[1], after[2]]).to.deep.equal([before[1], before[2]]);
    const newServerCalls = hostCalls(server).slice(serverCalls);
    expect(newServerCalls.length).to.be.greaterThan(0);
    expect(newServerCalls.filter((c) => c.startsWith("k3s kubectl") && !c.includes("k3s-worker-3"))).to.deep.equal([]);
  });

  it("changing k3s.version upgrades in place: the server first, then the agents, nothing uninstalled", async () => {
    editStackConfig(rig.workDir, { "k3s.version": "v1.33.6+k3s1" });
    const preview = await rig.stack.preview({ onOutput: rig.onOutput });
    expect(changes(preview.changeSummary)).to.deep.equal({ update: 4 });
    await up();
    const latest = (h: SshHost) => installs(h)[installs(h).length - 1];
    for (const host of [server, agentA, agentB, agentC]) {
      expect(installs(host), host.name).to.have.length(2);
      expect(latest(host).INSTALL_K3S_VERSION, host.name).to.equal("v1.33.6+k3s1");
      expect(latest(host).K3S_TOKEN, host.name).to.equal(TOKEN);
      expect(
        hostCalls(host).filter((c) => c.startsWith("uninstall")),
        host.name,
      ).to.deep.equal([]);
    }
    const time = (h: SshHost) => BigInt(latest(h).TIME);
    for (const agent of [agentA, agentB, agentC]) expect(time(agent) > time(server), agent.name).to.equal(true);
    // k3s.upgradeBatchSize 1: one agent after the other, in list order.
    expect(time(agentA) < time(agentB) && time(agentB) < time(agentC)).to.equal(true);
  });

  it("removing an agent cordons, drains and uninstalls that host only", async () => {
    const before = logins();
    setNodes(
      [nodeFor(server, "k3s-server-1", { labels: { "agent-type": "server" } })],
      [
        nodeFor(agentA, "k3s-worker-1", { labels: { "agent-type": "worker" } }),
        nodeFor(agentC, "k3s-worker-3", { labels: { "agent-type": "worker" } }),
      ],
    );
    const serverCalls = hostCalls(server).length;
    await up();
    const removal = hostCalls(server).slice(serverCalls);
    expect(removal).to.include("k3s kubectl cordon k3s-worker-2");
    expect(removal).to.include(
      "k3s kubectl drain k3s-worker-2 --ignore-daemonsets --delete-emptydir-data --force --timeout=300s",
    );
    expect(removal).to.include("k3s kubectl delete node k3s-worker-2 --ignore-not-found --timeout=120s");
    expect(removal.findIndex((c) => c.startsWith("k3s kubectl drain"))).to.be.lessThan(
      removal.findIndex((c) => c.startsWith("k3s kubectl delete node")),
    );
    // Upstream's uninstaller, by absolute path, told where the custom data dir is; then nothing of K3s is left.
    expect(hostCalls(agentB)).to.include(`uninstall k3s-agent-uninstall.sh K3S_DATA_DIR=${rig.dataDir}`);
    expect(k3sInstalled(agentB)).to.equal(false);
    expect(k3sLeftovers(agentB, rig.dataDir)).to.deep.equal([]);
    expect(clusterNodes()).to.deep.equal(["k3s-server-1", "k3s-worker-1", "k3s-worker-3"]);
    const after = logins();
    expect([after[1], after[3]]).to.deep.equal([before[1], before[3]]);
  });

  it("a dead host marked gone: true is removed from the cluster without being contacted", async () => {
    await rig.hosts.stopHost(agentC);
    // Something listens where its sshd was: any attempt to reach the host would be counted.
    const listener = await rig.hosts.listenInstead(agentC);
    const deadCalls = hostCalls(agentC).length;
    setNodes(
      [nodeFor(server, "k3s-server-1", { labels: { "agent-type": "server" } })],
      [
        nodeFor(agentA, "k3s-worker-1", { labels: { "agent-type": "worker" } }),
        nodeFor(agentC, "k3s-worker-3", { gone: true }),
      ],
    );
    const serverCalls = hostCalls(server).length;
    const started = Date.now();
    await up();
    expect(Date.now() - started).to.be.lessThan(120000);
    const steps = hostCalls(server).slice(serverCalls);
    expect(steps).to.include("k3s kubectl annotate node k3s-worker-3 --overwrite qa-k8s.io/gone=true");
    expect(steps).to.include("k3s kubectl cordon k3s-worker-3");
    expect(steps.filter((c) => c.startsWith("k3s kubectl drain"))).to.deep.equal([]);
    expect(steps).to.include("k3s kubectl delete node k3s-worker-3 --ignore-not-found --timeout=120s");
    // Then the entry goes; nothing runs anywhere for it.
    setNodes(
      [nodeFor(server, "k3s-server-1", { labels: { "agent-type": "server" } })],
      [nodeFor(agentA, "k3s-worker-1", { labels: { "agent-type": "worker" } })],
    );
    await up();
    await listener.close();
    expect(listener.connections(), "connections to the dead host's address").to.equal(0);
    expect(hostCalls(agentC).length).to.equal(deadCalls);
    expect(clusterNodes()).to.deep.equal(["k3s-server-1", "k3s-worker-1"]);
  });

  it("refuses a host whose SSH key differs from the pinned one; once the key is fixed, the install completes", async () => {
    const before = hostCalls(agentB).length;
    const servers = [nodeFor(server, "k3s-server-1", { labels: { "agent-type": "server" } })];
    const workerA = nodeFor(agentA, "k3s-worker-1", { labels: { "agent-type": "worker" } });
    const workerB = nodeFor(agentB, "k3s-worker-4", { labels: { "agent-type": "worker" } });
    setNodes(servers, [workerA, { ...workerB, hostKey: agentA.hostKey }]);
    let error: Error | undefined;
    await up().catch((err: Error) => (error = err));
    expect(error?.message).to.include("ssh: handshake failed: ssh: host key mismatch");
    expect(hostCalls(agentB).length).to.equal(before);
    // The failed install is not recorded (as upstream's provider does); with the right key the next up creates it.
    setNodes(servers, [workerA, workerB]);
    await up();
    const latest = installs(agentB)[installs(agentB).length - 1];
    expect(latest.INSTALL_K3S_EXEC).to.include("--node-name k3s-worker-4");
    expect(k3sInstalled(agentB)).to.equal(true);
    setNodes(servers, [workerA]);
    await up();
    expect(k3sLeftovers(agentB, rig.dataDir)).to.deep.equal([]);
  });

  it("refuses a changed token in preview, before any host is contacted", async () => {
    const before = logins();
    await rig.stack.setConfig("qa-k8s:k3s.token", { value: "another-token-0123456789abcdef", secret: true });
    let error: Error | undefined;
    await rig.stack.preview().catch((err: Error) => (error = err));
    expect(error?.message).to.include("Pulumi.qa.yaml: k3s.token differs from the token this cluster was created with");
    expect(logins()).to.deep.equal(before);
    await rig.stack.setConfig("qa-k8s:k3s.token", { value: TOKEN, secret: true });
  });

  it("destroy removes everything of K3s from the hosts and leaves no stack and no lock", async () => {
    await rig.stack.destroy({ onOutput: rig.onOutput });
    expect(k3sLeftovers(server, rig.dataDir)).to.deep.equal([]);
    expect(k3sLeftovers(agentA, rig.dataDir)).to.deep.equal([]);
    expect(hostCalls(server)).to.include(`uninstall k3s-uninstall.sh K3S_DATA_DIR=${rig.dataDir}`);
    // Every state the backend kept (history, backups), and everything the engine printed, across all the steps above;
    // before `stack rm`, which deletes the history.
    expect(await leaks(), "after destroy: history, backups, outputs and engine output").to.deep.equal([]);
    await rig.stack.workspace.removeStack("qa");
    expect(remainingStacks(rig.engine)).to.deep.equal([]);
    expect(stackLocks(rig.engine)).to.deep.equal([]);
  });
});
