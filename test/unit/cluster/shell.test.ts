import { expect } from "chai";
import * as fs from "node:fs";
import * as path from "node:path";
import { shExport, shInvoke, shQuote, shWords, UnquotableError } from "../../../cluster/shell";
import { removeTempDirs, runLocally, tempDir } from "./fixtures";

// Values an attacker (or a typo) could put into Pulumi.qa.yaml. Quoting must hand each to the command unchanged and
// execute nothing: every payload tries to create a marker file.
const hostile = (marker: string) => [
  `a;touch ${marker}`,
  `$(touch ${marker})`,
  `\`touch ${marker}\``,
  `x\ntouch ${marker}`,
  `'; touch ${marker}; echo '`,
  `"; touch ${marker}; echo "`,
  `a && touch ${marker} || touch ${marker}`,
  `\${IFS}touch\${IFS}${marker}`,
  `a | touch ${marker}`,
  `-rf / > ${marker}`,
  `\\'$(touch ${marker})`,
];

describe("cluster/shell", () => {
  after(removeTempDirs);

  it("quotes plain words with single quotes", () => {
    expect(shQuote("k3s-worker-1")).to.equal("'k3s-worker-1'");
    expect(shQuote("")).to.equal("''");
  });

  it("writes an embedded single quote as '\\''", () => {
    expect(shQuote("it's")).to.equal("'it'\\''s'");
  });

  it("hands hostile values through /bin/sh unchanged and runs none of them", () => {
    const dir = tempDir("shell");
    const marker = path.join(dir, "pwned");
    for (const value of hostile(marker)) {
      const run = runLocally(`printf '%s' ${shQuote(value)}`);
      expect(run.status, value).to.equal(0);
      expect(run.stdout, value).to.equal(value);
      expect(fs.existsSync(marker), `executed: ${value}`).to.equal(false);
    }
  });

  it("keeps hostile values inert when they are quoted twice (inside a script run by sh -c)", () => {
    const dir = tempDir("shell2");
    const marker = path.join(dir, "pwned");
    for (const value of hostile(marker)) {
      const run = runLocally(shInvoke(`printf '%s' ${shQuote(value)}`, "test", false));
      expect(run.stdout, value).to.equal(value);
      expect(fs.existsSync(marker), `executed: ${value}`).to.equal(false);
    }
  });

  it("refuses a NUL byte, which no shell word can carry", () => {
    expect(() => shQuote("a\0b")).to.throw(UnquotableError, "NUL");
  });

  it("joins words so each arrives as one argument", () => {
    const run = runLocally(`for a in ${shWords(["a b", "c;d", "$(e)"])}; do printf '[%s]' "$a"; done`);
    expect(run.stdout).to.equal("[a b][c;d][$(e)]");
  });

  it("exports a quoted value under a checked name", () => {
    expect(shExport("K3S_URL", "https://10.0.0.10:6443")).to.equal("export K3S_URL='https://10.0.0.10:6443'");
    expect(() => shExport("A;B", "x")).to.throw(UnquotableError, "is not a shell variable name");
  });

  it("runs a script under sudo -n only when asked", () => {
    expect(shInvoke("echo hi", "step", false)).to.equal("sh -c 'echo hi' 'step'");
    expect(shInvoke("echo hi", "step", true)).to.equal("sudo -n sh -c 'echo hi' 'step'");
  });
});
