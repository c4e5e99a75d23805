import { expect } from "chai";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { Driver } from "../../../automation/driver";
import { BadInputError } from "../../../automation/exitCodes";
import { PROJECT_DIR } from "../../../automation/stack";

// Bad input is refused before the engine starts: with a PATH that holds no pulumi CLI, reaching the engine would fail
// with another error, and nothing may appear in the backend or the project (no Pulumi.<stack>.yaml).
describe("Driver input checks, before any engine run", () => {
  let backend: string;
  let driver: Driver;
  const stackFiles = () => fs.readdirSync(PROJECT_DIR).filter((f) => /^Pulumi\.(?!yaml$|qa\.yaml$).*\.yaml$/.test(f));
  let before: string[];

  beforeEach(() => {
    backend = fs.mkdtempSync(path.join(os.tmpdir(), "qa-k8s-driver-unit-"));
    driver = new Driver({ envVars: { PATH: "/nonexistent", PULUMI_BACKEND_URL: `file://${backend}` } });
    before = stackFiles();
  });
  afterEach(() => {
    expect(fs.readdirSync(backend), "nothing written to the backend").to.deep.equal([]);
    expect(stackFiles()).to.deep.equal(before);
    fs.rmSync(backend, { recursive: true, force: true });
  });

  const refusal = (promise: Promise<unknown>) =>
    promise.then(
      () => expect.fail("accepted"),
      (e: unknown) => e as BadInputError,
    );

  it("refuses a ticket that cannot name a namespace, with the environment wing's message", async () => {
    for (const ticket of ["VERBU_6202", "verbu-1;rm -rf ~", "$(id)", ""]) {
      const error = await refusal(driver.deploy(ticket));
      expect(error, ticket).to.be.instanceOf(BadInputError);
      expect(error.exitCode).to.equal(2);
      expect(error.message).to.contain("cannot name a namespace: use lower-case letters, digits and '-'");
    }
    const long = await refusal(driver.preview("x".repeat(60)));
    expect(long.message).to.contain("must fit in 63, so use at most 54 characters");
  });

  it("refuses a ticket with '/', which the stack-name rule would cut down to its last segment", async () => {
    for (const ticket of ["x; touch /tmp/verbu-1", "acme/qa-k8s/verbu-1"]) {
      for (const call of [
        () => driver.deploy(ticket),
        () => driver.status(ticket),
        () => driver.logs(ticket, "auth"),
      ]) {
        const error = await refusal(call());
        expect(error, ticket).to.be.instanceOf(BadInputError);
        expect(error.message).to.equal(
          `ticket "${ticket}" contains '/': give the Jira ticket alone (e.g. VERBU-6202), or a branch with --branch`,
        );
      }
    }
  });

  it("refuses the cluster stack as a ticket", async () => {
    const error = await refusal(driver.destroy("QA"));
    expect(error.message).to.equal(`ticket "QA" names the cluster stack "qa"; use a Jira ticket such as VERBU-6202`);
  });

  it("refuses services that are not apps of the catalog, naming them", async () => {
    const error = await refusal(driver.deploy("VERBU-1", { services: ["auth", "nsqd", "no-such"] }));
    expect(error).to.be.instanceOf(BadInputError);
    expect(error.message).to.equal(
      `services: qa-k8s:featureServices: "nsqd", "no-such" are not app services of environments/catalog.yaml; use the catalog's service names (infra services always use their configured image)`,
    );
  });

  it("checks services against the run's own catalog, and says when it cannot be read", async () => {
    const error = await refusal(
      driver.deploy("VERBU-1", { services: ["auth"], config: { catalog: { value: "missing.yaml" } } }),
    );
    expect(error.message).to.equal(`services: catalog "missing.yaml" cannot be read (ENOENT)`);
  });

  it("refuses a hostile deployer or build, and a bad parallelism", async () => {
    expect((await refusal(driver.deploy("VERBU-1", { deployer: "x`reboot`" }))).message).to.contain(
      'deployer "x`reboot`" (from option) is not a plain name',
    );
    expect((await refusal(driver.deploy("VERBU-1", { build: "1;2" }))).message).to.contain(
      'build "1;2" is not a build identifier',
    );
    expect((await refusal(driver.deploy("VERBU-1", { parallel: 0 }))).message).to.contain(
      "parallel 0 must be a whole number from 1 to 1024",
    );
  });

  it("refuses a bad concurrency limit when built", () => {
    expect(() => new Driver({ envVars: {}, backendUrl: `file://${backend}`, maxConcurrentDeploys: 0 })).to.throw(
      "maxConcurrentDeploys 0 must be a whole number ≥ 1",
    );
  });
});
