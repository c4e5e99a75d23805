// A driver deploy (or destroy) in its own process group, SIGKILLed after a given number of resource steps, as a dying Bamboo agent
// would leave it: the CLI, language host, program and providers all die at once, the lock and pending operations stay.
import { spawn, ChildProcess } from "node:child_process";
import * as fs from "node:fs";
import { PROJECT_DIR } from "../../../automation/stack";
import type { ConfigEntry } from "../../../automation/stack";

/** Kills only when this also holds: a resource step count alone lands anywhere, as resources await at their own pace. */
export type KillCondition = (nowMs: number) => boolean;

export interface KilledRun {
  /** Resource steps done when the kill was sent. */
  readonly killedAfterSteps: number;
  readonly pid: number;
}

/** Every child started, so a failed test's `after` can kill what is left. */
export const crashChildren: ChildProcess[] = [];

export async function deployAndKill(
  envVars: Record<string, string>,
  ticket: string,
  config: Record<string, ConfigEntry>,
  afterSteps: number,
  operation: "deploy" | "destroy" = "deploy",
  alsoWhen: KillCondition = () => true,
): Promise<KilledRun> {
  const child = spawn(process.execPath, ["-r", "ts-node/register/transpile-only", "test/e2e/support/driverChild.ts"], {
    cwd: PROJECT_DIR,
    detached: true,
    stdio: ["ignore", "pipe", "inherit"],
    env: { ...process.env, ...envVars, QA_DRIVER_CHILD: JSON.stringify({ ticket, config, operation }) },
  });
  crashChildren.push(child);
  const exited = new Promise((resolve) => child.on("exit", resolve));
  let done = 0;
  const killedAfterSteps = await new Promise<number>((resolve, reject) => {
    // Checked on every step and on a clock too: a condition on time can come true while no step reports.
    const killIfDue = () => {
      const alive = child.exitCode === null && child.signalCode === null;
      if (done < afterSteps || !alive || !alsoWhen(Date.now())) return;
      clearInterval(clock);
      killTree(child.pid!);
      resolve(done);
    };
    const clock = setInterval(killIfDue, 200);
    let buffer = "";
    child.stdout!.setEncoding("utf8").on("data", (chunk: string) => {
      buffer += chunk;
      for (const line of buffer.split("\n").slice(0, -1)) {
        const progress = JSON.parse(line);
        if (progress.finished) reject(new Error("the up finished before it could be killed"));
        done = progress.done ?? done;
        killIfDue();
      }
      buffer = buffer.slice(buffer.lastIndexOf("\n") + 1);
    });
    child.on("exit", (code, signal) => {
      clearInterval(clock);
      if (signal !== "SIGKILL") reject(new Error(`child ended: ${code}`));
    });
  });
  await exited;
  return { killedAfterSteps, pid: child.pid! };
}

/**
 * SIGKILLs a process and every descendant at once, as a dying agent's job ends. The process group alone is not
 * enough: the CLI starts its language host and providers in groups of their own, which would live on as orphans.
 */
export function killTree(pid: number): void {
  const children = new Map<number, number[]>();
  for (const entry of fs.readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      // /proc/<pid>/stat: "pid (comm) state ppid ..."; comm may hold spaces and parentheses, so split after the last ")".
      const stat = fs.readFileSync(`/proc/${entry}/stat`, "utf8");
      const ppid = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
      children.set(ppid, [...(children.get(ppid) ?? []), Number(entry)]);
    } catch {
      // ended while listing
    }
  }
  const tree: number[] = [];
  const walk = (p: number) => {
    tree.push(p);
    for (const c of children.get(p) ?? []) walk(c);
  };
  walk(pid);
  for (const p of tree) {
    try {
      process.kill(p, "SIGKILL");
    } catch {
      // already gone
    }
  }
}

export function killCrashChildren(): void {
  for (const child of crashChildren) {
    try {
      process.kill(-child.pid!, "SIGKILL");
    } catch {
      // already gone
    }
  }
}
