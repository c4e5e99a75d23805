// A driver deploy in its own process, for the crash test: the parent SIGKILLs this process's whole group (the CLI,
// the language host, the program and the provider included) in the middle of the up, as a dying Bamboo agent would.
// Input: QA_DRIVER_CHILD = {"ticket", "config", "operation": "deploy" (default) or "destroy"} as JSON; the engine's
// environment comes from this process's env.
// Output: one JSON progress line per resource step on stdout, so the parent can kill at a known point.
import { Driver } from "../../../automation/driver";

async function main() {
  const { ticket, config, operation } = JSON.parse(process.env.QA_DRIVER_CHILD ?? "{}");
  const driver = new Driver();
  const onProgress = (snapshot: object, step?: object) =>
    process.stdout.write(`${JSON.stringify({ ...snapshot, step })}\n`);
  if (operation === "destroy") await driver.destroy(ticket, { onProgress });
  else await driver.deploy(ticket, { config, onProgress });
  process.stdout.write(`${JSON.stringify({ finished: true })}\n`);
}

main().catch((error) => {
  process.stderr.write(`driver child failed: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
});
