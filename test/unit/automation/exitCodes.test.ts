import { expect } from "chai";
import {
  BadInputError,
  CancelledError,
  CapacityError,
  DeployFailedError,
  exitCodeOf,
  EXIT_CODES,
  LockedError,
} from "../../../automation/exitCodes";
import { asDriverError, checkParallel, resourceCount } from "../../../automation/runSupport";
// eslint-disable-next-line @typescript-eslint/no-require-imports
const { createCommandError } = require("@pulumi/pulumi/automation/errors");
// eslint-disable-next-line @typescript-eslint/no-require-imports
const { CommandResult } = require("@pulumi/pulumi/automation/cmd");

const feature = { name: "verbu-1", ticket: "VERBU-1" };

describe("exit codes", () => {
  it("is the documented scheme", () => {
    expect(EXIT_CODES).to.deep.equal({
      OK: 0,
      INTERNAL: 1,
      BAD_INPUT: 2,
      CAPACITY: 3,
      LOCKED: 4,
      FAILED: 5,
      CANCELLED: 6,
    });
  });

  it("maps each error class to its code, and anything else to 1", () => {
    expect(exitCodeOf(undefined)).to.equal(0);
    expect(exitCodeOf(new BadInputError("x"))).to.equal(2);
    expect(exitCodeOf(new CapacityError("x"))).to.equal(3);
    expect(exitCodeOf(new LockedError("x"))).to.equal(4);
    expect(exitCodeOf(new DeployFailedError("x"))).to.equal(5);
    expect(exitCodeOf(new CancelledError("x"))).to.equal(6);
    expect(exitCodeOf(new Error("bug"))).to.equal(1);
    expect(exitCodeOf("thrown string")).to.equal(1);
  });

  it("names the class and keeps the ticket", () => {
    const error = new LockedError("held", { ticket: "VERBU-1" });
    expect(error.name).to.equal("LockedError");
    expect(error.ticket).to.equal("VERBU-1");
  });

  it("turns an engine failure into DeployFailedError with the CLI's error lines, and an aborted run into CancelledError", () => {
    const failure = createCommandError(
      new CommandResult(
        "long progress display",
        "error: update failed\n  kubernetes:apps/v1:Deployment auth: boom",
        255,
      ),
    );
    const failed = asDriverError(failure, feature, "up") as DeployFailedError;
    expect(failed).to.be.instanceOf(DeployFailedError);
    expect(failed.message).to.equal(
      "VERBU-1: up failed: error: update failed\n  kubernetes:apps/v1:Deployment auth: boom",
    );
    const controller = new AbortController();
    controller.abort();
    expect(asDriverError(failure, feature, "up", controller.signal)).to.be.instanceOf(CancelledError);
    const own = new LockedError("held");
    expect(asDriverError(own, feature, "up")).to.equal(own);
    const bug = new TypeError("bug");
    expect(asDriverError(bug, feature, "up")).to.equal(bug);
  });

  it("removes a postgres:// backend's password from the CLI's error lines", () => {
    const failure = createCommandError(
      new CommandResult("", "error: unable to open bucket postgres://qa:s3cret-pw@127.0.0.1:5432/qa: refused", 255),
    );
    const failed = asDriverError(failure, feature, "up") as DeployFailedError;
    expect(failed.message).to.equal(
      "VERBU-1: up failed: error: unable to open bucket postgres://qa:[redacted]@127.0.0.1:5432/qa: refused",
    );
  });

  it("checks engine parallelism and counts resources after an up", () => {
    expect(checkParallel(64, "parallel")).to.equal(64);
    expect(() => checkParallel(0, "parallel")).to.throw(
      BadInputError,
      "parallel 0 must be a whole number from 1 to 1024 (engine operations at once; default 256)",
    );
    expect(() => checkParallel(2.5, "parallel")).to.throw(BadInputError);
    expect(resourceCount({ create: 3, same: 230, update: 1, delete: 2 })).to.equal(234);
  });
});
