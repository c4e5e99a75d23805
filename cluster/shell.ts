// POSIX shell quoting. Every value that reaches a remote command goes through here, even after validation: validation
// gives users a clear error, quoting makes a value that slipped through inert.

/** Thrown for values no quoting can carry (a NUL byte ends a C string on the remote side). */
export class UnquotableError extends Error {}

/**
 * Quotes one word for a POSIX shell: single quotes, with each embedded `'` written as `'\''`. Inside single quotes
 * nothing is special — not `$`, backticks, `;`, `\` or newlines — so the shell passes the value through unchanged.
 */
export function shQuote(value: string): string {
  if (value.includes("\0")) throw new UnquotableError("a shell word cannot contain a NUL byte");
  return `'${value.replace(/'/g, `'\\''`)}'`;
}

/** Quotes each word and joins them with spaces: a command line whose words arrive exactly as given. */
export function shWords(words: readonly string[]): string {
  return words.map(shQuote).join(" ");
}

/** `export NAME='value'`; the name itself must be a plain identifier. */
export function shExport(name: string, value: string): string {
  if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(name)) throw new UnquotableError(`"${name}" is not a shell variable name`);
  return `export ${name}=${shQuote(value)}`;
}

/**
 * Runs a multi-line POSIX script through `sh -c`, optionally under `sudo -n` (non-interactive: fail instead of hanging
 * on a password prompt). The whole script is one single-quoted word, so the login shell on the host parses nothing in
 * it; `$0` is set to a readable label for `ps` and error messages.
 */
export function shInvoke(script: string, label: string, sudo: boolean): string {
  const sh = `sh -c ${shQuote(script)} ${shQuote(label)}`;
  return sudo ? `sudo -n ${sh}` : sh;
}
