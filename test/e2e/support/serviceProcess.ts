// The QA service as a real process (scripts/serve → automation/service/main.ts) for the end-to-end tests, the fuzz
// test and the load bench: its own port on 127.0.0.1, data dir, tokens file, the real driver and engine; stopped
// with SIGTERM, or killed with everything it started (kill -9, as a crashed host).
import { spawn, ChildProcess } from "node:child_process";
import * as fs from "node:fs";
import * as net from "node:net";
import * as path from "node:path";
import { PROJECT_DIR } from "../../../automation/stack";
import { newToken } from "../../../automation/service/auth";
import { killTree } from "./crashRun";

export interface ServiceTokens {
  readonly read: string;
  readonly deploy: string;
  readonly admin: string;
}

/** Writes a tokens file with one token per scope; returns the tokens (the file holds only their hashes). */
export function writeTokens(file: string): ServiceTokens {
  const read = newToken("e2e-reader", "read");
  const deploy = newToken("e2e-deployer", "deploy");
  const admin = newToken("e2e-admin", "admin");
  fs.writeFileSync(file, JSON.stringify([read.entry, deploy.entry, admin.entry], null, 2), { mode: 0o600 });
  return { read: read.token, deploy: deploy.token, admin: admin.token };
}

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.on("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const port = (server.address() as net.AddressInfo).port;
      server.close(() => resolve(port));
    });
  });
}

export class ServiceProcess {
  private exited: Promise<number | null>;
  log = "";

  private constructor(
    readonly child: ChildProcess,
    readonly url: string,
  ) {
    this.exited = new Promise((resolve) => child.on("exit", (code) => resolve(code)));
    child.stdout!.setEncoding("utf8").on("data", (t: string) => (this.log += t));
    child.stderr!.setEncoding("utf8").on("data", (t: string) => (this.log += t));
  }

  /** Starts the service and waits until /healthz answers. */
  static async start(env: Record<string, string>, port: number): Promise<ServiceProcess> {
    const child = spawn("bash", [path.join(PROJECT_DIR, "scripts", "serve")], {
      cwd: PROJECT_DIR,
      stdio: ["ignore", "pipe", "pipe"],
      env: { ...process.env, ...env, QA_LISTEN: `127.0.0.1:${port}` },
    });
    const service = new ServiceProcess(child, `http://127.0.0.1:${port}`);
    const deadline = Date.now() + 120_000;
    for (;;) {
      if (child.exitCode !== null) throw new Error(`the service exited (${child.exitCode}):\n${service.log}`);
      const ok = await fetch(`${service.url}/healthz`).then(
        (r) => r.ok,
        () => false,
      );
      if (ok) return service;
      if (Date.now() > deadline) throw new Error(`the service did not answer within 120 s:\n${service.log}`);
      await new Promise((r) => setTimeout(r, 200));
    }
  }

  /** SIGTERM (a safe stop: running jobs are cancelled and recorded) and wait for the exit code. */
  async stop(): Promise<number | null> {
    if (this.child.exitCode === null) this.child.kill("SIGTERM");
    return this.exited;
  }

  /** kill -9 of the service and every process it started (engine, providers), at once. */
  async kill(): Promise<void> {
    killTree(this.child.pid!);
    await this.exited;
  }

  request(pathname: string, token: string | undefined, init: RequestInit = {}): Promise<Response> {
    return fetch(`${this.url}${pathname}`, {
      ...init,
      headers: {
        ...(token ? { authorization: `Bearer ${token}` } : {}),
        ...(init.body ? { "content-type": "application/json" } : {}),
        ...(init.headers as Record<string, string> | undefined),
      },
    });
  }

  async json<T = unknown>(
    pathname: string,
    token: string | undefined,
    init: RequestInit = {},
  ): Promise<{ status: number; body: T }> {
    const res = await this.request(pathname, token, init);
    return { status: res.status, body: (await res.json()) as T };
  }
}

/** Reads a job's server-sent events to their end; returns the output events' text and the final job. */
export async function followJob(service: ServiceProcess, id: string, token: string, lastEventId?: string) {
  const res = await service.request(`/jobs/${id}/events`, token, {
    headers: lastEventId ? { "last-event-id": lastEventId } : {},
  });
  if (res.status !== 200) throw new Error(`GET /jobs/${id}/events answered ${res.status}: ${await res.text()}`);
  const text = await res.text();
  const events = text
    .split("\n\n")
    .filter(Boolean)
    .map((block) => {
      const lines = block.split("\n");
      const field = (name: string) =>
        lines.filter((l) => l.startsWith(`${name}: `)).map((l) => l.slice(name.length + 2));
      return { id: field("id")[0], event: field("event")[0], data: field("data").join("\n") };
    });
  const end = events.find((e) => e.event === "end");
  return {
    events,
    output: events
      .filter((e) => e.event === "output")
      .map((e) => e.data)
      .join(""),
    job: end ? JSON.parse(end.data) : undefined,
  };
}
