import { expect } from "chai";
import { describeValidation } from "../../../automation/service/page/schemas";
import * as session from "../../../automation/service/page/session";

describe("status page sessions and CSRF", () => {
  it("parses cookies: trims, keeps the first of repeated names, skips malformed ones", () => {
    expect(session.parseCookies("a=1; qa_session=t%3Dk ; a=2; bad; c=%E0")).to.deep.equal({
      a: "1",
      qa_session: "t=k",
    });
    expect(session.parseCookies(undefined)).to.deep.equal({});
  });
  it("session cookies are HttpOnly, SameSite=Strict, Path=/, Secure over https only", () => {
    expect(session.sessionCookie("a b", false)).to.equal("qa_session=a%20b; HttpOnly; SameSite=Strict; Path=/");
    expect(session.sessionCookie("t", true)).to.match(/; Secure$/);
    expect(session.clearedSessionCookie(false)).to.contain("Max-Age=0");
  });
  it("the CSRF token is bound to the session token and does not contain it", () => {
    const token = session.csrfToken("secret-token");
    expect(token).to.equal(session.csrfToken("secret-token"));
    expect(token).not.to.contain("secret-token");
    expect(session.csrfMatches("secret-token", token)).to.equal(true);
    expect(session.csrfMatches("other-token", token)).to.equal(false);
    expect(session.csrfMatches("secret-token", undefined)).to.equal(false);
    expect(session.csrfMatches("secret-token", token.slice(1))).to.equal(false);
  });
  it("refuses cross-site requests by Sec-Fetch-Site and by Origin, allows same-origin and header-less clients", () => {
    expect(session.crossSiteProblem({ host: "h:8080", origin: "http://h:8080", secFetchSite: "same-origin" })).to.equal(
      undefined,
    );
    expect(session.crossSiteProblem({ host: "h:80", origin: "http://h" })).to.equal(undefined);
    expect(session.crossSiteProblem({ host: "h" })).to.equal(undefined);
    expect(session.crossSiteProblem({ host: "h", secFetchSite: "cross-site" })).to.contain("cross-site");
    expect(session.crossSiteProblem({ host: "h", secFetchSite: "same-site" })).to.contain("same-site");
    expect(session.crossSiteProblem({ host: "h", origin: "http://evil" })).to.contain("not this page's host");
    expect(session.crossSiteProblem({ host: "h", origin: "null" })).to.contain("not a URL");
  });
  it("validation problems name the field, the value, the rule and the fix, but never show a token", () => {
    const pattern = { instancePath: "/ticket", keyword: "pattern", message: 'must match pattern "^x$"' };
    expect(describeValidation("body", pattern, { ticket: "a b" })).to.equal(
      'body field "ticket" is "a b", which must match pattern "^x$": use a Jira ticket: letters, digits, \'_\', \'.\' and ' +
        "'-', starting with a letter or digit, at most 63 (e.g. VERBU-6202)",
    );
    const token = { instancePath: "/token", keyword: "maxLength", message: "must NOT have more than 4096 characters" };
    expect(describeValidation("body", token, { token: "sekrit" })).not.to.contain("sekrit");
    expect(
      describeValidation("body", { instancePath: "", keyword: "required", params: { missingProperty: "ticket" } }, {}),
    ).to.contain('body field "ticket" is missing');
  });
});
