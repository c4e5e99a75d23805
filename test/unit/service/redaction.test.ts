// An engine error can quote the backend URL (postgres://user:password@…): a 500 logs it without the password, and
// the answer never carries it.
import { expect } from "chai";
import { auth, FakeDriver, harness } from "./fakes";

class FailingDriver extends FakeDriver {
  override async list(): Promise<never> {
    throw new Error("error: could not read postgres://qa_service:s3cret-pw@127.0.0.1:5432/qa: too many clients");
  }
}

describe("QA service: the database password in an engine error", () => {
  it("is redacted from the log of a 500 and absent from the answer", async () => {
    const h = await harness({}, new FailingDriver());
    try {
      const res = await h.app.inject({ method: "GET", url: "/environments", headers: auth("read") });
      expect(res.statusCode).to.equal(500);
      expect(res.body).to.not.include("s3cret-pw");
      expect(h.logs.text).to.include("postgres://qa_service:[redacted]@127.0.0.1:5432/qa");
      expect(h.logs.text).to.not.include("s3cret-pw");
    } finally {
      await h.close();
    }
  });
});
