// The real Pulumi engine for `npm start` and the end-to-end tests: builds (or reuses) the pinned toolchain through scripts/toolchain and
// returns the offline environment every engine run needs. Built once per test process.
import { execFile } from "node:child_process";
import * as path from "node:path";
import { promisify } from "node:util";
import { PROJECT_DIR } from "../../automation/stack";

const run = promisify(execFile);

let cached: Promise<Record<string, string>> | undefined;

/** KEY=VALUE lines printed by `scripts/toolchain --print-env`, building the toolchain first if needed. */
export function pulumiEnv(): Promise<Record<string, string>> {
  cached ??= run("bash", [path.join(PROJECT_DIR, "scripts", "toolchain"), "--print-env"], {
    cwd: PROJECT_DIR,
    maxBuffer: 64 * 1024 * 1024,
    env: process.env,
  }).then(({ stdout }) => parseEnvLines(stdout));
  return cached;
}

export function parseEnvLines(text: string): Record<string, string> {
  const env: Record<string, string> = {};
  for (const line of text.split("\n")) {
    const match = /^([A-Z_][A-Z0-9_]*)=(.*)$/.exec(line.trim());
    if (match) env[match[1]] = match[2];
  }
  return env;
}
