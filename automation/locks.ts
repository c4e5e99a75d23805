// Stack locks of the DIY (file) backend, as pulumi 3.248 writes them (pkg/backend/diy/lock.go): one JSON file per
// running update, `.pulumi/locks/<org>/<project>/<stack>/<uuid>.json`, holding {pid, username, hostname, timestamp}
// of the CLI process that runs the update. There is no lease and no expiry, so a crashed run leaves its lock behind
// forever. A lock is stale only when it was taken on THIS host and its pid no longer exists here; a lock from another
// host, or an unreadable one, is never judged stale (we cannot know), so it is waited for, never removed.
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";

export interface LockHolder {
  readonly pid: number;
  readonly username: string;
  readonly hostname: string;
  /** When the lock was taken (ISO 8601), as the engine wrote it. */
  readonly since: string;
}

export interface StackLock {
  /** The lock file, when read from a file backend; undefined when known only from the engine's error text. */
  readonly file?: string;
  /** Undefined when the file could not be parsed: such a lock is treated as live. */
  readonly holder?: LockHolder;
}

/** Parses a lock file's content; undefined when it is not a lock the engine wrote. */
export function parseLockFile(text: string): LockHolder | undefined {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch {
    return undefined;
  }
  if (typeof raw !== "object" || raw === null) return undefined;
  const { pid, username, hostname, timestamp } = raw as Record<string, unknown>;
  if (typeof pid !== "number" || !Number.isInteger(pid) || pid <= 0) return undefined;
  if (typeof username !== "string" || typeof hostname !== "string" || typeof timestamp !== "string") return undefined;
  return { pid, username, hostname, since: timestamp };
}

// The CLI's own wording (diy/lock.go checkForLock): "  <url>: created by <user>@<host> (pid <n>) at <RFC3339>".
const HOLDER_LINE = /created by (.*)@([^@\s]*) \(pid (\d+)\) at (\S+)/g;

/**
 * Holders named in a ConcurrentUpdateError's text (any backend that uses the DIY lock protocol), each once: the
 * postgres:// backend's text names every holder twice.
 */
export function holdersFromErrorText(text: string): LockHolder[] {
  const unique = new Map<string, LockHolder>();
  for (const m of text.matchAll(HOLDER_LINE)) {
    unique.set(m[0], { username: m[1], hostname: m[2], pid: Number(m[3]), since: m[4] });
  }
  return [...unique.values()];
}

export function describeHolder(holder: LockHolder | undefined): string {
  if (!holder) return "an unreadable lock";
  return `${holder.username}@${holder.hostname} (pid ${holder.pid}) since ${holder.since}`;
}

export function describeLocks(locks: readonly StackLock[]): string {
  if (locks.length === 0) return "another process (no lock details available)";
  return locks.map((lock) => describeHolder(lock.holder)).join(", ");
}

export interface HostView {
  readonly hostname: string;
  readonly isAlive: (pid: number) => boolean;
}

/** A lock left by a crashed run: taken on this host by a process that is gone. */
export function isStale(lock: StackLock, host: HostView): boolean {
  const holder = lock.holder;
  if (!holder || holder.hostname !== host.hostname) return false;
  return !host.isAlive(holder.pid);
}

/** Whether a process exists on this host (signal 0 checks without signalling; EPERM means it exists, not ours). */
export function processIsAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === "EPERM";
  }
}

export const THIS_HOST: HostView = { hostname: os.hostname(), isAlive: processIsAlive };

/**
 * The folder of a file backend (`file:///abs`, `file://~/dir`, `file://relative`, query string ignored); undefined for
 * any other backend, whose locks the driver learns of only through the engine's ConcurrentUpdateError.
 */
export function fileBackendDir(backendUrl: string, home = os.homedir(), cwd = process.cwd()): string | undefined {
  if (!backendUrl.startsWith("file://")) return undefined;
  const raw = backendUrl.slice("file://".length).split("?")[0];
  const expanded = raw === "~" || raw.startsWith("~/") ? path.join(home, raw.slice(1)) : raw;
  return path.resolve(cwd, expanded);
}

/** Where the engine keeps the locks of one stack of a project (project-scoped DIY stacks live in org `organization`). */
export function stackLockDir(backendDir: string, project: string, stack: string): string {
  const parts = stack.split("/");
  const [org, proj, name] = parts.length === 3 ? parts : ["organization", project, stack];
  return path.join(backendDir, ".pulumi", "locks", org, proj, name);
}

/** The stack's state file on a file backend (`.json`, or `.json.gz` with PULUMI_DIY_BACKEND_GZIP), when there is one. */
export function stackStateFile(backendDir: string, project: string, stack: string): string | undefined {
  const parts = stack.split("/");
  const [proj, name] = parts.length === 3 ? [parts[1], parts[2]] : [project, stack];
  const base = path.join(backendDir, ".pulumi", "stacks", proj, `${name}.json`);
  return [base, `${base}.gz`].find((file) => fs.existsSync(file));
}

/** One stack's state file (when there is one) and lock folder on a file backend; both undefined on any other. */
export function fileBackendPaths(backendUrl: string, project: string, stack: string) {
  const dir = fileBackendDir(backendUrl);
  return { stateFile: dir && stackStateFile(dir, project, stack), lockDir: dir && stackLockDir(dir, project, stack) };
}

/** Every lock file of the stack, parsed (unparseable ones come back without a holder). */
export function readStackLocks(lockDir: string): StackLock[] {
  if (!fs.existsSync(lockDir)) return [];
  return fs
    .readdirSync(lockDir, { withFileTypes: true })
    .filter((entry) => entry.isFile() && entry.name.endsWith(".json"))
    .map((entry) => {
      const file = path.join(lockDir, entry.name);
      let text = "";
      try {
        text = fs.readFileSync(file, "utf8");
      } catch {
        // Removed between listing and reading: the run ended; report it as unreadable, the next poll will not see it.
      }
      return { file, holder: parseLockFile(text) };
    });
}
