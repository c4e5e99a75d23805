// Ctrl-C and SIGTERM (Bamboo stopping a job) become one AbortSignal for the driver, which hands the engine exactly one
// SIGINT: the engine then finishes the steps in flight, saves its state and releases its lock. A second signal must
// not reach the engine (pulumi 3.248: "If you would like to terminate immediately, press ^C again"),
// so later signals only say what is happening. scripts/qa-env runs this process in its own session, so a terminal's
// Ctrl-C reaches the launcher alone, which passes it on to this process and not to the engine.

export interface SignalSource {
  on(signal: NodeJS.Signals, listener: () => void): unknown;
  off(signal: NodeJS.Signals, listener: () => void): unknown;
}

// SIGHUP too: a closed terminal must not kill this process (Node's default) while the engine runs on without it.
export const CANCEL_SIGNALS: readonly NodeJS.Signals[] = ["SIGINT", "SIGTERM", "SIGHUP"];

export interface Cancellation {
  readonly signal: AbortSignal;
  /** Stops listening (the command is over). */
  dispose(): void;
}

export function cancelOnSignals(source: SignalSource, say: (text: string) => void): Cancellation {
  const controller = new AbortController();
  let count = 0;
  const listener = (name: NodeJS.Signals) => () => {
    count += 1;
    if (count === 1) {
      say(`${name} received: stopping safely (the engine finishes the steps in flight and saves its state)`);
      controller.abort(new Error(`${name} received`));
    } else {
      say(
        `${name} received again: still stopping safely; the engine is not interrupted twice. ` +
          `kill -9 would leave a lock and pending operations (the next deploy clears them)`,
      );
    }
  };
  const listeners = CANCEL_SIGNALS.map((name) => [name, listener(name)] as const);
  for (const [name, fn] of listeners) source.on(name, fn);
  return {
    signal: controller.signal,
    dispose: () => listeners.forEach(([name, fn]) => source.off(name, fn)),
  };
}
