// Registration of the K3s cluster in Rancher as an imported cluster: Rancher creates the cluster object and a
// registration manifest, and the first server applies that manifest to run Rancher's agent.
import * as pulumi from "@pulumi/pulumi";
import * as rancher2 from "@pulumi/rancher2";
import { remote, types } from "@pulumi/command";
import { secretPayload } from "./scripts";

/** Stops Rancher >= 2.11 from upgrading K3s of an imported cluster behind Pulumi's back (k3s.version rules). */
export const VERSION_MANAGEMENT_ANNOTATION = "rancher.io/imported-cluster-version-management";

export interface RancherRegistrationArgs {
  /** Name of the cluster in Rancher. */
  readonly clusterName: string;
  /**
   * Description shown in Rancher.
   * @default "K3s QA cluster, managed by Pulumi (stack qa)"
   */
  readonly description?: string;
  /** The command that applies the registration manifest (its URL arrives on stdin), from clusterScripts.ts. */
  readonly applyCommand: string;
  /** SSH connection to the first server. */
  readonly connection: pulumi.Input<types.input.remote.ConnectionArgs>;
  /**
   * Resources to wait for before applying the manifest.
   * @default none
   */
  readonly after?: pulumi.Resource[];
}

/** Pass the rancher2 provider (API URL, secret token) in `opts.provider`; the cluster inherits it. */
export class RancherRegistration extends pulumi.ComponentResource {
  /** Rancher's id of the cluster (c-xxxxx). */
  readonly clusterId: pulumi.Output<string>;

  constructor(name: string, args: RancherRegistrationArgs, opts: pulumi.ComponentResourceOptions = {}) {
    super("qa-k8s:cluster:RancherRegistration", name, {}, opts);
    const cluster = new rancher2.Cluster(
      `${name}-cluster`,
      {
        name: args.clusterName,
        description: args.description ?? "K3s QA cluster, managed by Pulumi (stack qa)",
        annotations: { [VERSION_MANAGEMENT_ANNOTATION]: "false" },
      },
      // The registration token is a credential (the manifest URL embeds it).
      { parent: this, additionalSecretOutputs: ["clusterRegistrationToken"] },
    );
    const manifestUrl = cluster.clusterRegistrationToken.apply((t) => t.manifestUrl);
    new remote.Command(
      `${name}-apply`,
      {
        connection: args.connection,
        create: args.applyCommand,
        stdin: pulumi.secret(manifestUrl.apply((url) => secretPayload([url]))),
        addPreviousOutputInEnv: false,
      },
      // Fed the manifest URL (a credential) on stdin: keep what the step prints encrypted too.
      { parent: this, dependsOn: args.after ?? [], additionalSecretOutputs: ["stdout", "stderr"] },
    );
    this.clusterId = cluster.id;
    this.registerOutputs({ clusterId: this.clusterId });
  }
}
