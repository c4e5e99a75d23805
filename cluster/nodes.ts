// `servers` and `agents`: the machines of the cluster, checked entry by entry and placed (first server, joiners).
import { NodeEntry, PlannedNode, Role } from "./config";
import { bad, isPlainObject, missing, SOURCE } from "./messages";
import { hasIpv6Zone, isHost, isLabel, isNodeName, isTaint, parseHostKey, UNUSABLE_HOST_KEY_TYPES } from "./rules";

const NODE_FIELDS = ["name", "host", "hostKey", "labels", "taints", "gone"];
const KEYSCAN = "ssh-keyscan -t ed25519 <host> | cut -d' ' -f2-";

/** Parses one list; problems are appended to `problems`, unusable entries are skipped. */
export function parseNodeList(key: "servers" | "agents", list: unknown[], problems: string[]): PlannedNode[] {
  const role: Role = key === "servers" ? "server" : "agent";
  const nodes: PlannedNode[] = [];
  list.forEach((item, i) => {
    const field = `${key}[${i}]`;
    const entry = parseEntry(field, item, problems);
    if (entry) nodes.push({ ...entry, role, first: role === "server" && nodes.length === 0 && i === 0, field });
  });
  return nodes;
}

function parseEntry(field: string, item: unknown, problems: string[]): NodeEntry | undefined {
  if (!isPlainObject(item)) {
    problems.push(bad(field, item, "is not a map", "write {name, host, hostKey, labels, taints}"));
    return undefined;
  }
  const before = problems.length;
  for (const k of Object.keys(item).filter((k) => !NODE_FIELDS.includes(k))) {
    problems.push(`${SOURCE}: ${field} has unknown field "${k}"; known fields: ${NODE_FIELDS.join(", ")}`);
  }
  const { name, host, hostKey, gone } = item;
  if (name === undefined || name === "") {
    problems.push(missing(`${field}.name`, "give every node a unique name (it becomes the Kubernetes node name)"));
  } else if (typeof name !== "string" || !isNodeName(name)) {
    problems.push(
      bad(
        `${field}.name`,
        name,
        "is not a valid node name",
        "use lowercase letters, digits, '-' and '.' (at most 63, starting and ending with a letter or digit)",
      ),
    );
  }
  if (host === undefined || host === "") {
    problems.push(missing(`${field}.host`, "set the machine's DNS name or IP address"));
  } else if (typeof host === "string" && hasIpv6Zone(host)) {
    problems.push(
      bad(
        `${field}.host`,
        host,
        "is an IPv6 address with a zone (%interface), which cannot be part of K3S_URL or --tls-san",
        "use the machine's global IPv6 address, its IPv4 address or its DNS name",
      ),
    );
  } else if (typeof host !== "string" || !isHost(host)) {
    problems.push(
      bad(`${field}.host`, host, "is not a valid hostname or IP address", "use a DNS name or IPv4/IPv6 address"),
    );
  }
  let key: string | undefined;
  if (hostKey === undefined || hostKey === "") {
    problems.push(missing(`${field}.hostKey`, `pin the machine's SSH host key: ${KEYSCAN}`));
  } else if (typeof hostKey !== "string" || !(key = parseHostKey(hostKey))) {
    problems.push(
      bad(`${field}.hostKey`, hostKey, "is not an SSH public key", `use the "<type> <base64>" line of: ${KEYSCAN}`),
    );
  }
  const unusable = key && unusableHostKey(`${field}.hostKey`, hostKey, KEYSCAN);
  if (unusable) problems.push(unusable);
  if (gone !== undefined && typeof gone !== "boolean") {
    problems.push(bad(`${field}.gone`, gone, "is not a boolean", "use true or false"));
  }
  const labels = parseLabels(field, item.labels, problems);
  const taints = parseTaints(field, item.taints, problems);
  if (problems.length > before) return undefined;
  return { name: name as string, host: host as string, hostKey: key as string, labels, taints, gone: gone === true };
}

