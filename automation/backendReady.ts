// What the driver does to its backend before a command reads it.
// - A file backend: half-written metadata sidecars that a killed run left are removed (sidecars.ts).
// - A postgres:// backend: every CLI command that opens it first runs Pulumi's `CREATE TABLE IF NOT EXISTS
//   pulumi_state` and its index (pkg/backend/diy/postgres/bucket.go, 3.248), and PostgreSQL does not make that safe
//   against a twin in another session: on a fresh database, two commands at once (two service replicas' first
//   requests, two Bamboo jobs) and one of them fails with `failed to create table pulumi_state: pq: duplicate key value
//   violates unique constraint "pg_type_typname_nsp_index" (23505)` — 1 of 18 `pulumi stack ls` run 6 at a time on
//   fresh databases, and CI's two-replica test answered a POST with 500. Once the table exists the statement does
//   nothing, so the loser only has to open the backend again.
import { fileBackendDir } from "./locks";
import { redact } from "./redact";
import { projectSidecars, removeBrokenSidecars } from "./sidecars";

const TABLE_CREATE_RACE = /failed to create table \S+: pq: duplicate key value violates unique constraint "pg_\w+"/;

/** True for the error of a command that lost the race to create the postgres backend's table. */
export function isTableCreateRace(error: unknown): boolean {
  return TABLE_CREATE_RACE.test(error instanceof Error ? error.message : String(error));
}

export interface RetryOptions {
  /** Opens in all, the first included. @default 4 */
  readonly attempts?: number;
  /** @default 250 ms × the attempt, plus up to 250 ms at random (so that two losers do not meet again) */
  readonly pauseMs?: (attempt: number) => number;
  readonly sleep?: (ms: number) => Promise<void>;
}

/**
 * Runs `open` (a command that opens the backend) again while it fails because another session was creating the
 * backend's table at the same moment; any other error, or the last one, is thrown with the URL's password removed.
 */
export async function openRetryingTableRace<T>(
  backendUrl: string,
  open: () => Promise<T>,
  options: RetryOptions = {},
): Promise<T> {
  const attempts = options.attempts ?? 4;
  const pauseMs = options.pauseMs ?? ((attempt) => 250 * attempt + Math.random() * 250);
  const sleep = options.sleep ?? ((ms) => new Promise<void>((resolve) => setTimeout(resolve, ms)));
  for (let attempt = 1; ; attempt++) {
    try {
      return await open();
    } catch (error) {
      if (attempt >= attempts || !isTableCreateRace(error)) throw redactedError(error, backendUrl);
      await sleep(pauseMs(attempt));
    }
  }
}

/** Prepares one driver's backend before each command; the postgres backend is opened once, by the first. */
export class BackendPreparation {
  private opened?: Promise<unknown>;

  constructor(
    private readonly backendUrl: () => string,
    /** A command that opens the backend (`pulumi stack ls`). */
    private readonly openBackend: () => Promise<unknown>,
    private readonly onRepaired: (ticket: string, file: string) => void,
  ) {}

  async ready(ticket: string): Promise<void> {
    const url = this.backendUrl();
    repairFileBackend(url, (file) => this.onRepaired(ticket, file));
    if (!isPostgresBackend(url)) return;
    const opening = (this.opened ??= openRetryingTableRace(url, this.openBackend));
    try {
      await opening;
    } catch (error) {
      if (this.opened === opening) this.opened = undefined; // the next command tries again
      throw error;
    }
  }
}

/** Removes the file backend's broken sidecars (nothing for other backends); each removed file is reported. */
export function repairFileBackend(backendUrl: string, onRemoved: (file: string) => void): void {
  const dir = fileBackendDir(backendUrl);
  for (const file of dir ? removeBrokenSidecars(projectSidecars(dir, "qa-k8s")) : []) onRemoved(file);
}

export function isPostgresBackend(backendUrl: string): boolean {
  return /^postgres(ql)?:\/\//i.test(backendUrl);
}

function redactedError(error: unknown, backendUrl: string): Error {
  if (!(error instanceof Error)) return new Error(redact(String(error), backendUrl));
  const message = redact(error.message, backendUrl);
  if (message === error.message) return error;
  const clean = new Error(message);
  clean.name = error.name;
  return clean;
}
