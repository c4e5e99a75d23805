import { expect } from "chai";
import { redact } from "../../../automation/redact";

const URL_ = "postgres://qa_service:s3cr%2Ft-Pa55@db.internal:5432/qa?sslmode=require";

describe("redact", () => {
  it("removes the password of any postgres URL in a text", () => {
    expect(redact(`failed: ${URL_} is locked`)).to.equal(
      "failed: postgres://qa_service:[redacted]@db.internal:5432/qa?sslmode=require is locked",
    );
    expect(redact("postgresql://u:p@h/db and postgres://:only@h/db")).to.equal(
      "postgresql://u:[redacted]@h/db and postgres://:[redacted]@h/db",
    );
  });

  it("removes the given URL's password where it appears alone, raw or percent-encoded", () => {
    expect(redact("auth with s3cr/t-Pa55 and s3cr%2Ft-Pa55 failed", URL_)).to.equal(
      "auth with [redacted] and [redacted] failed",
    );
  });

  it("leaves texts without secrets alone, and copes with a bad URL", () => {
    expect(redact('password authentication failed for user "qa_service"', URL_)).to.equal(
      'password authentication failed for user "qa_service"',
    );
    expect(redact("plain", "not a url")).to.equal("plain");
    // A tiny password is not hunted for in free text (it would mangle words), only in URL form.
    expect(redact("a b", "postgres://u:a@h/db")).to.equal("a b");
  });
});
