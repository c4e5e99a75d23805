// Turning the command line's strings into the driver's typed options. Pure: every parser either returns a value or
// throws BadInputError naming the option, the value, the rule and a fix, so nothing starts on bad input.
import * as fs from "node:fs";
import * as path from "node:path";
import { parse } from "yaml";
import { featureFromBranch, featureFromStack } from "../../environments/feature";
import { BadInputError } from "../exitCodes";
import type { ConfigEntry } from "../stack";

/** Shown escaped (control characters, quotes) and cut, so a hostile value cannot garble the terminal or a log. */
export function shown(value: string): string {
  return JSON.stringify(value.length > 80 ? `${value.slice(0, 80)}...` : value);
}

/**
 * The ticket of a command: the positional ticket, or the one in --branch; exactly one of them. Both go through the
 * environment wing's rules (environments/feature.ts), whose messages name the stack and the rule.
 */
export function resolveTicket(ticket: string | undefined, branch: string | undefined): string {
  if (ticket !== undefined && branch !== undefined) {
    throw new BadInputError(
      `give a ticket or --branch, not both (got ticket ${shown(ticket)} and --branch ${shown(branch)})`,
    );
  }
  try {
    if (branch !== undefined) return featureFromBranch(branch).ticket;
    if (ticket === undefined || ticket === "") {
      throw new Error("a ticket is required: qa-env <command> VERBU-6202, or --branch feature/VERBU-6202-some-text");
    }
    // featureFromStack quotes the value as it is; a terminal-control sequence must not reach the output raw.
    if ([...ticket].some((c) => c < " " || c === "\u007f"))
      throw new Error(`ticket ${shown(ticket)} contains control characters`);
    // featureFromStack also takes org/project/stack and keeps the last segment: "x; rm /tmp/verbu-1" would be
    // verbu-1. A ticket argument is never a path; a branch name goes through --branch.
    if (ticket.includes("/")) {
      throw new Error(
        `ticket ${shown(ticket)} contains '/': give the ticket alone (VERBU-6202), or a branch with --branch`,
      );
    }
    return featureFromStack(ticket).ticket;
  } catch (error) {
    throw new BadInputError((error as Error).message, { ticket });
  }
}

/** `--services a,b` → ["a", "b"]; `--services ""` → [] (nothing built on the branch). Names are checked by the driver. */
export function parseServices(value: string): string[] {
  const names = value
    .split(",")
    .map((s) => s.trim())
    .filter((s) => s !== "");
  const duplicate = names.find((name, i) => names.indexOf(name) !== i);
  if (duplicate)
    throw new BadInputError(`--services lists "${duplicate}" twice; list each service once (e.g. auth,wallet)`);
  return names;
}

export function parseWholeNumber(value: string, option: string, min: number, max: number, example: string): number {
  if (!/^[0-9]+$/.test(value) || Number(value) < min || Number(value) > max) {
    throw new BadInputError(`${option} ${shown(value)} must be a whole number from ${min} to ${max} (e.g. ${example})`);
  }
  return Number(value);
}

const UNIT_SECONDS: Record<string, number> = { s: 1, m: 60, h: 3600, d: 86400 };

/** `90`, `90s`, `10m`, `2h`, `1d` → seconds (a bare number is seconds, as in kubectl's --since without unit: none). */
export function parseDurationSeconds(value: string, option: string): number {
  const match = /^([0-9]{1,7})(s|m|h|d)?$/.exec(value);
  const seconds = match ? Number(match[1]) * UNIT_SECONDS[match[2] ?? "s"] : NaN;
  if (!match || seconds < 1) {
    throw new BadInputError(
      `${option} ${shown(value)} is not a duration: use a whole number with s, m, h or d (e.g. 10m, 90s, 2h)`,
    );
  }
  return seconds;
}

// Keys that hold secrets: a value on the command line would sit in the shell history, `ps` and Bamboo's build log.
const SECRET_KEYS = new Set(["registryPassword", "kubeconfig", "k3s.token", "ssh.privateKey"]);

/** Config keys this project declares in Pulumi.yaml, without the `qa-k8s:` prefix. */
export function declaredConfigKeys(projectDir: string): string[] {
  const project = parse(fs.readFileSync(path.join(projectDir, "Pulumi.yaml"), "utf8")) as { config?: object };
  return Object.keys(project.config ?? {})
    .filter((key) => key.startsWith("qa-k8s:"))
    .map((key) => key.slice("qa-k8s:".length));
}

/** `--config key=value` (repeatable) → stack config entries; only declared, non-secret keys. */
export function parseConfigPairs(pairs: readonly string[], declared: readonly string[]): Record<string, ConfigEntry> {
  const config: Record<string, ConfigEntry> = {};
  for (const pair of pairs) {
    const eq = pair.indexOf("=");
    const key = (eq > 0 ? pair.slice(0, eq) : pair).replace(/^qa-k8s:/, "");
    if (eq <= 0)
      throw new BadInputError(
        `--config ${shown(pair)} is not key=value (e.g. --config registry=nexus.example.test:5000/docker)`,
      );
    if (SECRET_KEYS.has(key)) {
      throw new BadInputError(
        `--config ${key}: a secret never goes on the command line; use --kubeconfig FILE for the kubeconfig, or ` +
          `pulumi config set --secret ${key} --stack <ticket> once`,
      );
    }
    if (!declared.includes(key)) {
      throw new BadInputError(`--config ${shown(key)} is not a key of Pulumi.yaml; known keys: ${declared.join(", ")}`);
    }
    config[key] = { value: pair.slice(eq + 1) };
  }
  return config;
}

/** `--kubeconfig FILE` → the secret config entry `kubeconfig` (the file's text, stored encrypted in the stack). */
export function readKubeconfig(file: string): ConfigEntry {
  try {
    return { value: fs.readFileSync(file, "utf8"), secret: true };
  } catch (error) {
    throw new BadInputError(
      `--kubeconfig ${shown(file)} cannot be read (${(error as NodeJS.ErrnoException).code}); give a readable kubeconfig file`,
    );
  }
}
