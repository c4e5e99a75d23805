import { expect } from "chai";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { BackendPreparation, isTableCreateRace, openRetryingTableRace } from "../../../automation/backendReady";

const URL_ = "postgres://qa_service:s3cret-pw@127.0.0.1:5432/qa";
// The CLI's own words when it lost the race (pulumi 3.248, two `pulumi stack ls` on a fresh database).
const RACE =
  `error: unable to open bucket ${URL_}: failed to create table pulumi_state: ` +
  `pq: duplicate key value violates unique constraint "pg_type_typname_nsp_index" (23505)`;
const noSleep = () => Promise.resolve();

describe("backendReady", () => {
  it("tells the table-creation race from other failures", () => {
    expect(isTableCreateRace(new Error(RACE))).to.equal(true);
    expect(isTableCreateRace(RACE.replace("pg_type_typname_nsp_index", "pg_class_relname_nsp_index"))).to.equal(true);
    expect(isTableCreateRace(new Error(`error: unable to open bucket ${URL_}: failed to ping PostgreSQL`))).to.equal(
      false,
    );
    expect(isTableCreateRace(new Error('duplicate key value violates unique constraint "jobs_pkey"'))).to.equal(false);
  });

  it("opens again after losing the race, and returns what the open returned", async () => {
    let calls = 0;
    const pauses: number[] = [];
    const result = await openRetryingTableRace(
      URL_,
      async () => {
        if (++calls < 3) throw new Error(RACE);
        return "stacks";
      },
      { pauseMs: (attempt) => attempt * 10, sleep: async (ms) => void pauses.push(ms) },
    );
    expect(result).to.equal("stacks");
    expect(calls).to.equal(3);
    expect(pauses).to.deep.equal([10, 20]);
  });

  it("gives up after the last attempt, and never on another error; the password never in the error", async () => {
    let calls = 0;
    const always = () => (calls++, Promise.reject(new Error(RACE)));
    const last = await openRetryingTableRace(URL_, always, { attempts: 3, sleep: noSleep }).catch((e: Error) => e);
    expect(calls).to.equal(3);
    expect((last as Error).message).to.include("postgres://qa_service:[redacted]@127.0.0.1:5432/qa");
    expect((last as Error).message).to.not.include("s3cret-pw");
    calls = 0;
    const other = new Error("failed to ping PostgreSQL: connection refused");
    const thrown = await openRetryingTableRace(URL_, () => (calls++, Promise.reject(other)), { sleep: noSleep }).catch(
      (e: Error) => e,
    );
    expect(thrown).to.equal(other);
    expect(calls).to.equal(1);
  });

  it("opens a postgres backend once per driver, and again after a failure; a file backend never", async () => {
    let opens = 0;
    let fail = true;
    const prep = new BackendPreparation(
      () => URL_,
      async () => {
        opens++;
        if (fail) throw new Error("failed to ping PostgreSQL");
      },
      () => undefined,
    );
    await prep.ready("VERBU-1").catch(() => undefined);
    fail = false;
    await Promise.all([prep.ready("VERBU-1"), prep.ready("VERBU-2"), prep.ready("")]);
    await prep.ready("VERBU-3");
    expect(opens).to.equal(2);

    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "qa-k8s-backend-ready-"));
    try {
      const stacks = path.join(dir, ".pulumi", "stacks", "qa-k8s");
      fs.mkdirSync(stacks, { recursive: true });
      fs.writeFileSync(path.join(stacks, "verbu-1.json"), "{}");
      fs.writeFileSync(path.join(stacks, "verbu-1.json.attrs"), '{"Metadata":'); // half-written by a killed run
      const repaired: string[] = [];
      let fileOpens = 0;
      const filePrep = new BackendPreparation(
        () => `file://${dir}`,
        async () => void fileOpens++,
        (ticket, file) => repaired.push(`${ticket} ${path.basename(file)}`),
      );
      await filePrep.ready("VERBU-1");
      expect(repaired).to.deep.equal(["VERBU-1 verbu-1.json.attrs"]);
      expect(fileOpens).to.equal(0);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
