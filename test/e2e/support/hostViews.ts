// Per-host filesystem views for the SSH test hosts (`views: true` in sshHosts.ts): each sshd runs in its own mount
// namespace where the directories K3s uses are bind mounts of that host's own folders, so the program and the fake
// installer use upstream's real paths and a test can read what is left on one host.
import * as fs from "node:fs";
import * as path from "node:path";
import type { SshHost, SshHostsOptions } from "./sshHosts";

/** Host directories of a view, each a bind mount of the host's own folder. */
const VIEW_DIRS = ["/usr/local/bin", "/etc/systemd/system", "/etc/rancher", "/var/lib/rancher", "/srv", "/mnt"];
/** Mount targets this process created on the test machine (removed again when empty). */
const createdTargets = new Set<string>();

export function viewMounts(hostDir: string, user: SshHostsOptions["user"]): Record<string, string> {
  const mounts: Record<string, string> = {};
  for (const target of VIEW_DIRS) mounts[target] = path.join(hostDir, "view", target.slice(1).replace(/\//g, "-"));
  if (user) {
    mounts["/etc/sudoers.d"] = path.join(hostDir, "view", "etc-sudoers.d");
    mounts["/etc/passwd"] = path.join(hostDir, "view", "etc-passwd");
    // sudo runs PAM's account check even with NOPASSWD, which needs the user in /etc/shadow.
    mounts["/etc/shadow"] = path.join(hostDir, "view", "etc-shadow");
  }
  return mounts;
}

/** Creates a host's view: its folders, /mnt/host.env, and for `user` its passwd and sudoers. */
export function prepareView(host: SshHost, clusterDir: string, user: SshHostsOptions["user"]): void {
  const mounts = host.view?.mounts ?? {};
  for (const [target, dir] of Object.entries(mounts)) {
    if (target === "/etc/passwd" || target === "/etc/shadow") continue;
    fs.mkdirSync(dir, { recursive: true });
    if (!fs.existsSync(target)) {
      fs.mkdirSync(target, { recursive: true });
      createdTargets.add(target);
    }
  }
  fs.writeFileSync(path.join(mounts["/mnt"], "host.env"), `QA_HOST_NAME=${host.name}\nQA_CLUSTER_DIR=${clusterDir}\n`);
  if (user) {
    const home = path.join(host.dir, "home");
    fs.mkdirSync(home, { recursive: true });
    fs.chownSync(home, 64101, 64101);
    fs.writeFileSync(
      mounts["/etc/passwd"],
      fs.readFileSync("/etc/passwd", "utf8") + `${user.name}:x:64101:64101:qa-k8s test user:${home}:/bin/sh\n`,
    );
    fs.writeFileSync(
      mounts["/etc/shadow"],
      fs.readFileSync("/etc/shadow", "utf8") + `${user.name}:*:20000:0:99999:7:::\n`,
      {
        mode: 0o640,
      },
    );
    // Root-owned, mode 0440: sudo ignores sudoers files it considers unsafe.
    fs.writeFileSync(
      path.join(mounts["/etc/sudoers.d"], "qa-k8s-test"),
      `Defaults secure_path="${user.securePath}"\n${user.name} ALL=(ALL) NOPASSWD: ALL\n`,
      { mode: 0o440 },
    );
  }
}

/** `unshare --mount` wrapper: the bind mounts of the view, then sshd (which daemonizes inside the namespace). */
export function inView(host: SshHost, command: string[]): [string, string[]] {
  const q = (v: string) => `'${v.replace(/'/g, `'\\''`)}'`;
  const binds = Object.entries(host.view?.mounts ?? {}).map(([target, dir]) => `mount --bind ${q(dir)} ${q(target)}`);
  const script = ["set -e", ...binds, `exec ${command.map(q).join(" ")}`].join("\n");
  return ["unshare", ["--mount", "--propagation", "private", "sh", "-c", script]];
}

/** Removes the mount targets this process created, once no view uses them (rmdir fails on a non-empty one). */
export function removeCreatedTargets(): void {
  for (const target of createdTargets) {
    try {
      fs.rmdirSync(target);
      createdTargets.delete(target);
    } catch {
      // not empty, or in use by another set of hosts: left as is
    }
  }
}
