// The service entry's choices: which job store (SQLite by default, PostgreSQL with QA_DATABASE_URL), the engine's
// environment (the caller's when an engine is there), and the hash-token command of `npm run serve`.
import { expect } from "chai";
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { authenticate, parseTokens } from "../../../automation/service/auth";
import type { DriverApi } from "../../../automation/cli/driverApi";
import { engineEnv, measuringTheServiceCluster, openStore } from "../../../automation/service/main";
import { SqliteJobStore } from "../../../automation/service/sqliteStore";
import { CAPACITY } from "./fakes";

const PG_STORE = path.join(__dirname, "../../../automation/service/pgStore.ts");

describe("service entry (main.ts)", () => {
  it("opens the SQLite store in the data dir when QA_DATABASE_URL is unset", async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "qa-svc-main-"));
    try {
      const store = await openStore({ dataDir: dir });
      expect(store).to.be.instanceOf(SqliteJobStore);
      await store.close();
      expect(fs.existsSync(path.join(dir, "jobs.sqlite"))).to.equal(true);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  // TODO(svc-pg): once automation/service/pgStore.ts is merged, its own e2e test covers QA_DATABASE_URL for real.
  (fs.existsSync(PG_STORE) ? it.skip : it)(
    "says clearly when QA_DATABASE_URL is set but no PostgreSQL store is built in",
    async () => {
      const error = await openStore({ dataDir: "/nonexistent", databaseUrl: "postgres://qa:pw@127.0.0.1:1/qa" }).then(
        () => undefined,
        (e: Error) => e,
      );
      expect(error?.message).to.match(/^QA_DATABASE_URL is set but the PostgreSQL job store cannot be loaded \(/);
      expect(error?.message).not.to.include("pw@");
    },
  );

  it("keeps the caller's environment when an engine is on it", async () => {
    const env = { QA_PULUMI_BIN: process.execPath, PULUMI_BACKEND_URL: "file:///tmp/x" };
    expect(await engineEnv(env)).to.equal(env);
  });

  it("hash-token prints a token once and an entry that authenticates it; refuses a bad scope", function () {
    this.timeout(60_000);
    const run = (...args: string[]) =>
      spawnSync("bash", ["scripts/serve", "hash-token", ...args], {
        encoding: "utf8",
        cwd: path.join(__dirname, "../../.."),
      });
    const ok = run("bamboo", "deploy");
    expect(ok.status, ok.stderr).to.equal(0);
    const token = /token \(shown once.*\): (\S+)/.exec(ok.stdout)![1];
    const entries = parseTokens(`[${ok.stdout.trim().split("\n").pop()}]`, "stdout");
    expect(entries[0]).to.include({ name: "bamboo" });
    expect(authenticate(entries, token)).to.deep.equal({ name: "bamboo", scopes: ["read", "deploy"] });
    const bad = run("bamboo", "root");
    expect(bad.status).to.equal(2);
    expect(bad.stderr).to.include("usage: npm run serve -- hash-token <name> [read|deploy|admin]");
  });
});

describe("QA service: the driver it uses", () => {
  it("measures capacity on the service's cluster (its stack config), and passes everything else through", async () => {
    const seen: unknown[] = [];
    const driver = {
      capacity: async (options?: unknown) => (seen.push(options), CAPACITY),
      list: async () => [],
    } as unknown as DriverApi;
    const config = { kubeconfig: { value: "apiVersion: v1", secret: true } };
    const wrapped = measuringTheServiceCluster(driver, config);
    await wrapped.capacity();
    await wrapped.capacity({ config: {} });
    expect(seen).to.deep.equal([{ config }, { config: {} }]);
    expect(await wrapped.list()).to.deep.equal([]);
    await measuringTheServiceCluster(driver, undefined).capacity();
    expect(seen[2]).to.deep.equal({});
  });
});
