// Syntax rules for single values. Anything that ends up in a shell command must pass one of these: quoting makes it
// inert anyway, but a clear refusal beats a K3s node named "$(id)".
import { isIP } from "node:net";

const DNS_LABEL = "[a-z0-9]([-a-z0-9]*[a-z0-9])?";
const HOST_LABEL = "[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?";
const LABEL_NAME = "[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?";

/** An IPv6 address with a zone (`fe80::1%eth0`): valid for ssh, but not in a URL such as K3S_URL. */
export function hasIpv6Zone(value: string): boolean {
  return isIP(value) === 6 && value.includes("%");
}

/** A DNS name (RFC 1123) or an IPv4/IPv6 address, without brackets or port. */
export function isHost(value: string): boolean {
  if (isIP(value) !== 0) return true;
  if (/^[\d.]+$/.test(value)) return false; // looks like IPv4 but is not one
  return value.length <= 253 && new RegExp(`^${HOST_LABEL}(\\.${HOST_LABEL})*\\.?$`).test(value);
}

/** Kubernetes node names: a lowercase DNS subdomain, kept to 63 characters so derived names stay valid. */
export function isNodeName(value: string): boolean {
  return value.length <= 63 && new RegExp(`^${DNS_LABEL}(\\.${DNS_LABEL})*$`).test(value);
}

/** Rancher cluster names are DNS labels. */
export function isDnsLabel(value: string): boolean {
  return value.length <= 63 && new RegExp(`^${DNS_LABEL}$`).test(value);
}

const HOST_KEY_TYPES = [
  "ssh-ed25519",
  "ssh-rsa",
  "ecdsa-sha2-nistp256",
  "ecdsa-sha2-nistp384",
  "ecdsa-sha2-nistp521",
  "sk-ssh-ed25519@openssh.com",
  "sk-ecdsa-sha2-nistp256@openssh.com",
];

/**
 * Host-key types a pin cannot use. The command provider (as upstream pulumi-command) offers the server only the pinned
 * key's algorithm; for an `ssh-rsa` key that is SHA-1 `ssh-rsa` signatures, which OpenSSH 8.8 and later refuse by
 * default, so the connection fails with "no common algorithm for host key" even though the key is right.
 */
export const UNUSABLE_HOST_KEY_TYPES: readonly string[] = ["ssh-rsa"];

/** `<type> <base64>` with an optional comment, as in known_hosts without the host column. */
export function parseHostKey(value: string): string | undefined {
  const match = /^(\S+) ([A-Za-z0-9+/]+={0,3})(?: [^\r\n]*)?$/.exec(value.trim());
  if (!match || !HOST_KEY_TYPES.includes(match[1])) return undefined;
  return `${match[1]} ${match[2]}`;
}

function isLabelKey(key: string): boolean {
  const slash = key.lastIndexOf("/");
  const prefix = slash >= 0 ? key.slice(0, slash) : undefined;
  const name = slash >= 0 ? key.slice(slash + 1) : key;
  if (prefix !== undefined && (prefix.length > 253 || !new RegExp(`^${DNS_LABEL}(\\.${DNS_LABEL})*$`).test(prefix))) {
    return false;
  }
  return new RegExp(`^${LABEL_NAME}$`).test(name);
}

function isLabelValue(value: string): boolean {
  return value === "" || new RegExp(`^${LABEL_NAME}$`).test(value);
}

/** `key=value` as `--node-label` takes it. */
export function isLabel(label: string): boolean {
  const eq = label.indexOf("=");
  return eq > 0 && isLabelKey(label.slice(0, eq)) && isLabelValue(label.slice(eq + 1));
}

/** `key[=value]:Effect` as `--node-taint` takes it. */
export function isTaint(taint: string): boolean {
  const match = /^([^=:]+)(?:=([^:]*))?:(NoSchedule|PreferNoSchedule|NoExecute)$/.exec(taint);
  return !!match && isLabelKey(match[1]) && isLabelValue(match[2] ?? "");
}

/** Taint key plus effect, the identity `kubectl taint ... key:Effect-` removes. */
export function taintKey(taint: string): string {
  const effect = taint.slice(taint.lastIndexOf(":") + 1);
  const eq = taint.indexOf("=");
  const key = eq >= 0 ? taint.slice(0, eq) : taint.slice(0, taint.lastIndexOf(":"));
  return `${key}:${effect}`;
}

/** `v1.33.5+k3s1`, or a release candidate `v1.34.0-rc1+k3s1`. */
export function isK3sVersion(value: string): boolean {
  return /^v\d+\.\d+\.\d+(-rc\d+)?\+k3s\d+$/.test(value);
}

/** One K3s flag: `--flag` or `--flag=value`, from a conservative alphabet (no spaces, quotes or globs). */
export function isFlag(value: string): boolean {
  return /^--[a-z0-9][a-z0-9-]*(=[A-Za-z0-9=,:._/@+%-]*)?$/.test(value);
}

/** Flags this program sets itself, and the config key to use instead. */
export const MANAGED_FLAGS: Readonly<Record<string, string>> = {
  token: "k3s.token",
  "token-file": "k3s.token",
  "agent-token": "k3s.token",
  server: "servers (every server after the first joins it)",
  "cluster-init": "servers (the first server initialises the cluster)",
  "node-name": "servers[].name / agents[].name",
  "data-dir": "k3s.dataDir",
  docker: "k3s.docker",
  "node-label": "servers[].labels / agents[].labels",
  "node-taint": "servers[].taints / agents[].taints",
  "tls-san": "servers[].host (every server host is added)",
  "write-kubeconfig-mode": "k3s.kubeconfigMode",
  "private-registry": "k3s.registries",
};

/** Flags that give the node another name than the configured one (`--with-node-id` appends a random id). */
export const RENAMING_FLAGS: readonly string[] = ["node-name", "with-node-id"];

export function flagName(flag: string): string {
  return flag.replace(/^--/, "").split("=")[0];
}

export function isFileMode(value: string): boolean {
  return /^[0-7]{3,4}$/.test(value);
}

export function isHttpsUrl(value: string): boolean {
  return /^https?:\/\/[^/\s'"`\\]+(\/[^\s'"`\\]*)?$/.test(value);
}

export function isUnixUser(value: string): boolean {
  return /^[a-z_][a-z0-9_.-]{0,31}$/.test(value);
}

/** The token ends up in a systemd environment file and on the kernel command line of k3s: keep it plain. */
export function isTokenAlphabet(value: string): boolean {
  return /^[A-Za-z0-9._~:+/=@%-]+$/.test(value);
}

export const MIN_TOKEN_LENGTH = 16;

export function looksLikePrivateKey(value: string): boolean {
  return /^-----BEGIN ([A-Z]+ )*PRIVATE KEY-----\r?\n[\s\S]+\r?\n-----END ([A-Z]+ )*PRIVATE KEY-----\s*$/.test(
    value.trim() + "\n",
  );
}
