// The service's configuration from the environment and its tokens file: defaults, and refusals that name the
// variable, the value, the rule and the fix, without ever repeating a secret.
import { expect } from "chai";
import * as crypto from "node:crypto";
import * as os from "node:os";
import * as path from "node:path";
import { declaredConfigKeys } from "../../../automation/cli/args";
import { PROJECT_DIR } from "../../../automation/stack";
import { describeConfig, loadConfig, parseListen, redactUrl, stackConfigFor } from "../../../automation/service/config";
import {
  authenticate,
  effectiveScopes,
  hashToken,
  jiraSignatureValid,
  newToken,
  parseTokens,
  tokenOf,
} from "../../../automation/service/auth";

const KEYS = declaredConfigKeys(PROJECT_DIR);
const base = { QA_TOKENS_FILE: "/etc/qa/tokens.json" };
const failure = (f: () => unknown) => {
  try {
    f();
  } catch (error) {
    return (error as Error).message;
  }
  throw new Error("did not throw");
};

describe("service config", () => {
  it("has the documented defaults", () => {
    const config = loadConfig(base, KEYS);
    expect(config).to.deep.include({ host: "127.0.0.1", port: 8080, maxJobs: 4, tokensFile: "/etc/qa/tokens.json" });
    expect(config.dataDir).to.equal(path.join(os.homedir(), ".cache", "qa-k8s", "service"));
    expect(config.databaseUrl).to.equal(undefined);
  });

  it("refuses bad values naming the variable, the value and the fix", () => {
    expect(failure(() => parseListen("localhost"))).to.equal(
      'QA_LISTEN "localhost" is not host:port with a port from 1 to 65535; set e.g. QA_LISTEN=127.0.0.1:8080',
    );
    expect(parseListen("[::1]:9000")).to.deep.equal({ host: "::1", port: 9000 });
    expect(failure(() => loadConfig({}, KEYS))).to.match(/^QA_TOKENS_FILE is not set: .*hash-token/);
    expect(failure(() => loadConfig({ ...base, QA_MAX_JOBS: "0" }, KEYS))).to.equal(
      'QA_MAX_JOBS "0" must be a whole number from 1 to 64; e.g. QA_MAX_JOBS=4',
    );
    expect(failure(() => loadConfig({ ...base, QA_JIRA_URL: "jira" }, KEYS))).to.equal(
      'QA_JIRA_URL "jira" is not an http(s) URL; set e.g. QA_JIRA_URL=https://jira.example.test/browse/',
    );
    expect(failure(() => loadConfig({ ...base, QA_STACK_CONFIG: "nope=1" }, KEYS))).to.match(
      /^QA_STACK_CONFIG: "nope" is not a key of Pulumi.yaml; known keys: /,
    );
  });

  it("never repeats a secret: the Jira secret by length only, the database password redacted", () => {
    const short = failure(() => loadConfig({ ...base, QA_JIRA_SECRET: "hunter2" }, KEYS));
    expect(short).to.include("7 characters").and.not.include("hunter2");
    const badDb = failure(() => loadConfig({ ...base, QA_DATABASE_URL: "mysql://u:s3cret@h/db" }, KEYS));
    expect(badDb).to.include("mysql://u:***@h/db").and.not.include("s3cret");
    expect(redactUrl("postgres://qa:pa55@127.0.0.1:5432/qa")).to.equal("postgres://qa:***@127.0.0.1:5432/qa");
    const config = loadConfig(
      { ...base, QA_DATABASE_URL: "postgres://qa:pa55@127.0.0.1:5432/qa", QA_JIRA_SECRET: "x".repeat(32) },
      KEYS,
    );
    const described = JSON.stringify(describeConfig(config));
    expect(described).not.to.include("pa55");
    expect(described).not.to.include("x".repeat(32));
    expect(described).to.include("postgres postgres://qa:***@127.0.0.1:5432/qa");
  });

  it("fills {ticket} in the stack config of a run", () => {
    const config = loadConfig({ ...base, QA_STACK_CONFIG: "renderTo=/tmp/r/{ticket};registry=reg.test:5000" }, KEYS);
    expect(stackConfigFor(config.stackConfig, "VERBU-9530")).to.deep.equal({
      renderTo: { value: "/tmp/r/verbu-9530" },
      registry: { value: "reg.test:5000" },
    });
    expect(stackConfigFor({}, "VERBU-9530")).to.equal(undefined);
  });
});

