// Serves the fake K3s installer (test/e2e/fixtures/fake-k3s-install.sh) on 127.0.0.1, and reads back what it and
// its fake `k3s` recorded on each SSH test host. The cluster program fetches it through `k3s.installScriptUrl`, the
// same config a private mirror uses — no test-only code path in the program.
import * as fs from "node:fs";
import * as http from "node:http";
import type { AddressInfo } from "node:net";
import * as path from "node:path";
import type { SshHost } from "./sshHosts";

const SCRIPT = path.resolve(__dirname, "..", "fixtures", "fake-k3s-install.sh");

export interface InstallerServer {
  /** URL of the installer, for `k3s.installScriptUrl`. */
  readonly url: string;
  /** How many times the installer was downloaded. */
  downloads(): number;
  stop(): Promise<void>;
}

export async function startInstallerServer(): Promise<InstallerServer> {
  let downloads = 0;
  const server = http.createServer((req, res) => {
    if (req.method === "GET" && req.url === "/install.sh") {
      downloads++;
      res.writeHead(200, { "content-type": "text/x-shellscript" });
      res.end(fs.readFileSync(SCRIPT));
    } else {
      res.writeHead(404).end();
    }
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/install.sh`,
    downloads: () => downloads,
    stop: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

/** One line per recorded call on a host: `install <n>`, `k3s <args>`, `uninstall <tool>`. */
export function hostCalls(host: SshHost): string[] {
  const file = path.join(host.root, "log", "calls");
  return fs.existsSync(file) ? fs.readFileSync(file, "utf8").trim().split("\n").filter(Boolean) : [];
}

/** The environment of each install on a host, in order. */
export function installs(host: SshHost): Record<string, string>[] {
  const dir = path.join(host.root, "log");
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

/** Whether the fake K3s is installed on the host (its uninstaller removes it). */
export function k3sInstalled(host: SshHost): boolean {
  return fs.existsSync(path.join(host.root, "usr", "local", "bin", "k3s"));
}
