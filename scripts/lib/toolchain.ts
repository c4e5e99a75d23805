// The real Pulumi engine for `npm start` and the end-to-end tests: builds (or reuses) the pinned toolchain through
// scripts/toolchain and returns the offline environment every engine run needs. Built once per process.
import { spawn } from "node:child_process";
import * as path from "node:path";
import { PROJECT_DIR } from "../../automation/stack";

let cached: Promise<Record<string, string>> | undefined;

/**
 * KEY=VALUE lines printed by `scripts/toolchain --print-env`, building the toolchain first if needed. The build's
 * progress (stderr) goes straight to this process's stderr: a cold build takes minutes and must not look hung.
 */
export function pulumiEnv(): Promise<Record<string, string>> {
  cached ??= new Promise((resolve, reject) => {
    const script = path.join(PROJECT_DIR, "scripts", "toolchain");
    const child = spawn("bash", [script, "--print-env"], {
      cwd: PROJECT_DIR,
      env: process.env,
      stdio: ["ignore", "pipe", "inherit"],
    });
    let stdout = "";
    child.stdout.setEncoding("utf8").on("data", (chunk: string) => (stdout += chunk));
    child.on("error", reject);
    child.on("close", (code) =>
      code === 0
        ? resolve(parseEnvLines(stdout))
        : reject(new Error(`scripts/toolchain --print-env failed with exit code ${code} (its output is above)`)),
    );
  });
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
