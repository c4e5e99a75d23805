// The progress of long builds (scripts/lib/heartbeat.sh): a cold Go build takes minutes and must never look hung.
import { expect } from "chai";
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";

const HEARTBEAT = path.resolve(__dirname, "../../../scripts/lib/heartbeat.sh");

/** Runs `heartbeat_run` on a shell command with a 1 s interval; returns its exit status and what it printed. */
function heartbeat(command: string): { status: number | null; stderr: string; log: string } {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "heartbeat-"));
  const logfile = path.join(dir, "logs", "step.log");
  const script = `. '${HEARTBEAT}'; say() { printf '[test] %s\\n' "$*" >&2; }; heartbeat_run say "step" '${logfile}' '${dir}' bash -c '${command}'; echo after >&2`;
  const result = spawnSync("bash", ["-c", script], {
    encoding: "utf8",
    env: { ...process.env, QA_HEARTBEAT_SECONDS: "1" },
  });
  const log = fs.readFileSync(logfile, "utf8");
  fs.rmSync(dir, { recursive: true, force: true });
  return { status: result.status, stderr: result.stderr, log };
}

describe("scripts/lib/heartbeat.sh", function () {
  this.timeout(20_000);

  it("reports progress while the command runs: elapsed time, log lines so far and the last one", () => {
    const run = heartbeat("echo pkg/a; echo pkg/b; sleep 2.5; echo pkg/c");
    expect(run.status).to.equal(0);
    expect(run.stderr).to.match(/\[test\] {3}\.\.\. step: still running \(\ds, 2 log lines, last: pkg\/b\)/);
    expect(run.stderr).to.match(/\[test\] {3}step: done in \ds\nafter\n$/);
    expect(run.log).to.equal("pkg/a\npkg/b\npkg/c\n");
  });

  it("on failure prints the log's tail and exits with the command's status, running nothing after it", () => {
    const run = heartbeat("echo compiling; echo main.go:3: undefined: x; exit 7");
    expect(run.status).to.equal(7);
    expect(run.stderr).to.include("[test] step failed (exit 7); last lines of ");
    expect(run.stderr).to.include("compiling\nmain.go:3: undefined: x\n");
    expect(run.stderr).to.not.include("after");
  });
});
