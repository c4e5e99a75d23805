// The shape of every message about the cluster stack's configuration, shared by the config reader and each
// sub-config's validator (registries, nodes, identity) so none of them imports another's module for it.

/** Where users edit the cluster's configuration; every message points there. */
export const SOURCE = "Pulumi.qa.yaml";

/** All problems found in the configuration, one per line, so a user fixes everything in one go. */
export class ConfigError extends Error {
  constructor(readonly problems: readonly string[]) {
    super(problems.join("\n"));
    this.name = "ConfigError";
  }
}

/** `Pulumi.qa.yaml: <field> <value> <rule>; <fix>` — the shape of every message about a bad value. */
export function bad(field: string, value: unknown, rule: string, fix: string): string {
  return `${SOURCE}: ${field} ${JSON.stringify(value)} ${rule}; ${fix}`;
}

/** `Pulumi.qa.yaml: <field> is not set; <fix>`. */
export function missing(field: string, fix: string): string {
  return `${SOURCE}: ${field} is not set; ${fix}`;
}

/** A YAML map as the engine hands it over (parsed JSON): an object that is not a list. */
export function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}
