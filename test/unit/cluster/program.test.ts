// The cluster program under mocks: which resources exist, how they depend on each other, and that secrets stay secret.
import { expect } from "chai";
import * as pulumi from "@pulumi/pulumi";
import * as crypto from "node:crypto";
import * as YAML from "yaml";
import {
  isSecret,
  ofType,
  plainStrings,
  ProgramRun,
  RANCHER_MANIFEST_URL,
  reg,
  reveal,
  runProgram,
  valueOf,
} from "./mockProgram";
import { PRIVATE_KEY, RANCHER_TOKEN, SEED_COMMANDS, seedConfig, server, TOKEN, worker } from "./fixtures";

const CMD = "command:remote:Command";
/** The seed cluster with Rancher: the pool, 6 node components, the identity record, the remote commands, and the
 * Rancher component with its provider, cluster and rancher-apply command. */
const REGISTRATIONS = 1 + 6 + 1 + SEED_COMMANDS + 4;
const short = (urn: string) => urn.split("::").pop() as string;
const depsOf = (run: ProgramRun, name: string) => reg(run, name).dependencies.map(short).sort();
const decodeStdin = (run: ProgramRun, name: string) =>
  (reveal(reg(run, name).inputs.stdin) as string)
    .split("\n")
    .filter((l, i, all) => i < all.length - 1 || l !== "")
    .map((l) => Buffer.from(l, "base64").toString());

