import { expect } from "chai";
import * as fs from "node:fs";
import * as path from "node:path";
import {
  admitScript,
  drainScript,
  forgetScript,
  kubeconfigScript,
  labelsScript,
  markGoneScript,
  rancherApplyScript,
} from "../../../cluster/clusterScripts";
import { secretPayload } from "../../../cluster/scripts";
import {
  fakeK3s,
  k3sDispatcher,
  removeTempDirs,
  runLocally,
  seedConfig,
  settingsOf,
  tempDir,
  worker,
} from "./fixtures";

/** Every k3s call goes by absolute path (k3s.binDir); here to the dispatcher that runs each test's fake. */
const config = () => ({ ...seedConfig(), "k3s.binDir": k3sDispatcher() });

/** A fake first server: `k3s` on PATH logging to calls.log; node files say which nodes exist and whether Ready. */
function cluster(nodes: Record<string, string>) {
  const dir = tempDir("cluster");
  const bin = fakeK3s(dir);
  for (const [name, content] of Object.entries(nodes)) fs.writeFileSync(path.join(dir, "nodes", name), content);
  const calls = () =>
    fs.existsSync(path.join(dir, "calls.log"))
      ? fs.readFileSync(path.join(dir, "calls.log"), "utf8").trim().split("\n")
      : [];
  const run = (command: string, stdin = "") => runLocally(command, { env: { QA_FAKE_K3S_BIN: bin }, stdin });
  return { dir, calls, run };
}