describe("service auth", () => {
  const entries = parseTokens(
    JSON.stringify([
      { name: "bamboo", sha256: hashToken("t-deploy"), scopes: ["deploy"] },
      { name: "viewer", sha256: hashToken("t-read"), scopes: ["read"] },
    ]),
    "tokens.json",
  );

  it("authenticates a Bearer header or a raw token to its entry with implied scopes", () => {
    expect(authenticate(entries, "Bearer t-deploy")).to.deep.equal({ name: "bamboo", scopes: ["read", "deploy"] });
    expect(authenticate(entries, "t-read")).to.deep.equal({ name: "viewer", scopes: ["read"] });
    expect(authenticate(entries, "Bearer nope")).to.equal(undefined);
    expect(authenticate(entries, undefined)).to.equal(undefined);
    expect(authenticate(entries, "Basic abc def")).to.equal(undefined);
    expect(tokenOf("Bearer")).to.equal(undefined);
    expect(effectiveScopes(["admin"])).to.deep.equal(["read", "deploy", "admin"]);
  });

  it("refuses a bad tokens file naming the entry, the field and the fix (a plain token is never accepted)", () => {
    expect(failure(() => parseTokens("{", "t.json"))).to.match(/^QA_TOKENS_FILE t.json is not JSON/);
    expect(failure(() => parseTokens('[{"name":"a","sha256":"my-token","scopes":["read"]}]', "t.json"))).to.equal(
      'QA_TOKENS_FILE t.json entry 0 ("a"): sha256 must be 64 lower-case hex digits, the token\'s SHA-256 (never the ' +
        "token itself); make one with `npm run serve -- hash-token <name> <scope>`",
    );
    const sha = hashToken("x");
    expect(failure(() => parseTokens(`[{"name":"a","sha256":"${sha}","scopes":["root"]}]`, "t.json"))).to.equal(
      'QA_TOKENS_FILE t.json entry 0 ("a"): scopes must be a non-empty list of read, deploy, admin',
    );
    expect(
      failure(() =>
        parseTokens(
          `[{"name":"a","sha256":"${sha}","scopes":["read"]},{"name":"a","sha256":"${sha}","scopes":["read"]}]`,
          "t.json",
        ),
      ),
    ).to.equal('QA_TOKENS_FILE t.json entry 1: name "a" is used twice; give each token its own name');
  });

  it("makes a new random token whose entry authenticates it", () => {
    const { token, entry } = newToken("ci", "deploy");
    expect(token).to.match(/^qa_[A-Za-z0-9_-]{43}$/);
    expect(JSON.stringify(entry)).not.to.include(token);
    expect(authenticate([entry], `Bearer ${token}`)?.name).to.equal("ci");
    expect(newToken("ci", "deploy").token).not.to.equal(token);
  });

  it("checks Jira's X-Hub-Signature (HMAC-SHA256 of the raw body)", () => {
    const secret = "s".repeat(32);
    const body = Buffer.from('{"webhookEvent":"jira:issue_updated"}');
    const good = `sha256=${crypto.createHmac("sha256", secret).update(body).digest("hex")}`;
    expect(jiraSignatureValid(secret, body, good)).to.equal(true);
    expect(jiraSignatureValid(secret, Buffer.from(`${body} `), good)).to.equal(false);
    expect(jiraSignatureValid("t".repeat(32), body, good)).to.equal(false);
    expect(jiraSignatureValid(secret, body, undefined)).to.equal(false);
    expect(jiraSignatureValid(secret, body, "sha256=zz")).to.equal(false);
  });
});
