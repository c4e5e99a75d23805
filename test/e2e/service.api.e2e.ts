// The QA service end to end: the real service process (npm run serve's script) on 127.0.0.1, a temp SQLite data dir,
// a tokens file, the REAL driver and engine rendering manifests (qa-k8s:renderTo, no cluster). A deploy followed
// through its server-sent events to the end; the lists; a graceful stop; a kill -9 in the middle of a deploy, after
// which the restarted service reports that job interrupted and a new job for the ticket converges; removal.
import { expect } from "chai";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { parse, stringify } from "yaml";
import { parseCatalog } from "../../environments/catalog";
import { LocalRegistry } from "../../scripts/lib/localRegistry";
import type { Job } from "../../automation/service/contracts";
import type { DeployResult } from "../../automation/types";
import { Engine, privateEngine, remainingStacks, stackLocks } from "./support/engine";
import { followJob, freePort, ServiceProcess, ServiceTokens, writeTokens } from "./support/serviceProcess";

const CATALOG = parseCatalog(fs.readFileSync("environments/catalog.yaml", "utf8"), "catalog.yaml");
const SMALL = ["nsqd", "nsqlookupd", "auth", "wallet", "desktop-web"];

describe("QA service process, real driver and engine (render mode)", function () {
  this.timeout(30 * 60_000);
  let engine: Engine;
  let registry: LocalRegistry;
  let tmp: string;
  let tokens: ServiceTokens;
  let service: ServiceProcess | undefined;
  let port: number;
  let env: (catalog?: string) => Record<string, string>;

  before(async () => {
    engine = await privateEngine("service");
    registry = await LocalRegistry.start();
    await registry.pushApps(CATALOG, "master_latest", "build 1");
    await registry.push("bu/auth", "VERBU-9550_latest", "auth branch build");
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), "qa-k8s-service-"));
    const full = parse(fs.readFileSync("environments/catalog.yaml", "utf8"));
    full.services = full.services.filter((s: { name: string }) => SMALL.includes(s.name));
    fs.writeFileSync(path.join(tmp, "catalog.yaml"), stringify(full));
    tokens = writeTokens(path.join(tmp, "tokens.json"));
    port = await freePort();
    env = (catalog) => ({
      ...engine.envVars,
      QA_DATA_DIR: path.join(tmp, "data"),
      QA_TOKENS_FILE: path.join(tmp, "tokens.json"),
      QA_STACK_CONFIG: [
        `registry=${registry.address}`,
        "registryInsecure=true",
        `renderTo=${path.join(tmp, "rendered-{ticket}")}`,
        ...(catalog ? [`catalog=${catalog}`] : []),
      ].join(";"),
    });
  });

  after(async () => {
    if (service) await service.kill();
    await registry?.stop();
    engine?.dispose();
    if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
  });

  const deploy = async (ticket: string, services?: string[]) => {
    const res = await service!.json<{ job: Job }>("/environments", tokens.deploy, {
      method: "POST",
      body: JSON.stringify({ ticket, ...(services ? { services } : {}) }),
    });
    expect(res.status, JSON.stringify(res.body)).to.equal(202);
    return res.body.job;
  };
  const job = async (id: string) => (await service!.json<Job & { output: string }>(`/jobs/${id}`, tokens.read)).body;

  it("deploys through the API: 202, live SSE to the end, the job's result, the environment listed", async () => {
    service = await ServiceProcess.start(env(path.join(tmp, "catalog.yaml")), port);
    expect((await service.json("/readyz", undefined)).body).to.deep.equal({
      ok: true,
      checks: { store: "ok", engine: "ok" },
    });
    const queued = await deploy("VERBU-9550", ["auth"]);
    expect(queued).to.include({ kind: "deploy", ticket: "VERBU-9550", requestedBy: "e2e-deployer" });
    const followed = await followJob(service, queued.id, tokens.read);
    expect(followed.job.state, followed.output).to.equal("succeeded");
    expect(followed.output).to.include("Updating (verbu-9550)").and.include("deploy VERBU-9550 succeeded");
    const done = await job(queued.id);
    expect(done.output).to.equal(followed.output);
    expect(done.result).to.include({ stack: "verbu-9550", namespace: "verbu-9550" });
    expect((done.result as DeployResult).featureServices).to.deep.equal(["auth"]);
    expect((done.result as DeployResult).images.auth).to.match(
      new RegExp(`^${registry.address}/bu/auth:VERBU-9550_latest@sha256:[0-9a-f]{64}$`),
    );
    const list = await service.json<{ stack: string; record?: { deployedBy: string } }[]>("/environments", tokens.read);
    expect(list.body.map((e) => e.stack)).to.deep.equal(["verbu-9550"]);
    expect(list.body[0].record?.deployedBy).to.equal("e2e-deployer");
    const jobs = await service.json<Job[]>("/jobs?ticket=VERBU-9550", tokens.read);
    expect(jobs.body.map((j) => j.id)).to.deep.equal([queued.id]);
    const bad = await service.json<{ message: string }>("/environments", tokens.deploy, {
      method: "POST",
      body: JSON.stringify({ ticket: "VERBU-9550", services: ["nope"] }),
    });
    expect(bad.status).to.equal(400);
    expect(bad.body.message).to.match(/^services: qa-k8s:featureServices: "nope" is not an app service of /);
    for (const token of Object.values(tokens)) expect(service.log).not.to.include(token);
    expect(await service.stop()).to.equal(0);
  });

  it("after a kill -9 mid-deploy: the job is interrupted, history kept, a new job for the ticket converges", async () => {
    service = await ServiceProcess.start(env(), port);
    const killed = await deploy("VERBU-9551");
    for (;;) {
      const current = await job(killed.id);
      expect(current.state, current.output).to.be.oneOf(["queued", "running"]);
      if (/\d+\/\d+ done/.test(current.output) && current.state === "running") break;
      await new Promise((r) => setTimeout(r, 100));
    }
    await service.kill();
    const locks = stackLocks(engine);
    expect(
      locks.filter((l) => l.includes("verbu-9551")),
      `the killed run left its lock: ${locks}`,
    ).not.to.deep.equal([]);

    service = await ServiceProcess.start(env(), port);
    const interrupted = await job(killed.id);
    expect(interrupted.state).to.equal("interrupted");
    expect(interrupted.error?.name).to.equal("InterruptedError");
    expect(interrupted.output).to.include("Updating (verbu-9551)");
    const first = await service.json<Job[]>("/jobs?ticket=VERBU-9550", tokens.read);
    expect(first.body.map((j) => j.state)).to.deep.equal(["succeeded"]); // the earlier history survived
    const again = await deploy("VERBU-9551");
    const followed = await followJob(service, again.id, tokens.read);
    expect(followed.job.state, followed.output).to.equal("succeeded");
    expect(stackLocks(engine)).to.deep.equal([]);
  });

  it("removes environments: DELETE → 202, the destroy job succeeds, the stacks are gone, then 404", async () => {
    for (const ticket of ["VERBU-9550", "VERBU-9551"]) {
      const res = await service!.json<{ job: Job }>(`/environments/${ticket}`, tokens.deploy, { method: "DELETE" });
      expect(res.status).to.equal(202);
      const followed = await followJob(service!, res.body.job.id, tokens.read);
      expect(followed.job.state, followed.output).to.equal("succeeded");
    }
    expect((await service!.json("/environments", tokens.read)).body).to.deep.equal([]);
    expect(remainingStacks(engine)).to.deep.equal([]);
    const gone = await service!.json<{ message: string }>("/environments/VERBU-9550", tokens.deploy, {
      method: "DELETE",
    });
    expect(gone.status).to.equal(404);
    expect(gone.body.message).to.equal("VERBU-9550: no environment (stack verbu-9550 does not exist)");
  });
});
