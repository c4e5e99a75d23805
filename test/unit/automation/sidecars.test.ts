import { expect } from "chai";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { isWholeSidecar, projectSidecars, removeBrokenSidecars } from "../../../automation/sidecars";

describe("file backend sidecars a killed run left half-written", () => {
  let dir: string;
  const write = (rel: string, text: string) => {
    const file = path.join(dir, ".pulumi", rel);
    fs.mkdirSync(path.dirname(file), { recursive: true });
    fs.writeFileSync(file, text);
    return file;
  };
  beforeEach(() => (dir = fs.mkdtempSync(path.join(os.tmpdir(), "qa-k8s-sidecars-"))));
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  it("takes only what setAttrs writes when it completes: one JSON object", () => {
    expect(isWholeSidecar('{"user.cache_control":"","user.content_type":"application/json","md5":"aGk="}\n')).to.equal(
      true,
    );
    expect(isWholeSidecar("")).to.equal(false);
    expect(isWholeSidecar('{"user.content_type":"appl')).to.equal(false);
    expect(isWholeSidecar("[]")).to.equal(false);
    expect(isWholeSidecar("null")).to.equal(false);
  });

  it("lists the sidecars a run reads: meta.yaml, the project's stacks and its locks, not history or backups", () => {
    const meta = write("meta.yaml.attrs", "{}");
    const state = write("stacks/qa-k8s/verbu-1.json.attrs", "{}");
    const lock = write("locks/organization/qa-k8s/verbu-1/8f2c.json.attrs", "{}");
    write("stacks/qa-k8s/verbu-1.json", "{}");
    write("stacks/other/verbu-1.json.attrs", "{}");
    write("history/qa-k8s/verbu-1/verbu-1-1.checkpoint.json.attrs", "");
    write("backups/qa-k8s/verbu-1/verbu-1.1.json.attrs", "");
    expect(projectSidecars(dir, "qa-k8s").sort()).to.deep.equal([lock, meta, state].sort());
    expect(projectSidecars(path.join(dir, "nowhere"), "qa-k8s")).to.deep.equal([]);
  });

  it("removes the empty and the half-written ones, keeps whole ones and the objects beside them", () => {
    const whole = write("stacks/qa-k8s/verbu-1.json.attrs", '{"user.content_type":"application/json"}');
    const empty = write("stacks/qa-k8s/verbu-2.json.attrs", "");
    const half = write("locks/organization/qa-k8s/verbu-2/8f2c.json.attrs", '{"user.cont');
    const state = write("stacks/qa-k8s/verbu-2.json", '{"version":3}');
    expect(removeBrokenSidecars(projectSidecars(dir, "qa-k8s")).sort()).to.deep.equal([empty, half].sort());
    expect([whole, state].every((f) => fs.existsSync(f))).to.equal(true);
    expect([empty, half].some((f) => fs.existsSync(f))).to.equal(false);
    expect(removeBrokenSidecars([path.join(dir, "gone.attrs")])).to.deep.equal([]);
  });
});
