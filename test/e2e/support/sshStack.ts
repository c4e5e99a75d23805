// The cluster stack (`qa`) against SSH test hosts: a private copy of the project's entry files (symlinks, so the real
// program runs) in which the test owns Pulumi.qa.yaml — the repository's example file is never touched — plus the
// private file backend of engine.ts, the fake K3s installer, and helpers to edit the node lists as a platform
// engineer edits Pulumi.qa.yaml.
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import * as YAML from "yaml";
import type { Stack } from "@pulumi/pulumi/automation";
import { openStack } from "../../../automation/stack";
import { Engine, privateEngine, remainingStacks } from "./engine";
import { secretLeaks } from "./secretScan";
import { InstallerServer, startInstallerServer } from "./installerServer";
import { SshHost, SshHosts, SshHostsOptions, startSshHosts } from "./sshHosts";
import { PROJECT_DIR } from "../../../automation/stack";

const PROJECT_ENTRIES = [
  "Pulumi.yaml",
  "package.json",
  "tsconfig.json",
  "index.ts",
  "cluster",
  "environments",
  "components",
  "node_modules",
];

export const TOKEN = "e2e-cluster-token-5f0c9a7e3b214d6a";

export interface ClusterRig {
  readonly engine: Engine;
  readonly hosts: SshHosts;
  readonly installer: InstallerServer;
  /** The private project folder holding Pulumi.qa.yaml. */
  readonly workDir: string;
  readonly stack: Stack;
  /** K3s data dir on the hosts: a custom one (upstream's uninstaller leaves it), inside each host's own view. */
  readonly dataDir: string;
  /** Every line the engine printed, for the secret check. */
  readonly output: string[];
  readonly onOutput: (out: string) => void;
  /** Tears everything down (destroys the stack if a test left it). */
  dispose(): Promise<void>;
}

/** A node entry of Pulumi.qa.yaml for a test host. */
export function nodeFor(host: SshHost, name: string, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return { name, host: host.address, hostKey: host.hostKey, ...extra };
}

function projectCopy(): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "qa-k8s-cluster-project-"));
  for (const entry of PROJECT_ENTRIES) fs.symlinkSync(path.join(PROJECT_DIR, entry), path.join(dir, entry));
  return dir;
}

/** Sets (or, with undefined, removes) plain keys of Pulumi.qa.yaml, keeping secrets and the encryption salt. */
export function editStackConfig(workDir: string, values: Record<string, unknown>): void {
  const file = path.join(workDir, "Pulumi.qa.yaml");
  const doc = fs.existsSync(file) ? (YAML.parse(fs.readFileSync(file, "utf8")) ?? {}) : {};
  doc.config ??= {};
  for (const [key, value] of Object.entries(values)) {
    if (value === undefined) delete doc.config[`qa-k8s:${key}`];
    else doc.config[`qa-k8s:${key}`] = value;
  }
  fs.writeFileSync(file, YAML.stringify(doc));
}

/** The data dir the rig configures: under /srv, which every host's view has to itself. */
/** Every form of the token and the SSH key, in every state file, stack output and line the engine printed. */
export function rigLeaks(rig: ClusterRig): Promise<string[]> {
  return secretLeaks({
    engine: rig.engine,
    stack: rig.stack,
    engineOutput: rig.output.join(""),
    canary: "k3s-server-1",
    secrets: { "K3s token": TOKEN, "SSH private key": rig.hosts.clientKey },
  });
}

export const RIG_DATA_DIR = "/srv/k3s";

/**
 * Starts `hostCount` SSH hosts, each with its own filesystem view (sshHosts.ts `views`), the installer server (also
 * the binary mirror) and a `qa` stack whose config points at them (secrets set with --secret, hosts' keys pinned);
 * `config` adds or overrides keys; `hostOptions.user` logs in as that non-root user (ssh.user); `hostOptions` shapes
 * the SSH hosts otherwise.
 */
export async function startClusterRig(
  hostCount: number,
  config: Record<string, unknown> = {},
  hostOptions: SshHostsOptions = {},
): Promise<ClusterRig> {
  const engine = await privateEngine("cluster");
  const hosts = await startSshHosts(hostCount, { views: true, ...hostOptions });
  const installer = await startInstallerServer();
  const workDir = projectCopy();
  const dataDir = RIG_DATA_DIR;
  const output: string[] = [];
  let stack: Stack | undefined;
  const dispose = async () => {
    if (stack && remainingStacks(engine).length > 0) {
      await stack.cancel().catch(() => undefined);
      await stack.destroy().catch(() => undefined);
      await stack.workspace.removeStack(stack.name).catch(() => undefined);
    }
    await installer.stop();
    await hosts.stop();
    engine.dispose();
    fs.rmSync(workDir, { recursive: true, force: true });
  };
  try {
    stack = await openStack({
      stackName: "qa",
      workDir,
      envVars: engine.envVars,
      config: {
        "k3s.token": { value: TOKEN, secret: true },
        "ssh.privateKey": { value: hosts.clientKey, secret: true },
      },
    });
    editStackConfig(workDir, {
      "k3s.version": "v1.33.5+k3s1",
      "k3s.dataDir": dataDir,
      "k3s.installScriptUrl": installer.url,
      // The fake releases come from 127.0.0.1 over plain http, which must be allowed explicitly.
      "k3s.binaryMirrorUrl": installer.mirrorUrl,
      "k3s.allowHttp": true,
      ...(hostOptions.user ? { "ssh.user": hostOptions.user.name } : {}),
      "k3s.kubeconfigMode": "644",
      "ssh.port": hosts.hosts[0].port,
      // A refused or dead host should fail fast in tests.
      "ssh.dialErrorLimit": 2,
      "ssh.perDialTimeoutSeconds": 5,
      ...config,
    });
  } catch (err) {
    await dispose();
    throw err;
  }
  return { engine, hosts, installer, workDir, stack, dataDir, output, onOutput: (out) => output.push(out), dispose };
}
