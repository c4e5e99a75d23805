// Test doubles for the status page that behave like what they stand in for. The driver's service statuses are made
// by automation/status.ts's own serviceStatus() from pod and workload objects shaped as the API server returns them,
// so the page sees exactly the shapes (tags, digests, reasons) the real driver produces. The jobs fake follows the
// JobStore contract: queued → running → succeeded, output kept and read from an offset, and a finished deploy or
// destroy changes what the driver reports, as the real job runner does through the real driver.
import type { V1Pod } from "@kubernetes/client-node";
import { featureFromStack } from "../../../environments/feature";
import { BadInputError } from "../../../automation/exitCodes";
import type {
  CapacityReport,
  EnvironmentStatus,
  LogLine,
  LogOptions,
  ServiceStatus,
} from "../../../automation/observeTypes";
import { serviceStatus, WorkloadShape } from "../../../automation/status";
import type { EnvironmentSummary } from "../../../automation/types";
import type { Caller, Job, JobRequest } from "../../../automation/service/contracts";
import type { PageDriver } from "../../../automation/service/page/gather";
import type { PageJobs } from "../../../automation/service/page/plugin";

export const DIGEST = "sha256:" + "0123456789abcdef".repeat(4);
const REGISTRY = "127.0.0.1:15000";

export type FakeServiceKind = "active" | "crashing" | "unschedulable" | "image-pull";

function workload(service: string, tag: string, ready: number): WorkloadShape {
  return {
    metadata: { name: service, generation: 1 },
    spec: { replicas: 1, template: { spec: { containers: [{ image: `${REGISTRY}/bu/${service}:${tag}` }] } } },
    status: { observedGeneration: 1, replicas: 1, readyReplicas: ready, updatedReplicas: 1 },
  };
}

/** What the kubelet and the scheduler write for a pod in each situation. */
function pod(service: string, tag: string, kind: FakeServiceKind, reasonText = ""): V1Pod {
  const name = `${service}-7d9c5b7f6d-x2x4z`;
  const meta = {
    name,
    labels: { "app.kubernetes.io/name": service },
    creationTimestamp: new Date("2026-12-01T09:00:00Z"),
  };
  const image = `${REGISTRY}/bu/${service}:${tag}`;
  const running = {
    name: service,
    image,
    imageID: `${REGISTRY}/bu/${service}@${DIGEST}`,
    ready: true,
    restartCount: 0,
    state: { running: {} },
  };
  if (kind === "active") return { metadata: meta, status: { phase: "Running", containerStatuses: [running] } };
  if (kind === "crashing") {
    return {
      metadata: meta,
      status: {
        phase: "Running",
        containerStatuses: [
          {
            ...running,
            ready: false,
            restartCount: 4,
            state: { waiting: { reason: "CrashLoopBackOff", message: "back-off 40s restarting failed container" } },
            lastState: { terminated: { reason: `Error${reasonText}`, exitCode: 1 } },
          },
        ],
      },
    };
  }
  if (kind === "image-pull") {
    return {
      metadata: meta,
      status: {
        phase: "Pending",
        containerStatuses: [
          {
            name: service,
            image,
            imageID: "",
            ready: false,
            restartCount: 0,
            state: {
              waiting: { reason: "ImagePullBackOff", message: `Back-off pulling image "${image}"${reasonText}` },
            },
          },
        ],
      },
    };
  }
  return {
    metadata: meta,
    status: {
      phase: "Pending",
      conditions: [
        {
          type: "PodScheduled",
          status: "False",
          reason: "Unschedulable",
          message: `0/2 nodes are available: 2 Insufficient memory.${reasonText}`,
        },
      ],
    },
  };
}

export interface FakeServiceSpec {
  readonly service: string;
  readonly kind?: FakeServiceKind;
  /** Appended to the kubelet's/scheduler's message: lets tests put hostile text into a reason. */
  readonly reasonText?: string;
  readonly onBranch?: boolean;
}

export function fakeService(ticket: string, spec: FakeServiceSpec): ServiceStatus {
  const tag = spec.onBranch ? `${ticket}_latest` : "master_latest";
  const kind = spec.kind ?? "active";
  return serviceStatus(
    spec.service,
    workload(spec.service, tag, kind === "active" ? 1 : 0),
    [pod(spec.service, tag, kind, spec.reasonText)],
    ticket,
  );
}

interface FakeEnvironment {
  ticket: string;
  deployedBy: string;
  createdAt: string;
  lastDeployedAt: string;
  services: ServiceStatus[];
  updateInProgress: boolean;
}

export const FRONT_END_SERVICES = ["desktop-web", "customer-area", "wallet"];

/** A driver over an in-memory set of environments; `logLines` per "TICKET/service" (with `previous` lines apart). */
export class FakeDriver implements PageDriver {
  readonly environments = new Map<string, FakeEnvironment>();
  readonly logLines = new Map<string, LogLine[]>();
  readonly calls: string[] = [];
  domain = "qa.example.test";
  environmentsThatFit = 3;

  constructor(private readonly now: () => Date = () => new Date()) {}

  add(ticket: string, specs: readonly FakeServiceSpec[], deployedBy = "jane.doe", lastDeployedAt?: string): void {
    const at = lastDeployedAt ?? this.now().toISOString();
    const existing = this.environments.get(ticket);
    this.environments.set(ticket, {
      ticket,
      deployedBy,
      createdAt: existing?.createdAt ?? new Date(Date.parse(at) - 26 * 3_600_000).toISOString(),
      lastDeployedAt: at,
      services: specs.map((s) => fakeService(ticket, s)),
      updateInProgress: false,
    });
  }

