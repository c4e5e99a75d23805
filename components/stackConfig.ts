// How the engine delivers this project's config, for the two entry files (cluster/index.ts, environments/index.ts).
// Components themselves never read config; this lives here because both wings need it and neither may import the
// other.

export function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/**
 * Where a dotted key like `k3s.version` lives: the flat key `k3s.version` (a plain `pulumi config set k3s.version ...`,
 * as Pulumi.qa.yaml writes it) or field `version` of object `k3s` (`pulumi config set --path k3s.version ...`; the
 * engine also puts Pulumi.yaml's defaults there). The flat key wins: it exists only when someone set it. `key` is the
 * config key that holds the value (to ask whether it is secret); `value` is a string, or JSON for a non-string field.
 */
export function locateKey(
  get: (key: string) => string | undefined,
  key: string,
): { key: string; value: string | undefined } {
  const flat = get(key);
  const dot = key.indexOf(".");
  if (flat !== undefined || dot < 0) return { key, value: flat };
  const parentKey = key.slice(0, dot);
  const parent = get(parentKey);
  if (parent === undefined) return { key, value: undefined };
  let field: unknown;
  try {
    const object: unknown = JSON.parse(parent);
    field = isPlainObject(object) ? object[key.slice(dot + 1)] : undefined;
  } catch {
    field = undefined;
  }
  if (field === undefined || field === null) return { key, value: undefined };
  return { key: parentKey, value: typeof field === "string" ? field : JSON.stringify(field) };
}

/**
 * Whether a full config key (`qa-k8s:registryPassword`) is stored encrypted. The SDK's runtime has this without
 * typing it; where it is missing, every key counts as secret (nothing is refused wrongly).
 */
export function isConfigSecret(fullKey: string, runtime: unknown): boolean {
  const lookup = (runtime as { isConfigSecret?: (key: string) => boolean }).isConfigSecret;
  return lookup ? lookup(fullKey) : true;
}
