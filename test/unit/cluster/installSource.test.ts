import { expect } from "chai";
import * as crypto from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";
import { fetchInstallerLines, InstallSource } from "../../../cluster/installSource";
import { removeTempDirs, runLocally, tempDir } from "./fixtures";

/** Fetches the installer with the generated lines and prints it, in a shell whose PATH is exactly `pathValue`. */
function fetch(source: InstallSource, pathValue = process.env.PATH ?? "") {
  const script = ["set -e", ...fetchInstallerLines(source), 'cat "$qa_installer"'].join("\n");
  return runLocally(script, { env: { PATH: pathValue } });
}

describe("cluster/installSource", () => {
  after(removeTempDirs);
  const script = "#!/bin/sh\necho the installer\n";
  const sha = crypto.createHash("sha256").update(script).digest("hex");

  it("reads a file:// installer as a file, on a host without curl or wget", () => {
    const dir = tempDir("source");
    const file = path.join(dir, "install.sh");
    fs.writeFileSync(file, script);
    // Only a directory with sh, cat, mktemp, rm: no curl, no wget.
    const bin = path.join(dir, "bin");
    fs.mkdirSync(bin);
    for (const tool of ["sh", "cat", "mktemp", "rm", "sha256sum", "cut"])
      fs.symlinkSync(execPath(tool), path.join(bin, tool));
    const run = fetch({ installScriptUrl: `file://${file}`, installScriptSha256: sha, allowHttp: false }, bin);
    expect(run.status, run.stderr).to.equal(0);
    expect(run.stdout).to.equal(script);
  });

  it("says which file is missing for a file:// URL", () => {
    const run = fetch({ installScriptUrl: "file:///nonexistent/install.sh", allowHttp: false });
    expect(run.status).to.equal(1);
    expect(run.stderr).to.equal(
      "the K3s installer /nonexistent/install.sh (k3s.installScriptUrl file:///nonexistent/install.sh) is not a file on this host; copy it there first\n",
    );
  });

  it("refuses an installer with another digest than k3s.installScriptSha256, naming the digest it found", () => {
    const dir = tempDir("source");
    const file = path.join(dir, "install.sh");
    fs.writeFileSync(file, script + "echo tampered\n");
    const found = crypto.createHash("sha256").update(fs.readFileSync(file)).digest("hex");
    const run = fetch({ installScriptUrl: `file://${file}`, installScriptSha256: sha, allowHttp: false });
    expect(run.status).to.equal(1);
    expect(run.stdout).to.equal("");
    expect(run.stderr).to.equal(
      `the K3s installer from file://${file} has sha256 ${found}, but k3s.installScriptSha256 is ${sha}: not running it. Check the script, then set k3s.installScriptSha256 to the digest of the one you trust\n`,
    );
  });

  it("holds curl to https across redirects unless k3s.allowHttp, and says when neither curl nor wget exists", () => {
    const https = fetchInstallerLines({ installScriptUrl: "https://get.k3s.io", allowHttp: false }).join("\n");
    expect(https).to.include("curl -fsSL --retry 3 --proto '=https' -o \"$qa_installer\" 'https://get.k3s.io'");
    const http = fetchInstallerLines({ installScriptUrl: "http://m.test/i.sh", allowHttp: true }).join("\n");
    expect(http).to.include("--proto '=http,https'");
    const dir = tempDir("source");
    const bin = path.join(dir, "bin");
    fs.mkdirSync(bin);
    for (const tool of ["sh", "mktemp", "rm"]) fs.symlinkSync(execPath(tool), path.join(bin, tool));
    const run = fetch({ installScriptUrl: "https://get.k3s.io", allowHttp: false }, bin);
    expect(run.status).to.equal(1);
    expect(run.stderr).to.equal(
      "neither curl nor wget is installed, so the K3s installer cannot be fetched from https://get.k3s.io; install one, or copy the installer to the host and use a file:// URL\n",
    );
  });
});

function execPath(tool: string): string {
  for (const dir of ["/usr/bin", "/bin"]) if (fs.existsSync(path.join(dir, tool))) return path.join(dir, tool);
  throw new Error(`${tool} not found`);
}
