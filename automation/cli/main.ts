// The qa-env entry (run by scripts/qa-env): the real process's streams, environment and signals, the real driver.
import { EXIT_CODES } from "../exitCodes";
import { createDriver } from "./driverApi";
import { runCli } from "./program";

async function main(): Promise<void> {
  const code = await runCli(
    {
      io: {
        out: (text) => process.stdout.write(text),
        err: (text) => process.stderr.write(text),
        env: process.env,
        stderrIsTTY: Boolean(process.stderr.isTTY),
        signals: process,
      },
      makeDriver: createDriver,
    },
    process.argv.slice(2),
  );
  process.exitCode = code;
}

main().catch((error: unknown) => {
  process.stderr.write(
    `qa-env: internal error: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
  );
  process.exitCode = EXIT_CODES.INTERNAL;
});
