import { expect } from "chai";
import {
  changedTags,
  nextRecord,
  recordFromTags,
  recordToTags,
  whoDeploys,
  RECORD_TAGS,
} from "../../../automation/records";
import { BadInputError } from "../../../automation/exitCodes";

const osUser = () => "root";

describe("who and when a feature environment was deployed", () => {
  it("takes the deployer and build from the options first", () => {
    const env = { bamboo_ManualBuildTriggerReason_userName: "jane", bamboo_buildResultKey: "QA-DEPLOY-7" };
    expect(whoDeploys({ deployer: "John Smith", build: "42" }, env, osUser)).to.deep.equal({
      deployedBy: "John Smith",
      deployedBySource: "option",
      build: "42",
    });
  });

  it("then from Bamboo's variables: the manual trigger's user, the result key, else the build number", () => {
    expect(
      whoDeploys(
        {},
        {
          bamboo_ManualBuildTriggerReason_userName: "jane.doe",
          bamboo_buildResultKey: "QA-DEPLOY-7",
          bamboo_buildNumber: "7",
        },
        osUser,
      ),
    ).to.deep.equal({ deployedBy: "jane.doe", deployedBySource: "bamboo", build: "QA-DEPLOY-7" });
    expect(whoDeploys({}, { bamboo_buildNumber: "7" }, osUser)).to.deep.equal({
      deployedBy: "root",
      deployedBySource: "os-user",
      build: "7",
    });
    expect(whoDeploys({}, {}, osUser)).to.deep.equal({
      deployedBy: "root",
      deployedBySource: "os-user",
      build: undefined,
    });
  });

  it("refuses a deployer or build that is not a plain name, naming value, source and rule", () => {
    expect(() => whoDeploys({ deployer: "x\n$(rm -rf /)" }, {}, osUser)).to.throw(
      BadInputError,
      'deployer "x\n$(rm -rf /)" (from option) is not a plain name: use at most 100 letters, digits, spaces and . _ @ + - (e.g. "Jane Doe" or jane.doe@example.com)',
    );
    expect(() => whoDeploys({}, { bamboo_ManualBuildTriggerReason_userName: "a;b" }, osUser)).to.throw(
      'deployer "a;b" (from bamboo)',
    );
    expect(() => whoDeploys({ build: "1 2" }, {}, osUser)).to.throw(
      BadInputError,
      'build "1 2" is not a build identifier: use at most 64 letters, digits and . _ - (e.g. QA-DEPLOY-123)',
    );
    expect(() => whoDeploys({ deployer: "x".repeat(101) }, {}, osUser)).to.throw("is not a plain name");
  });

  it("keeps the creation time across deploys and moves the last deploy", () => {
    const who = { deployedBy: "jane", deployedBySource: "bamboo" as const, build: "QA-1" };
    const first = nextRecord(undefined, who, new Date("2026-12-01T10:00:00Z"), 236);
    expect(first).to.deep.equal({
      ...who,
      createdAt: "2026-12-01T10:00:00.000Z",
      lastDeployedAt: "2026-12-01T10:00:00.000Z",
      resourceCount: 236,
    });
    const second = nextRecord(
      first,
      { deployedBy: "john", deployedBySource: "option" },
      new Date("2026-12-02T10:00:00Z"),
    );
    expect(second).to.deep.equal({
      deployedBy: "john",
      deployedBySource: "option",
      build: undefined,
      createdAt: "2026-12-01T10:00:00.000Z",
      lastDeployedAt: "2026-12-02T10:00:00.000Z",
      resourceCount: undefined,
    });
  });

  it("round-trips through stack tags whose names pulumi accepts", () => {
    const record = nextRecord(
      undefined,
      { deployedBy: "jane", deployedBySource: "bamboo", build: "QA-1" },
      new Date(0),
      12,
    );
    const tags = recordToTags(record);
    for (const name of Object.keys(tags)) expect(name).to.match(/^[a-zA-Z0-9-_.:]{1,40}$/);
    expect(recordFromTags(tags)).to.deep.equal(record);
    const withoutBuild = nextRecord(undefined, { deployedBy: "jane", deployedBySource: "os-user" }, new Date(0));
    expect(recordToTags(withoutBuild)).to.not.have.property(RECORD_TAGS.build);
    expect(recordFromTags(recordToTags(withoutBuild))).to.deep.equal(withoutBuild);
  });

  it("reads no record from a stack the driver never deployed, and tolerates odd values", () => {
    expect(recordFromTags({ "pulumi:project": "qa-k8s" })).to.equal(undefined);
    const record = recordFromTags({
      [RECORD_TAGS.deployedBy]: "a",
      [RECORD_TAGS.createdAt]: "t",
      [RECORD_TAGS.lastDeployedAt]: "t",
      [RECORD_TAGS.deployedBySource]: "odd",
      [RECORD_TAGS.resourceCount]: "-3",
    });
    expect(record).to.deep.include({ deployedBySource: "os-user", resourceCount: undefined });
  });

  it("writes only the tags that changed", () => {
    const current = {
      [RECORD_TAGS.deployedBy]: "jane",
      [RECORD_TAGS.lastDeployedAt]: "t1",
      "pulumi:project": "qa-k8s",
    };
    expect(
      changedTags(current, {
        [RECORD_TAGS.deployedBy]: "jane",
        [RECORD_TAGS.lastDeployedAt]: "t2",
        [RECORD_TAGS.build]: "7",
      }),
    ).to.deep.equal({
      [RECORD_TAGS.lastDeployedAt]: "t2",
      [RECORD_TAGS.build]: "7",
    });
  });
});
