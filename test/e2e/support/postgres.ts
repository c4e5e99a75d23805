// A private PostgreSQL 15 (Debian's) for one test file: initdb into a temporary folder, started on 127.0.0.1 at a free
// port with its socket inside that folder, one database and one password user (scram over TCP, as a real deployment
// would connect). PostgreSQL refuses to run as root, so as root the cluster belongs to the `postgres` system user
// and every server command runs through `runuser`. stop() kills the server and removes the folder.
import { execFile } from "node:child_process";
import { randomBytes } from "node:crypto";
import * as fs from "node:fs";
import * as net from "node:net";
import * as os from "node:os";
import * as path from "node:path";
import { promisify } from "node:util";
import { Client } from "pg";

const run = promisify(execFile);
const BIN = process.env.QA_TEST_PG_BIN ?? "/usr/lib/postgresql/15/bin";

export interface TestPostgres {
  /** postgres://user:password@127.0.0.1:port/db — a secret: never print it. */
  readonly url: string;
  readonly port: number;
  readonly user: string;
  readonly password: string;
  readonly database: string;
  /** The superuser's URL (same password), for tests that must see or kill other sessions. */
  readonly adminUrl: string;
  stop(): Promise<void>;
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

/** Runs a server binary as the cluster's owner; errors carry the command's own output. */
async function asOwner(asRoot: boolean, bin: string, args: string[]): Promise<string> {
  const file = path.join(BIN, bin);
  if (!fs.existsSync(file)) {
    throw new Error(`test PostgreSQL: ${file} is missing; install Debian's postgresql 15 (apt-get install postgresql)`);
  }
  const [cmd, argv] = asRoot ? ["runuser", ["-u", "postgres", "--", file, ...args]] : [file, args];
  try {
    const { stdout } = await run(cmd, argv, { timeout: 60_000 });
    return stdout;
  } catch (error) {
    const e = error as { stderr?: string; stdout?: string; message: string };
    throw new Error(`test PostgreSQL: ${bin} failed: ${(e.stderr || e.stdout || e.message).trim()}`);
  }
}

export async function startPostgres(label = "pg"): Promise<TestPostgres> {
  const asRoot = process.getuid?.() === 0;
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), `qa-k8s-${label}-`));
  const data = path.join(dir, "data");
  const sock = path.join(dir, "sock");
  fs.mkdirSync(sock);
  const password = randomBytes(18).toString("base64url");
  const pwfile = path.join(dir, "pw");
  fs.writeFileSync(pwfile, password, { mode: 0o600 });
  if (asRoot) {
    const uid = (await run("id", ["-u", "postgres"])).stdout.trim();
    const gid = (await run("id", ["-g", "postgres"])).stdout.trim();
    for (const p of [dir, sock, pwfile]) fs.chownSync(p, Number(uid), Number(gid));
  }
  let started = false;
  const stop = async () => {
    if (started) {
      started = false;
      await asOwner(asRoot, "pg_ctl", ["stop", "-D", data, "-m", "immediate", "-w"]).catch(() => undefined);
    }
    fs.rmSync(dir, { recursive: true, force: true });
  };
  try {
    await asOwner(asRoot, "initdb", [
      "-D",
      data,
      "-U",
      "qa_admin",
      `--pwfile=${pwfile}`,
      "--auth-local=scram-sha-256",
      "--auth-host=scram-sha-256",
      "--no-sync",
      "-E",
      "UTF8",
      "--locale=C",
    ]);
    fs.rmSync(pwfile);
    // Durability is not what these tests check; fsync off makes every commit ~free on the shared CPUs.
    const opts = `-k ${sock} -h 127.0.0.1 -c fsync=off -c synchronous_commit=off -c full_page_writes=off`;
    let port = 0;
    for (let attempt = 0; ; attempt++) {
      port = await freePort();
      try {
        await asOwner(asRoot, "pg_ctl", [
          "start",
          "-w",
          "-t",
          "60",
          "-D",
          data,
          "-l",
          path.join(dir, "log"),
          "-o",
          `${opts} -p ${port}`,
        ]);
        break;
      } catch (error) {
        // Another process may have taken the port between the probe and the start: try a new one, a few times.
        if (attempt >= 2) throw new Error(`${(error as Error).message}\n${serverLog(dir)}`);
      }
    }
    started = true;
    const adminUrl = `postgres://qa_admin:${encodeURIComponent(password)}@127.0.0.1:${port}/postgres`;
    const admin = new Client({ connectionString: adminUrl });
    await admin.connect();
    try {
      // The service's user owns its database but is no superuser, as in production.
      await admin.query(`CREATE ROLE qa_service LOGIN PASSWORD '${password}'`);
      await admin.query("CREATE DATABASE qa OWNER qa_service");
    } finally {
      await admin.end();
    }
    return {
      url: `postgres://qa_service:${encodeURIComponent(password)}@127.0.0.1:${port}/qa`,
      adminUrl: adminUrl.replace(/\/postgres$/, "/qa"),
      port,
      user: "qa_service",
      password,
      database: "qa",
      stop,
    };
  } catch (error) {
    await stop();
    throw error;
  }
}

function serverLog(dir: string): string {
  try {
    return fs.readFileSync(path.join(dir, "log"), "utf8").slice(-2000);
  } catch {
    return "(no server log)";
  }
}
