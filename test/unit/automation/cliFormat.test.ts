import { expect } from "chai";
import { formatCapacity, formatLogs, formatStatus } from "../../../automation/cli/formatObserve";
import { changeSummary, formatDeploy, formatList } from "../../../automation/cli/formatRun";
import { table } from "../../../automation/cli/table";
import type { CapacityReport, EnvironmentStatus } from "../../../automation/observeTypes";
import type { DeployResult } from "../../../automation/types";

const GiB = 1024 ** 3;
const record = {
  deployedBy: "jane.doe",
  deployedBySource: "bamboo" as const,
  build: "QA-DEPLOY-12",
  createdAt: "2026-12-01T08:00:00.000Z",
  lastDeployedAt: "2026-12-02T09:30:15.123Z",
  resourceCount: 236,
};

export const DEPLOY_FIXTURE: DeployResult = {
  ticket: "VERBU-6202",
  stack: "verbu-6202",
  changes: { create: 2, update: 1, same: 233 },
  durations: { queuedMs: 0, lockWaitMs: 4200, recoveryMs: 0, engineMs: 17_300, totalMs: 21_600 },
  waitedForSameTicket: false,
  recoveredPendingOperations: 3,
  outputs: { url: "https://services-verbu-6202.qa.example.test/" },
  namespace: "verbu-6202",
  url: "https://services-verbu-6202.qa.example.test/",
  images: {
    wallet: "reg/bu/wallet:master_latest@sha256:bb",
    auth: "reg/bu/auth:VERBU-6202_latest@sha256:aa",
  },
  featureServices: ["auth"],
  record,
};

