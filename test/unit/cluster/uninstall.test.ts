import { expect } from "chai";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { k3sPaths, uninstallScript } from "../../../cluster/uninstall";
import { removeTempDirs, runLocally, seedConfig, settingsOf, tempDir } from "./fixtures";

/**
 * A host in a folder: bin dir and data dir are inside it. The removal also deletes fixed paths (/etc/rancher/k3s,
 * /etc/systemd/system/k3s*.service), so `rm` is a stand-in that records its arguments and deletes only inside the
 * test folders — a unit test must not remove a real K3s of the machine it runs on.
 */
function host(opts: { docker?: boolean } = {}) {
  const dir = tempDir("uninstall");
  const bin = path.join(dir, "bin");
  const data = path.join(dir, "data");
  const shims = path.join(dir, "shims");
  fs.mkdirSync(bin, { recursive: true });
  fs.mkdirSync(shims);
  fs.writeFileSync(
    path.join(shims, "rm"),
    `#!/bin/sh
printf '%s\\n' "$*" >> '${dir}/rm.log'
for p in "$@"; do
  case "$p" in
    "\${FAKE_RM_KEEP:-/nonexistent}") ;;
    '${os.tmpdir()}'/qa-k8s-unit-*) /bin/rm -rf "$p" ;;
  esac
done
`,
    { mode: 0o755 },
  );
  const s = settingsOf({ ...seedConfig(), "k3s.binDir": bin, "k3s.dataDir": data, "k3s.docker": opts.docker ?? false });
  // RHEL sudo's secure_path: the bin dir is not on PATH, the shims are.
  const run = (role: "agent" | "server" = "agent", env: Record<string, string> = {}) =>
    runLocally(uninstallScript(s, role === "agent" ? s.agents[0] : s.servers[0]), {
      env: { PATH: `${shims}:/sbin:/bin:/usr/sbin:/usr/bin`, ...env },
    });
  /** Like upstream's k3s-agent-uninstall.sh: removes ${K3S_DATA_DIR:-/var/lib/rancher/k3s}, the binary, itself. */
  const upstreamLike = (tool: string) =>
    fs.writeFileSync(
      path.join(bin, tool),
      `#!/bin/sh
echo "K3S_DATA_DIR=\${K3S_DATA_DIR:-}" > '${dir}/uninstaller-called'
rm -rf "\${K3S_DATA_DIR:-/var/lib/rancher/k3s}" '${bin}/k3s' '${bin}/${tool}'
`,
      { mode: 0o755 },
    );
  const installed = () => {
    fs.mkdirSync(path.join(data, "agent"), { recursive: true });
    fs.writeFileSync(path.join(data, ".qa-k8s-installed-k3s-worker-1"), "");
    fs.writeFileSync(path.join(bin, "k3s"), "#!/bin/sh\n", { mode: 0o755 });
  };
  return { dir, bin, data, s, run, upstreamLike, installed, shims };
}

