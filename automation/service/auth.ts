// Who is calling: bearer tokens from QA_TOKENS_FILE (stored as SHA-256 hex, compared in constant time) with scopes
// read ⊂ deploy ⊂ admin, and the Jira webhook's HMAC signature. A token is hashed the moment it arrives and never
// kept, logged or echoed.
import * as crypto from "node:crypto";
import * as fs from "node:fs";
import type { Caller, Scope } from "./contracts";
import { ConfigError } from "./config";

export const SCOPES: readonly Scope[] = ["read", "deploy", "admin"];

export interface TokenEntry {
  readonly name: string;
  readonly sha256: string;
  readonly scopes: readonly Scope[];
}

export const hashToken = (token: string): string => crypto.createHash("sha256").update(token, "utf8").digest("hex");

/** The tokens file's entries, checked: each refusal names the entry, the field, the rule and the fix. */
export function parseTokens(text: string, file: string): TokenEntry[] {
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (error) {
    throw new ConfigError(
      `QA_TOKENS_FILE ${file} is not JSON (${(error as Error).message}); it must be an array of {name, sha256, scopes}`,
    );
  }
  if (!Array.isArray(data))
    throw new ConfigError(`QA_TOKENS_FILE ${file} must hold a JSON array of {name, sha256, scopes}`);
  const names = new Set<string>();
  return data.map((raw, i): TokenEntry => {
    const at = `QA_TOKENS_FILE ${file} entry ${i}`;
    const entry = (raw ?? {}) as Record<string, unknown>;
    if (typeof entry.name !== "string" || !/^[A-Za-z0-9._@-]{1,64}$/.test(entry.name))
      throw new ConfigError(`${at}: name must be 1-64 letters, digits or . _ @ - (e.g. "bamboo")`);
    if (names.has(entry.name))
      throw new ConfigError(`${at}: name "${entry.name}" is used twice; give each token its own name`);
    names.add(entry.name);
    if (typeof entry.sha256 !== "string" || !/^[0-9a-f]{64}$/.test(entry.sha256))
      throw new ConfigError(
        `${at} ("${entry.name}"): sha256 must be 64 lower-case hex digits, the token's SHA-256 (never the token itself); ` +
          "make one with `npm run serve -- hash-token <name> <scope>`",
      );
    const scopes = entry.scopes;
    if (!Array.isArray(scopes) || scopes.length === 0 || !scopes.every((s) => SCOPES.includes(s as Scope)))
      throw new ConfigError(`${at} ("${entry.name}"): scopes must be a non-empty list of ${SCOPES.join(", ")}`);
    return { name: entry.name, sha256: entry.sha256, scopes: scopes as Scope[] };
  });
}

export function loadTokens(file: string): TokenEntry[] {
  let text: string;
  try {
    text = fs.readFileSync(file, "utf8");
  } catch (error) {
    throw new ConfigError(
      `QA_TOKENS_FILE ${file} cannot be read (${(error as NodeJS.ErrnoException).code}); create it with ` +
        "`npm run serve -- hash-token <name> <scope>` and point QA_TOKENS_FILE at it",
    );
  }
  return parseTokens(text, file);
}

/** `Bearer <token>` or the bare token (the status page's cookie) → the token; undefined when there is none. */
export function tokenOf(value: string | undefined): string | undefined {
  if (!value) return undefined;
  const match = /^Bearer\s+(\S+)\s*$/i.exec(value);
  if (match) return match[1];
  return /^\S+$/.test(value) && !/^Bearer$/i.test(value) ? value : undefined;
}

/** The caller a header (or raw token) belongs to; every entry is compared, in constant time, so timing tells nothing. */
export function authenticate(tokens: readonly TokenEntry[], headerOrToken: string | undefined): Caller | undefined {
  const token = tokenOf(headerOrToken);
  if (token === undefined) return undefined;
  const digest = Buffer.from(hashToken(token), "hex");
  let found: TokenEntry | undefined;
  for (const entry of tokens) {
    if (crypto.timingSafeEqual(digest, Buffer.from(entry.sha256, "hex")) && !found) found = entry;
  }
  return found && { name: found.name, scopes: effectiveScopes(found.scopes) };
}

/** read ⊂ deploy ⊂ admin: a scope brings every lower one. */
export function effectiveScopes(scopes: readonly Scope[]): Scope[] {
  const top = Math.max(...scopes.map((s) => SCOPES.indexOf(s)));
  return SCOPES.slice(0, top + 1);
}

export const hasScope = (caller: Caller, needed: Scope): boolean => effectiveScopes(caller.scopes).includes(needed);

/** A new random token and its tokens-file entry (the token is shown once, only its hash is stored). */
export function newToken(name: string, scope: Scope): { token: string; entry: TokenEntry } {
  const token = `qa_${crypto.randomBytes(32).toString("base64url")}`;
  return { token, entry: { name, sha256: hashToken(token), scopes: [scope] } };
}

/** Jira Cloud's webhook signature: `X-Hub-Signature: sha256=<hex HMAC-SHA256 of the raw body>`. */
export function jiraSignatureValid(secret: string, rawBody: Buffer | string, header: string | undefined): boolean {
  const match = /^sha256=([0-9a-fA-F]{64})$/.exec(header ?? "");
  if (!match) return false;
  const expected = crypto.createHmac("sha256", secret).update(rawBody).digest();
  return crypto.timingSafeEqual(expected, Buffer.from(match[1], "hex"));
}
