// Catalog values may refer to the environment they are deployed into (`${fqdn}`, `${feature}`, ...). Expansion is
// strict: an unknown placeholder is a catalog error found at validation time, never a literal `${...}` in a pod.

const PLACEHOLDER = /\$\{([^}]*)\}/g;

/** Placeholders allowed in service `env` values. */
export const ENV_PLACEHOLDERS = ["feature", "ticket", "fqdn", "domain", "namespace"] as const;
export type EnvPlaceholder = (typeof ENV_PLACEHOLDERS)[number];

/** Placeholder names used in `text`, in order of appearance. */
export function placeholdersIn(text: string): string[] {
  return [...text.matchAll(PLACEHOLDER)].map((match) => match[1]);
}

/** Replaces every `${name}` from `values`; throws on a name that has no value. */
export function expandPlaceholders(text: string, values: Readonly<Record<string, string>>): string {
  return text.replace(PLACEHOLDER, (whole, name: string) => {
    if (!Object.prototype.hasOwnProperty.call(values, name)) {
      throw new Error(`unknown placeholder ${whole} in "${text}"; known: ${Object.keys(values).join(", ")}`);
    }
    return values[name];
  });
}