describe("qa-env output", () => {
  it("aligns table columns and does not pad the last one", () => {
    expect(
      table(
        ["A", "BB", "C"],
        [
          ["xxx", "y", "z"],
          ["1", "2", ""],
        ],
      ),
    ).to.equal("A    BB  C\nxxx  y   z\n1    2");
  });

  it("summarises changes in a stable order, planned or done", () => {
    expect(changeSummary({ same: 5, create: 2, "create-replacement": 1 })).to.equal(
      "2 created, 5 unchanged, 1 create-replacement",
    );
    expect(changeSummary({ update: 1, same: 3 }, true)).to.equal("1 to update, 3 unchanged");
    expect(changeSummary({})).to.equal("no changes");
  });

  it("prints a deploy: changes, URL, images with the branch-built ones marked, record and durations", () => {
    const lines = formatDeploy(DEPLOY_FIXTURE).split("\n");
    expect(lines[0]).to.equal("VERBU-6202 deployed: 2 created, 1 updated, 233 unchanged");
    expect(lines).to.include("url: https://services-verbu-6202.qa.example.test/");
    expect(lines).to.include("recovered 3 pending operations left by a crashed run");
    expect(lines).to.include("images (2, 1 built on the branch):");
    const auth = lines.find((l) => l.includes("bu/auth"))!;
    const wallet = lines.find((l) => l.includes("bu/wallet"))!;
    expect(lines.indexOf(auth)).to.be.lessThan(lines.indexOf(wallet));
    expect(auth).to.match(/^ {2}auth +reg\/bu\/auth:VERBU-6202_latest@sha256:aa +built on branch$/);
    expect(wallet).not.to.contain("branch");
    expect(lines).to.include(
      "deployed by jane.doe (bamboo), build QA-DEPLOY-12; created 2026-12-01T08:00:00Z, last deployed 2026-12-02T09:30:15Z",
    );
    expect(lines.at(-1)).to.equal("took 21.6 s (waited for lock 4.2 s, engine 17.3 s)");
  });

  it("lists environments as a table, sorted by ticket, marking one being updated", () => {
    const text = formatList([
      { ticket: "VERBU-7", stack: "verbu-7", updateInProgress: true, lastUpdate: "2026-12-02T10:00:00.000Z" },
      { ticket: "VERBU-6202", stack: "verbu-6202", updateInProgress: false, resourceCount: 236, record },
    ]);
    const [header, first, second] = text.split("\n");
    expect(header).to.match(/^TICKET +DEPLOYED BY +BUILD +CREATED +LAST DEPLOYED +RESOURCES$/);
    expect(first).to.match(/^VERBU-6202 +jane\.doe +QA-DEPLOY-12 +2026-12-01T08:00:00Z +2026-12-02T09:30:15Z +236$/);
    expect(second).to.match(/^VERBU-7 +- +- +- +2026-12-02T10:00:00Z +- +update in progress$/);
    expect(formatList([])).to.equal("no environments");
  });

  const status: EnvironmentStatus = {
    ticket: "VERBU-6202",
    stack: "verbu-6202",
    namespace: "verbu-6202",
    exists: true,
    url: "https://services-verbu-6202.qa.example.test/",
    appLinks: { "desktop-web": "https://services-verbu-6202.qa.example.test/" },
    record,
    ageMs: (3 * 3600 + 5 * 60) * 1000,
    services: [
      {
        service: "wallet",
        image: "r/bu/wallet:master_latest",
        tag: "master_latest",
        builtOnBranch: false,
        readyReplicas: 0,
        desiredReplicas: 1,
        restartCount: 7,
        state: "failing",
        reason: "CrashLoopBackOff (last exit: Error, code 1)",
      },
      {
        service: "auth",
        image: "r/bu/auth:VERBU-6202_latest",
        tag: "VERBU-6202_latest",
        digest: "sha256:aa",
        builtOnBranch: true,
        readyReplicas: 2,
        desiredReplicas: 2,
        restartCount: 0,
        state: "active",
      },
    ],
  };

  it("prints status as a table per service with state, ready/desired, restarts, tag and reason", () => {
    const lines = formatStatus(status).split("\n");
    expect(lines[0]).to.equal("VERBU-6202 (namespace verbu-6202): 1/2 services active");
    expect(lines[2]).to.match(/^age: 3 h 5 min; deployed by jane\.doe/);
    expect(lines).to.include("  desktop-web: https://services-verbu-6202.qa.example.test/");
    const header = lines.findIndex((l) => l.startsWith("SERVICE"));
    expect(lines[header]).to.match(/^SERVICE +STATE +READY +RESTARTS +IMAGE TAG +REASON$/);
    expect(lines[header + 1]).to.match(/^auth +active +2\/2 +0 +VERBU-6202_latest \(branch\)$/);
    expect(lines[header + 2]).to.match(
      /^wallet +failing +0\/1 +7 +master_latest +CrashLoopBackOff \(last exit: Error, code 1\)$/,
    );
  });

  it("says so when the environment is not on the cluster", () => {
    expect(formatStatus({ ...status, exists: false, services: [] })).to.equal(
      "VERBU-6202: namespace verbu-6202 is not on the cluster (never deployed, or destroyed)",
    );
  });

  const node = (name: string, freeCpu: number, freeGiB: number, pods: number) => ({
    node: name,
    allocatable: { cpuMillis: 4000, memoryBytes: 7.8 * GiB, pods: 110 },
    free: { cpuMillis: freeCpu, memoryBytes: freeGiB * GiB, pods },
  });
  const capacity: CapacityReport = {
    nodes: [node("worker-2", 1500, 1.0, 60), node("worker-1", 2000, 3.0, 80)],
    free: { cpuMillis: 3500, memoryBytes: 4.0 * GiB, pods: 140 },
    perEnvironment: { cpuMillis: 520, memoryBytes: 1.5 * GiB, pods: 72 },
    largestPod: { name: "mongodb", cpuMillis: 100, memoryBytes: 0.5 * GiB, pods: 1 },
    environmentsThatFit: 2,
    limitedBy: "memory",
    headroom: { cpuMillis: 100, memoryBytes: 0.25 * GiB, pods: 5 },
    quota: { cpuMillis: 1040, memoryBytes: 3 * GiB, pods: 144 },
  };

  it("prints capacity as the issue's sentence, the totals and the room per node", () => {
    const lines = formatCapacity(capacity).split("\n");
    expect(lines[0]).to.equal("2 more environments of this size fit; limited by memory");
    expect(lines[1]).to.equal(
      "one environment needs 0.52 CPU / 1.5 GiB / 72 pods; largest pod mongodb 0.10 CPU / 0.5 GiB / 1 pods",
    );
    expect(lines[2]).to.equal(
      "free: 3.50 CPU / 4.0 GiB / 140 pods on 2 schedulable nodes (headroom kept per node: 0.10 CPU / 0.3 GiB / 5 pods)",
    );
    expect(lines[4]).to.match(/^NODE +FREE CPU +FREE MEMORY +FREE PODS +ALLOCATABLE$/);
    expect(lines[5]).to.match(/^worker-1 +2\.00 CPU +3\.0 GiB +80 +4\.00 CPU \/ 7\.8 GiB \/ 110 pods$/);
    expect(lines[6]).to.match(/^worker-2 +1\.50 CPU +1\.0 GiB +60/);
  });

  it("words one environment and a largest-pod limit", () => {
    const one = formatCapacity({ ...capacity, environmentsThatFit: 1, limitedBy: "pods" }).split("\n")[0];
    expect(one).to.equal("1 more environment of this size fits; limited by pods");
    const none = formatCapacity({ ...capacity, environmentsThatFit: 0, limitedBy: "largest-pod" }).split("\n")[0];
    expect(none).to.equal(
      "0 more environments of this size fit; limited by the largest pod (mongodb: 0.10 CPU / 0.5 GiB / 1 pods) fits on no node",
    );
  });

  it("prefixes log lines with pod and container only when they come from several pods", () => {
    const a = { pod: "auth-1", container: "auth", text: "listening on 8080" };
    const b = { pod: "auth-2", container: "auth", text: "ready" };
    expect(formatLogs([a, { ...a, text: "ready" }])).to.equal("listening on 8080\nready");
    expect(formatLogs([a, b])).to.equal("[auth-1/auth] listening on 8080\n[auth-2/auth] ready");
    expect(formatLogs([])).to.equal("");
  });
});
