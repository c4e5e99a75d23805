import { expect } from "chai";
import { BadInputError, CapacityError, LockedError } from "../../../automation/exitCodes";
import { checkedTicket, describeError, PageProblem } from "../../../automation/service/page/errors";

describe("status page errors", () => {
  it("maps the driver's error classes to 400/409 with their own messages", () => {
    expect(describeError(new BadInputError("bad ticket"), undefined)).to.deep.equal({
      status: 400,
      title: "Bad input",
      message: "bad ticket",
    });
    expect(describeError(new CapacityError("0 more fit"), undefined)?.status).to.equal(409);
    expect(describeError(new LockedError("locked"), undefined)?.status).to.equal(409);
  });
  it("treats the API server's 4xx as the request's fault, and anything else as the page's (undefined → 500)", () => {
    const apiException = Object.assign(new Error("previous terminated container not found"), { code: 400 });
    expect(describeError(apiException, undefined)).to.deep.include({ status: 400, title: "Refused by the cluster" });
    expect(describeError(Object.assign(new Error("connect"), { code: "ECONNREFUSED" }), undefined)).to.equal(undefined);
    expect(describeError(new Error("boom"), undefined)).to.equal(undefined);
  });
  it("renders fastify's validation errors with the field and value", () => {
    const error = Object.assign(new Error("x"), {
      validation: [{ instancePath: "/tail", keyword: "minimum", message: "must be >= 1" }],
      validationContext: "querystring",
    });
    expect(describeError(error, { tail: 0 })?.message).to.equal(
      'querystring field "tail" is 0, which must be >= 1: use a whole number of lines from 1 to 5000 (e.g. 200)',
    );
  });
  it("checks tickets by the environment wing's rules", () => {
    expect(checkedTicket("verbu-6202", "body")).to.equal("VERBU-6202");
    expect(() => checkedTicket("kube-system", "params")).to.throw(PageProblem, /params field "ticket".*kube-system/);
  });
});
