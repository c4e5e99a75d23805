// The cluster stack's configuration as plain data: key names, defaults, and coercion of the raw strings Pulumi hands
// the program into typed settings. Reading pulumi.Config happens in index.ts only; everything here is pure.
import { bad, isPlainObject } from "./messages";
import type { Registries } from "./registries";

/** Defaults of the non-secret keys; Pulumi.yaml declares the same values (a unit test keeps the two in step). */
export const DEFAULTS = {
  "k3s.version": "v1.33.5+k3s1",
  "k3s.dataDir": "/var/lib/rancher/k3s",
  "k3s.docker": false,
  "k3s.kubeconfigMode": "600",
  "k3s.extraServerArgs": [] as string[],
  "k3s.extraAgentArgs": [] as string[],
  "k3s.installScriptUrl": "https://get.k3s.io",
  "k3s.installScriptSha256": "",
  "k3s.binaryMirrorUrl": "",
  "k3s.allowHttp": false,
  "k3s.binDir": "/usr/local/bin",
  "k3s.airgap": false,
  "k3s.drainTimeoutSeconds": 300,
  "k3s.upgradeBatchSize": 1,
  "ssh.user": "root",
  "ssh.port": 22,
  "ssh.dialErrorLimit": 10,
  "ssh.perDialTimeoutSeconds": 15,
  agents: [] as unknown[],
  "rancher.clusterName": "qa",
  "rancher.insecure": false,
} as const;

/** Every key of the cluster stack (namespace qa-k8s). */
export const CLUSTER_KEYS = [
  ...Object.keys(DEFAULTS),
  "k3s.token",
  "k3s.registries",
  "ssh.privateKey",
  "ssh.bastion",
  "servers",
  "rancher.apiUrl",
  "rancher.token",
] as const;

export type Role = "server" | "agent";

/** One machine of `servers` or `agents`, normalised (labels and taints as `key=value` / `key=value:Effect`). */
export interface NodeEntry {
  readonly name: string;
  readonly host: string;
  readonly hostKey: string;
  readonly labels: readonly string[];
  readonly taints: readonly string[];
  /** The machine is dead: remove it from the cluster without contacting it. */
  readonly gone: boolean;
}

/** A node with its place in the cluster. */
export interface PlannedNode extends NodeEntry {
  readonly role: Role;
  /** The first server initialises the cluster; every other node joins it. */
  readonly first: boolean;
  /** Where the node is configured, e.g. `agents[2]`, for messages. */
  readonly field: string;
}

export interface Bastion {
  readonly host: string;
  readonly port: number;
  readonly user: string;
  readonly hostKey: string;
}

export interface ClusterSettings {
  readonly k3s: {
    readonly version: string;
    readonly dataDir: string;
    readonly docker: boolean;
    readonly kubeconfigMode: string;
    readonly extraServerArgs: readonly string[];
    readonly extraAgentArgs: readonly string[];
    readonly installScriptUrl: string;
    /** Lower-case hex digest the installer must have; undefined = not pinned. */
    readonly installScriptSha256?: string;
    /** GITHUB_URL of the upstream installer: where the K3s release binaries are downloaded from. */
    readonly binaryMirrorUrl?: string;
    readonly allowHttp: boolean;
    /** INSTALL_K3S_BIN_DIR: where k3s and its uninstall scripts live; every call goes by absolute path. */
    readonly binDir: string;
    readonly airgap: boolean;
    readonly registries?: Registries;
    readonly drainTimeoutSeconds: number;
    readonly upgradeBatchSize: number;
  };
  readonly ssh: {
    readonly user: string;
    readonly port: number;
    readonly bastion?: Bastion;
    readonly dialErrorLimit: number;
    readonly perDialTimeoutSeconds: number;
  };
  readonly servers: readonly PlannedNode[];
  readonly agents: readonly PlannedNode[];
  readonly rancher?: {
    readonly apiUrl: string;
    readonly clusterName: string;
    readonly insecure: boolean;
  };
}

/** Typed access to raw config strings; coercion failures are recorded as problems and yield the default. */
export class RawConfig {
  readonly problems: string[] = [];
  constructor(private readonly raw: (key: string) => string | undefined) {}

  has(key: string): boolean {
    const value = this.raw(key);
    return value !== undefined && value !== "";
  }

  string(key: string): string | undefined;
  string(key: string, fallback: string): string;
  string(key: string, fallback?: string): string | undefined {
    const value = this.raw(key);
    return value === undefined || value === "" ? fallback : value;
  }

  boolean(key: string, fallback: boolean): boolean {
    const value = this.raw(key);
    if (value === undefined || value === "") return fallback;
    if (value === "true" || value === "false") return value === "true";
    this.problems.push(bad(key, value, "is not a boolean", "use true or false"));
    return fallback;
  }

  integer(key: string, fallback: number, min: number, max: number): number {
    const value = this.raw(key);
    if (value === undefined || value === "") return fallback;
    const n = /^-?\d+$/.test(value.trim()) ? Number(value) : NaN;
    if (!Number.isSafeInteger(n) || n < min || n > max) {
      this.problems.push(bad(key, value, `is not a whole number from ${min} to ${max}`, `set a number in that range`));
      return fallback;
    }
    return n;
  }

  /** A YAML list or map in Pulumi.qa.yaml reaches the program as JSON text. */
  json(key: string, kind: "list" | "map"): unknown {
    const value = this.raw(key);
    if (value === undefined || value === "") return undefined;
    let parsed: unknown;
    try {
      parsed = JSON.parse(value);
    } catch {
      parsed = value;
    }
    const ok = kind === "list" ? Array.isArray(parsed) : isPlainObject(parsed);
    if (!ok) {
      const shape = kind === "list" ? "a YAML list" : "a YAML map";
      this.problems.push(
        bad(key, parsed, `is not ${shape}`, `write ${key} as ${shape} (see cluster/README.section.md)`),
      );
      return undefined;
    }
    return parsed;
  }
}
