// SSH test hosts for the cluster stack: one real sshd (Debian openssh-server) per host, on 127.0.0.2, .3, ... port
// 2222, each with its own host key and its own root folder. sshd hands every session QA_HOST_ROOT/QA_HOST_NAME and a
// PATH that starts with <root>/usr/local/bin, so programs installed "into /usr/local/bin" of a host (by the fake
// installer) are that host's alone, while the cluster program runs its usual commands unchanged.
//
// With `views: true` each sshd runs instead in its own mount namespace (`unshare --mount`), where the directories K3s
// uses are bind mounts of that host's own folders: /usr/local/bin, /etc/systemd/system, /etc/rancher,
// /var/lib/rancher, /srv (room for a custom data dir) and /mnt (the fakes' records and host.env). The program and the
// fake installer then use the real upstream paths unchanged — no prefix variable, nothing the program has to honour —
// and a test can assert "nothing of K3s left" on real paths of one host (installerServer.ts, onHost). Bind mounts
// need their target: /etc/rancher and /var/lib/rancher are created empty on the test machine when missing, and
// removed again when empty. `user` adds a non-root login with its own sudo policy (a per-host /etc/passwd and
// /etc/sudoers.d), e.g. RHEL's secure_path /sbin:/bin:/usr/sbin:/usr/bin.
import { execFile, execFileSync } from "node:child_process";
import * as fs from "node:fs";
import * as net from "node:net";
import * as os from "node:os";
import * as path from "node:path";
import { promisify } from "node:util";
import { inView, prepareView, removeCreatedTargets, viewMounts } from "./hostViews";

const run = promisify(execFile);
const SSHD = "/usr/sbin/sshd";

export interface SshHost {
  /** host2, host3, ... (the last octet of its address). */
  readonly name: string;
  readonly address: string;
  readonly port: number;
  /** The host's root folder (QA_HOST_ROOT). */
  readonly root: string;
  /** `ssh-ed25519 AAAA...`, as `hostKey` in Pulumi.qa.yaml. */
  readonly hostKey: string;
  /** `ssh-rsa AAAA...`, the host's second host key when SshHostsOptions.rsaHostKeyFor gave it one. */
  readonly rsaHostKey?: string;
  readonly dir: string;
  /** With `views`: the host's own directories, host path -> folder on the test machine. */
  readonly view?: { readonly mounts: Readonly<Record<string, string>> };
}

export interface SshHosts {
  readonly hosts: SshHost[];
  /** OpenSSH private key accepted by every host (for the root user). */
  readonly clientKey: string;
  readonly clientKeyPath: string;
  readonly dir: string;
  /** Stops one host's sshd (a machine that died); its files stay. */
  stopHost(host: SshHost): Promise<void>;
  /** Starts a stopped host again. */
  startHost(host: SshHost): Promise<void>;
  /** Number of SSH logins the host accepted so far (each remote command is one). */
  logins(host: SshHost): number;
  /** Stops every sshd and removes the folder. */
  stop(): Promise<void>;
  /** With `views`: the shared state of the fake cluster (its "API server"), seen by every host. */
  readonly clusterDir?: string;
  /**
   * Listens on a stopped host's address and port and counts the connections that arrive: proves that nothing even
   * tries to reach a dead machine (a stopped sshd cannot count refused attempts).
   */
  listenInstead(host: SshHost): Promise<{ connections(): number; close(): Promise<void> }>;
}

export interface SshHostsOptions {
  /** Last octet of the first address. @default 2 (127.0.0.2) */
  readonly firstOctet?: number;
  /** First port to try; the next free one is used when another process holds it. @default 2222 */
  readonly port?: number;
  /** Parent folder. @default the OS temp dir */
  readonly baseDir?: string;
  /** Give each host its own mount namespace view of the directories K3s uses (see the top of this file). */
  readonly views?: boolean;
  /** With `views`: a non-root login user on every host, with passwordless sudo under this secure_path. */
  readonly user?: { readonly name: string; readonly securePath: string };
  /**
   * Indexes of hosts that also get an RSA host key (sshd then holds two and offers both), like a machine whose
   * installer generated every key type. @default none
   */
  readonly rsaHostKeyFor?: readonly number[];
}

function keygen(file: string, type = "ed25519"): void {
  execFileSync("ssh-keygen", ["-q", "-t", type, "-N", "", "-C", "", "-f", file], { stdio: "ignore" });
}