  async list(): Promise<EnvironmentSummary[]> {
    this.calls.push("list");
    return [...this.environments.values()].map((e) => ({
      ticket: e.ticket,
      stack: e.ticket.toLowerCase(),
      lastUpdate: e.lastDeployedAt,
      updateInProgress: e.updateInProgress,
      resourceCount: 40,
      record: {
        deployedBy: e.deployedBy,
        deployedBySource: "option",
        createdAt: e.createdAt,
        lastDeployedAt: e.lastDeployedAt,
        resourceCount: 40,
      },
    }));
  }

  async status(ticket: string): Promise<EnvironmentStatus> {
    this.calls.push(`status ${ticket}`);
    const feature = featureFromStack(ticket);
    const e = this.environments.get(feature.ticket);
    const base = { ticket: feature.ticket, stack: feature.name, namespace: feature.name };
    if (!e) return { ...base, exists: false, appLinks: {}, services: [] };
    const host = `services-${feature.name}.${this.domain}`;
    const paths: Record<string, string> = { "desktop-web": "/", "customer-area": "/customer-area", wallet: "/wallet" };
    const appLinks: Record<string, string> = {};
    for (const s of e.services) if (paths[s.service]) appLinks[s.service] = `https://${host}${paths[s.service]}`;
    return {
      ...base,
      exists: true,
      url: `https://${host}`,
      appLinks,
      record: {
        deployedBy: e.deployedBy,
        deployedBySource: "option",
        createdAt: e.createdAt,
        lastDeployedAt: e.lastDeployedAt,
      },
      ageMs: this.now().getTime() - Date.parse(e.createdAt),
      services: e.services,
    };
  }

  async logs(ticket: string, service: string, options: LogOptions): Promise<LogLine[]> {
    this.calls.push(`logs ${ticket} ${service}${options.previous ? " previous" : ""}`);
    const feature = featureFromStack(ticket);
    const e = this.environments.get(feature.ticket);
    if (!e) throw new BadInputError(`${feature.ticket}: no environment (stack ${feature.name} does not exist)`);
    if (!e.services.some((s) => s.service === service)) {
      throw new BadInputError(`${feature.ticket}: service "${service}" has no pod in namespace ${feature.name}`);
    }
    const lines = this.logLines.get(`${feature.ticket}/${service}${options.previous ? "/previous" : ""}`) ?? [];
    return options.tail !== undefined ? lines.slice(-options.tail) : lines;
  }

  async capacity(): Promise<CapacityReport> {
    this.calls.push("capacity");
    const gib = 2 ** 30;
    const node = (name: string, freeCpu: number, freeMemGib: number) => ({
      node: name,
      allocatable: { cpuMillis: 4000, memoryBytes: 8 * gib, pods: 110 },
      free: { cpuMillis: freeCpu, memoryBytes: freeMemGib * gib, pods: 80 },
    });
    const nodes = [node("qa-1", 2500, 3), node("qa-2", 1500, 2)];
    const perEnvironment = { cpuMillis: 400, memoryBytes: 1.5 * gib, pods: 60 };
    return {
      nodes,
      free: { cpuMillis: 4000, memoryBytes: 5 * gib, pods: 160 },
      perEnvironment,
      largestPod: { name: "mongodb", cpuMillis: 50, memoryBytes: 0.5 * gib, pods: 1 },
      environmentsThatFit: this.environmentsThatFit,
      limitedBy: "memory",
      headroom: { cpuMillis: 100, memoryBytes: 0.25 * gib, pods: 2 },
      quota: perEnvironment,
    };
  }
}

/** In-memory JobStore behaviour for the page: jobs run on their own timer (stepMs per step) when `autoRun` is set. */
export class FakeJobs implements PageJobs {
  readonly jobs = new Map<string, Job>();
  readonly outputs = new Map<string, string>();
  private seq = 0;

  constructor(
    private readonly driver?: FakeDriver,
    private readonly options: { autoRun?: boolean; stepMs?: number; deployServices?: readonly FakeServiceSpec[] } = {},
  ) {}

  async enqueue(request: JobRequest): Promise<Job> {
    const job: Job = { ...request, id: `job-${++this.seq}`, state: "queued", createdAt: new Date().toISOString() };
    this.jobs.set(job.id, job);
    this.outputs.set(job.id, "");
    if (this.options.autoRun) void this.run(job.id);
    return job;
  }

  async get(id: string): Promise<Job | undefined> {
    return this.jobs.get(id);
  }

  async output(id: string, fromOffset = 0): Promise<string> {
    return (this.outputs.get(id) ?? "").slice(fromOffset);
  }

  private async run(id: string): Promise<void> {
    const step = () => new Promise((r) => setTimeout(r, this.options.stepMs ?? 400));
    const update = (patch: Partial<Job>) => this.jobs.set(id, { ...this.jobs.get(id)!, ...patch });
    const say = (text: string) => this.outputs.set(id, this.outputs.get(id)! + text + "\n");
    const job = this.jobs.get(id)!;
    await step();
    update({ state: "running", startedAt: new Date().toISOString() });
    say(`Updating (${job.ticket.toLowerCase()})`);
    for (const n of [40, 80]) {
      await step();
      say(`  ${n}% of resources done`);
    }
    await step();
    if (this.driver) {
      if (job.kind === "deploy")
        this.driver.add(job.ticket, this.options.deployServices ?? [{ service: "auth" }], job.requestedBy);
      else this.driver.environments.delete(job.ticket);
    }
    say(job.kind === "deploy" ? "Resources: 40 created" : "Resources: 40 deleted");
    update({ state: "succeeded", finishedAt: new Date().toISOString() });
  }
}

export const callers: Record<string, Caller> = {
  "deploy-token-1234": { name: "deployer", scopes: ["deploy"] },
  "read-token-5678": { name: "reader", scopes: ["read"] },
};
export const authenticate = (token: string): Caller | undefined => callers[token];