describe("cluster program (mocks)", () => {
  describe("the seed cluster: 1 server + 5 workers", () => {
    let run: ProgramRun;
    before(async () => {
      run = await runProgram(seedConfig());
      expect(run.errors).to.deep.equal([]);
      expect(run.leaks).to.equal(0);
    });

    it("creates one component per node, named after the node, and no Rancher resources", () => {
      const nodes = ofType(run, "qa-k8s:cluster:K3sNode").map((r) => r.name);
      expect(nodes).to.deep.equal(["qa-k3s-server-1", ...[1, 2, 3, 4, 5].map((i) => `qa-k3s-worker-${i}`)]);
      expect([...run.regs.values()].filter((r) => r.type.startsWith("rancher2:"))).to.deep.equal([]);
      expect(run.outputs).not.to.have.property("rancherClusterId");
    });

    it("gives every node cleanup + install + upgrade + labels, and removable nodes membership + drain", () => {
      const names = ofType(run, CMD).map((r) => r.name);
      expect(names).to.include.members([
        "qa-k3s-server-1-cleanup",
        "qa-k3s-server-1-install",
        "qa-k3s-server-1-upgrade",
        "qa-k3s-server-1-labels",
        "qa-kubeconfig",
      ]);
      expect(names).not.to.include.members(["qa-k3s-server-1-membership", "qa-k3s-server-1-drain"]);
      for (const i of [1, 2, 3, 4, 5]) {
        for (const role of ["membership", "cleanup", "install", "upgrade", "drain", "labels"])
          expect(names).to.include(`qa-k3s-worker-${i}-${role}`);
      }
    });

    it("installs agents in parallel: each waits for the first server and its own membership, never for another agent", () => {
      for (const i of [1, 2, 3, 4, 5]) {
        expect(depsOf(run, `qa-k3s-worker-${i}-install`)).to.deep.equal([
          "qa-identity",
          "qa-k3s-server-1-install",
          `qa-k3s-worker-${i}-cleanup`,
          `qa-k3s-worker-${i}-membership`,
        ]);
      }
    });

    it("upgrades the server first, then agents one at a time (k3s.upgradeBatchSize 1)", () => {
      expect(depsOf(run, "qa-k3s-server-1-upgrade")).to.deep.equal(["qa-identity", "qa-k3s-server-1-install"]);
      expect(depsOf(run, "qa-k3s-worker-1-upgrade")).to.deep.equal([
        "qa-identity",
        "qa-k3s-server-1-upgrade",
        "qa-k3s-worker-1-install",
      ]);
      expect(depsOf(run, "qa-k3s-worker-3-upgrade")).to.deep.equal([
        "qa-identity",
        "qa-k3s-server-1-upgrade",
        "qa-k3s-worker-2-upgrade",
        "qa-k3s-worker-3-install",
      ]);
    });

    it("orders removal drain -> install -> cleanup (uninstall) -> membership (forget) through dependencies", () => {
      // Membership directly too: once the node is `gone` its install no longer depends on membership, and only this
      // keeps the forget step (delete Node) after the drain's cordon.
      expect(depsOf(run, "qa-k3s-worker-2-drain")).to.deep.equal([
        "qa-k3s-worker-2-install",
        "qa-k3s-worker-2-membership",
      ]);
      expect(depsOf(run, "qa-k3s-worker-2-install")).to.include("qa-k3s-worker-2-cleanup");
      expect(depsOf(run, "qa-k3s-worker-2-cleanup")).to.deep.equal(["qa-k3s-worker-2-membership"]);
      expect(depsOf(run, "qa-k3s-server-1-cleanup")).to.deep.equal([]);
    });

    it("records the host before the installer runs: cleanup contacts nothing on create, install has no delete", () => {
      // A failed create is not recorded (upstream pulumi-command), so the uninstall must not hang on the install.
      for (const name of ["qa-k3s-worker-2", "qa-k3s-server-1"]) {
        const cleanup = reg(run, `${name}-cleanup`).inputs;
        for (const field of ["create", "update", "stdin"])
          expect(cleanup, `${name} ${field}`).not.to.have.property(field);
        expect(reg(run, `${name}-install`).inputs, name).not.to.have.property("delete");
      }
    });

    it("keeps the output of steps fed secrets on stdin encrypted (the provider marks no output secret itself)", () => {
      for (const name of ["qa-k3s-worker-2-install", "qa-k3s-worker-2-upgrade", "qa-k3s-server-1-install"])
        expect(reg(run, name).additionalSecretOutputs, name).to.include.members(["stdout", "stderr"]);
    });

    it("puts the removal steps into delete commands", () => {
      const drain = reg(run, "qa-k3s-worker-2-drain").inputs;
      expect(drain.create).to.equal(undefined);
      expect(drain.delete).to.include(inner(`"$qa_k3s" kubectl 'cordon' 'k3s-worker-2'`));
      expect(drain.delete).to.include("--timeout=300s");
      expect(reg(run, "qa-k3s-worker-2-cleanup").inputs.delete).to.include("k3s-agent-uninstall.sh");
      expect(reg(run, "qa-k3s-server-1-cleanup").inputs.delete).to.include("k3s-uninstall.sh");
      const membership = reg(run, "qa-k3s-worker-2-membership").inputs;
      expect(membership.create).to.include("node-password.k3s");
      expect(membership.delete).to.include("--timeout=120s");
      expect(membership.update).to.equal("true");
    });

    it("runs the cluster-side steps on the first server and host steps on the node, host keys pinned", () => {
      const conn = (name: string) => reveal(reg(run, name).inputs.connection) as Record<string, unknown>;
      expect(conn("qa-k3s-worker-2-install")).to.deep.include({
        host: "10.0.1.2",
        port: 22,
        user: "root",
        hostKey: worker(2).hostKey,
      });
      expect(conn("qa-k3s-worker-2-drain")).to.deep.include({ host: "10.0.0.10", hostKey: server(1).hostKey });
      expect(conn("qa-k3s-worker-2-install")).to.deep.include({ dialErrorLimit: 10, perDialTimeout: 15 });
    });

    it("exports the kubeconfig as a secret pointing at the first server, and the nodes with roles", async () => {
      const outputs = run.outputs as Record<string, pulumi.Output<unknown>>;
      expect(await pulumi.isSecret(outputs.kubeconfig)).to.equal(true);
      const kubeconfig = YAML.parse((await valueOf(outputs.kubeconfig)) as string);
      expect(kubeconfig.clusters[0].cluster.server).to.equal("https://10.0.0.10:6443");
      const nodes = run.outputs.nodes as { name: string; role: string; first: boolean }[];
      expect(nodes.map((n) => [n.name, n.role, n.first])).to.deep.equal([
        ["k3s-server-1", "server", true],
        ...[1, 2, 3, 4, 5].map((i) => [`k3s-worker-${i}`, "agent", false]),
      ]);
      expect(run.outputs.firstServer).to.deep.equal({ name: "k3s-server-1", host: "10.0.0.10" });
    });

    it("reads the kubeconfig with a stable command whose stdout is secret and not logged", () => {
      const reader = reg(run, "qa-kubeconfig");
      expect(reader.additionalSecretOutputs).to.include("stdout");
      expect(reader.inputs.logging).to.equal("stderr");
      expect(reader.inputs.create).to.include(inner(`"$qa_k3s" kubectl 'config' 'view' '--raw'`));
      expect(depsOf(run, "qa-kubeconfig")).to.deep.equal(["qa-k3s-server-1-install"]);
    });
  });

  describe("secrets", () => {
    let run: ProgramRun;
    const registries = {
      configs: { "nexus.example.test:5000": { auth: { username: "ci", password: "registry-password-123" } } },
    };
    before(async () => {
      run = await runProgram(
        {
          ...seedConfig(),
          "k3s.docker": false,
          "k3s.registries": registries,
          "rancher.apiUrl": "https://rancher.example.test",
          "rancher.token": RANCHER_TOKEN,
        },
        {
          secretKeys: ["k3s.token", "ssh.privateKey", "rancher.token", "k3s.registries"],
          stdoutFor: identityStdout(TOKEN),
        },
      );
      expect(run.errors).to.deep.equal([]);
    });

    it("sends the token and registry credentials only on secret stdin", () => {
      const steps = ofType(run, CMD).filter((r) => /-(install|upgrade)$/.test(r.name));
      expect(steps, "install + upgrade of 6 nodes").to.have.length(12);
      for (const r of steps) {
        expect(isSecret(r.inputs.stdin), r.name).to.equal(true);
        const [token, yaml] = decodeStdin(run, r.name);
        expect(token, r.name).to.equal(TOKEN);
        expect(YAML.parse(yaml), r.name).to.deep.equal(registries);
      }
    });

    it("keeps the SSH key secret in every connection", () => {
      expect(ofType(run, CMD), "the seed's commands and rancher-apply").to.have.length(SEED_COMMANDS + 1);
      for (const r of ofType(run, CMD)) {
        const connection = r.inputs.connection as Record<string, unknown>;
        const key = isSecret(connection)
          ? (reveal(connection) as Record<string, unknown>).privateKey
          : connection.privateKey;
        expect(isSecret(connection) || isSecret(connection.privateKey), r.name).to.equal(true);
        expect(key, r.name).to.equal(PRIVATE_KEY);
      }
    });

    it("never shows a secret in a plain (unencrypted) input of any resource", () => {
      const secrets = [
        TOKEN,
        "registry-password-123",
        RANCHER_TOKEN,
        PRIVATE_KEY.split("\n")[1],
        b64(TOKEN),
        "regtoken-secret-456",
      ];
      expect(run.regs.size, "every resource of the run, Rancher's included").to.equal(REGISTRATIONS);
      for (const r of run.regs.values()) {
        for (const [field, text] of plainStrings(r.inputs)) {
          for (const secret of secrets) expect(text, `${r.name}.${field}`).not.to.include(secret);
        }
      }
    });

    it("marks every input that contains the token as secret", () => {
      expect(run.regs.size).to.equal(REGISTRATIONS);
      for (const r of run.regs.values()) {
        for (const [field, value] of Object.entries(r.inputs)) {
          if (JSON.stringify(reveal(value)).includes(b64(TOKEN)) || JSON.stringify(reveal(value)).includes(TOKEN)) {
            expect(isSecret(value), `${r.name}.${field}`).to.equal(true);
          }
        }
      }
    });

    it("keeps the Rancher token secret in the provider and the registration token secret in outputs", () => {
      const provider = reg(run, "rancher-provider");
      expect(provider.type).to.equal("pulumi:providers:rancher2");
      expect(isSecret(provider.inputs.tokenKey)).to.equal(true);
      expect(reveal(provider.inputs.tokenKey)).to.equal(RANCHER_TOKEN);
      expect(reg(run, "rancher-cluster").additionalSecretOutputs).to.include("clusterRegistrationToken");
      expect(reg(run, "rancher-apply").additionalSecretOutputs).to.include.members(["stdout", "stderr"]);
    });
  });

  describe("Rancher (configured)", () => {
    let run: ProgramRun;
    before(async () => {
      run = await runProgram({
        ...seedConfig(),
        "rancher.apiUrl": "https://rancher.example.test",
        "rancher.token": RANCHER_TOKEN,
        "rancher.clusterName": "qa-k3s",
        "rancher.insecure": true,
      });
      expect(run.errors).to.deep.equal([]);
    });

    it("imports the cluster: a rancher2.Cluster with no driver config and K3s version management off", () => {
      const cluster = reg(run, "rancher-cluster");
      expect(cluster.type).to.equal("rancher2:index/cluster:Cluster");
      expect(Object.keys(cluster.inputs).sort()).to.deep.equal(["annotations", "description", "name"]);
      expect(cluster.inputs.name).to.equal("qa-k3s");
      expect(cluster.inputs.annotations).to.deep.equal({ "rancher.io/imported-cluster-version-management": "false" });
      expect(cluster.provider).to.match(/::rancher-provider::/);
      expect(reveal(reg(run, "rancher-provider").inputs)).to.deep.include({
        apiUrl: "https://rancher.example.test",
        insecure: "true",
      });
    });

    it("applies the registration manifest from the first server, its URL on secret stdin", () => {
      const apply = reg(run, "rancher-apply");
      expect((reveal(apply.inputs.connection) as { host: string }).host).to.equal("10.0.0.10");
      expect(isSecret(apply.inputs.stdin)).to.equal(true);
      expect(decodeStdin(run, "rancher-apply")).to.deep.equal([RANCHER_MANIFEST_URL]);
      expect(apply.inputs.create).to.include("--insecure");
      expect(apply.inputs.create).not.to.include("regtoken-secret-456");
      expect(depsOf(run, "rancher-apply")).to.include("qa-k3s-server-1-install");
    });

    it("exports the Rancher cluster id", async () => {
      expect(await valueOf(run.outputs.rancherClusterId as pulumi.Output<string>)).to.equal("c-abc12");
    });
  });

  describe("connection and installer options", () => {
    let run: ProgramRun;
    before(async () => {
      run = await runProgram({
        ...seedConfig(),
        "ssh.user": "deploy",
        "ssh.port": "2222",
        "ssh.dialErrorLimit": "3",
        "ssh.bastion": { host: "bastion.example.test", hostKey: worker(99).hostKey },
        "k3s.airgap": true,
        "k3s.installScriptUrl": "file:///opt/k3s/install.sh",
      });
      expect(run.errors).to.deep.equal([]);
    });

    it("runs every command with sudo -n for a non-root user", () => {
      expect(ofType(run, CMD)).to.have.length(SEED_COMMANDS);
      for (const r of ofType(run, CMD)) {
        for (const field of ["create", "update", "delete"]) {
          const cmd = r.inputs[field] as string | undefined;
          if (cmd !== undefined && cmd !== "true") expect(cmd, `${r.name}.${field}`).to.match(/^sudo -n sh -c '/);
        }
      }
    });

    it("calls k3s and its uninstallers only by absolute path (sudo's secure_path on RHEL has no /usr/local/bin)", () => {
      let commands = 0;
      for (const r of ofType(run, CMD)) {
        for (const field of ["create", "update", "delete"]) {
          const cmd = r.inputs[field] as string | undefined;
          if (cmd === undefined || cmd === "true") continue;
          commands++;
          // k3s, k3s-uninstall.sh or k3s-agent-uninstall.sh in command position (messages may name them).
          expect(cmd, `${r.name}.${field}`).not.to.match(
            /(^|\n|;|&&|\|\||\$\(|\bthen|\bdo|\belse|command -v)\s*k3s(-agent)?(-uninstall\.sh)?(\s|$)/,
          );
        }
      }
      expect(commands).to.be.greaterThan(20);
    });

    it("connects through the bastion, whose host key is pinned too", () => {
      const conn = reveal(reg(run, "qa-k3s-worker-1-install").inputs.connection) as Record<string, unknown>;
      expect(conn).to.deep.include({ host: "10.0.1.1", port: 2222, user: "deploy", dialErrorLimit: 3 });
      expect(conn.proxy).to.deep.include({
        host: "bastion.example.test",
        port: 22,
        user: "root",
        hostKey: worker(99).hostKey,
        privateKey: PRIVATE_KEY,
      });
    });

    it("installs air-gapped from the configured installer, with downloads skipped", () => {
      const create = reg(run, "qa-k3s-worker-1-install").inputs.create as string;
      expect(create).to.include(inner("export INSTALL_K3S_SKIP_DOWNLOAD='true'"));
      expect(create).to.include(inner("cat '/opt/k3s/install.sh' >\"$qa_installer\""));
      expect(create).to.include("--docker");
    });
  });
});

describe("cluster program: config as the real engine passes it", () => {
  it("reads keys set with --path and the engine's defaults (objects k3s, ssh), flat keys winning", async () => {
    const { servers, agents } = seedConfig();
    const run = await runProgram(
      {
        k3s: {
          version: "v1.33.5+k3s1",
          dataDir: "/var/lib/rancher/k3s",
          docker: false,
          kubeconfigMode: 600,
          token: TOKEN,
          registries: {},
        },
        "k3s.dataDir": "/data/k3s",
        ssh: {
          user: "root",
          port: 22,
          privateKey: PRIVATE_KEY,
          bastion: {},
          dialErrorLimit: 10,
          perDialTimeoutSeconds: 15,
        },
        rancher: { apiUrl: "", token: "", clusterName: "qa", insecure: false },
        servers,
        agents,
      },
      { secretKeys: ["k3s", "ssh"] },
    );
    expect(run.errors).to.deep.equal([]);
    const install = reg(run, "qa-k3s-worker-1-install");
    expect(install.inputs.create).to.include("--data-dir /data/k3s");
    expect(install.inputs.create).not.to.include("--docker");
    expect(decodeStdin(run, "qa-k3s-worker-1-install")[0]).to.equal(TOKEN);
    expect(isSecret(install.inputs.stdin)).to.equal(true);
    expect((reveal(install.inputs.connection) as { privateKey: string }).privateKey).to.equal(PRIVATE_KEY);
    expect([...run.regs.values()].filter((r) => r.type.startsWith("rancher2:"))).to.deep.equal([]);
  });
});

/** How a fragment of a script looks inside the single-quoted `sh -c '...'` word. */
const inner = (fragment: string) => fragment.replace(/'/g, "'\\''");
const b64 = (s: string) => Buffer.from(s).toString("base64");

/** The identity record as the cluster was created with `token` (what the mock returns as its stdout). */
export function identityStdout(token: string, firstServer = "k3s-server-1") {
  return (name: string) =>
    name === "qa-identity"
      ? JSON.stringify({ tokenSha256: crypto.createHash("sha256").update(token).digest("hex"), firstServer })
      : undefined;
}