function publicKey(file: string): string {
  const [type, key] = fs.readFileSync(`${file}.pub`, "utf8").trim().split(/\s+/);
  return `${type} ${key}`;
}

function sshdConfig(host: SshHost, authorizedKeys: string): string {
  const hostPath = [
    `${host.root}/usr/local/bin`,
    "/usr/local/sbin",
    "/usr/local/bin",
    "/usr/sbin",
    "/usr/bin",
    "/sbin",
    "/bin",
  ].join(":");
  return [
    `ListenAddress ${host.address}:${host.port}`,
    ...(host.rsaHostKey ? [`HostKey ${host.dir}/ssh_host_rsa_key`] : []),
    `HostKey ${host.dir}/ssh_host_ed25519_key`,
    `PidFile ${host.dir}/sshd.pid`,
    `AuthorizedKeysFile ${authorizedKeys}`,
    "PermitRootLogin prohibit-password",
    "PasswordAuthentication no",
    "KbdInteractiveAuthentication no",
    "UsePAM no",
    "StrictModes no",
    "PrintMotd no",
    "LogLevel VERBOSE",
    // The cluster program opens several sessions at once (agents in parallel).
    "MaxStartups 200",
    "MaxSessions 50",
    // A view needs no PATH trick: the host's own /usr/local/bin is mounted where upstream puts k3s.
    host.view
      ? `SetEnv QA_HOST_NAME=${host.name}`
      : `SetEnv QA_HOST_ROOT=${host.root} QA_HOST_NAME=${host.name} PATH=${hostPath}`,
    "",
  ].join("\n");
}

function waitForPort(address: string, port: number, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  return new Promise((resolve, reject) => {
    const attempt = () => {
      const socket = net.connect({ host: address, port });
      socket.once("connect", () => {
        socket.destroy();
        resolve();
      });
      socket.once("error", () => {
        socket.destroy();
        if (Date.now() > deadline) reject(new Error(`sshd on ${address}:${port} did not start`));
        else setTimeout(attempt, 50);
      });
    };
    attempt();
  });
}

function pidOf(host: SshHost): number | undefined {
  const file = path.join(host.dir, "sshd.pid");
  if (!fs.existsSync(file)) return undefined;
  const pid = Number(fs.readFileSync(file, "utf8").trim());
  return Number.isInteger(pid) && pid > 0 ? pid : undefined;
}

async function startSshd(host: SshHost): Promise<void> {
  fs.mkdirSync("/run/sshd", { recursive: true });
  const sshd = [SSHD, "-f", path.join(host.dir, "sshd_config"), "-E", path.join(host.dir, "sshd.log")];
  const [file, args] = host.view ? inView(host, sshd) : [sshd[0], sshd.slice(1)];
  await run(file, args);
  running.add(host);
  await waitForPort(host.address, host.port, 10000);
  for (let i = 0; i < 100 && pidOf(host) === undefined; i++) await new Promise((r) => setTimeout(r, 50));
  if (pidOf(host) === undefined) {
    const log = fs.existsSync(path.join(host.dir, "sshd.log"))
      ? fs.readFileSync(path.join(host.dir, "sshd.log"), "utf8")
      : "";
    throw new Error(`sshd for ${host.name} (${host.address}:${host.port}) did not start: ${log.trim()}`);
  }
}

/** Whether address:port can be bound now (another test run, or someone else's sshd, may hold it). */
function isFree(address: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = net.createServer();
    server.once("error", () => resolve(false));
    server.listen({ host: address, port, exclusive: true }, () => server.close(() => resolve(true)));
  });
}

/** The first port from `start` that is free on every address. */
async function freePort(addresses: string[], start: number): Promise<number> {
  for (let port = start; port < start + 100; port++) {
    const free = await Promise.all(addresses.map((a) => isFree(a, port)));
    if (free.every(Boolean)) return port;
  }
  throw new Error(`no free port from ${start} on ${addresses.join(", ")}`);
}

