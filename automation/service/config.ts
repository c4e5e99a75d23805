// The QA service's configuration, from environment variables only (the container/systemd way). Every refusal names
// the variable, the value it got, the rule and the fix; secret values (the Jira secret, the database password) are
// never repeated in a message or a log line.
import * as os from "node:os";
import * as path from "node:path";
import { parseConfigPairs } from "../cli/args";
import type { ConfigEntry } from "../stack";

export interface ServiceConfig {
  readonly host: string;
  readonly port: number;
  readonly dataDir: string;
  /** postgres://… when set: jobs live in PostgreSQL (several replicas). */
  readonly databaseUrl?: string;
  readonly tokensFile: string;
  readonly jiraSecret?: string;
  /** Browse URL for ticket links, e.g. https://jira.example.test/browse/ */
  readonly jiraUrl?: string;
  /** Jobs this process runs at once (the driver's own per-ticket queue and limit also apply). */
  readonly maxJobs: number;
  /** Stack config for every deploy/destroy (as the CLI's --config); `{ticket}` in a value becomes the lower-case ticket. */
  readonly stackConfig: Readonly<Record<string, ConfigEntry>>;
}

export class ConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "ConfigError";
  }
}

type Env = Readonly<Record<string, string | undefined>>;

export const DEFAULT_LISTEN = "127.0.0.1:8080";
export const DEFAULT_MAX_JOBS = 4;
export const defaultDataDir = () => path.join(os.homedir(), ".cache", "qa-k8s", "service");

/** `host:port` (IPv6 in brackets) → its parts. */
export function parseListen(value: string): { host: string; port: number } {
  const match = /^(\[[0-9a-fA-F:]+\]|[A-Za-z0-9.-]+):([0-9]{1,5})$/.exec(value);
  const port = match ? Number(match[2]) : NaN;
  if (!match || port < 1 || port > 65535) {
    throw new ConfigError(
      `QA_LISTEN ${JSON.stringify(value)} is not host:port with a port from 1 to 65535; set e.g. QA_LISTEN=127.0.0.1:8080`,
    );
  }
  return { host: match[1].replace(/^\[|\]$/g, ""), port };
}

/** The URL with its password replaced, for logs and messages. */
export function redactUrl(url: string): string {
  return url.replace(/^([a-z][a-z0-9+.-]*:\/\/[^:/@]*):[^@/]*@/i, "$1:***@");
}

export function checkDatabaseUrl(value: string): string {
  if (!/^postgres(ql)?:\/\/[^/]+\/[^/?]+/.test(value)) {
    throw new ConfigError(
      `QA_DATABASE_URL ${JSON.stringify(redactUrl(value))} is not a PostgreSQL URL (postgres://user:password@host:5432/database); ` +
        "set it to one, or unset it for the embedded SQLite store in QA_DATA_DIR",
    );
  }
  return value;
}

export function parseMaxJobs(value: string | undefined): number {
  if (value === undefined || value === "") return DEFAULT_MAX_JOBS;
  if (!/^[0-9]+$/.test(value) || Number(value) < 1 || Number(value) > 64) {
    throw new ConfigError(
      `QA_MAX_JOBS ${JSON.stringify(value)} must be a whole number from 1 to 64; e.g. QA_MAX_JOBS=4`,
    );
  }
  return Number(value);
}

/** `key=value` pairs separated by newlines or ';' (values may contain ','), the CLI's rules for the keys. */
export function parseStackConfig(value: string | undefined, declared: readonly string[]): Record<string, ConfigEntry> {
  if (!value) return {};
  const pairs = value
    .split(/[;\n]/)
    .map((p) => p.trim())
    .filter(Boolean);
  try {
    return parseConfigPairs(pairs, declared);
  } catch (error) {
    throw new ConfigError(`QA_STACK_CONFIG: ${(error as Error).message.replace(/^--config /, "")}`);
  }
}

/** The stack config of one ticket's run: `{ticket}` placeholders filled in. */
export function stackConfigFor(
  config: Readonly<Record<string, ConfigEntry>>,
  ticket: string,
): Record<string, ConfigEntry> | undefined {
  const entries = Object.entries(config);
  if (entries.length === 0) return undefined;
  return Object.fromEntries(
    entries.map(([key, entry]) => [key, { ...entry, value: entry.value.split("{ticket}").join(ticket.toLowerCase()) }]),
  );
}

function optionalUrl(env: Env, name: string): string | undefined {
  const value = env[name];
  if (!value) return undefined;
  if (!/^https?:\/\/[^\s]+$/.test(value)) {
    throw new ConfigError(
      `${name} ${JSON.stringify(value)} is not an http(s) URL; set e.g. ${name}=https://jira.example.test/browse/`,
    );
  }
  return value;
}

export function loadConfig(env: Env, declaredStackKeys: readonly string[]): ServiceConfig {
  const { host, port } = parseListen(env.QA_LISTEN || DEFAULT_LISTEN);
  const tokensFile = env.QA_TOKENS_FILE;
  if (!tokensFile) {
    throw new ConfigError(
      "QA_TOKENS_FILE is not set: the service needs its API tokens file (JSON: [{name, sha256, scopes}]); " +
        "create an entry with `npm run serve -- hash-token <name> <scope>` and set QA_TOKENS_FILE to the file",
    );
  }
  const jiraSecret = env.QA_JIRA_SECRET || undefined;
  if (jiraSecret !== undefined && jiraSecret.length < 16) {
    throw new ConfigError(
      `QA_JIRA_SECRET is ${jiraSecret.length} characters long; it must have at least 16 (use the secret set on ` +
        "Jira's webhook, e.g. from `openssl rand -hex 32`)",
    );
  }
  return {
    host,
    port,
    dataDir: path.resolve(env.QA_DATA_DIR || defaultDataDir()),
    databaseUrl: env.QA_DATABASE_URL ? checkDatabaseUrl(env.QA_DATABASE_URL) : undefined,
    tokensFile: path.resolve(tokensFile),
    jiraSecret,
    jiraUrl: optionalUrl(env, "QA_JIRA_URL"),
    maxJobs: parseMaxJobs(env.QA_MAX_JOBS),
    stackConfig: parseStackConfig(env.QA_STACK_CONFIG, declaredStackKeys),
  };
}

/** What the service logs at start: no secrets (the Jira secret only as set/unset, the database URL redacted). */
export function describeConfig(config: ServiceConfig): Record<string, unknown> {
  return {
    listen: `${config.host}:${config.port}`,
    store: config.databaseUrl ? `postgres ${redactUrl(config.databaseUrl)}` : `sqlite ${config.dataDir}`,
    tokensFile: config.tokensFile,
    jiraWebhook: config.jiraSecret ? "enabled" : "disabled (QA_JIRA_SECRET unset)",
    jiraUrl: config.jiraUrl,
    maxJobs: config.maxJobs,
    stackConfig: Object.keys(config.stackConfig),
  };
}
