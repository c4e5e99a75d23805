// Two QA service processes (`automation/service/main.ts`, as `npm run serve` starts it) against ONE PostgreSQL 15:
// jobs in the PostgreSQL job store, Pulumi state in the same database through the postgres:// backend, the real
// engine in render mode. The same ticket posted to both at once → the two jobs run one after the other (never at
// once), both succeed, and both replicas show the same one history.
import { expect } from "chai";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { parse, stringify } from "yaml";
import type { Job } from "../../automation/service/contracts";
import { parseCatalog } from "../../environments/catalog";
import { LocalRegistry } from "../../scripts/lib/localRegistry";
import { pulumiEnv } from "../../scripts/lib/toolchain";
import { startPostgres, TestPostgres } from "./support/postgres";
import { freePort, ServiceProcess, ServiceTokens, writeTokens } from "./support/serviceProcess";

const CATALOG = parseCatalog(fs.readFileSync("environments/catalog.yaml", "utf8"), "catalog.yaml");
const SMALL = ["nsqd", "nsqlookupd", "auth", "wallet", "desktop-web"];
const TICKET = "VERBU-9630";
const ENDED = new Set(["succeeded", "failed", "cancelled", "interrupted"]);

describe("two QA service replicas on one PostgreSQL", function () {
  this.timeout(20 * 60_000);
  let pg: TestPostgres;
  let registry: LocalRegistry;
  let tmp: string;
  let tokens: ServiceTokens;
  const replicas: ServiceProcess[] = [];

  const call = async (replica: ServiceProcess, method: string, route: string, body?: object) => {
    const token = method === "GET" ? tokens.read : tokens.deploy;
    const res = await replica.request(route, token, { method, body: body ? JSON.stringify(body) : undefined });
    const text = await res.text();
    return { status: res.status, body: text ? JSON.parse(text) : undefined };
  };

  const waitEnded = async (replica: ServiceProcess, id: string): Promise<Job & { output: string }> => {
    for (const deadline = Date.now() + 10 * 60_000; Date.now() < deadline;) {
      const { status, body } = await call(replica, "GET", `/jobs/${id}`);
      expect(status, JSON.stringify(body)).to.equal(200);
      if (ENDED.has(body.state)) return body;
      await sleep(500);
    }
    throw new Error(`job ${id} did not end within 10 minutes`);
  };

  before(async () => {
    pg = await startPostgres("svc-replicas");
    registry = await LocalRegistry.start();
    await registry.pushApps(CATALOG, "master_latest", "build 1");
    await registry.push("bu/auth", `${TICKET}_latest`, "auth branch build");
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), "qa-k8s-replicas-"));
    const full = parse(fs.readFileSync("environments/catalog.yaml", "utf8"));
    full.services = full.services.filter((s: { name: string }) => SMALL.includes(s.name));
    fs.writeFileSync(path.join(tmp, "catalog.yaml"), stringify(full));
    const tokensFile = path.join(tmp, "tokens.json");
    tokens = writeTokens(tokensFile);
    const env = {
      ...(await pulumiEnv()),
      PULUMI_BACKEND_URL: pg.url,
      QA_DATABASE_URL: pg.url,
      QA_TOKENS_FILE: tokensFile,
      QA_STACK_CONFIG: [
        `registry=${registry.address}`,
        "registryInsecure=true",
        `catalog=${path.join(tmp, "catalog.yaml")}`,
        `renderTo=${path.join(tmp, "rendered-{ticket}")}`,
      ].join(";"),
    };
    // Both start at once: the schema is created under its advisory lock by whichever comes first.
    const [pa, pb] = [await freePort(), await freePort()];
    replicas.push(
      ...(await Promise.all([
        ServiceProcess.start({ ...env, QA_DATA_DIR: path.join(tmp, "a") }, pa),
        ServiceProcess.start({ ...env, QA_DATA_DIR: path.join(tmp, "b") }, pb),
      ])),
    );
  });

  after(async () => {
    // SIGTERM: a safe stop (running jobs cancelled and recorded); a replica that does not stop is killed.
    for (const replica of replicas) {
      const stopped = await Promise.race([replica.stop().then(() => true), sleep(60_000).then(() => false)]);
      if (!stopped) await replica.kill();
    }
    await registry?.stop();
    await pg?.stop();
    if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
  });

  it("serialises the same ticket posted to both at once; both jobs succeed; one history", async () => {
    const [a, b] = replicas;
    const posted = await Promise.all(
      [a, b].map((r) => call(r, "POST", "/environments", { ticket: TICKET, services: ["auth"] })),
    );
    // A 5xx's details are in the replica's log only (the answer never carries them).
    posted.forEach((p, i) => expect(p.status, `${JSON.stringify(p.body)}\n${tail(replicas[i].log)}`).to.equal(202));
    const ids = posted.map((p) => p.body.job.id as string);
    expect(new Set(ids).size).to.equal(2);
    // Each job is read through the OTHER replica: the store is shared.
    const jobs = await Promise.all([waitEnded(b, ids[0]), waitEnded(a, ids[1])]);
    for (const job of jobs) expect(job.state, job.output).to.equal("succeeded");
    const [first, second] = [...jobs].sort((x, y) => Date.parse(x.startedAt!) - Date.parse(y.startedAt!));
    expect(Date.parse(second.startedAt!), "the second started after the first ended").to.be.at.least(
      Date.parse(first.finishedAt!),
    );
    const changes = (job: Job) => (job.result as { changes: Record<string, number> }).changes;
    expect(changes(first).create).to.be.greaterThan(10);
    expect(Object.keys(changes(second))).to.deep.equal(["same"]);

    const histories = await Promise.all([a, b].map((r) => call(r, "GET", `/jobs?ticket=${TICKET}`)));
    const [ha, hb] = histories.map((h) => (h.body as Job[]).map((j) => `${j.id} ${j.state}`));
    expect(ha).to.deep.equal(hb);
    expect(ha).to.have.members(ids.map((id) => `${id} succeeded`));
    const envs = await call(a, "GET", "/environments");
    expect((envs.body as { ticket: string }[]).map((e) => e.ticket)).to.deep.equal([TICKET]);
    console.log(
      `      first ${first.id} ran ${first.startedAt} → ${first.finishedAt}; second ${second.startedAt} → ${second.finishedAt}`,
    );
  });

  it("removes the environment through either replica", async () => {
    const removed = await call(replicas[1], "DELETE", `/environments/${TICKET}`);
    expect(removed.status, JSON.stringify(removed.body)).to.equal(202);
    const job = await waitEnded(replicas[0], removed.body.job.id);
    expect(job.state, job.output).to.equal("succeeded");
    expect((await call(replicas[0], "GET", "/environments")).body).to.deep.equal([]);
  });

  it("never logged the database password", () => {
    const logs = replicas.map((r) => r.log).join("\n");
    expect(logs.length).to.be.greaterThan(0);
    expect(logs).to.not.include(pg.password);
    for (const token of Object.values(tokens)) expect(logs).to.not.include(token);
  });
});

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const tail = (log: string) => log.split("\n").slice(-40).join("\n");
