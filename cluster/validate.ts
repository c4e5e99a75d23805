// Every rule of the cluster configuration, checked before any resource exists. Messages name the field, the value
// (never a secret's), the rule and the fix; all problems are reported together.
import { Bastion, ClusterSettings, DEFAULTS, RawConfig } from "./config";
import { binDirProblem, dataDirProblem } from "./hostPaths";
import { checkInstallSource } from "./installSource";
import { bad, ConfigError, isPlainObject, missing, SOURCE } from "./messages";
import { checkTopology, parseNodeList, unusableHostKey } from "./nodes";
import { Registries, validateRegistries } from "./registries";
import * as rules from "./rules";

/**
 * Reads and checks the cluster configuration. `raw` returns a key's string exactly as Pulumi passes it (plaintext even
 * for secrets — only inspected here, never returned); `isSecret` tells whether the key is stored encrypted.
 */
export function validateClusterConfig(
  raw: (key: string) => string | undefined,
  isSecret: (key: string) => boolean,
): ClusterSettings {
  const cfg = new RawConfig(raw);
  const problems = cfg.problems;

  const version = cfg.string("k3s.version", DEFAULTS["k3s.version"]);
  if (!rules.isK3sVersion(version))
    problems.push(bad("k3s.version", version, "is not a K3s release tag", "use the full tag, e.g. v1.33.5+k3s1"));

  problems.push(
    ...checkSecret(
      "k3s.token",
      raw,
      isSecret,
      `generate one: pulumi config set --secret k3s.token "$(openssl rand -hex 32)"`,
      "pulumi config set --secret k3s.token <value>",
    ),
  );
  const token = raw("k3s.token");
  if (token && token.length < rules.MIN_TOKEN_LENGTH) {
    problems.push(
      `${SOURCE}: k3s.token (secret, not shown) has ${token.length} characters, fewer than ${rules.MIN_TOKEN_LENGTH}; generate a longer one: openssl rand -hex 32`,
    );
  } else if (token && !rules.isTokenAlphabet(token)) {
    problems.push(
      `${SOURCE}: k3s.token (secret, not shown) contains characters other than letters, digits and . _ ~ : + / = @ % -; generate one with openssl rand -hex 32`,
    );
  }

  const dataDir = cfg.string("k3s.dataDir", DEFAULTS["k3s.dataDir"]);
  const binDir = cfg.string("k3s.binDir", DEFAULTS["k3s.binDir"]);
  for (const problem of [dataDirProblem(dataDir), binDirProblem(binDir)]) if (problem) problems.push(problem);
  const kubeconfigMode = cfg.string("k3s.kubeconfigMode", DEFAULTS["k3s.kubeconfigMode"]);
  if (!rules.isFileMode(kubeconfigMode))
    problems.push(bad("k3s.kubeconfigMode", kubeconfigMode, "is not an octal file mode", "use e.g. 600 or 644"));

  const extraServerArgs = flags(cfg, "k3s.extraServerArgs");
  const extraAgentArgs = flags(cfg, "k3s.extraAgentArgs");

  const airgap = cfg.boolean("k3s.airgap", DEFAULTS["k3s.airgap"]);
  const source = checkInstallSource(cfg, DEFAULTS["k3s.installScriptUrl"], airgap);
  const docker = cfg.boolean("k3s.docker", DEFAULTS["k3s.docker"]);

  // An empty map (the declared default) means no registries.yaml is managed.
  const registriesJson = cfg.json("k3s.registries", "map");
  const registriesRaw =
    isPlainObject(registriesJson) && Object.keys(registriesJson).length > 0 ? registriesJson : undefined;
  if (registriesRaw) problems.push(...validateRegistries(registriesRaw, isSecret("k3s.registries")));
  if (registriesRaw && docker)
    problems.push(
      `${SOURCE}: k3s.registries is set but k3s.docker is true; K3s writes registries.yaml into its containerd configuration, which Docker does not read, so the mirrors and credentials would be silently ignored; configure the registries in Docker (/etc/docker/daemon.json, docker login) and remove k3s.registries, or set k3s.docker false`,
    );

  const user = cfg.string("ssh.user", DEFAULTS["ssh.user"]);
  if (!rules.isUnixUser(user))
    problems.push(
      bad("ssh.user", user, "is not a valid user name", "use lowercase letters, digits, '_', '.' and '-', e.g. root"),
    );
  const keyFromFile = "pulumi config set --secret ssh.privateKey < ~/.ssh/id_ed25519";
  problems.push(...checkSecret("ssh.privateKey", raw, isSecret, keyFromFile, keyFromFile));
  const privateKey = raw("ssh.privateKey");
  if (privateKey && !rules.looksLikePrivateKey(privateKey)) {
    problems.push(
      `${SOURCE}: ssh.privateKey (secret, not shown) is not a PEM/OpenSSH private key; set it from the key file: pulumi config set --secret ssh.privateKey < ~/.ssh/id_ed25519`,
    );
  }
  const bastion = parseBastion(cfg.json("ssh.bastion", "map"), problems);

  let servers: ReturnType<typeof parseNodeList> = [];
  let serverCount = 0;
  const serverList = cfg.json("servers", "list");
  if (!cfg.has("servers")) {
    problems.push(
      missing(
        "servers",
        'list the K3s servers, e.g. [{name: k3s-server-1, host: 10.0.0.10, hostKey: "ssh-ed25519 AAAA..."}]',
      ),
    );
  } else if (Array.isArray(serverList)) {
    if (serverList.length === 0)
      problems.push(`${SOURCE}: servers is empty; list at least one server as {name, host, hostKey}`);
    servers = parseNodeList("servers", serverList, problems);
    serverCount = serverList.length;
  }
  const agentList = cfg.json("agents", "list");
  const agents = Array.isArray(agentList) ? parseNodeList("agents", agentList, problems) : [];
  problems.push(...checkTopology(servers, agents, serverCount));

  const rancher = parseRancher(cfg, raw, isSecret);

  const settings: ClusterSettings = {
    k3s: {
      version,
      dataDir,
      docker,
      kubeconfigMode,
      extraServerArgs,
      extraAgentArgs,
      ...source,
      binDir,
      airgap,
      registries: registriesRaw as Registries | undefined,
      drainTimeoutSeconds: cfg.integer("k3s.drainTimeoutSeconds", DEFAULTS["k3s.drainTimeoutSeconds"], 10, 86400),
      upgradeBatchSize: cfg.integer("k3s.upgradeBatchSize", DEFAULTS["k3s.upgradeBatchSize"], 1, 100),
    },
    ssh: {
      user,
      port: cfg.integer("ssh.port", DEFAULTS["ssh.port"], 1, 65535),
      bastion,
      dialErrorLimit: cfg.integer("ssh.dialErrorLimit", DEFAULTS["ssh.dialErrorLimit"], 1, 100),
      perDialTimeoutSeconds: cfg.integer("ssh.perDialTimeoutSeconds", DEFAULTS["ssh.perDialTimeoutSeconds"], 1, 600),
    },
    servers,
    agents,
    rancher,
  };
  if (problems.length > 0) throw new ConfigError(problems);
  return settings;
}

