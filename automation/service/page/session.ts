// Sign-in state without server-side sessions: the cookie holds the API token itself (HttpOnly, so page scripts never
// see it; SameSite=Strict, so other sites' requests do not carry it), and every request authenticates it again, so a
// token removed from QA_TOKENS_FILE stops working at once and any replica accepts any session. The CSRF token is an
// HMAC keyed by the session token: only someone holding the cookie can compute it, it is the same on every replica,
// and it reveals nothing about the token (which is never written into a page).
import { createHmac, timingSafeEqual } from "node:crypto";

export const SESSION_COOKIE = "qa_session";
/** Form field and header that carry the CSRF token. */
export const CSRF_FIELD = "csrf";
export const CSRF_HEADER = "x-csrf-token";

/** `a=1; b=2` → { a: "1", b: "2" }; the first of repeated names wins; malformed pairs are skipped. */
export function parseCookies(header: string | undefined): Record<string, string> {
  const cookies: Record<string, string> = {};
  for (const part of (header ?? "").split(";")) {
    const eq = part.indexOf("=");
    if (eq <= 0) continue;
    const name = part.slice(0, eq).trim();
    if (name in cookies) continue;
    try {
      cookies[name] = decodeURIComponent(part.slice(eq + 1).trim());
    } catch {
      // Not percent-encoded properly: not a cookie we set.
    }
  }
  return cookies;
}

/** Set-Cookie for a signed-in session; Secure when the page is served over https. */
export function sessionCookie(token: string, secure: boolean): string {
  return [
    `${SESSION_COOKIE}=${encodeURIComponent(token)}`,
    "HttpOnly",
    "SameSite=Strict",
    "Path=/",
    ...(secure ? ["Secure"] : []),
  ].join("; ");
}

export function clearedSessionCookie(secure: boolean): string {
  return [
    `${SESSION_COOKIE}=`,
    "HttpOnly",
    "SameSite=Strict",
    "Path=/",
    "Max-Age=0",
    ...(secure ? ["Secure"] : []),
  ].join("; ");
}

export function csrfToken(sessionToken: string): string {
  return createHmac("sha256", sessionToken).update("qa-k8s status page csrf v1").digest("base64url");
}

export function csrfMatches(sessionToken: string, presented: string | undefined): boolean {
  if (!presented) return false;
  const expected = Buffer.from(csrfToken(sessionToken));
  const given = Buffer.from(presented);
  return given.length === expected.length && timingSafeEqual(given, expected);
}

export interface RequestOrigin {
  readonly host?: string;
  readonly origin?: string;
  readonly secFetchSite?: string;
}

/**
 * Why a state-changing request looks cross-site, else undefined. Browsers send Sec-Fetch-Site and Origin on POSTs;
 * clients that send neither (curl, tests) still need the CSRF token.
 */
export function crossSiteProblem(request: RequestOrigin): string | undefined {
  const site = request.secFetchSite;
  if (site && site !== "same-origin" && site !== "none") return `Sec-Fetch-Site is "${site}", not same-origin`;
  if (request.origin !== undefined) {
    let originHost: string;
    try {
      originHost = new URL(request.origin).host;
    } catch {
      return `Origin "${request.origin}" is not a URL`;
    }
    // Through URL both sides drop a default port (http://h:80 is http://h), as browsers do in Origin.
    let host: string | undefined;
    try {
      host = request.host ? new URL(`${new URL(request.origin).protocol}//${request.host}`).host : undefined;
    } catch {
      host = undefined;
    }
    if (!host || originHost !== host) {
      return `Origin ${request.origin} is not this page's host (${request.host ?? "no Host header"})`;
    }
  }
  return undefined;
}
