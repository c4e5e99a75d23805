// Shared test data for the cluster unit tests: the seed cluster (1 server + 5 workers) and helpers to build settings
// from a config map the way the engine hands it to the program.
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { ClusterSettings } from "../../../cluster/config";
import { validateClusterConfig } from "../../../cluster/validate";

export const TOKEN = "unit-test-token-0123456789abcdef";
export const PRIVATE_KEY =
  "-----BEGIN OPENSSH PRIVATE KEY-----\nZmFrZS1rZXktZm9yLXVuaXQtdGVzdHMtb25seQ==\n-----END OPENSSH PRIVATE KEY-----\n";
export const RANCHER_TOKEN = "token-abcde:unit-test-rancher-secret";
export const SECRET_KEYS = ["k3s.token", "ssh.privateKey", "rancher.token"];

/** Remote commands of the seed cluster: the kubeconfig reader, the server's cleanup + install + upgrade + labels +
 * traefik-config, and each of the 5 workers' membership + cleanup + install + upgrade + drain + labels. Loops over
 * registrations check this count first, so a program that registered nothing cannot pass them. */
export const SEED_COMMANDS = 1 + 5 + 5 * 6;

export const hostKey = (n: number) => `ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIFakeHostKeyForUnitTestsNumber${n}`;

export interface TestNode {
  name: string;
  host: string;
  hostKey?: string;
  labels?: unknown;
  taints?: unknown;
  gone?: unknown;
  [other: string]: unknown;
}

export const server = (i: number, extra: Partial<TestNode> = {}): TestNode => ({
  name: `k3s-server-${i}`,
  host: `10.0.0.${9 + i}`,
  hostKey: hostKey(i),
  labels: { "agent-type": "server" },
  ...extra,
});

export const worker = (i: number, extra: Partial<TestNode> = {}): TestNode => ({
  name: `k3s-worker-${i}`,
  host: `10.0.1.${i}`,
  hostKey: hostKey(100 + i),
  labels: { "agent-type": "worker" },
  ...extra,
});

/** The seed cluster: 1 server and 5 workers, data in /data/k3s, --docker, kubeconfig mode 644. */
export function seedConfig(): Record<string, unknown> {
  return {
    "k3s.version": "v1.33.5+k3s1",
    "k3s.token": TOKEN,
    "k3s.dataDir": "/data/k3s",
    "k3s.docker": true,
    "k3s.kubeconfigMode": "644",
    "ssh.privateKey": PRIVATE_KEY,
    servers: [server(1)],
    agents: [1, 2, 3, 4, 5].map((i) => worker(i)),
  };
}

/** Config values as the engine passes them: strings, lists and maps as JSON text. */
export function asRaw(values: Record<string, unknown>): Record<string, string> {
  const raw: Record<string, string> = {};
  for (const [k, v] of Object.entries(values)) {
    if (v !== undefined) raw[k] = typeof v === "string" ? v : JSON.stringify(v);
  }
  return raw;
}

export function settingsOf(values: Record<string, unknown>, secretKeys: string[] = SECRET_KEYS): ClusterSettings {
  const raw = asRaw(values);
  return validateClusterConfig(
    (k) => raw[k],
    (k) => secretKeys.includes(k),
  );
}

/** The problems validation reports for a config (empty when it is valid). */
export function problemsOf(values: Record<string, unknown>, secretKeys: string[] = SECRET_KEYS): string[] {
  try {
    settingsOf(values, secretKeys);
    return [];
  } catch (err) {
    return (err as { problems?: string[] }).problems ?? [String(err)];
  }
}

export interface Run {
  status: number | null;
  stdout: string;
  stderr: string;
}

/** Runs a generated command with the local /bin/sh (as sshd would hand it to the login shell), no network. */
export function runLocally(
  command: string,
  opts: { stdin?: string; pathDirs?: string[]; env?: Record<string, string> } = {},
): Run {
  // Scripts make temp files; keep them in a folder the tests remove.
  const env = {
    ...process.env,
    TMPDIR: tempDir("tmp"),
    ...opts.env,
    // An explicit PATH stands for the host's PATH (e.g. RHEL's sudo secure_path) and is used as given.
    PATH: opts.env?.PATH ?? [...(opts.pathDirs ?? []), process.env.PATH].join(":"),
  };
  const result = spawnSync("/bin/sh", ["-c", command], {
    input: opts.stdin ?? "",
    env,
    encoding: "utf8",
    timeout: 20000,
  });
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

const tempDirs: string[] = [];

/** A fresh directory under the OS temp dir, removed by removeTempDirs(). */
export function tempDir(prefix: string): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), `qa-k8s-unit-${prefix}-`));
  tempDirs.push(dir);
  return dir;
}

export function removeTempDirs(): void {
  for (const dir of tempDirs.splice(0)) fs.rmSync(dir, { recursive: true, force: true });
}

/**
 * A stand-in `k3s` for running cluster-side scripts locally: logs every call to $dir/calls.log and answers
 * `kubectl get node` from files: $dir/nodes/<name> exists = registered; its content is the Ready status;
 * $dir/nodes/<name>.{gone,labels,taints} hold the qa-k8s.io annotations.
 */
export function fakeK3s(dir: string): string {
  const bin = path.join(dir, "bin");
  fs.mkdirSync(path.join(dir, "nodes"), { recursive: true });
  fs.mkdirSync(bin, { recursive: true });
  fs.writeFileSync(
    path.join(bin, "k3s"),
    `#!/bin/sh
printf '%s\\n' "$*" >> '${dir}/calls.log'
[ "$1" = kubectl ] || exit 0
shift
case "$1 $2" in
  "get node")
    [ -f '${dir}/nodes/'"$3" ] || { echo "Error from server (NotFound): nodes \\"$3\\" not found" >&2; exit 1; }
    case "$*" in
      *Ready*) cat '${dir}/nodes/'"$3" ;;
      *annotations*gone*) cat '${dir}/nodes/'"$3.gone" 2>/dev/null ;;
      *annotations*labels*) cat '${dir}/nodes/'"$3.labels" 2>/dev/null ;;
      *annotations*taints*) cat '${dir}/nodes/'"$3.taints" 2>/dev/null ;;
    esac ;;
  "config view") [ -f '${dir}/kubeconfig' ] && cat '${dir}/kubeconfig' ;;
  "drain "*) [ -f '${dir}/drain-fails' ] && { echo "error: cannot evict pod web-1 (PodDisruptionBudget)" >&2; exit 1; } ;;
esac
exit 0
`,
    { mode: 0o755 },
  );
  return bin;
}

/**
 * A fixed bin dir (for `k3s.binDir` of settings shared by several tests) whose `k3s` runs the fakeK3s of the folder
 * named by $QA_FAKE_K3S_BIN, so each test keeps its own fake cluster. Removed when the test process exits.
 */
export function k3sDispatcher(): string {
  const bin = path.join(os.tmpdir(), `qa-k8s-unit-k3s-dispatch-${process.pid}`);
  if (!fs.existsSync(path.join(bin, "k3s"))) {
    fs.mkdirSync(bin, { recursive: true });
    fs.writeFileSync(path.join(bin, "k3s"), '#!/bin/sh\nexec "$QA_FAKE_K3S_BIN/k3s" "$@"\n', { mode: 0o755 });
    process.on("exit", () => fs.rmSync(bin, { recursive: true, force: true }));
  }
  return bin;
}
