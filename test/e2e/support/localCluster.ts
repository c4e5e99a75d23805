// The local control plane for e2e tests: started through scripts/local-cluster (built on first use), with the Traefik
// CRDs, ClusterRole and IngressClass that K3s's bundled Traefik chart would have installed (the real definitions of
// the Traefik version the tests run, so Middlewares are validated against Traefik's own schema).
import { execFile, execFileSync } from "node:child_process";
import * as path from "node:path";
import { promisify } from "node:util";
import { PROJECT_DIR } from "../../../automation/stack";

const run = promisify(execFile);

export interface LocalCluster {
  readonly kubeconfigPath: string;
  kubectl(...args: string[]): Promise<string>;
  kubectlJson<T>(...args: string[]): Promise<T>;
}

/** The shared cluster in CI; QA_TEST_CLUSTER_DIR/PORT point a developer's run at their own. */
export function testClusterEnv(): Record<string, string> {
  const env: Record<string, string> = {};
  if (process.env.QA_TEST_CLUSTER_DIR) env.QA_CLUSTER_DIR = process.env.QA_TEST_CLUSTER_DIR;
  if (process.env.QA_TEST_CLUSTER_PORT) env.QA_CLUSTER_PORT = process.env.QA_TEST_CLUSTER_PORT;
  return env;
}

/** @param env added to the script's environment: another QA_CLUSTER_DIR/PORT, QA_CLUSTER_NODE_* for a small cluster */
export async function startLocalCluster(env: Record<string, string> = {}): Promise<LocalCluster> {
  const script = path.join(PROJECT_DIR, "scripts", "local-cluster");
  const scriptEnv = { ...process.env, ...env };
  execFileSync("bash", [script, "start"], { stdio: ["ignore", "inherit", "inherit"], env: scriptEnv });
  const kubeconfigPath = execFileSync("bash", [script, "kubeconfig"], { encoding: "utf8", env: scriptEnv }).trim();
  // The script's own kubectl matches the API server's version (the machine's may be older and warn about skew).
  const kubectl = async (...args: string[]) =>
    (await run("bash", [script, "kubectl", ...args], { maxBuffer: 64 * 1024 * 1024, env: scriptEnv })).stdout;
  execFileSync("bash", [script, "traefik-crds"], { stdio: ["ignore", "inherit", "inherit"], env: scriptEnv });
  return {
    kubeconfigPath,
    kubectl,
    kubectlJson: async <T>(...args: string[]) => JSON.parse(await kubectl(...args, "-o", "json")) as T,
  };
}
