// All machines of the cluster, wired in the order K3s needs: the first server, then the other servers one by one, then
// the agents in parallel. Upgrades go servers one at a time, then agents in batches of k3s.upgradeBatchSize.
import * as crypto from "node:crypto";
import * as pulumi from "@pulumi/pulumi";
import { local, remote, types } from "@pulumi/command";
import { ClusterSettings, PlannedNode } from "./config";
import {
  admitScript,
  drainScript,
  forgetScript,
  kubeconfigScript,
  labelsScript,
  markGoneScript,
} from "./clusterScripts";
import { ClusterIdentity, identityProblems } from "./identity";
import { rewriteKubeconfig } from "./kubeconfig";
import { installPayload, installScript } from "./scripts";
import { uninstallScript } from "./uninstall";
import { K3sNode, NodeCommands } from "./k3sNode";
import { removeTraefikConfigScript, writeTraefikConfigScript } from "./traefikConfig";

export interface NodePoolArgs {
  /** The validated cluster configuration. */
  readonly settings: ClusterSettings;
  /** The cluster token (a secret Output). */
  readonly token: pulumi.Input<string>;
  /** The SSH private key for every host and the bastion (a secret Output). */
  readonly privateKey: pulumi.Input<string>;
}

/** What the stack exports about a node. */
export interface NodeInfo {
  readonly name: string;
  readonly host: string;
  readonly role: "server" | "agent";
  readonly first: boolean;
  readonly gone: boolean;
  readonly labels: readonly string[];
  readonly taints: readonly string[];
}

export class NodePool extends pulumi.ComponentResource {
  /** Admin kubeconfig with the first server's address (a secret). */
  readonly kubeconfig: pulumi.Output<string>;
  readonly nodes: NodeInfo[];
  /** The first server's install; cluster-level steps (Rancher) wait for it. */
  readonly firstServerReady: pulumi.Resource;
  /** SSH connection to the first server. */
  readonly clusterConnection: pulumi.Output<types.input.remote.ConnectionArgs>;

  constructor(name: string, args: NodePoolArgs, opts: pulumi.ComponentResourceOptions = {}) {
    super("qa-k8s:cluster:NodePool", name, {}, opts);
    const { settings } = args;
    const first = settings.servers.find((s) => s.first);
    if (!first) throw new pulumi.RunError("NodePool needs a first server (validated before)");

    // What the cluster was created with, kept in a record whose stdout never changes after creation (ignoreChanges on
    // its input); a token or first server that differs from it is refused, in preview as well as in up.
    const current = pulumi
      .output(args.token)
      .apply((t): ClusterIdentity => ({ tokenSha256: sha256(t), firstServer: first.name }));
    const identity = new local.Command(
      `${name}-identity`,
      {
        create: "cat",
        stdin: pulumi.secret(current.apply((c) => JSON.stringify(c))),
        logging: "none",
        addPreviousOutputInEnv: false,
      },
      { parent: this, ignoreChanges: ["stdin"], additionalSecretOutputs: ["stdout"] },
    );
    const checked = pulumi.all([identity.stdout, current, identity.urn]).apply(([recorded, now, urn]) => {
      const problems = identityProblems(recorded, now, urn);
      if (problems.length > 0) throw stableRunError(problems.join("\n"));
      return true;
    });
    const installSecrets = pulumi.secret(
      pulumi.all([args.token, checked]).apply(([token]) => installPayload(token, settings)),
    );

    const connect = (node: PlannedNode) => connection(settings, node, args.privateKey);
    this.clusterConnection = pulumi.output(connect(first));

    const nodeOf = (
      node: PlannedNode,
      extra: Partial<{
        installAfter: pulumi.Resource[];
        upgradeAfter: pulumi.Resource[];
        clusterAfter: pulumi.Resource[];
      }>,
    ) =>
      new K3sNode(
        `${name}-${node.name}`,
        {
          node,
          commands: commandsFor(settings, node, first),
          connection: connect(node),
          clusterConnection: this.clusterConnection,
          installSecrets,
          ...extra,
        },
        { parent: this },
      );

    const firstNode = nodeOf(first, {});
    this.firstServerReady = firstNode.install;
    const clusterAfter = [firstNode.install];

    let previousInstall: pulumi.Resource = firstNode.install;
    let previousUpgrade: pulumi.Resource = firstNode.upgrade as pulumi.Resource;
    for (const server of settings.servers.filter((s) => !s.first)) {
      const node = nodeOf(server, { installAfter: [previousInstall], upgradeAfter: [previousUpgrade], clusterAfter });
      if (!server.gone) {
        previousInstall = node.install;
        previousUpgrade = node.upgrade as pulumi.Resource;
      }
    }
    const agentUpgrades: pulumi.Resource[] = [];
    for (const agent of settings.agents) {
      const batchBefore = agentUpgrades[agentUpgrades.length - settings.k3s.upgradeBatchSize];
      const upgradeAfter = [previousUpgrade, ...(batchBefore ? [batchBefore] : [])];
      const node = nodeOf(agent, { installAfter: [firstNode.install], upgradeAfter, clusterAfter });
      if (node.upgrade) agentUpgrades.push(node.upgrade);
    }

    const reader = new remote.Command(
      `${name}-kubeconfig`,
      {
        connection: this.clusterConnection,
        create: kubeconfigScript(settings, first),
        logging: "stderr",
        addPreviousOutputInEnv: false,
      },
      { parent: this, dependsOn: [firstNode.install], additionalSecretOutputs: ["stdout"] },
    );
    this.kubeconfig = pulumi.secret(reader.stdout.apply((text) => rewriteKubeconfig(text, first.host)));
    this.nodes = [...settings.servers, ...settings.agents].map(
      ({ name: n, host, role, first: f, gone, labels, taints }) => ({
        name: n,
        host,
        role,
        first: f,
        gone,
        labels,
        taints,
      }),
    );
    this.registerOutputs({ kubeconfig: this.kubeconfig, nodes: this.nodes });
  }
}

