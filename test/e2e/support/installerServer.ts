// Serves the fake K3s installer (test/e2e/fixtures/fake-k3s-install.sh) and, like the GitHub releases upstream's
// install.sh downloads from (its GITHUB_URL), the fake k3s binary of any version with its sha256sum-<arch>.txt
// (test/e2e/fixtures/fake-k3s-binary.sh), on 127.0.0.1. The cluster program reaches them through
// `k3s.installScriptUrl` and `k3s.binaryMirrorUrl`, the configuration a private mirror uses — no test-only code path
// in the program. Also reads back what the fakes recorded on each SSH test host's own filesystem view.
import * as crypto from "node:crypto";
import * as fs from "node:fs";
import * as http from "node:http";
import type { AddressInfo } from "node:net";
import * as path from "node:path";
import type { SshHost } from "./sshHosts";

const SCRIPT = path.resolve(__dirname, "..", "fixtures", "fake-k3s-install.sh");
const BINARY = path.resolve(__dirname, "..", "fixtures", "fake-k3s-binary.sh");

/** The fake k3s binary of a version: what the release download serves and what an air-gapped host has pre-copied. */
export function fakeK3sBinary(version: string): string {
  return fs.readFileSync(BINARY, "utf8").replace(/@VERSION@/g, version);
}

export const sha256 = (text: string | Buffer) => crypto.createHash("sha256").update(text).digest("hex");

export interface InstallerServer {
  /** URL of the installer, for `k3s.installScriptUrl`. */
  readonly url: string;
  /** Base of the release downloads, for `k3s.binaryMirrorUrl` (GITHUB_URL). */
  readonly mirrorUrl: string;
  /** How many times the installer was downloaded. */
  downloads(): number;
  /** Versions of the binary downloaded, in order. */
  binaryDownloads(): string[];
  stop(): Promise<void>;
}

export async function startInstallerServer(): Promise<InstallerServer> {
  let downloads = 0;
  const binaries: string[] = [];
  const server = http.createServer((req, res) => {
    const release = /^\/releases\/download\/(v[0-9A-Za-z.+-]+)\/(k3s(?:-arm64)?|sha256sum-(?:amd64|arm64)\.txt)$/.exec(
      decodeURIComponent(req.url ?? ""),
    );
    if (req.method === "GET" && req.url === "/install.sh") {
      downloads++;
      res.writeHead(200, { "content-type": "text/x-shellscript" });
      res.end(fs.readFileSync(SCRIPT));
    } else if (req.method === "GET" && release) {
      const [, version, file] = release;
      const binary = fakeK3sBinary(version);
      if (file.startsWith("sha256sum-")) {
        res.writeHead(200).end(`${sha256(binary)}  k3s\n${sha256(binary)}  k3s-arm64\n`);
      } else {
        binaries.push(version);
        res.writeHead(200).end(binary);
      }
    } else {
      res.writeHead(404).end();
    }
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/install.sh`,
    mirrorUrl: `http://127.0.0.1:${port}/releases`,
    downloads: () => downloads,
    binaryDownloads: () => [...binaries],
    stop: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

/** Where a host's own view of a system directory lives on the test machine (see sshHosts.ts, `views`). */
export function onHost(host: SshHost, hostPath: string): string {
  if (!host.view) throw new Error(`${host.name} has no filesystem view (start the hosts with views: true)`);
  for (const [target, dir] of Object.entries(host.view.mounts)) {
    if (hostPath === target || hostPath.startsWith(`${target}/`)) return path.join(dir, hostPath.slice(target.length));
  }
  throw new Error(`${hostPath} is not inside a directory of ${host.name}'s own view`);
}

/** One line per recorded call on a host: `install <n>`, `k3s <args>`, `killall`, `uninstall <tool> ...`. */
export function hostCalls(host: SshHost): string[] {
  const file = onHost(host, "/mnt/log/calls");
  return fs.existsSync(file) ? fs.readFileSync(file, "utf8").trim().split("\n").filter(Boolean) : [];
}

/** The environment of each install on a host, in order. */
export function installs(host: SshHost): Record<string, string>[] {
  const dir = onHost(host, "/mnt/log");
  const records: Record<string, string>[] = [];
  for (let n = 1; fs.existsSync(path.join(dir, `install-${n}.env`)); n++) {
    const lines = fs
      .readFileSync(path.join(dir, `install-${n}.env`), "utf8")
      .split("\n")
      .filter(Boolean);
    records.push(Object.fromEntries(lines.map((l) => [l.slice(0, l.indexOf("=")), l.slice(l.indexOf("=") + 1)])));
  }
  return records;
}

/** Whether the k3s binary is on the host (upstream's uninstaller removes it). */
export function k3sInstalled(host: SshHost, binDir = "/usr/local/bin"): boolean {
  return fs.existsSync(onHost(host, `${binDir}/k3s`));
}

/**
 * Every path of K3s still on the host, read from its own view: binaries, links and scripts in the bin dir, units,
 * /etc/rancher/{k3s,node}, the default data dir and `dataDir`. Empty = nothing of K3s is left.
 */
export function k3sLeftovers(host: SshHost, dataDir: string, binDir = "/usr/local/bin"): string[] {
  const candidates = [
    ...["k3s", "kubectl", "crictl", "ctr", "k3s-killall.sh", "k3s-uninstall.sh", "k3s-agent-uninstall.sh"].map(
      (f) => `${binDir}/${f}`,
    ),
    ...["k3s.service", "k3s.service.env", "k3s-agent.service", "k3s-agent.service.env"].map(
      (f) => `/etc/systemd/system/${f}`,
    ),
    "/etc/rancher/k3s",
    "/etc/rancher/node",
    "/var/lib/rancher/k3s",
    dataDir,
  ];
  return candidates.filter((p) => {
    const real = onHost(host, p);
    try {
      fs.lstatSync(real);
      return true;
    } catch {
      return false;
    }
  });
}