describe("cluster/clusterScripts", () => {
  after(removeTempDirs);
  const s = settingsOf({
    ...config(),
    agents: [worker(1, { labels: { "agent-type": "worker", tier: "b" }, taints: ["dedicated=ci:NoSchedule"] })],
  });
  const [first] = s.servers;
  const [w1] = s.agents;

  describe("admit (before a node joins)", () => {
    it("removes a stale Node object and node password so a re-added host can rejoin", () => {
      const c = cluster({ "k3s-worker-1": "False" });
      const run = c.run(admitScript(s, w1, first));
      expect(run.status, run.stderr).to.equal(0);
      expect(c.calls().slice(1)).to.deep.equal([
        "kubectl delete node k3s-worker-1 --ignore-not-found",
        "kubectl -n kube-system delete secret k3s-worker-1.node-password.k3s --ignore-not-found",
      ]);
    });

    it("leaves a live (Ready) node of that name alone", () => {
      const c = cluster({ "k3s-worker-1": "True" });
      const run = c.run(admitScript(s, w1, first));
      expect(run.stdout).to.include("node k3s-worker-1 is registered and Ready: keeping it");
      expect(c.calls().filter((l) => l.includes("delete"))).to.deep.equal([]);
    });
  });

  describe("drain (before the uninstall)", () => {
    it("cordons and drains a Ready node with the configured timeout", () => {
      const c = cluster({ "k3s-worker-1": "True" });
      const run = c.run(drainScript(s, w1, first));
      expect(run.status, run.stderr).to.equal(0);
      expect(c.calls()).to.include("kubectl cordon k3s-worker-1");
      expect(c.calls()).to.include(
        "kubectl drain k3s-worker-1 --ignore-daemonsets --delete-emptydir-data --force --timeout=300s",
      );
    });

    it("only cordons a node that is not Ready or marked gone: a dead kubelet would make the drain wait for nothing", () => {
      const cases: Record<string, string>[] = [
        { "k3s-worker-1": "False" },
        { "k3s-worker-1": "True", "k3s-worker-1.gone": "true" },
      ];
      for (const files of cases) {
        const c = cluster(files);
        const run = c.run(drainScript(s, w1, first));
        expect(run.status, run.stderr).to.equal(0);
        expect(c.calls()).to.include("kubectl cordon k3s-worker-1");
        expect(c.calls().filter((l) => l.startsWith("kubectl drain"))).to.deep.equal([]);
        expect(run.stdout).to.include("is not Ready or is marked gone: cordoned only");
      }
    });

    it("is a no-op for a node that is not in the cluster", () => {
      const c = cluster({});
      const run = c.run(drainScript(s, w1, first));
      expect(run.status).to.equal(0);
      expect(run.stdout).to.include("node k3s-worker-1 is not in the cluster: nothing to drain");
    });

    it("fails with the reason, naming node and server, when the drain times out", () => {
      const c = cluster({ "k3s-worker-1": "True" });
      fs.writeFileSync(path.join(c.dir, "drain-fails"), "");
      const run = c.run(drainScript(settingsOf({ ...config(), "k3s.drainTimeoutSeconds": "60" }), w1, first));
      expect(run.status).to.equal(1);
      expect(run.stderr).to.include(
        'qa-k8s: step "drain" failed on node k3s-worker-1, run on server k3s-server-1 (host 10.0.0.10) with exit code 1',
      );
      expect(run.stderr).to.include("error: cannot evict pod web-1 (PodDisruptionBudget)");
      expect(run.stderr).to.include("drain of k3s-worker-1 did not finish within 60s");
    });
  });

  it("forget (after the uninstall) deletes the Node object and its password secret", () => {
    const c = cluster({ "k3s-worker-1": "False" });
    const run = c.run(forgetScript(s, w1, first));
    expect(run.status, run.stderr).to.equal(0);
    expect(c.calls()).to.deep.equal([
      "kubectl delete node k3s-worker-1 --ignore-not-found --timeout=120s",
      "kubectl -n kube-system delete secret k3s-worker-1.node-password.k3s --ignore-not-found",
    ]);
  });

  it("mark-gone annotates the node and taints it out-of-service", () => {
    const c = cluster({ "k3s-worker-1": "Unknown" });
    const run = c.run(markGoneScript(s, w1, first));
    expect(run.status, run.stderr).to.equal(0);
    expect(c.calls().slice(1)).to.deep.equal([
      "kubectl annotate node k3s-worker-1 --overwrite qa-k8s.io/gone=true",
      "kubectl taint node k3s-worker-1 --overwrite node.kubernetes.io/out-of-service=nodeshutdown:NoExecute",
    ]);
  });

  describe("labels", () => {
    it("sets configured labels and taints, removes those it set before that are no longer configured", () => {
      const c = cluster({
        "k3s-worker-1": "True",
        "k3s-worker-1.labels": "agent-type,old-label",
        "k3s-worker-1.taints": "gpu:NoSchedule",
      });
      const run = c.run(labelsScript(s, w1, first));
      expect(run.status, run.stderr).to.equal(0);
      const changes = c.calls().filter((l) => !l.startsWith("kubectl get"));
      expect(changes).to.deep.equal([
        "kubectl label node k3s-worker-1 old-label-",
        "kubectl taint node k3s-worker-1 gpu:NoSchedule-",
        "kubectl label node k3s-worker-1 --overwrite agent-type=worker tier=b",
        "kubectl taint node k3s-worker-1 --overwrite dedicated=ci:NoSchedule",
        "kubectl annotate node k3s-worker-1 --overwrite qa-k8s.io/labels=agent-type,tier qa-k8s.io/taints=dedicated:NoSchedule",
      ]);
    });

    it("fails clearly when the node never registers", () => {
      const c = cluster({});
      const run = c.run(labelsScript(s, w1, first, 2));
      expect(run.status).to.equal(1);
      expect(run.stderr).to.include(
        "node k3s-worker-1 did not register within 2s; see journalctl -u k3s or k3s-agent on 10.0.1.1",
      );
    });
  });

  it("prints the kubeconfig once K3s has written it", () => {
    const c = cluster({});
    fs.writeFileSync(
      path.join(c.dir, "kubeconfig"),
      "apiVersion: v1\nclusters:\n- cluster:\n    server: https://127.0.0.1:6443\n",
    );
    const run = c.run(kubeconfigScript(s, first));
    expect(run.status, run.stderr).to.equal(0);
    expect(run.stdout).to.equal("apiVersion: v1\nclusters:\n- cluster:\n    server: https://127.0.0.1:6443\n");
  });

  it("rancher-register reads the manifest URL (it embeds a token) from stdin and never echoes it", () => {
    const dir = tempDir("rancher");
    const manifest = path.join(dir, "agent.yaml");
    fs.writeFileSync(manifest, "kind: Namespace\n");
    const c = cluster({});
    const url = `file://${manifest}?token=registration-secret-123`;
    const cmd = rancherApplyScript(s, first, true);
    expect(cmd).not.to.include("registration-secret-123");
    expect(cmd).to.include("--insecure");
    // A curl that fails and prints its arguments: the URL must come out redacted.
    const noisy = path.join(dir, "bin");
    fs.mkdirSync(noisy);
    fs.writeFileSync(path.join(noisy, "curl"), '#!/bin/sh\necho "curl: cannot fetch $*" >&2\nexit 22\n', {
      mode: 0o755,
    });
    const failed = runLocally(cmd, {
      pathDirs: [noisy],
      env: { QA_FAKE_K3S_BIN: path.join(c.dir, "bin") },
      stdin: secretPayload([url]),
    });
    expect(failed.status).to.equal(22);
    expect(failed.stderr).to.include('qa-k8s: step "rancher-register" failed on node k3s-server-1 (host 10.0.0.10)');
    expect(failed.stderr).to.include("curl: cannot fetch -fsSL --retry 3 --insecure -o");
    expect(failed.stderr).to.include("[secret]");
    expect(failed.stderr + failed.stdout).not.to.include("registration-secret-123");
    const ok = c.run(cmd, secretPayload([`file://${manifest}`]));
    expect(ok.status, ok.stderr).to.equal(0);
    expect(c.calls().some((l) => /^kubectl apply -f .*qa-k8s-rancher\./.test(l))).to.equal(true);
  });
});
