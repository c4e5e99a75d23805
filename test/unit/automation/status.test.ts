import { expect } from "chai";
import type { V1Pod } from "@kubernetes/client-node";
import { imageParts, serviceStatus, WorkloadShape } from "../../../automation/status";

const DIGEST = "sha256:" + "a".repeat(64);
const IMAGE = `127.0.0.1:15000/bu/auth:VERBU-6202_latest@${DIGEST}`;

const deployment = (
  over: Partial<{
    replicas: number;
    ready: number;
    updated: number;
    generation: number;
    observed: number;
    image: string;
  }> = {},
): WorkloadShape => ({
  metadata: { name: "auth", generation: over.generation ?? 1 },
  spec: { replicas: over.replicas ?? 1, template: { spec: { containers: [{ image: over.image ?? IMAGE }] } } },
  status: {
    observedGeneration: over.observed ?? 1,
    replicas: over.replicas ?? 1,
    readyReplicas: over.ready ?? 1,
    updatedReplicas: over.updated ?? 1,
  },
});

// What the kubelet writes for a running, ready container.
const runningPod = (name: string, service = "auth", restarts = 0): V1Pod => ({
  metadata: {
    name,
    labels: { "app.kubernetes.io/name": service },
    creationTimestamp: new Date("2026-12-02T10:00:00Z"),
  },
  status: {
    phase: "Running",
    conditions: [{ type: "Ready", status: "True" }],
    containerStatuses: [
      {
        name: service,
        image: IMAGE,
        imageID: `127.0.0.1:15000/bu/auth@${DIGEST}`,
        ready: true,
        restartCount: restarts,
        state: { running: { startedAt: new Date() } },
      },
    ],
  },
});

const crashingPod: V1Pod = {
  ...runningPod("auth-7d9-x1"),
  status: {
    phase: "Running",
    containerStatuses: [
      {
        name: "auth",
        image: IMAGE,
        imageID: "",
        ready: false,
        restartCount: 5,
        state: { waiting: { reason: "CrashLoopBackOff", message: "back-off 2m40s restarting failed container" } },
        lastState: { terminated: { reason: "Error", exitCode: 1 } },
      },
    ],
  },
};

describe("service status from the cluster's objects", () => {
  it("splits an image reference into tag and digest, registry ports and defaults included", () => {
    expect(imageParts(IMAGE)).to.deep.equal({ tag: "VERBU-6202_latest", digest: DIGEST });
    expect(imageParts("mongo:7.0")).to.deep.equal({ tag: "7.0" });
    expect(imageParts("127.0.0.1:15000/nsqio/nsq")).to.deep.equal({ tag: "latest" });
  });

  it("active: ready as wanted, the digest the container runs, built on the branch, no restarts", () => {
    const status = serviceStatus(
      "auth",
      deployment(),
      [runningPod("auth-1"), runningPod("wallet-1", "wallet", 9)],
      "VERBU-6202",
    );
    expect(status).to.deep.equal({
      service: "auth",
      image: IMAGE,
      tag: "VERBU-6202_latest",
      digest: DIGEST,
      builtOnBranch: true,
      readyReplicas: 1,
      desiredReplicas: 1,
      restartCount: 0,
      state: "active",
    });
  });

  it("master's image is not built on the branch", () => {
    const image = "reg.test/bu/auth:master_latest";
    expect(serviceStatus("auth", deployment({ image }), [], "VERBU-6202").builtOnBranch).to.equal(false);
  });

  it("failing: CrashLoopBackOff with the last termination's reason and exit code, restarts summed", () => {
    const status = serviceStatus(
      "auth",
      deployment({ ready: 0 }),
      [crashingPod, runningPod("auth-2", "auth", 2)],
      "VERBU-6202",
    );
    expect(status.state).to.equal("failing");
    expect(status.reason).to.equal("auth-7d9-x1: CrashLoopBackOff (last exit: Error, code 1), 5 restarts");
    expect(status.restartCount).to.equal(7);
  });

  it("failing: ImagePullBackOff with the kubelet's message", () => {
    const pod: V1Pod = {
      ...runningPod("auth-1"),
      status: {
        phase: "Pending",
        containerStatuses: [
          {
            name: "auth",
            image: IMAGE,
            imageID: "",
            ready: false,
            restartCount: 0,
            state: { waiting: { reason: "ImagePullBackOff", message: 'Back-off pulling image "reg.test/bu/auth:x"' } },
          },
        ],
      },
    };
    expect(serviceStatus("auth", deployment({ ready: 0 }), [pod], "VERBU-6202")).to.include({
      state: "failing",
      reason: 'auth-1: ImagePullBackOff: Back-off pulling image "reg.test/bu/auth:x"',
    });
  });

  it("pending: unschedulable, with the scheduler's message", () => {
    const pod: V1Pod = {
      metadata: { name: "auth-1", labels: { "app.kubernetes.io/name": "auth" } },
      status: {
        phase: "Pending",
        conditions: [
          {
            type: "PodScheduled",
            status: "False",
            reason: "Unschedulable",
            message: "0/6 nodes are available: 6 Insufficient cpu.",
          },
        ],
      },
    };
    expect(serviceStatus("auth", deployment({ ready: 0 }), [pod], "VERBU-6202")).to.include({
      state: "pending",
      reason: "auth-1: Unschedulable: 0/6 nodes are available: 6 Insufficient cpu.",
    });
  });

  it("pending: its init container still waits for nsqd", () => {
    const pod: V1Pod = {
      metadata: { name: "auth-1", labels: { "app.kubernetes.io/name": "auth" } },
      status: {
        phase: "Pending",
        initContainerStatuses: [
          {
            name: "wait-for-nsqd",
            image: "busybox",
            imageID: "",
            ready: false,
            restartCount: 0,
            state: { running: {} },
          },
        ],
      },
    };
    expect(serviceStatus("auth", deployment({ ready: 0 }), [pod], "VERBU-6202")).to.include({
      state: "pending",
      reason: "auth-1: waiting for nsqd (init container wait-for-nsqd)",
    });
  });

  it("updating: a new generation not yet rolled out; terminating pods do not count", () => {
    const leaving: V1Pod = {
      ...runningPod("auth-old", "auth", 4),
      metadata: { ...runningPod("x").metadata, name: "auth-old", deletionTimestamp: new Date() },
    };
    const status = serviceStatus(
      "auth",
      deployment({ generation: 2, observed: 2, updated: 0, ready: 1 }),
      [runningPod("auth-1"), leaving],
      "VERBU-6202",
    );
    expect(status).to.include({ state: "updating", reason: "rollout: 0/1 updated, 1/1 ready", restartCount: 0 });
  });

  it("scaled-down: zero replicas wanted", () => {
    expect(serviceStatus("auth", deployment({ replicas: 0, ready: 0, updated: 0 }), [], "VERBU-6202")).to.include({
      state: "scaled-down",
      desiredReplicas: 0,
    });
  });

  it("pending while no pod exists yet", () => {
    expect(serviceStatus("auth", deployment({ ready: 0, updated: 0 }), [], "VERBU-6202")).to.include({
      state: "pending",
      reason: "no pod yet",
    });
  });
});
