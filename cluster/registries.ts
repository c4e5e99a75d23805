// `k3s.registries`: the content of /etc/rancher/k3s/registries.yaml (mirrors such as the Nexus proxy, and per-registry
// auth/TLS). Checked here field by field; rendered to YAML that travels to the hosts inside the secret stdin payload.
import * as YAML from "yaml";
import { bad, isPlainObject, SOURCE } from "./messages";

export interface Registries {
  readonly mirrors?: Record<string, { readonly endpoint: string[]; readonly rewrite?: Record<string, string> }>;
  readonly configs?: Record<
    string,
    {
      readonly auth?: Partial<Record<(typeof AUTH_FIELDS)[number], string>>;
      readonly tls?: Partial<Record<"cert_file" | "key_file" | "ca_file", string>> & { insecure_skip_verify?: boolean };
    }
  >;
}

const KEY = "k3s.registries";
const AUTH_FIELDS = ["username", "password", "auth", "identity_token"] as const;
const CREDENTIALS = new Set(["password", "auth", "identity_token"]);
const TLS_FILES = ["cert_file", "key_file", "ca_file"] as const;

function unknownFields(field: string, value: Record<string, unknown>, known: readonly string[]): string[] {
  return Object.keys(value)
    .filter((k) => !known.includes(k))
    .map((k) => `${SOURCE}: ${field} has unknown field "${k}"; known fields: ${known.join(", ")}`);
}

const at = (parent: string, key: string) => `${parent}[${JSON.stringify(key)}]`;

/**
 * Checks the registries map. `secret` tells whether the key is stored encrypted: credentials in plain text would sit in
 * Pulumi.qa.yaml (and git) readable by anyone, so they are refused.
 */
export function validateRegistries(value: Record<string, unknown>, secret: boolean): string[] {
  const problems = unknownFields(KEY, value, ["mirrors", "configs"]);
  const { mirrors, configs } = value;
  if (mirrors !== undefined) {
    if (!isPlainObject(mirrors))
      problems.push(bad(`${KEY}.mirrors`, mirrors, "is not a map", "map a registry name to {endpoint: [URL, ...]}"));
    else
      for (const [name, mirror] of Object.entries(mirrors))
        problems.push(...checkMirror(at(`${KEY}.mirrors`, name), mirror));
  }
  if (configs !== undefined) {
    if (!isPlainObject(configs))
      problems.push(bad(`${KEY}.configs`, configs, "is not a map", "map a registry host to {auth, tls}"));
    else
      for (const [host, cfg] of Object.entries(configs))
        problems.push(...checkConfig(at(`${KEY}.configs`, host), cfg, secret));
  }
  return problems;
}

function checkMirror(field: string, mirror: unknown): string[] {
  if (!isPlainObject(mirror)) return [bad(field, mirror, "is not a map", "write {endpoint: [URL, ...]}")];
  const problems = unknownFields(field, mirror, ["endpoint", "rewrite"]);
  const { endpoint, rewrite } = mirror;
  if (!Array.isArray(endpoint) || endpoint.length === 0) {
    problems.push(
      bad(`${field}.endpoint`, endpoint ?? null, "is not a list of URLs", "list at least one http(s):// URL"),
    );
  } else {
    endpoint.forEach((url, i) => {
      if (typeof url !== "string" || !/^https?:\/\/[^\s'"`\\]+$/.test(url)) {
        problems.push(
          bad(`${field}.endpoint[${i}]`, url, "is not an http(s) URL", "use e.g. https://nexus.example.test:5000"),
        );
      }
    });
  }
  if (rewrite !== undefined && (!isPlainObject(rewrite) || Object.values(rewrite).some((v) => typeof v !== "string"))) {
    problems.push(
      bad(
        `${field}.rewrite`,
        rewrite,
        "is not a map of strings",
        'map a regular expression to a replacement, e.g. "^library/(.*)": "docker/$1"',
      ),
    );
  }
  return problems;
}

function checkConfig(field: string, cfg: unknown, secret: boolean): string[] {
  if (!isPlainObject(cfg)) return [bad(field, cfg, "is not a map", "write {auth: {...}, tls: {...}}")];
  const problems = unknownFields(field, cfg, ["auth", "tls"]);
  const { auth, tls } = cfg;
  if (auth !== undefined) {
    if (!isPlainObject(auth))
      problems.push(bad(`${field}.auth`, "(hidden)", "is not a map", `use fields ${AUTH_FIELDS.join(", ")}`));
    else {
      problems.push(...unknownFields(`${field}.auth`, auth, AUTH_FIELDS));
      for (const [k, v] of Object.entries(auth)) {
        if (typeof v !== "string") problems.push(`${SOURCE}: ${field}.auth.${k} is not a string; quote the value`);
        else if (CREDENTIALS.has(k) && !secret) {
          problems.push(
            `${SOURCE}: ${field}.auth.${k} is stored in plain text; encrypt it: ` +
              `pulumi config set --secret --path '${field}.auth.${k}' <value>`,
          );
        }
      }
    }
  }
  if (tls !== undefined) {
    if (!isPlainObject(tls))
      problems.push(
        bad(`${field}.tls`, tls, "is not a map", "use fields cert_file, key_file, ca_file, insecure_skip_verify"),
      );
    else {
      problems.push(...unknownFields(`${field}.tls`, tls, [...TLS_FILES, "insecure_skip_verify"]));
      for (const k of TLS_FILES) {
        const v = tls[k];
        if (v !== undefined && (typeof v !== "string" || !/^\/[A-Za-z0-9._/-]*$/.test(v))) {
          problems.push(
            bad(`${field}.tls.${k}`, v, "is not an absolute file path on the hosts", "use e.g. /etc/ssl/nexus-ca.pem"),
          );
        }
      }
      if (tls.insecure_skip_verify !== undefined && typeof tls.insecure_skip_verify !== "boolean") {
        problems.push(
          bad(`${field}.tls.insecure_skip_verify`, tls.insecure_skip_verify, "is not a boolean", "use true or false"),
        );
      }
    }
  }
  return problems;
}

/** registries.yaml as K3s reads it. */
export function renderRegistries(registries: Registries): string {
  return YAML.stringify(registries, { sortMapEntries: true });
}
