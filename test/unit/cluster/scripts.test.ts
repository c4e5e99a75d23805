import { expect } from "chai";
import * as fs from "node:fs";
import * as path from "node:path";
import {
  installEnv,
  installFlags,
  installPayload,
  installScript,
  secretPayload,
  serverUrl,
  wrapStep,
} from "../../../cluster/scripts";
import {
  fakeK3s,
  removeTempDirs,
  runLocally,
  seedConfig,
  server,
  settingsOf,
  tempDir,
  TOKEN,
  worker,
} from "./fixtures";

const seed = () => settingsOf(seedConfig());
const ha = () => settingsOf({ ...seedConfig(), servers: [server(1), server(2), server(3)] });

/** A stand-in K3s installer that records its environment and arguments, then fails if asked to. */
function fakeInstaller(dir: string): string {
  const file = path.join(dir, "install.sh");
  fs.writeFileSync(
    file,
    `{ echo "EXEC=$INSTALL_K3S_EXEC"; echo "VERSION=$INSTALL_K3S_VERSION"; echo "URL=\${K3S_URL:-}"; echo "TOKEN=$K3S_TOKEN";
  echo "MODE=\${K3S_KUBECONFIG_MODE:-}"; echo "SKIP=\${INSTALL_K3S_SKIP_DOWNLOAD:-}"; echo "ARGS=$*"; } > '${dir}/called'
echo "installer output mentions $K3S_TOKEN"
exit \${FAKE_INSTALLER_EXIT:-0}
`,
  );
  return `file://${file}`;
}

function recorded(dir: string): Record<string, string> {
  return Object.fromEntries(
    fs
      .readFileSync(path.join(dir, "called"), "utf8")
      .trim()
      .split("\n")
      .map((l) => [l.slice(0, l.indexOf("=")), l.slice(l.indexOf("=") + 1)]),
  );
}

