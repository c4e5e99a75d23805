// One machine of the cluster as resources. Each remote command has one job, so that Pulumi's create / update / delete
// of that resource is exactly the lifecycle step it stands for:
//
//   membership (first server)  create: make room for the node to (re)join   delete: remove its Node object
//   cleanup    (the host)      create: nothing (no contact)                delete: run the K3s uninstaller
//   install    (the host)      create: run the K3s installer
//   upgrade    (the host)      create: run the installer if no install completed on the host (a safety net)
//                              update: re-run the installer with the new version / flags / secrets (never a rebuild)
//   drain      (first server)  delete: cordon + drain, before the uninstall
//   labels     (first server)  create/update: reconcile node labels and taints
//   traefik    (servers)       create/update: write the bundled Traefik's HelmChartConfig   delete: remove the file
//
// Why the uninstall belongs to `cleanup`, not to `install`: a failed create is not recorded (pulumi-command returns a
// plain error, no partial state), so an install that failed after K3s landed on the host (service start, Ready wait)
// would leave no resource whose delete removes it; dropping the node from the config would then leave K3s running and
// re-registering its Node object. `cleanup` is in the state before the installer first touches the host, whatever
// happens to the install (failure, lost connection, crashed run), and the uninstaller is safe on a host without K3s.
//
// Dependencies order deletion drain -> install -> cleanup -> membership: pods leave first, then K3s, then the Node
// object (which a still-running K3s would re-create).
import * as pulumi from "@pulumi/pulumi";
import { remote, types } from "@pulumi/command";
import { PlannedNode } from "./config";

/** The commands of one node, built by the pure builders in scripts.ts / clusterScripts.ts. */
export interface NodeCommands {
  readonly install: string;
  /** The installer again, but only if no install completed on the host yet. */
  readonly ensure: string;
  readonly upgrade: string;
  readonly uninstall: string;
  readonly labels: string;
  /** Cluster-side steps; unset for the first server, which is never removed. */
  readonly admit?: string;
  readonly forget?: string;
  readonly drain?: string;
  /** Only for `gone: true` nodes. */
  readonly markGone?: string;
  /** Servers only: write / remove the bundled Traefik's HelmChartConfig in the auto-deploy manifests. */
  readonly traefikConfig?: { readonly write: string; readonly remove: string };
}

export interface K3sNodeArgs {
  /** The node as configured. */
  readonly node: PlannedNode;
  /** Its commands. */
  readonly commands: NodeCommands;
  /** SSH connection to the node's host (private key as a secret, host key pinned). */
  readonly connection: pulumi.Input<types.input.remote.ConnectionArgs>;
  /** SSH connection to the first server, where cluster-side steps run with `k3s kubectl`. */
  readonly clusterConnection: pulumi.Input<types.input.remote.ConnectionArgs>;
  /** Secret stdin of the installer steps (token, registries.yaml). */
  readonly installSecrets: pulumi.Input<string>;
  /**
   * Resources the install waits for (the first server; for a joining server, the server before it).
   * @default none: the install starts at once (the first server).
   */
  readonly installAfter?: pulumi.Resource[];
  /**
   * Resources the upgrade waits for, which serialises upgrades: each server after the previous one, agents after all
   * servers and in batches.
   * @default none: the upgrade waits only for this node's install.
   */
  readonly upgradeAfter?: pulumi.Resource[];
  /**
   * Resources cluster-side steps wait for (the first server's install).
   * @default none: only for the first server, whose cluster-side steps wait for its own install.
   */
  readonly clusterAfter?: pulumi.Resource[];
}

/** The component of one K3s server or agent. */
export class K3sNode extends pulumi.ComponentResource {
  /** The resource that installs K3s on the host (its create runs the installer). */
  readonly install: pulumi.Resource;
  /** The resource whose update re-runs the installer; undefined for a gone node. */
  readonly upgrade?: pulumi.Resource;