/** The problem with a well-formed pin of a key type the SSH connection cannot negotiate, if it is one. */
export function unusableHostKey(field: string, value: unknown, keyscan: string): string | undefined {
  const type = typeof value === "string" ? (parseHostKey(value)?.split(" ")[0] ?? "") : "";
  if (!UNUSABLE_HOST_KEY_TYPES.includes(type)) return undefined;
  return bad(
    field,
    value,
    `is an ${type} host key, which cannot be verified: the SSH connection offers only the pinned key's algorithm, for ${type} that is SHA-1 "ssh-rsa" signatures, and OpenSSH 8.8 and later refuse them ("no common algorithm for host key")`,
    `pin the host's ed25519 (or ecdsa) key instead: ${keyscan}`,
  );
}

function parseLabels(field: string, value: unknown, problems: string[]): string[] {
  if (value === undefined || value === null) return [];
  const pairs: [string, unknown][] = Array.isArray(value)
    ? value.map((v, i) => [`${field}.labels[${i}]`, v])
    : isPlainObject(value)
      ? Object.entries(value).map(([k, v]) => [
          `${field}.labels[${JSON.stringify(k)}]`,
          typeof v === "string" ? `${k}=${v}` : v,
        ])
      : [];
  if (!Array.isArray(value) && !isPlainObject(value)) {
    problems.push(
      bad(`${field}.labels`, value, "is not a map or list", 'write labels as {key: value} or ["key=value"]'),
    );
  }
  const labels: string[] = [];
  for (const [f, label] of pairs) {
    if (typeof label !== "string" || !isLabel(label)) {
      problems.push(
        bad(
          f,
          label,
          "is not a valid node label",
          "use key=value: a Kubernetes label key (optional DNS prefix/, then letters, digits, '-', '_', '.') and a value of at most 63 such characters",
        ),
      );
    } else labels.push(label);
  }
  return labels;
}

function parseTaints(field: string, value: unknown, problems: string[]): string[] {
  if (value === undefined || value === null) return [];
  if (!Array.isArray(value)) {
    problems.push(bad(`${field}.taints`, value, "is not a list", 'write taints as ["key=value:NoSchedule"]'));
    return [];
  }
  const taints: string[] = [];
  value.forEach((taint, i) => {
    if (typeof taint !== "string" || !isTaint(taint)) {
      problems.push(
        bad(
          `${field}.taints[${i}]`,
          taint,
          "is not a valid taint",
          "use key[=value]:NoSchedule, key[=value]:PreferNoSchedule or key[=value]:NoExecute",
        ),
      );
    } else taints.push(taint);
  });
  return taints;
}

/** Rules across the lists: unique names and hosts, a first server that stays, an odd number of etcd members. */
export function checkTopology(
  servers: readonly PlannedNode[],
  agents: readonly PlannedNode[],
  serverCount: number,
): string[] {
  const problems: string[] = [];
  const byName = new Map<string, string>();
  const byHost = new Map<string, string>();
  for (const node of [...servers, ...agents]) {
    const sameName = byName.get(node.name);
    if (sameName)
      problems.push(
        `${SOURCE}: ${node.field}.name "${node.name}" is also used by ${sameName}; node names must be unique`,
      );
    else byName.set(node.name, node.field);
    const host = node.host.toLowerCase().replace(/\.$/, "");
    const sameHost = byHost.get(host);
    if (sameHost)
      problems.push(`${SOURCE}: ${node.field}.host "${node.host}" is also used by ${sameHost}; list each machine once`);
    else byHost.set(host, node.field);
  }
  if (serverCount === 0) return problems;
  const first = servers.find((s) => s.first);
  if (first?.gone) {
    problems.push(
      `${SOURCE}: servers[0].gone is true, but the first server holds the cluster's datastore and cannot be removed; keep it running, or rebuild the cluster`,
    );
  }
  const active = servers.filter((s) => !s.gone).length;
  if (active % 2 === 0 && active > 0) {
    problems.push(
      `${SOURCE}: servers lists ${active} servers that are not gone; K3s with embedded etcd needs an odd number (1, 3, 5, ...) to keep quorum; add a server or remove one`,
    );
  }
  return problems;
}
