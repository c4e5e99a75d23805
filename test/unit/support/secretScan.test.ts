// The e2e secret scan must find what it looks for, or its empty results prove nothing.
import { expect } from "chai";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import * as zlib from "node:zlib";
import type { Stack } from "@pulumi/pulumi/automation";
import { secretForms, secretLeaks } from "../../e2e/support/secretScan";
import type { Engine } from "../../e2e/support/engine";

const SECRET = "s3cret-registry-password";
const KEY = "-----BEGIN KEY-----\nAAAAB3NzaC1yc2EAAAADAQABAAABAQC7\n-----END KEY-----\n";

describe("e2e secret scan", () => {
  let engine: Engine;
  const write = (file: string, text: string, gzip = false) => {
    const full = path.join(engine.backendDir, file);
    fs.mkdirSync(path.dirname(full), { recursive: true });
    fs.writeFileSync(full, gzip ? zlib.gzipSync(text) : text);
  };
  const outputs = (values: Record<string, { value: unknown; secret: boolean }>) =>
    ({ outputs: async () => values }) as unknown as Stack;

  beforeEach(() => {
    const backendDir = fs.mkdtempSync(path.join(os.tmpdir(), "secret-scan-"));
    engine = { backendDir, envVars: {}, dispose: () => fs.rmSync(backendDir, { recursive: true, force: true }) };
    write(".pulumi/stacks/qa-k8s/t.json", '{"host": "canary.example.test"}');
  });
  afterEach(() => engine.dispose());

  it("knows a secret as is, in base64, JSON-escaped, and by each long line", () => {
    expect([...secretForms(KEY).values()]).to.deep.equal(["plain", "base64", "JSON-escaped", "one line"]);
    expect(secretForms(KEY).has("AAAAB3NzaC1yc2EAAAADAQABAAABAQC7")).to.equal(true);
  });

  it("finds a base64'd secret inside a gzip'd history file", async () => {
    write(
      ".pulumi/history/qa-k8s/t/t-1.history.json.gz",
      `{"data": "${Buffer.from(SECRET).toString("base64")}"}`,
      true,
    );
    const leaks = await secretLeaks({ engine, canary: "canary.example.test", secrets: { password: SECRET } });
    expect(leaks).to.deep.equal(["password (base64) in .pulumi/history/qa-k8s/t/t-1.history.json.gz"]);
  });

  it("finds a key's body line in the engine output and a secret in an output not marked secret", async () => {
    const stack = outputs({
      shown: { value: { auth: SECRET }, secret: false },
      hidden: { value: SECRET, secret: true },
    });
    const leaks = await secretLeaks({
      engine,
      stack,
      canary: "canary.example.test",
      engineOutput: "error: AAAAB3NzaC1yc2EAAAADAQABAAABAQC7 refused",
      secrets: { password: SECRET, key: KEY },
    });
    expect(leaks).to.deep.equal(["password (plain) in stack output shown", "key (one line) in engine output"]);
  });

  it("refuses to report 'no leaks' when it cannot even find its canary", async () => {
    let error: Error | undefined;
    await secretLeaks({ engine, canary: "not-in-the-state", secrets: { password: SECRET } }).catch((e) => (error = e));
    expect(error?.message).to.equal('secret scan found not even its canary "not-in-the-state" in 1 backend files');
  });
});