/** A required secret: set, and stored encrypted (Pulumi.yaml declares it `secret: true`; this also covers mocks). */
function checkSecret(
  key: string,
  raw: (key: string) => string | undefined,
  isSecret: (key: string) => boolean,
  howToSet: string,
  setEncrypted: string,
): string[] {
  const value = raw(key);
  if (value === undefined || value === "") return [missing(key, howToSet)];
  if (!isSecret(key)) return [`${SOURCE}: ${key} is stored in plain text; set it again encrypted: ${setEncrypted}`];
  return [];
}

function flags(cfg: RawConfig, key: "k3s.extraServerArgs" | "k3s.extraAgentArgs"): string[] {
  const list = cfg.json(key, "list");
  if (!Array.isArray(list)) return [];
  const ok: string[] = [];
  list.forEach((flag, i) => {
    const field = `${key}[${i}]`;
    if (typeof flag !== "string" || !rules.isFlag(flag)) {
      cfg.problems.push(
        bad(
          field,
          flag,
          "is not a single --flag or --flag=value of letters, digits and = , : . _ / @ + % -",
          "write one flag per list item, e.g. --disable=traefik",
        ),
      );
    } else if (rules.RENAMING_FLAGS.includes(rules.flagName(flag))) {
      cfg.problems.push(
        bad(
          field,
          flag,
          "renames the node, but the program finds each node by its configured name (labels, drain, removal)",
          "remove it and set the name in servers[].name / agents[].name",
        ),
      );
    } else if (rules.MANAGED_FLAGS[rules.flagName(flag)]) {
      cfg.problems.push(
        bad(
          field,
          flag,
          "sets a flag this program manages",
          `use ${rules.MANAGED_FLAGS[rules.flagName(flag)]} instead`,
        ),
      );
    } else ok.push(flag);
  });
  return ok;
}