/**
 * A RunError (reported without stack trace) whose message cannot be rewritten: every resource whose input fails
 * prefixes the same error object with `error serializing property "stdin": `; the engine should show the reason once.
 */
function stableRunError(message: string): pulumi.RunError {
  const err = new pulumi.RunError(message);
  Object.defineProperty(err, "message", { get: () => message, set: () => undefined });
  return err;
}

function sha256(value: string): string {
  return crypto.createHash("sha256").update(value, "utf8").digest("hex");
}

/** The commands of one node; cluster-side removal steps only for nodes that can be removed. */
export function commandsFor(settings: ClusterSettings, node: PlannedNode, first: PlannedNode): NodeCommands {
  const servers = settings.servers;
  const removable = !node.first;
  return {
    install: installScript(settings, node, servers, "install"),
    ensure: installScript(settings, node, servers, "ensure"),
    upgrade: installScript(settings, node, servers, "upgrade"),
    uninstall: uninstallScript(settings, node),
    labels: labelsScript(settings, node, first),
    admit: removable ? admitScript(settings, node, first) : undefined,
    forget: removable ? forgetScript(settings, node, first) : undefined,
    drain: removable ? drainScript(settings, node, first) : undefined,
    markGone: node.gone ? markGoneScript(settings, node, first) : undefined,
    traefikConfig:
      node.role === "server"
        ? { write: writeTraefikConfigScript(settings, node), remove: removeTraefikConfigScript(settings, node) }
        : undefined,
  };
}

/** SSH connection: key as a secret, host key pinned (a mismatch is refused), bounded retries so dead hosts fail fast. */
export function connection(
  settings: ClusterSettings,
  node: PlannedNode,
  privateKey: pulumi.Input<string>,
): types.input.remote.ConnectionArgs {
  const { ssh } = settings;
  const limits = { dialErrorLimit: ssh.dialErrorLimit, perDialTimeout: ssh.perDialTimeoutSeconds };
  return {
    host: node.host,
    port: ssh.port,
    user: ssh.user,
    privateKey: pulumi.secret(privateKey),
    hostKey: node.hostKey,
    ...limits,
    ...(ssh.bastion
      ? {
          proxy: {
            host: ssh.bastion.host,
            port: ssh.bastion.port,
            user: ssh.bastion.user,
            hostKey: ssh.bastion.hostKey,
            privateKey: pulumi.secret(privateKey),
            ...limits,
          },
        }
      : {}),
  };
}
