// The local cluster's pod and service ranges: loopback only, recorded in a new cluster dir, and a dir made with other
// ranges (every dir from before they were recorded) refused before anything starts.
import { expect } from "chai";
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";

const LIB = path.resolve(__dirname, "../../../scripts/lib");

function shell(dir: string, script: string) {
  const sources = ["common", "objects"].map((f) => `source '${LIB}/local-cluster-${f}.sh'`).join("; ");
  return spawnSync("bash", ["-c", `${sources}; ${script}`], {
    encoding: "utf8",
    env: { ...process.env, QA_CLUSTER_DIR: dir },
  });
}

describe("scripts/lib/local-cluster network ranges", () => {
  let dir: string;
  beforeEach(() => (dir = path.join(fs.mkdtempSync(path.join(os.tmpdir(), "lc-net-")), "cluster")));
  afterEach(() => fs.rmSync(path.dirname(dir), { recursive: true, force: true }));

  it("uses loopback ranges, the kubernetes Service being the first service IP", () => {
    const run = shell(dir, 'echo "$LC_POD_CIDR $LC_SERVICE_CIDR $LC_KUBERNETES_SERVICE_IP"');
    expect(run.stdout.trim()).to.equal("127.64.0.0/16 127.96.0.0/16 127.96.0.1");
  });

  it("records the ranges of a new cluster and accepts them again", () => {
    fs.mkdirSync(dir);
    expect(shell(dir, "lc_record_network").status).to.equal(0);
    expect(fs.readFileSync(path.join(dir, "network"), "utf8")).to.equal("pods=127.64.0.0/16 services=127.96.0.0/16\n");
    fs.mkdirSync(path.join(dir, "data", "etcd"), { recursive: true });
    const again = shell(dir, "lc_check_network");
    expect(again.status, again.stderr).to.equal(0);
  });

  it("refuses a dir with etcd data and no record (the old 10.244/10.96 ranges), naming the dir and the fix", () => {
    fs.mkdirSync(path.join(dir, "data", "etcd"), { recursive: true });
    // Recording never overwrites an existing cluster's (missing) record.
    shell(dir, "lc_record_network");
    const run = shell(dir, "lc_check_network");
    expect(run.status).to.equal(1);
    expect(run.stderr).to.include(`cluster dir ${dir} was made with pods=10.244.0.0/16 services=10.96.0.0/16`);
    expect(run.stderr).to.include(`QA_CLUSTER_DIR=${dir} bash scripts/local-cluster stop --purge`);
  });

  it("refuses a dir recorded with other ranges", () => {
    fs.mkdirSync(path.join(dir, "data", "etcd"), { recursive: true });
    fs.writeFileSync(path.join(dir, "network"), "pods=127.64.0.0/16 services=10.96.0.0/16\n");
    const run = shell(dir, "lc_check_network");
    expect(run.status).to.equal(1);
    expect(run.stderr).to.include("was made with pods=127.64.0.0/16 services=10.96.0.0/16, but this script uses");
  });
});
