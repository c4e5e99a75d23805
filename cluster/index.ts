// Entry of the cluster stack (`qa`): config -> validation -> node pool -> kubeconfig -> Rancher. The only place that
// reads pulumi.Config; it does so when called, so every call sees the current configuration.
import * as pulumi from "@pulumi/pulumi";
import * as rancher2 from "@pulumi/rancher2";
import { rancherApplyScript } from "./clusterScripts";
import { isConfigSecret, locateKey } from "../components/stackConfig";
import { ConfigError } from "./config";
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

/** Whether a key is stored encrypted. */
function isSecretKey(key: string): boolean {
  return isConfigSecret(`${NAMESPACE}:${key}`, pulumi.runtime);
}

export default function cluster(): ClusterOutputs {
  const config = new pulumi.Config(NAMESPACE);
  const locate = (key: string) => locateKey((k) => config.get(k), key);
  /** A secret value as a secret Output, from the flat key or the field of the object that holds it. */
  const secret = (key: string): pulumi.Output<string> => {
    const { key: holder } = locate(key);
    if (holder === key) return config.requireSecret(key);
    const field = key.slice(holder.length + 1);
    return config.requireSecretObject<Record<string, string>>(holder).apply((object) => object[field]);
  };
  let settings;
  try {
    // Plain values are read for checking only (never returned); secrets continue below as secret Outputs.
    settings = validateClusterConfig(
      (key) => locate(key).value,
      (key) => isSecretKey(locate(key).key),
    );
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
