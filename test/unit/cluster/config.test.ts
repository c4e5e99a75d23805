import { expect } from "chai";
import * as fs from "node:fs";
import * as path from "node:path";
import * as YAML from "yaml";
import { CLUSTER_KEYS, DEFAULTS } from "../../../cluster/config";
import { identityProblems } from "../../../cluster/identity";
import { rewriteKubeconfig } from "../../../cluster/kubeconfig";
import { renderRegistries, validateRegistries } from "../../../cluster/registries";
import { FAKE_KUBECONFIG, isSecret, ofType, ProgramRun, refusedRun, reg, reveal, runProgram } from "./mockProgram";
import { PRIVATE_KEY, problemsOf, seedConfig, settingsOf, TOKEN } from "./fixtures";

const P = "Pulumi.qa.yaml: ";

describe("cluster/config: Pulumi.yaml declarations", () => {
  const project = YAML.parse(fs.readFileSync(path.join(__dirname, "..", "..", "..", "Pulumi.yaml"), "utf8"));
  const declared = (key: string) => project.config[`qa-k8s:${key}`];

  it("declares every cluster key with a type, a description and a default", () => {
    for (const key of CLUSTER_KEYS) {
      expect(declared(key), key).to.be.an("object");
      expect(declared(key).type, key).to.be.a("string");
      expect(declared(key).description, key).to.be.a("string");
      // A declared key without default is required by the engine on EVERY stack, feature stacks included.
      expect(declared(key), key).to.have.property("default");
    }
  });

  it("uses the program's defaults", () => {
    for (const [key, value] of Object.entries(DEFAULTS)) expect(declared(key).default, key).to.deep.equal(value);
  });

  it("ships a Pulumi.qa.yaml (the seed: 1 server + 5 workers) that passes validation once the secrets are set", () => {
    const stack = YAML.parse(fs.readFileSync(path.join(__dirname, "..", "..", "..", "Pulumi.qa.yaml"), "utf8"));
    const values: Record<string, unknown> = { "k3s.token": TOKEN, "ssh.privateKey": PRIVATE_KEY };
    for (const [key, value] of Object.entries(stack.config)) values[key.replace(/^qa-k8s:/, "")] = value;
    const s = settingsOf(values);
    expect([s.servers.length, s.agents.length]).to.deep.equal([1, 5]);
    expect(s.agents.every((a) => a.labels.includes("agent-type=worker"))).to.equal(true);
    expect(s.k3s).to.include({ dataDir: "/data/k3s", docker: true, kubeconfigMode: "644" });
  });

  it("treats the declared empty defaults as unset", () => {
    const s = settingsOf({
      ...seedConfig(),
      "k3s.registries": {},
      "ssh.bastion": {},
      "rancher.apiUrl": "",
      "rancher.token": "",
    });
    expect(s.k3s.registries).to.equal(undefined);
    expect(s.ssh.bastion).to.equal(undefined);
    expect(s.rancher).to.equal(undefined);
    expect(problemsOf({ ...seedConfig(), "k3s.token": "", "ssh.privateKey": "" })).to.have.length(2);
  });
});

describe("root index.ts: dotted keys set with --path (and Pulumi.yaml's defaults) arrive as objects", () => {
  const CMD = "command:remote:Command";
  const installOf = (run: ProgramRun, node: string) => reveal(reg(run, `${node}-install`).inputs.create) as string;

  it("reads a field of the object as the flat key, and the flat key wins where both are set", async () => {
    const seed = { ...seedConfig(), "k3s.dataDir": undefined }; // undefined: not passed at all
    const nested = await runProgram({ ...seed, k3s: { dataDir: "/srv/k3s", drainTimeoutSeconds: 42 } });
    expect(nested.errors).to.deep.equal([]);
    expect(installOf(nested, "qa-k3s-server-1")).to.include("--data-dir /srv/k3s");
    expect(reg(nested, "qa-k3s-worker-1-drain").inputs.delete).to.include("--timeout=42s");
    const both = await runProgram({ ...seed, "k3s.dataDir": "/data/k3s", k3s: { dataDir: "/srv/k3s" } });
    expect(installOf(both, "qa-k3s-server-1")).to.include("--data-dir /data/k3s");
    expect(installOf(both, "qa-k3s-server-1")).not.to.include("/srv/k3s");
  });

  it("keeps a field of a secret object secret", async () => {
    const { "k3s.token": token, ...rest } = seedConfig() as Record<string, unknown>;
    const run = await runProgram({ ...rest, k3s: { token } }, { secretKeys: ["k3s", "ssh.privateKey"] });
    expect(run.errors).to.deep.equal([]);
    const installs = ofType(run, CMD).filter((r) => r.name.endsWith("-install"));
    expect(installs).to.have.length(6);
    for (const install of installs) {
      expect(isSecret(install.inputs.stdin), install.name).to.equal(true);
      expect(reveal(install.inputs.stdin) as string).to.include(Buffer.from(TOKEN).toString("base64"));
    }
  });

  it("refuses a secret held in a plain object, as it refuses a plain flat key", async () => {
    const { "k3s.token": token, ...rest } = seedConfig() as Record<string, unknown>;
    const { error } = await refusedRun({ ...rest, k3s: { token } }, { secretKeys: ["ssh.privateKey"] });
    expect(error.message).to.match(/^Pulumi\.qa\.yaml: k3s\.token is stored in plain text/);
  });
});

