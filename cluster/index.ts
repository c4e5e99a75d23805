// Entry of the cluster stack (`qa`): config -> validation -> node pool -> kubeconfig -> Rancher. The only place that
// reads pulumi.Config; it does so when called, so every call sees the current configuration.
import * as pulumi from "@pulumi/pulumi";
import * as rancher2 from "@pulumi/rancher2";
import { rancherApplyScript } from "./clusterScripts";
import { ConfigError } from "./messages";
import { NodeInfo, NodePool } from "./nodePool";
import { RancherRegistration } from "./rancher";
import { validateClusterConfig } from "./validate";

const NAMESPACE = "qa-k8s";

export interface ClusterOutputs {
  /** Admin kubeconfig pointing at the first server (secret); feature stacks read it through a StackReference. */
  kubeconfig: pulumi.Output<string>;
  nodes: NodeInfo[];
  firstServer: { name: string; host: string };
  /** Present when Rancher is configured. */
  rancherClusterId?: pulumi.Output<string>;
}

/** Whether a key is stored encrypted. The SDK's runtime has the lookup without typing it; where it is missing, every
 * key counts as secret (nothing is refused wrongly). */
function isSecretKey(key: string): boolean {
  const runtime = pulumi.runtime as unknown as { isConfigSecret?: (fullKey: string) => boolean };
  return runtime.isConfigSecret?.(`${NAMESPACE}:${key}`) ?? true;
}

export default function cluster(): ClusterOutputs {
  const config = new pulumi.Config(NAMESPACE);
  // Dotted keys arrive flat whichever way they were set: the root index.ts flattens `--path` objects first.
  const secret = (key: string): pulumi.Output<string> => config.requireSecret(key);
  let settings;
  try {
    // Plain values are read for checking only (never returned); secrets continue below as secret Outputs.
    settings = validateClusterConfig((key) => config.get(key), isSecretKey);
  } catch (err) {
    if (err instanceof ConfigError) throw new pulumi.RunError(err.message);
    throw err;
  }

  const pool = new NodePool("qa", { settings, token: secret("k3s.token"), privateKey: secret("ssh.privateKey") });
  const first = settings.servers[0];
  const outputs: ClusterOutputs = {
    kubeconfig: pool.kubeconfig,
    nodes: pool.nodes,
    firstServer: { name: first.name, host: first.host },
  };

  if (settings.rancher) {
    const provider = new rancher2.Provider("rancher-provider", {
      apiUrl: settings.rancher.apiUrl,
      tokenKey: secret("rancher.token"),
      insecure: settings.rancher.insecure,
    });
    const registration = new RancherRegistration(
      "rancher",
      {
        clusterName: settings.rancher.clusterName,
        applyCommand: rancherApplyScript(settings, first, settings.rancher.insecure),
        connection: pool.clusterConnection,
        after: [pool.firstServerReady],
      },
      { provider },
    );
    outputs.rancherClusterId = registration.clusterId;
  }
  return outputs;
}