describe("cluster/scripts", () => {
  after(removeTempDirs);

  describe("installer flags", () => {
    it("single server: no --cluster-init, tls-san of itself, data dir, docker, labels", () => {
      const s = seed();
      expect(installFlags(s, s.servers[0], s.servers)).to.deep.equal([
        "server",
        "--tls-san",
        "10.0.0.10",
        "--node-name",
        "k3s-server-1",
        "--data-dir",
        "/data/k3s",
        "--docker",
        "--node-label",
        "agent-type=server",
      ]);
    });

    it("HA: the first server initialises etcd, the others join it; every server host is a TLS SAN", () => {
      const s = ha();
      const sans = ["--tls-san", "10.0.0.10", "--tls-san", "10.0.0.11", "--tls-san", "10.0.0.12"];
      expect(installFlags(s, s.servers[0], s.servers).slice(0, 8)).to.deep.equal(["server", "--cluster-init", ...sans]);
      expect(installFlags(s, s.servers[1], s.servers).slice(0, 9)).to.deep.equal([
        "server",
        "--server",
        "https://10.0.0.10:6443",
        ...sans,
      ]);
    });

    it("gone servers leave the TLS SANs and the etcd count", () => {
      const s = settingsOf({ ...seedConfig(), servers: [server(1), server(2), server(3), server(4, { gone: true })] });
      expect(installFlags(s, s.servers[0], s.servers).filter((f) => f.startsWith("10."))).to.deep.equal([
        "10.0.0.10",
        "10.0.0.11",
        "10.0.0.12",
      ]);
    });

    it("agents: role, name, data dir, labels, taints, extra agent flags; server flags stay on servers", () => {
      const s = settingsOf({
        ...seedConfig(),
        "k3s.docker": false,
        "k3s.extraAgentArgs": ["--kubelet-arg=max-pods=110"],
        "k3s.extraServerArgs": ["--disable=traefik"],
        agents: [worker(1, { taints: ["dedicated=ci:NoSchedule"] })],
      });
      expect(installFlags(s, s.agents[0], s.servers)).to.deep.equal([
        "agent",
        "--node-name",
        "k3s-worker-1",
        "--data-dir",
        "/data/k3s",
        "--node-label",
        "agent-type=worker",
        "--node-taint",
        "dedicated=ci:NoSchedule",
        "--kubelet-arg=max-pods=110",
      ]);
      expect(installFlags(s, s.servers[0], s.servers)).to.include("--disable=traefik");
    });

    it("environment: pinned version, K3S_URL for agents, kubeconfig mode for servers, skip-download when air-gapped", () => {
      const s = settingsOf({
        ...seedConfig(),
        "k3s.airgap": true,
        "k3s.installScriptUrl": "file:///opt/k3s/install.sh",
      });
      expect(Object.fromEntries(installEnv(s, s.agents[0], s.servers))).to.deep.equal({
        INSTALL_K3S_VERSION: "v1.33.5+k3s1",
        INSTALL_K3S_EXEC: "agent --node-name k3s-worker-1 --data-dir /data/k3s --docker --node-label agent-type=worker",
        INSTALL_K3S_BIN_DIR: "/usr/local/bin",
        K3S_URL: "https://10.0.0.10:6443",
        INSTALL_K3S_SKIP_DOWNLOAD: "true",
      });
      const mirrored = settingsOf({
        ...seedConfig(),
        "k3s.binDir": "/opt/bin",
        "k3s.binaryMirrorUrl": "https://mirror.example.test/k3s/releases/",
      });
      expect(Object.fromEntries(installEnv(mirrored, mirrored.agents[0], mirrored.servers))).to.include({
        INSTALL_K3S_BIN_DIR: "/opt/bin",
        GITHUB_URL: "https://mirror.example.test/k3s/releases",
      });
      expect(Object.fromEntries(installEnv(s, s.servers[0], s.servers))).to.include({ K3S_KUBECONFIG_MODE: "644" });
      expect(Object.fromEntries(installEnv(seed(), seed().agents[0], seed().servers))).not.to.have.property(
        "INSTALL_K3S_SKIP_DOWNLOAD",
      );
    });

    it("brackets IPv6 server addresses in URLs", () => {
      expect(serverUrl("fd00::10")).to.equal("https://[fd00::10]:6443");
      expect(serverUrl("k3s-1.example.test")).to.equal("https://k3s-1.example.test:6443");
    });
  });

  describe("secrets", () => {
    it("never puts the token or registry credentials into a command string", () => {
      const registries = {
        configs: { "nexus.example.test:5000": { auth: { username: "ci", password: "registry-password-123" } } },
      };
      const s = settingsOf(
        {
          ...seedConfig(),
          servers: [server(1), server(2), server(3)],
          "k3s.docker": false,
          "k3s.registries": registries,
        },
        ["k3s.token", "ssh.privateKey", "k3s.registries"],
      );
      expect([...s.servers, ...s.agents]).to.have.length(8);
      for (const node of [...s.servers, ...s.agents]) {
        for (const step of ["install", "upgrade"] as const) {
          const cmd = installScript(s, node, s.servers, step);
          expect(cmd).not.to.include(TOKEN);
          expect(cmd).not.to.include("registry-password-123");
          expect(cmd).not.to.include(Buffer.from(TOKEN).toString("base64"));
        }
      }
    });

    it("carries token and registries.yaml on stdin, one base64 line each", () => {
      const registries = { mirrors: { "docker.io": { endpoint: ["https://nexus.example.test:5000"] } } };
      const s = settingsOf({ ...seedConfig(), "k3s.docker": false, "k3s.registries": registries });
      const lines = installPayload(TOKEN, s).split("\n");
      expect(Buffer.from(lines[0], "base64").toString()).to.equal(TOKEN);
      expect(Buffer.from(lines[1], "base64").toString()).to.equal(
        "mirrors:\n  docker.io:\n    endpoint:\n      - https://nexus.example.test:5000\n",
      );
      expect(installPayload(TOKEN, seed()).split("\n")[1]).to.equal("");
      expect(secretPayload(["a\nb", ""])).to.equal("YQpi\n\n");
    });

    it("writes registries.yaml only when configured, with umask 077", () => {
      const cmd = installScript(seed(), seed().agents[0], seed().servers, "install");
      expect(cmd).to.include('if [ -n "$QA_REGISTRIES" ]; then');
      expect(cmd).to.include("umask 077");
    });
  });

  describe("running the install script (local /bin/sh, fake installer)", () => {
    it("gives the installer the token from stdin, K3S_URL, the flags and the version", () => {
      const dir = tempDir("install");
      const s = settingsOf({ ...seedConfig(), "k3s.installScriptUrl": fakeInstaller(dir) });
      const run = runLocally(installScript(s, s.agents[1], s.servers, "install"), { stdin: installPayload(TOKEN, s) });
      expect(run.status, run.stderr).to.equal(0);
      expect(recorded(dir)).to.deep.equal({
        EXEC: "agent --node-name k3s-worker-2 --data-dir /data/k3s --docker --node-label agent-type=worker",
        VERSION: "v1.33.5+k3s1",
        URL: "https://10.0.0.10:6443",
        TOKEN,
        MODE: "",
        SKIP: "",
        ARGS: "",
      });
      expect(run.stdout).to.include("qa-k8s: running the K3s installer (install, v1.33.5+k3s1) on k3s-worker-2");
      expect(run.stdout).to.include("installer output mentions [secret]");
      expect(run.stdout).not.to.include(TOKEN);
    });

    it("keeps sudo's SUDO_COMMAND (this whole script) out of the installer's environment file", () => {
      const dir = tempDir("sudo-env");
      // Upstream's create_env_file, verbatim in effect: export output read line by line, K3S_ lines kept.
      fs.writeFileSync(
        path.join(dir, "install.sh"),
        `sh -c export | while read x v; do echo $v; done | grep -E '^(K3S|CONTAINERD)_' > '${dir}/env'\n`,
      );
      const s = settingsOf({ ...seedConfig(), "k3s.installScriptUrl": `file://${dir}/install.sh` });
      const run = runLocally(installScript(s, s.agents[0], s.servers, "install"), {
        stdin: installPayload(TOKEN, s),
        // What sudo sets: the command line, script included.
        env: { SUDO_COMMAND: "/usr/bin/sh -c set -u\nexport K3S_URL=junk\nexport K3S_TOKEN" },
      });
      expect(
        fs
          .readFileSync(path.join(dir, "env"), "utf8")
          .split("\n")
          .filter((l) => l.includes("junk")),
      ).to.deep.equal([]);
      expect(fs.readFileSync(path.join(dir, "env"), "utf8")).to.include("K3S_URL='https://10.0.0.10:6443'");
      expect(run.stdout + run.stderr).to.include("qa-k8s: running the K3s installer");
    });

    it("names step, node and host when it fails, with the token redacted from the output", () => {
      const dir = tempDir("install-fail");
      const s = settingsOf({ ...seedConfig(), "k3s.installScriptUrl": fakeInstaller(dir) });
      const run = runLocally(installScript(s, s.agents[2], s.servers, "upgrade"), {
        stdin: installPayload(TOKEN, s),
        env: { FAKE_INSTALLER_EXIT: "7" },
      });
      expect(run.status).to.equal(7);
      expect(run.stderr).to.match(
        /^qa-k8s: step "upgrade" failed on node k3s-worker-3 \(host 10\.0\.1\.3\) with exit code 7; last output:\n/,
      );
      expect(run.stderr).to.include("installer output mentions [secret]");
      expect(run.stderr + run.stdout).not.to.include(TOKEN);
    });

    it("reports an unreachable installer URL as a failed install", () => {
      const s = settingsOf({ ...seedConfig(), "k3s.installScriptUrl": "file:///nonexistent/install.sh" });
      const run = runLocally(installScript(s, s.agents[0], s.servers, "install"), { stdin: installPayload(TOKEN, s) });
      expect(run.status).not.to.equal(0);
      expect(run.stderr).to.include('qa-k8s: step "install" failed on node k3s-worker-1 (host 10.0.1.1)');
    });

    it("servers refuse a token that differs from the one their datastore was created with", () => {
      const dir = tempDir("guard");
      const dataDir = path.join(dir, "data");
      fs.mkdirSync(path.join(dataDir, "server"), { recursive: true });
      fs.writeFileSync(path.join(dataDir, "server", "token"), "K10abc::server:the-old-cluster-token-000\n");
      const bin = fakeK3s(dir);
      fs.writeFileSync(path.join(dir, "nodes", "k3s-server-1"), "True");
      const s = settingsOf({
        ...seedConfig(),
        "k3s.dataDir": dataDir,
        "k3s.binDir": bin,
        "k3s.installScriptUrl": fakeInstaller(dir),
      });
      const refused = runLocally(installScript(s, s.servers[0], s.servers, "upgrade"), {
        stdin: installPayload(TOKEN, s),
      });
      expect(refused.status).to.equal(3);
      expect(refused.stderr).to.include("k3s.token does not match the token of the K3s datastore already on this host");
      expect(fs.existsSync(path.join(dir, "called")), "installer must not run").to.equal(false);

      const same = runLocally(installScript(s, s.servers[0], s.servers, "upgrade"), {
        stdin: installPayload("the-old-cluster-token-000", s),
      });
      expect(same.status, same.stderr).to.equal(0);
      expect(recorded(dir).EXEC).to.match(/^server /);
    });

    it("servers wait until their node is Ready, calling k3s by absolute path (sudo's secure_path may miss it)", () => {
      const dir = tempDir("ready");
      const bin = fakeK3s(dir);
      fs.writeFileSync(path.join(dir, "nodes", "k3s-server-1"), "True");
      const s = settingsOf({
        ...seedConfig(),
        "k3s.dataDir": path.join(dir, "data"),
        "k3s.binDir": bin,
        "k3s.installScriptUrl": fakeInstaller(dir),
      });
      // PATH as RHEL's sudo secure_path leaves it: the bin dir is not on it.
      const run = runLocally(installScript(s, s.servers[0], s.servers, "install"), {
        stdin: installPayload(TOKEN, s),
        env: { PATH: "/sbin:/bin:/usr/sbin:/usr/bin" },
      });
      expect(run.status, run.stderr).to.equal(0);
      expect(fs.readFileSync(path.join(dir, "calls.log"), "utf8")).to.include(
        "kubectl get node k3s-server-1 -o jsonpath=",
      );
    });

    it("air-gapped installs check the pre-copied binary's version BEFORE the installer enables and starts it", () => {
      const dir = tempDir("airgap");
      const bin = path.join(dir, "bin");
      fs.mkdirSync(bin);
      const s = settingsOf({
        ...seedConfig(),
        "k3s.airgap": true,
        "k3s.binDir": bin,
        "k3s.dataDir": path.join(dir, "data"),
        "k3s.installScriptUrl": fakeInstaller(dir),
      });
      const install = () =>
        runLocally(installScript(s, s.agents[0], s.servers, "install"), { stdin: installPayload(TOKEN, s) });
      const none = install();
      expect(none.status).to.equal(1);
      expect(none.stderr).to.include(
        `k3s.airgap is true but there is no executable ${bin}/k3s on this host; copy the v1.33.5+k3s1 binary and images there before pulumi up (or set k3s.binDir)`,
      );
      // A prefix of the wanted version is another version.
      fs.writeFileSync(path.join(bin, "k3s"), "#!/bin/sh\necho 'k3s version v1.33.5+k3s10 (abc)'\n", { mode: 0o755 });
      const wrong = install();
      expect(wrong.status).to.equal(1);
      expect(wrong.stderr).to.include('the pre-copied k3s binary reports "k3s version v1.33.5+k3s10 (abc)"');
      expect(wrong.stderr).to.include(
        "k3s.version is v1.33.5+k3s1: copy the matching k3s binary and images to the host before pulumi up",
      );
      expect(fs.existsSync(path.join(dir, "called")), "the installer must not run").to.equal(false);
      fs.writeFileSync(path.join(bin, "k3s"), "#!/bin/sh\necho 'k3s version v1.33.5+k3s1 (abc)'\n", { mode: 0o755 });
      const right = install();
      expect(right.status, right.stderr).to.equal(0);
      expect(recorded(dir).SKIP).to.equal("true");
    });
  });

  it("ensure runs the installer only when no install completed on the host (a failed first install is retried)", () => {
    const dir = tempDir("ensure");
    const bin = fakeK3s(dir);
    fs.writeFileSync(path.join(dir, "nodes", "k3s-worker-1"), "True");
    const s = settingsOf({
      ...seedConfig(),
      "k3s.dataDir": path.join(dir, "data"),
      "k3s.installScriptUrl": fakeInstaller(dir),
    });
    const ensure = () =>
      runLocally(installScript(s, s.agents[0], s.servers, "ensure"), {
        stdin: installPayload(TOKEN, s),
        pathDirs: [bin],
      });
    const first = ensure();
    expect(first.status, first.stderr).to.equal(0);
    expect(fs.existsSync(path.join(dir, "called"))).to.equal(true);
    expect(fs.existsSync(path.join(dir, "data", ".qa-k8s-installed-k3s-worker-1"))).to.equal(true);
    fs.rmSync(path.join(dir, "called"));
    const second = ensure();
    expect(second.stdout).to.include("K3s is installed on k3s-worker-1: nothing to do");
    expect(fs.existsSync(path.join(dir, "called")), "installer must not run again").to.equal(false);
  });

  it("runs under sudo -n when the SSH user is not root", () => {
    const s = settingsOf({ ...seedConfig(), "ssh.user": "deploy" });
    expect(installScript(s, s.agents[0], s.servers, "install")).to.match(/^sudo -n sh -c '/);
    expect(installScript(seed(), seed().agents[0], seed().servers, "install")).to.match(/^sh -c '/);
  });

  it("wrapStep says on which server a cluster-side step ran", () => {
    const cmd = wrapStep({ step: "drain", node: "w1", runOn: { name: "s1", host: "10.0.0.10" } }, "exit 4", [], false);
    const run = runLocally(cmd);
    expect(run.status).to.equal(4);
    expect(run.stderr).to.equal(
      'qa-k8s: step "drain" failed on node w1, run on server s1 (host 10.0.0.10) with exit code 4; last output:\n',
    );
  });
});