async function stopSshd(host: SshHost): Promise<void> {
  const pid = pidOf(host);
  if (pid === undefined) return;
  try {
    process.kill(pid, "SIGTERM");
  } catch {
    return; // already gone
  }
  for (let i = 0; i < 100; i++) {
    try {
      process.kill(pid, 0);
    } catch {
      break;
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  fs.rmSync(path.join(host.dir, "sshd.pid"), { force: true });
  running.delete(host);
}

/** sshd daemons still running, stopped when the test process ends however it ends (they outlive it otherwise). */
const running = new Set<SshHost>();
process.on("exit", () => {
  const hosts = [...running];
  for (const host of hosts) {
    const pid = pidOf(host);
    if (pid !== undefined) {
      try {
        process.kill(pid, "SIGTERM");
      } catch {
        // already gone
      }
    }
  }
  for (const host of hosts) fs.rmSync(path.dirname(host.dir), { recursive: true, force: true });
  removeCreatedTargets();
});

/** Starts `count` SSH hosts (127.0.0.2, .3, ...) and a client key they all accept. */
export async function startSshHosts(count: number, options: SshHostsOptions = {}): Promise<SshHosts> {
  const first = options.firstOctet ?? 2;
  const addresses = Array.from({ length: count }, (_, i) => `127.0.0.${first + i}`);
  // 2222 unless something else listens there already: the port is part of the config, so any free one works.
  const port = await freePort(addresses, options.port ?? 2222);
  const dir = fs.mkdtempSync(path.join(options.baseDir ?? os.tmpdir(), "qa-k8s-ssh-"));
  const clientKeyPath = path.join(dir, "client_ed25519");
  keygen(clientKeyPath);
  const authorizedKeys = path.join(dir, "authorized_keys");
  fs.writeFileSync(authorizedKeys, publicKey(clientKeyPath) + "\n", { mode: 0o600 });
  // sshd reads authorized_keys as the user who logs in: a non-root user must be able to reach it.
  if (options.user) {
    fs.chmodSync(dir, 0o755);
    fs.chmodSync(authorizedKeys, 0o644);
  }
  const clusterDir = options.views ? path.join(dir, "cluster") : undefined;
  if (clusterDir) fs.mkdirSync(clusterDir);

  const hosts: SshHost[] = [];
  for (let i = 0; i < count; i++) {
    const octet = first + i;
    const name = `host${octet}`;
    const hostDir = path.join(dir, name);
    const root = path.join(hostDir, "root");
    fs.mkdirSync(path.join(root, "usr", "local", "bin"), { recursive: true });
    keygen(path.join(hostDir, "ssh_host_ed25519_key"));
    const rsa = options.rsaHostKeyFor?.includes(i) ? path.join(hostDir, "ssh_host_rsa_key") : undefined;
    if (rsa) keygen(rsa, "rsa");
    const host: SshHost = {
      name,
      address: `127.0.0.${octet}`,
      port,
      root,
      hostKey: publicKey(path.join(hostDir, "ssh_host_ed25519_key")),
      ...(rsa ? { rsaHostKey: publicKey(rsa) } : {}),
      dir: hostDir,
      ...(options.views ? { view: { mounts: viewMounts(hostDir, options.user) } } : {}),
    };
    if (clusterDir) prepareView(host, clusterDir, options.user);
    fs.writeFileSync(path.join(hostDir, "sshd_config"), sshdConfig(host, authorizedKeys));
    hosts.push(host);
  }
  const started: SshHost[] = [];
  try {
    for (const host of hosts) {
      await startSshd(host);
      started.push(host);
    }
  } catch (err) {
    for (const host of started) await stopSshd(host);
    throw err;
  }

  return {
    hosts,
    clientKey: fs.readFileSync(clientKeyPath, "utf8"),
    clientKeyPath,
    dir,
    stopHost: stopSshd,
    startHost: startSshd,
    logins(host) {
      const log = path.join(host.dir, "sshd.log");
      return fs.existsSync(log) ? (fs.readFileSync(log, "utf8").match(/Accepted publickey for /g) ?? []).length : 0;
    },
    async stop() {
      for (const host of hosts) await stopSshd(host);
      fs.rmSync(dir, { recursive: true, force: true });
      removeCreatedTargets();
    },
    clusterDir,
    async listenInstead(host) {
      let connections = 0;
      const server = net.createServer((socket) => {
        connections++;
        socket.destroy();
      });
      await new Promise<void>((resolve, reject) => {
        server.once("error", reject);
        server.listen({ host: host.address, port: host.port, exclusive: true }, resolve);
      });
      return {
        connections: () => connections,
        close: () => new Promise<void>((resolve) => server.close(() => resolve())),
      };
    },
  };
}
