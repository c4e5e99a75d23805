// Entry: the stack name picks the wing. Stack `qa` is the cluster itself; every other stack is a feature environment
// named after its ticket. Each wing is loaded only when its stack runs, so one wing's dependencies never slow the other.
import * as pulumi from "@pulumi/pulumi";

const CLUSTER_STACK = "qa";
const PROJECT = "qa-k8s";

export = async () => {
  flattenDottedConfig();
  return pulumi.getStack() === CLUSTER_STACK
    ? (await import("./cluster")).default()
    : (await import("./environments")).default();
};

/**
 * A dotted key like `k3s.version` reaches the program in one of two shapes: the flat key `qa-k8s:k3s.version` (a plain
 * `pulumi config set k3s.version ...`, as Pulumi.qa.yaml writes it), or field `version` of the object `qa-k8s:k3s`
 * (`pulumi config set --path k3s.version ...`; the engine also delivers Pulumi.yaml's defaults that way). Done once
 * here, so both wings read flat keys only: each field of such an object becomes its flat key (a string, or JSON for a
 * non-string field), secret when the object is. A flat key already set wins: it exists only when someone set it.
 */
function flattenDottedConfig(): void {
  const runtime = pulumi.runtime as unknown as { isConfigSecret?: (key: string) => boolean };
  // Where the SDK lacks the lookup, every key counts as secret: nothing is refused wrongly, nothing leaks.
  const isSecret = (key: string) => runtime.isConfigSecret?.(key) ?? true;
  const config = pulumi.runtime.allConfig();
  const secretKeys = Object.keys(config).filter(isSecret);
  for (const [key, value] of Object.entries(config)) {
    if (!key.startsWith(`${PROJECT}:`)) continue;
    for (const [field, fieldValue] of Object.entries(objectFields(value))) {
      const flatKey = `${key}.${field}`;
      if (flatKey in config || fieldValue === null || fieldValue === undefined) continue;
      config[flatKey] = typeof fieldValue === "string" ? fieldValue : JSON.stringify(fieldValue);
      if (secretKeys.includes(key)) secretKeys.push(flatKey);
    }
  }
  pulumi.runtime.setAllConfig(config, secretKeys);
}

function objectFields(json: string): Record<string, unknown> {
  try {
    const value: unknown = JSON.parse(json);
    return typeof value === "object" && value !== null && !Array.isArray(value)
      ? (value as Record<string, unknown>)
      : {};
  } catch {
    return {};
  }
}