describe("cluster/registries", () => {
  const nexus = {
    mirrors: {
      "docker.io": { endpoint: ["https://nexus.example.test:5000"], rewrite: { "^library/(.*)": "docker/library/$1" } },
    },
    configs: {
      "nexus.example.test:5000": {
        auth: { username: "ci", password: "pw" },
        tls: { ca_file: "/etc/ssl/nexus-ca.pem" },
      },
    },
  };

  it("accepts K3s' registries.yaml shape when credentials are encrypted", () => {
    expect(validateRegistries(nexus, true)).to.deep.equal([]);
  });

  it("refuses credentials stored in plain text, naming the --path to encrypt", () => {
    expect(validateRegistries(nexus, false)).to.deep.equal([
      `${P}k3s.registries.configs["nexus.example.test:5000"].auth.password is stored in plain text; encrypt it: pulumi config set --secret --path 'k3s.registries.configs["nexus.example.test:5000"].auth.password' <value>`,
    ]);
  });

  it("checks every field", () => {
    expect(
      validateRegistries(
        {
          mirrors: { "docker.io": { endpoint: ["ftp://x"], rewrite: { a: 1 } }, quay: "x", gcr: { endpoint: [] } },
          configs: {
            a: { auth: { user: "x", password: 5 }, tls: { ca_file: "rel", insecure_skip_verify: "yes" } },
            b: 3,
          },
          extra: 1,
        },
        true,
      ),
    ).to.deep.equal([
      `${P}k3s.registries has unknown field "extra"; known fields: mirrors, configs`,
      `${P}k3s.registries.mirrors["docker.io"].endpoint[0] "ftp://x" is not an http(s) URL; use e.g. https://nexus.example.test:5000`,
      `${P}k3s.registries.mirrors["docker.io"].rewrite {"a":1} is not a map of strings; map a regular expression to a replacement, e.g. "^library/(.*)": "docker/$1"`,
      `${P}k3s.registries.mirrors["quay"] "x" is not a map; write {endpoint: [URL, ...]}`,
      `${P}k3s.registries.mirrors["gcr"].endpoint [] is not a list of URLs; list at least one http(s):// URL`,
      `${P}k3s.registries.configs["a"].auth has unknown field "user"; known fields: username, password, auth, identity_token`,
      `${P}k3s.registries.configs["a"].auth.password is not a string; quote the value`,
      `${P}k3s.registries.configs["a"].tls.ca_file "rel" is not an absolute file path on the hosts; use e.g. /etc/ssl/nexus-ca.pem`,
      `${P}k3s.registries.configs["a"].tls.insecure_skip_verify "yes" is not a boolean; use true or false`,
      `${P}k3s.registries.configs["b"] 3 is not a map; write {auth: {...}, tls: {...}}`,
    ]);
  });

  it("renders YAML that K3s reads back to the same structure", () => {
    expect(YAML.parse(renderRegistries(nexus))).to.deep.equal(nexus);
  });
});

describe("cluster/identity", () => {
  const now = { tokenSha256: "aaa", firstServer: "k3s-server-1" };
  const urn = "urn:pulumi:qa::qa-k8s::qa-k8s:cluster:NodePool$command:local:Command::qa-identity";

  it("accepts a new cluster (no record yet) and an unchanged one", () => {
    expect(identityProblems(undefined, now, urn)).to.deep.equal([]);
    expect(identityProblems("", now, urn)).to.deep.equal([]);
    expect(identityProblems(JSON.stringify(now), now, urn)).to.deep.equal([]);
  });

  it("refuses a changed token, and says how to accept a rotated one", () => {
    expect(identityProblems(JSON.stringify({ ...now, tokenSha256: "bbb" }), now, urn)).to.deep.equal([
      `${P}k3s.token differs from the token this cluster was created with; K3s refuses a new token on a running cluster ("bootstrap data already found and encrypted with different token"); set k3s.token back to the previous value, or, after rotating it on the servers with "k3s token rotate", accept the new one with: pulumi up --replace '${urn}'`,
    ]);
  });

  it("refuses another first server", () => {
    expect(identityProblems(JSON.stringify({ ...now, firstServer: "old-1" }), now, urn)).to.deep.equal([
      `${P}servers[0] is "k3s-server-1", but this cluster was created with first server "old-1", which holds its datastore; put "old-1" back as servers[0] and add other servers after it`,
    ]);
  });
});

describe("cluster/kubeconfig", () => {
  it("points the kubeconfig at the first server", () => {
    const out = YAML.parse(rewriteKubeconfig(FAKE_KUBECONFIG, "10.0.0.10"));
    expect(out.clusters[0].cluster.server).to.equal("https://10.0.0.10:6443");
    expect(out.users[0].user["client-key-data"]).to.equal("S0VZCg==");
    expect(YAML.parse(rewriteKubeconfig(FAKE_KUBECONFIG, "fd00::10")).clusters[0].cluster.server).to.equal(
      "https://[fd00::10]:6443",
    );
  });

  it("fails clearly on a kubeconfig without clusters", () => {
    expect(() => rewriteKubeconfig("apiVersion: v1\nclusters: null\n", "10.0.0.10")).to.throw(
      "the kubeconfig read from 10.0.0.10 has no clusters; is K3s running there?",
    );
  });
});