function parseBastion(value: unknown, problems: string[]): Bastion | undefined {
  if (!isPlainObject(value) || Object.keys(value).length === 0) return undefined;
  const known = ["host", "port", "user", "hostKey"];
  for (const k of Object.keys(value).filter((k) => !known.includes(k))) {
    problems.push(`${SOURCE}: ssh.bastion has unknown field "${k}"; known fields: ${known.join(", ")}`);
  }
  const { host, port = 22, user = "root", hostKey } = value;
  if (typeof host !== "string" || !rules.isHost(host)) {
    problems.push(
      bad(
        "ssh.bastion.host",
        host ?? null,
        "is not a valid hostname or IP address",
        "use a DNS name or IPv4/IPv6 address",
      ),
    );
  }
  if (typeof port !== "number" || !Number.isInteger(port) || port < 1 || port > 65535) {
    problems.push(bad("ssh.bastion.port", port, "is not a port number", "use 1-65535"));
  }
  if (typeof user !== "string" || !rules.isUnixUser(user)) {
    problems.push(
      bad("ssh.bastion.user", user, "is not a valid user name", "use lowercase letters, digits, '_', '.' and '-'"),
    );
  }
  const key = typeof hostKey === "string" ? rules.parseHostKey(hostKey) : undefined;
  if (hostKey === undefined)
    problems.push(
      missing(
        "ssh.bastion.hostKey",
        "pin the bastion's SSH host key: ssh-keyscan -t ed25519 <bastion> | cut -d' ' -f2-",
      ),
    );
  else if (!key)
    problems.push(
      bad(
        "ssh.bastion.hostKey",
        hostKey,
        "is not an SSH public key",
        "use the \"<type> <base64>\" line of: ssh-keyscan -t ed25519 <bastion> | cut -d' ' -f2-",
      ),
    );
  const unusable =
    key && unusableHostKey("ssh.bastion.hostKey", hostKey, "ssh-keyscan -t ed25519 <bastion> | cut -d' ' -f2-");
  if (unusable) problems.push(unusable);
  return { host: host as string, port: port as number, user: user as string, hostKey: key ?? "" };
}

function parseRancher(
  cfg: RawConfig,
  raw: (key: string) => string | undefined,
  isSecret: (key: string) => boolean,
): ClusterSettings["rancher"] {
  const apiUrl = cfg.string("rancher.apiUrl");
  const hasToken = !!raw("rancher.token");
  if (!apiUrl) {
    if (hasToken)
      cfg.problems.push(
        `${SOURCE}: rancher.token is set but rancher.apiUrl is not; set rancher.apiUrl to register the cluster in Rancher, or remove rancher.token`,
      );
    return undefined;
  }
  if (!rules.isHttpsUrl(apiUrl))
    cfg.problems.push(
      bad(
        "rancher.apiUrl",
        apiUrl,
        "is not an http(s):// URL",
        "use the Rancher server URL, e.g. https://rancher.example.test",
      ),
    );
  cfg.problems.push(
    ...checkSecret(
      "rancher.token",
      raw,
      isSecret,
      "create an API key in Rancher, then: pulumi config set --secret rancher.token <token>",
      "pulumi config set --secret rancher.token <token>",
    ),
  );
  const clusterName = cfg.string("rancher.clusterName", DEFAULTS["rancher.clusterName"]);
  if (!rules.isDnsLabel(clusterName))
    cfg.problems.push(
      bad(
        "rancher.clusterName",
        clusterName,
        "is not a valid Rancher cluster name",
        "use lowercase letters, digits and '-' (at most 63)",
      ),
    );
  return { apiUrl, clusterName, insecure: cfg.boolean("rancher.insecure", DEFAULTS["rancher.insecure"]) };
}
