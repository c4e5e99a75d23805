// "Several tickets at once, one ticket at a time": runs jobs keyed by ticket so that jobs of one key run strictly one
// after another (in the order they were submitted) and at most `limit` jobs of different keys run at once. Pure
// scheduling with promises; it knows nothing of Pulumi, so it is tested on its own.

export interface QueueTicket {
  /** Milliseconds this job waited for its turn (same key running, or the limit reached). */
  readonly waitedMs: number;
  /** Whether it had to wait behind a job of the same key. */
  readonly waitedForSameKey: boolean;
}

interface Waiter {
  readonly key: string;
  readonly start: () => void;
}

export class KeyedQueue {
  private readonly runningKeys = new Set<string>();
  private readonly waiting: Waiter[] = [];
  private running = 0;

  constructor(
    private readonly limit: number,
    private readonly now: () => number = Date.now,
  ) {
    if (!Number.isInteger(limit) || limit < 1) {
      throw new RangeError(`maxConcurrentDeploys ${limit} must be a whole number ≥ 1`);
    }
  }

  /** Number of jobs running and waiting, for status displays. */
  get size(): { running: number; waiting: number } {
    return { running: this.running, waiting: this.waiting.length };
  }

  /** Runs `job` when no job of `key` runs and fewer than `limit` jobs run; resolves with its result. */
  async run<T>(key: string, job: (ticket: QueueTicket) => Promise<T>): Promise<T> {
    const submitted = this.now();
    const waitedForSameKey = this.runningKeys.has(key) || this.waiting.some((w) => w.key === key);
    await new Promise<void>((start) => {
      this.waiting.push({ key, start });
      this.dispatch();
    });
    try {
      return await job({ waitedMs: this.now() - submitted, waitedForSameKey });
    } finally {
      this.running--;
      this.runningKeys.delete(key);
      this.dispatch();
    }
  }

  // Starts waiters in submission order; a waiter whose key is busy does not block waiters of other keys behind it.
  private dispatch(): void {
    for (let i = 0; i < this.waiting.length && this.running < this.limit;) {
      const waiter = this.waiting[i];
      if (this.runningKeys.has(waiter.key)) {
        i++;
        continue;
      }
      this.waiting.splice(i, 1);
      this.running++;
      this.runningKeys.add(waiter.key);
      waiter.start();
    }
  }
}