  constructor(name: string, args: K3sNodeArgs, opts: pulumi.ComponentResourceOptions = {}) {
    super("qa-k8s:cluster:K3sNode", name, {}, opts);
    const { node, commands } = args;
    const clusterAfter = args.clusterAfter ?? [];
    const common = { addPreviousOutputInEnv: false };
    // The provider makes no output secret by itself (only what additionalSecretOutputs names): steps fed the token
    // or registry credentials on stdin keep their output encrypted too, in case a tool echoes one.
    const secretStreams = ["stdout", "stderr"];

    if (node.gone) {
      // The machine is dead: any command against it would fail after the dial timeout. The install and cleanup records
      // are renamed (alias) to ones without commands — an update that contacts nothing — so they later leave the state
      // without a delete command (no uninstall on a dead host), and a host that comes back gets a fresh install under
      // the usual names.
      this.install = new remote.Command(
        `${name}-host-gone`,
        { ...common, connection: args.connection },
        { parent: this, aliases: [{ name: `${name}-install` }] },
      );
      new remote.Command(
        `${name}-cleanup-gone`,
        { ...common, connection: args.connection },
        { parent: this, aliases: [{ name: `${name}-cleanup` }] },
      );
      if (commands.traefikConfig !== undefined) {
        new remote.Command(
          `${name}-traefik-config-gone`,
          { ...common, connection: args.connection },
          { parent: this, aliases: [{ name: `${name}-traefik-config` }] },
        );
      }
      new remote.Command(
        `${name}-mark-gone`,
        { ...common, connection: args.clusterConnection, create: commands.markGone },
        { parent: this, dependsOn: clusterAfter },
      );
      this.registerOutputs({ install: this.install });
      return;
    }

    const membership =
      commands.admit !== undefined
        ? new remote.Command(
            `${name}-membership`,
            // `update` is a no-op on purpose: without it a changed connection would re-run the admit step.
            {
              ...common,
              connection: args.clusterConnection,
              create: commands.admit,
              update: "true",
              delete: commands.forget,
            },
            { parent: this, dependsOn: clusterAfter },
          )
        : undefined;

    const cleanup = new remote.Command(
      `${name}-cleanup`,
      { ...common, connection: args.connection, delete: commands.uninstall },
      { parent: this, dependsOn: membership ? [membership] : [] },
    );

    this.install = new remote.Command(
      `${name}-install`,
      {
        ...common,
        connection: args.connection,
        create: commands.install,
        // Version, flag and secret changes are the upgrade step's job; they must not re-run the first install. A
        // failed first install is not recorded, so the next `pulumi up` runs this create again.
        update: "true",
        stdin: args.installSecrets,
      },
      {
        parent: this,
        dependsOn: [cleanup, ...(membership ? [membership] : []), ...(args.installAfter ?? [])],
        ignoreChanges: ["create", "stdin"],
        additionalSecretOutputs: secretStreams,
      },
    );

    this.upgrade = new remote.Command(
      `${name}-upgrade`,
      {
        ...common,
        connection: args.connection,
        create: commands.ensure,
        update: commands.upgrade,
        stdin: args.installSecrets,
      },
      { parent: this, dependsOn: [this.install, ...(args.upgradeAfter ?? [])], additionalSecretOutputs: secretStreams },
    );

    if (commands.drain !== undefined) {
      new remote.Command(
        `${name}-drain`,
        { ...common, connection: args.clusterConnection, delete: commands.drain },
        // Also on membership directly: when the node turns `gone`, its install is renamed and no longer depends on
        // membership, and only this keeps the drain (cordon) before the forget step deletes the Node object.
        { parent: this, dependsOn: [this.install, ...(membership ? [membership] : [])] },
      );
    }

    new remote.Command(
      `${name}-labels`,
      { ...common, connection: args.clusterConnection, create: commands.labels },
      { parent: this, dependsOn: [this.install, ...clusterAfter] },
    );

    if (commands.traefikConfig !== undefined) {
      // After the install: the installer owns the data directory's first creation, and K3s picks up new manifests
      // while it runs.
      new remote.Command(
        `${name}-traefik-config`,
        {
          ...common,
          connection: args.connection,
          create: commands.traefikConfig.write,
          update: commands.traefikConfig.write,
          delete: commands.traefikConfig.remove,
        },
        { parent: this, dependsOn: [this.install] },
      );
    }

    this.registerOutputs({ install: this.install, upgrade: this.upgrade });
  }
}
