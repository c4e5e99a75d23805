// The driver's reading of the guard's config from a stack (getAllConfig): flat keys and `--path` objects alike, and a
// bad value as bad input (exit code 2) before anything runs.
import { expect } from "chai";
import { knownFeatureServices, settingsOf, valuesOf } from "../../../automation/capacityGuard";
import { BadInputError, exitCodeOf } from "../../../automation/exitCodes";

describe("driver: the capacity guard's config", () => {
  it("reads flat keys and the fields of a `pulumi config set --path capacity.…` object; a flat key wins", () => {
    const values = valuesOf({
      "qa-k8s:capacity": { value: JSON.stringify({ guard: false, headroomPods: 5, headroomCpu: "1" }), secret: false },
      "qa-k8s:capacity.headroomCpu": { value: "250m", secret: false },
      "qa-k8s:kubeconfig": { value: "apiVersion: v1", secret: true },
    });
    expect(values["qa-k8s:capacity.guard"]).to.equal("false");
    expect(values["qa-k8s:capacity.headroomPods"]).to.equal("5");
    expect(values["qa-k8s:capacity.headroomCpu"]).to.equal("250m");
    expect(settingsOf(values)).to.deep.equal({
      enabled: false,
      headroom: { cpuMillis: 250, memoryBytes: 256 * 1024 ** 2, pods: 5 },
    });
  });

  it("uses the defaults when the stack sets nothing, and refuses a bad value as bad input", () => {
    expect(settingsOf({}).enabled).to.equal(true);
    let error: unknown;
    try {
      settingsOf({ "qa-k8s:capacity.headroomMemory": "lots" });
    } catch (e) {
      error = e;
    }
    expect(error).to.be.instanceOf(BadInputError);
    expect(exitCodeOf(error)).to.equal(2);
    expect((error as Error).message).to.contain('qa-k8s:capacity.headroomMemory "lots" is not a Kubernetes quantity');
  });
});

describe("driver: an overlay's feature services before the engine runs", () => {
  it("takes the deploy's services, else the stack's qa-k8s:featureServices, else none (left to registry detection)", () => {
    const config = valuesOf({ "qa-k8s:featureServices": { value: '["auth","wallet"]', secret: false } });
    expect(knownFeatureServices(config, ["bulu"])).to.deep.equal(["bulu"]);
    expect(knownFeatureServices(config)).to.deep.equal(["auth", "wallet"]);
    expect(knownFeatureServices(config, [])).to.deep.equal(["auth", "wallet"]);
    expect(knownFeatureServices(valuesOf({}))).to.equal(undefined);
    expect(knownFeatureServices(valuesOf({ "qa-k8s:featureServices": { value: "[]", secret: false } }))).to.equal(
      undefined,
    );
    expect(knownFeatureServices(valuesOf({ "qa-k8s:featureServices": { value: "not json", secret: false } }))).to.equal(
      undefined,
    );
  });
});
