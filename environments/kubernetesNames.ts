// The API server's own rules for every name and value this project derives from the catalog and the stack name, read
// from Kubernetes' validation code: apimachinery's util/validation (IsDNS1123Label, IsDNS1035Label, IsDNS1123Subdomain,
// IsValidLabelValue, IsValidPortName), core validation (Service names and ports, container ports, claims), networking
// validation (Ingress hosts and paths) and what the StatefulSet controller adds to a name. Each check says whether a
// value passes (is*) or which rule it breaks, in words (*Problem); callers say where the value came from and the fix.
// test/e2e/apiserver-rules.e2e.ts proves every rule against the real kube-apiserver, so this list is measured.

import { isIPv6 } from "node:net";

const DNS1123_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const DNS1035_LABEL = /^[a-z]([-a-z0-9]*[a-z0-9])?$/;
const DNS1123_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const WILDCARD_SUBDOMAIN = /^\*\.[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const LABEL_VALUE = /^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$/;
// ParseIPSloppy, which the API server uses, also takes IPv4 with leading zeros.
const IPV4 = /^\d{1,3}(\.\d{1,3}){3}$/;

export const DNS_LABEL_MAX = 63;
export const DNS_SUBDOMAIN_MAX = 253;
export const LABEL_VALUE_MAX = 63;
export const PORT_NAME_MAX = 15;
// The StatefulSet controller labels each pod `controller-revision-hash: <set name>-<hash>`; the hash is an FNV-32 sum
// written in decimal (pkg/controller/history ControllerRevisionName), so up to 10 characters, and a label value holds
// at most 63: 63 - 1 - 10.
export const REVISION_HASH_MAX = 10;
export const STATEFULSET_NAME_MAX = LABEL_VALUE_MAX - 1 - REVISION_HASH_MAX;

export const DNS1035_RULE =
  "lower-case letters, digits and '-', starting with a letter and ending with a letter or digit, at most 63 characters";
export const DNS1123_LABEL_RULE =
  "lower-case letters, digits and '-', starting and ending with a letter or digit, at most 63 characters";
export const SUBDOMAIN_RULE =
  "lower-case letters, digits, '-' and '.', each part starting and ending with a letter or digit, at most 253 characters";
export const LABEL_VALUE_RULE =
  "at most 63 letters, digits, '-', '_' or '.', starting and ending with a letter or digit";
export const PORT_NAME_RULE =
  "at most 15 lower-case letters, digits and '-', with at least one letter and no leading, trailing or double '-'";

export function isDns1123Label(value: string): boolean {
  return value.length <= DNS_LABEL_MAX && DNS1123_LABEL.test(value);
}

/** Service names (core validation's ValidateServiceName) and so every name derived from a catalog service. */
export function isDns1035Label(value: string): boolean {
  return value.length <= DNS_LABEL_MAX && DNS1035_LABEL.test(value);
}

export function isDns1123Subdomain(value: string): boolean {
  return value.length <= DNS_SUBDOMAIN_MAX && DNS1123_SUBDOMAIN.test(value);
}

export function isLabelValue(value: string): boolean {
  return value.length <= LABEL_VALUE_MAX && LABEL_VALUE.test(value);
}

/** IsValidPortName: container port names, which Service targetPorts and Ingress backends refer to. */
export function isPortName(value: string): boolean {
  return (
    value.length <= PORT_NAME_MAX &&
    /^[-a-z0-9]+$/.test(value) &&
    /[a-z]/.test(value) &&
    !value.includes("--") &&
    !value.startsWith("-") &&
    !value.endsWith("-")
  );
}

/** Why an Ingress rule host is refused, or undefined: a DNS name (a leading `*.` allowed), never an IP address. */
export function ingressHostProblem(host: string): string | undefined {
  if (IPV4.test(host) || isIPv6(host)) return "is an IP address, not a DNS name";
  const valid = host.startsWith("*.")
    ? host.length <= DNS_SUBDOMAIN_MAX && WILDCARD_SUBDOMAIN.test(host)
    : isDns1123Subdomain(host);
  return valid ? undefined : `is not a DNS-1123 subdomain (${SUBDOMAIN_RULE})`;
}

// networking validation, pathType Prefix: paths that could escape a prefix by directory traversal are refused.
const INVALID_PATH_SEQUENCES = ["//", "/./", "/../", "%2f", "%2F"];
const INVALID_PATH_SUFFIXES = ["/..", "/."];

/** Why a Prefix Ingress path is refused, or undefined. */
export function ingressPathProblem(path: string): string | undefined {
  if (!path.startsWith("/")) return `must start with "/"`;
  const sequence = INVALID_PATH_SEQUENCES.find((s) => path.includes(s));
  if (sequence) return `must not contain "${sequence}" (Kubernetes refuses ${INVALID_PATH_SEQUENCES.join(" ")})`;
  const suffix = INVALID_PATH_SUFFIXES.find((s) => path.endsWith(s));
  if (suffix) return `must not end with "${suffix}"`;
  return undefined;
}

/**
 * Why a namespace name is taken, or undefined. The cluster creates default and kube-system, kube-public and
 * kube-node-lease itself (Kubernetes reserves every `kube-` name for them), and Rancher's agents live in `cattle-*`.
 */
export function reservedNamespaceProblem(name: string): string | undefined {
  if (name === "default") return "is the cluster's default namespace";
  if (name.startsWith("kube-"))
    return "is reserved: kube-* namespaces belong to Kubernetes (kube-system, kube-public, kube-node-lease)";
  if (name.startsWith("cattle-")) return "is reserved: cattle-* namespaces belong to Rancher's agents";
  return undefined;
}

/** A DNS-1035 label close to `name`, for the fix of a message. */
export function suggestDns1035Label(name: string): string {
  const cleaned = name
    .toLowerCase()
    .replace(/[^a-z0-9-]+/g, "-")
    .replace(/^-+|-+$/g, "");
  if (cleaned === "") return "service";
  const withLetter = /^[a-z]/.test(cleaned) ? cleaned : `svc-${cleaned}`;
  return withLetter.slice(0, DNS_LABEL_MAX).replace(/-+$/, "");
}

/** A valid port name close to `name`, for the fix of a message. */
export function suggestPortName(name: string): string {
  const cleaned = name
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, "-")
    .replace(/^-+|-+$/g, "")
    .slice(0, PORT_NAME_MAX)
    .replace(/-+$/, "");
  return /[a-z]/.test(cleaned) ? cleaned : `p${cleaned}`.slice(0, PORT_NAME_MAX);
}
