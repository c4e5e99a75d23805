import { expect } from "chai";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { missingEngine } from "../../../automation/cli/driverApi";

describe("qa-env engine lookup", () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "qa-env-path-"));
  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  it("names the fix when there is no pulumi on the PATH and no QA_PULUMI_BIN", () => {
    expect(missingEngine({ PATH: dir }))
      .to.contain("not on the PATH")
      .and.contain("scripts/toolchain --print-env");
    expect(missingEngine({ QA_PULUMI_BIN: path.join(dir, "nope") })).to.contain("does not exist");
  });

  it("accepts pulumi on the PATH or an existing QA_PULUMI_BIN", () => {
    fs.writeFileSync(path.join(dir, "pulumi"), "");
    expect(missingEngine({ PATH: `/nonexistent${path.delimiter}${dir}` })).to.equal(undefined);
    expect(missingEngine({ QA_PULUMI_BIN: path.join(dir, "pulumi") })).to.equal(undefined);
  });
});
