// Keeps a PostgreSQL password out of every message: the job store's errors, the service's log and job output, and
// the driver's errors (Pulumi's postgres:// backend quotes the whole connection string when it cannot open it:
// "unable to open bucket postgres://user:password@host/db: ...").

const URL_PASSWORD = /\b(postgres(?:ql)?:\/\/[^:/?#@\s]*):[^@\s]*@/gi;

/**
 * Removes a PostgreSQL password from a text: any `postgres://user:pass@` form, and the given URL's password wherever
 * it appears on its own (raw or percent-encoded), as a driver or the engine might quote it.
 */
export function redact(text: string, url?: string): string {
  let out = text.replace(URL_PASSWORD, "$1:[redacted]@");
  const password = url ? passwordOf(url) : undefined;
  if (password) {
    for (const form of new Set([password, encodeURIComponent(password)])) out = out.split(form).join("[redacted]");
  }
  return out;
}

function passwordOf(url: string): string | undefined {
  try {
    const password = decodeURIComponent(new URL(url).password);
    // A one- or two-character password would redact ordinary text everywhere; the URL form above still catches it.
    return password.length >= 3 ? password : undefined;
  } catch {
    return undefined;
  }
}
