// Live job output for server-sent events: an in-process wake-up when this process appends output or ends a job
// (the store stays the source of truth, so a job another replica runs is still followed, by polling), and the SSE
// wire format. Event ids are character offsets into the job's output: a client's Last-Event-ID resumes exactly.
import { EventEmitter } from "node:events";

export class JobEvents {
  private readonly emitter = new EventEmitter();

  constructor() {
    // One listener per open SSE stream of a job; many readers of one job are normal.
    this.emitter.setMaxListeners(0);
  }

  /** Something changed for the job (output appended or the job ended). */
  changed(jobId: string): void {
    this.emitter.emit(jobId);
  }

  /** Resolves at the next change of the job, or after `timeoutMs`, or when the signal aborts. */
  next(jobId: string, timeoutMs: number, signal?: AbortSignal): Promise<void> {
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        this.emitter.off(jobId, done);
        signal?.removeEventListener("abort", done);
        resolve();
      };
      const timer = setTimeout(done, timeoutMs);
      this.emitter.on(jobId, done);
      signal?.addEventListener("abort", done);
    });
  }
}

/** One SSE event; every line of `data` is its own `data:` field, so the client's joined data equals `data`. */
export function sseEvent(event: string, data: string, id?: string): string {
  const lines = data.replace(/\r\n?/g, "\n").split("\n");
  return `${id !== undefined ? `id: ${id}\n` : ""}event: ${event}\n${lines.map((l) => `data: ${l}\n`).join("")}\n`;
}

/** Last-Event-ID (an output offset) → where to resume; anything else starts from the beginning. */
export function resumeOffset(lastEventId: string | undefined): number {
  return lastEventId !== undefined && /^[0-9]{1,12}$/.test(lastEventId) ? Number(lastEventId) : 0;
}
