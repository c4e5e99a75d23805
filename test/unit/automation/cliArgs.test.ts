import { expect } from "chai";
import { featureFromBranch } from "../../../environments/feature";
import {
  declaredConfigKeys,
  parseConfigPairs,
  parseDurationSeconds,
  parseServices,
  parseWholeNumber,
  resolveTicket,
} from "../../../automation/cli/args";
import { BadInputError } from "../../../automation/exitCodes";
import { PROJECT_DIR } from "../../../automation/stack";

function badInput(fn: () => unknown): BadInputError {
  try {
    fn();
  } catch (error) {
    expect(error).to.be.instanceOf(BadInputError);
    return error as BadInputError;
  }
  throw new Error("expected BadInputError");
}

describe("qa-env arguments", () => {
  describe("branch → ticket (featureFromBranch)", () => {
    for (const [branch, ticket] of [
      ["feature/VERBU-6202-some-text", "VERBU-6202"],
      ["VERBU-6202", "VERBU-6202"],
      ["bugfix/verbu-17_fix-login", "VERBU-17"],
      ["feature/team/QA2-9.hotfix", "QA2-9"],
      ["feature/VERBU-6202-then-VERBU-7000", "VERBU-6202"],
    ]) {
      it(`${branch} → ${ticket}`, () =>
        expect(featureFromBranch(branch)).to.deep.equal({ ticket, name: ticket.toLowerCase() }));
    }
    for (const branch of [
      "main",
      "feature/some-text",
      "feature/_VERBU-6202", // the ticket must start a segment, with a letter
      "feature/VERBU-6202abc",
      "",
      "feature/$(rm -rf ~)-1",
      "feature/`id`",
      "feature/VERBU-\n6202",
      `feature/${"A".repeat(300)}-1`,
    ]) {
      it(`refuses ${JSON.stringify(branch.slice(0, 40))}, naming the branch escaped and the rule`, () => {
        const error = badInput(() => resolveTicket(undefined, branch));
        expect(error.message).to.contain("names no Jira ticket").and.contain("feature/VERBU-6202-some-text");
        expect(error.message).not.to.contain("\n");
      });
    }
    it("a ticket found in a branch still goes through the stack-name rules", () => {
      // Long enough to be a Jira key, too long for the host label services-<feature>.
      const error = badInput(() => resolveTicket(undefined, `feature/${"A".repeat(60)}-1-x`));
      expect(error.message).to.contain("must fit in 63");
    });
  });

  describe("resolveTicket", () => {
    it("takes a ticket in any case and returns it upper-cased", () =>
      expect(resolveTicket("verbu-6202", undefined)).to.equal("VERBU-6202"));
    it("refuses a ticket with the environment wing's message", () => {
      expect(badInput(() => resolveTicket("VERBU 6202; rm -rf ~", undefined)).message).to.contain(
        "cannot name a namespace",
      );
    });
    it("refuses a ticket with control characters, showing them escaped", () => {
      const error = badInput(() => resolveTicket("VERBU-1\n\x1b[2J", undefined));
      expect(error.message).to.contain("control characters").and.contain("\\n").and.not.contain("\n");
    });
    it("refuses a ticket holding '/', which the stack-name rule would cut to its last segment", () => {
      const error = badInput(() => resolveTicket("VERBU 9209; touch /tmp/verbu-1", undefined));
      expect(error.message).to.contain("contains '/'").and.contain("--branch");
      expect(badInput(() => resolveTicket("feature/VERBU-1-x", undefined)).message).to.contain("contains '/'");
    });
    it("refuses both a ticket and --branch, and neither", () => {
      expect(badInput(() => resolveTicket("VERBU-1", "feature/VERBU-2")).message).to.contain("not both");
      expect(badInput(() => resolveTicket(undefined, undefined)).message).to.contain("a ticket is required");
    });
  });

  it("parses --services, with an empty value meaning none and duplicates refused", () => {
    expect(parseServices("auth, wallet")).to.deep.equal(["auth", "wallet"]);
    expect(parseServices("")).to.deep.equal([]);
    expect(badInput(() => parseServices("auth,auth")).message).to.contain('"auth" twice');
  });

  it("parses durations and whole numbers, refusing the rest", () => {
    expect(parseDurationSeconds("10m", "--since")).to.equal(600);
    expect(parseDurationSeconds("90", "--since")).to.equal(90);
    expect(parseDurationSeconds("2h", "--since")).to.equal(7200);
    for (const bad of ["", "0", "-5m", "10 m", "1.5h", "10y", "1e3"]) {
      expect(badInput(() => parseDurationSeconds(bad, "--since")).message, bad).to.contain("--since");
    }
    expect(parseWholeNumber("64", "--parallel", 1, 1024, "64")).to.equal(64);
    for (const bad of ["0", "1025", "8.5", "0x10", " 8", ""]) {
      expect(badInput(() => parseWholeNumber(bad, "--parallel", 1, 1024, "64")).message, bad).to.contain("1 to 1024");
    }
  });

  describe("--config", () => {
    const declared = declaredConfigKeys(PROJECT_DIR);
    it("knows the keys of Pulumi.yaml", () =>
      expect(declared).to.include.members(["registry", "renderTo", "tls.secretName"]));
    it("turns key=value pairs into stack config, with or without the qa-k8s: prefix; the value may hold '='", () => {
      expect(parseConfigPairs(["registry=localhost:5000", "qa-k8s:domain=a=b"], declared)).to.deep.equal({
        registry: { value: "localhost:5000" },
        domain: { value: "a=b" },
      });
    });
    it("refuses unknown keys, pairs without '=' and secrets", () => {
      expect(badInput(() => parseConfigPairs(["registyr=x"], declared)).message).to.contain("not a key of Pulumi.yaml");
      expect(badInput(() => parseConfigPairs(["registry"], declared)).message).to.contain("key=value");
      const secret = badInput(() => parseConfigPairs(["registryPassword=hunter2"], declared));
      expect(secret.message).to.contain("never goes on the command line").and.not.contain("hunter2");
    });
  });
});