describe("cluster/uninstall", () => {
  after(removeTempDirs);

  it("names every path of a K3s install: data dir, binary, scripts, units, /etc/rancher/{k3s,node}", () => {
    const s = settingsOf(seedConfig());
    expect(k3sPaths(s, s.agents[0])).to.deep.equal([
      "/data/k3s",
      "/usr/local/bin/k3s",
      "/usr/local/bin/k3s-agent-uninstall.sh",
      "/usr/local/bin/k3s-killall.sh",
      "/etc/systemd/system/k3s-agent.service",
      "/etc/systemd/system/k3s-agent.service.env",
      "/etc/rancher/k3s",
      "/etc/rancher/node",
    ]);
    expect(k3sPaths(s, s.servers[0])).to.include.members([
      "/usr/local/bin/k3s-uninstall.sh",
      "/etc/systemd/system/k3s.service",
    ]);
  });

  it("runs the uninstaller by absolute path with K3S_DATA_DIR, then removes what it left and checks nothing is left", () => {
    const h = host();
    h.installed();
    h.upstreamLike("k3s-agent-uninstall.sh");
    const run = h.run();
    expect(run.status, run.stderr).to.equal(0);
    expect(fs.readFileSync(path.join(h.dir, "uninstaller-called"), "utf8")).to.equal(`K3S_DATA_DIR=${h.data}\n`);
    expect(fs.existsSync(h.data)).to.equal(false);
    expect(fs.readdirSync(h.bin)).to.deep.equal([]);
    expect(fs.readFileSync(path.join(h.dir, "rm.log"), "utf8")).to.include(
      `-rf ${k3sPaths(h.s, h.s.agents[0]).join(" ")}`,
    );
    expect(run.stdout).to.include("nothing of K3s is left on k3s-worker-1");
  });

  it("removes a custom data dir even when the uninstaller ignores K3S_DATA_DIR (older upstream scripts)", () => {
    const h = host();
    h.installed();
    fs.writeFileSync(
      path.join(h.bin, "k3s-uninstall.sh"),
      `#!/bin/sh\nrm -rf /var/lib/rancher/k3s-not-here '${h.bin}/k3s' '${h.bin}/k3s-uninstall.sh'\n`,
      { mode: 0o755 },
    );
    const run = h.run("server");
    expect(run.status, run.stderr).to.equal(0);
    expect(fs.existsSync(h.data)).to.equal(false);
  });

  it("fails when K3s of this stack is on the host but the uninstaller is not where k3s.binDir says", () => {
    const h = host();
    h.installed();
    const run = h.run();
    expect(run.status).to.equal(1);
    expect(run.stderr).to.include(
      `K3s is installed on k3s-worker-1 (${h.data}/.qa-k8s-installed-k3s-worker-1 or ${h.bin}/k3s exists), but its uninstaller ${h.bin}/k3s-agent-uninstall.sh is missing; set k3s.binDir to the directory the installer used (INSTALL_K3S_BIN_DIR), or remove K3s from the host by hand, then run pulumi up again`,
    );
    expect(fs.existsSync(path.join(h.bin, "k3s")), "nothing is removed half-way").to.equal(true);
  });

  it("is a no-op on a host without K3s (an install that never ran)", () => {
    const h = host();
    const run = h.run();
    expect(run.status, run.stderr).to.equal(0);
    expect(run.stdout).to.include(
      `K3s is not installed on k3s-worker-1 (no ${h.bin}/k3s-agent-uninstall.sh, no ${h.data}/.qa-k8s-installed-k3s-worker-1): nothing to uninstall`,
    );
  });

  it("fails, listing them, when paths of K3s are still there afterwards", () => {
    const h = host();
    h.installed();
    h.upstreamLike("k3s-agent-uninstall.sh");
    fs.mkdirSync(path.join(h.data, "agent", "busy"), { recursive: true });
    const run = h.run("agent", { FAKE_RM_KEEP: h.data });
    expect(run.status).to.equal(1);
    expect(run.stderr).to.include(`K3s is not completely removed from k3s-worker-1; left: ${h.data}\n`);
  });

  it("with docker: true, removes the k8s_* containers K3s started", () => {
    const h = host({ docker: true });
    h.installed();
    h.upstreamLike("k3s-agent-uninstall.sh");
    const containers = path.join(h.dir, "containers");
    fs.writeFileSync(containers, "c1\nc2\n");
    fs.writeFileSync(
      path.join(h.shims, "docker"),
      `#!/bin/sh
printf '%s\\n' "$*" >> '${h.dir}/docker.log'
case "$1" in
  ps) cat '${containers}' ;;
  rm) : > '${containers}' ;;
esac
`,
      { mode: 0o755 },
    );
    const run = h.run();
    expect(run.status, run.stderr).to.equal(0);
    expect(fs.readFileSync(path.join(h.dir, "docker.log"), "utf8").trim().split("\n")).to.deep.equal([
      "ps -aq --filter name=^k8s_",
      "rm -f c1 c2",
      "ps -aq --filter name=^k8s_",
    ]);
    expect(run.stdout).to.include("removing the Docker containers K3s started (k8s_*): 2");
  });

  it("with docker: true, fails while k8s_* containers remain", () => {
    const h = host({ docker: true });
    h.installed();
    h.upstreamLike("k3s-agent-uninstall.sh");
    fs.writeFileSync(path.join(h.shims, "docker"), '#!/bin/sh\n[ "$1" = ps ] && echo stuck1\nexit 0\n', {
      mode: 0o755,
    });
    const run = h.run();
    expect(run.status).to.equal(1);
    expect(run.stderr).to.include("K3s is not completely removed from k3s-worker-1; left: docker:k8s_*");
  });

  it("runs under sudo -n for a non-root SSH user", () => {
    const s = settingsOf({ ...seedConfig(), "ssh.user": "deploy" });
    expect(uninstallScript(s, s.agents[0])).to.match(/^sudo -n sh -c '/);
  });
});
