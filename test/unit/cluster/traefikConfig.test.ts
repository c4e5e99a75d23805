// The bundled Traefik's HelmChartConfig: its content, the scripts that write and remove it (run for real with /bin/sh
// against a hostile data directory), and where the program puts them (servers only; nothing on a dead host).
import { expect } from "chai";
import * as fs from "node:fs";
import * as path from "node:path";
import * as YAML from "yaml";
import {
  removeTraefikConfigScript,
  traefikConfigPath,
  traefikHelmChartConfig,
  writeTraefikConfigScript,
} from "../../../cluster/traefikConfig";
import { identityStdout } from "./program.test";
import { ProgramRun, reg, runProgram } from "./mockProgram";
import { removeTempDirs, runLocally, seedConfig, server, settingsOf, tempDir, TOKEN } from "./fixtures";

const short = (urn: string) => urn.split("::").pop() as string;

describe("cluster: the bundled Traefik's HelmChartConfig", () => {
  after(removeTempDirs);

  it("sets allowExternalNameServices on both the Ingress and the CRD providers of kube-system/traefik", () => {
    const object = YAML.parse(traefikHelmChartConfig());
    expect(object).to.deep.include({ apiVersion: "helm.cattle.io/v1", kind: "HelmChartConfig" });
    expect(object.metadata).to.deep.equal({ name: "traefik", namespace: "kube-system" });
    expect(YAML.parse(object.spec.valuesContent)).to.deep.equal({
      providers: {
        kubernetesIngress: { allowExternalNameServices: true },
        kubernetesCRD: { allowExternalNameServices: true },
      },
    });
  });

  it("writes the file into the data dir's auto-deploy manifests and removes it, whatever the path holds", () => {
    const seed = settingsOf(seedConfig());
    // Past validation on purpose: the scripts must quote every path themselves.
    const dataDir = path.join(tempDir("traefik"), "it's $(touch pwned) `x` data");
    const settings = { ...seed, k3s: { ...seed.k3s, dataDir }, ssh: { ...seed.ssh, user: "root" } };
    const node = settings.servers[0];
    const file = traefikConfigPath(settings);
    expect(file).to.equal(`${dataDir}/server/manifests/qa-k8s-traefik-config.yaml`);

    const write = runLocally(writeTraefikConfigScript(settings, node));
    expect(write.status, write.stderr).to.equal(0);
    expect(fs.readFileSync(file, "utf8")).to.equal(traefikHelmChartConfig());
    expect(fs.readdirSync(path.dirname(file))).to.deep.equal(["qa-k8s-traefik-config.yaml"]);
    expect(write.stdout).to.include(`wrote ${file}`);
    expect(fs.existsSync("pwned")).to.equal(false);

    // Again (an update), then the delete, twice: a removed file is no failure.
    expect(runLocally(writeTraefikConfigScript(settings, node)).status).to.equal(0);
    expect(runLocally(removeTraefikConfigScript(settings, node)).status).to.equal(0);
    expect(runLocally(removeTraefikConfigScript(settings, node)).status).to.equal(0);
    expect(fs.existsSync(file)).to.equal(false);
  });

  it("runs under sudo -n for a non-root user", () => {
    const settings = settingsOf({ ...seedConfig(), "ssh.user": "deploy" });
    const script = writeTraefikConfigScript(settings, settings.servers[0]);
    expect(script.startsWith("sudo -n ")).to.equal(true);
  });

  describe("in the program", () => {
    let run: ProgramRun;
    before(async () => {
      const servers = [server(1), server(2), server(3), server(4, { gone: true })];
      run = await runProgram({ ...seedConfig(), servers }, { stdoutFor: identityStdout(TOKEN) });
      expect(run.errors).to.deep.equal([]);
    });

    it("gives each live server one step after its install: create and update write, delete removes", () => {
      for (const name of ["qa-k3s-server-1", "qa-k3s-server-2", "qa-k3s-server-3"]) {
        const step = reg(run, `${name}-traefik-config`);
        expect(step.inputs.create, name).to.include("qa-k8s-traefik-config.yaml");
        expect(step.inputs.update, name).to.equal(step.inputs.create);
        expect(step.inputs.delete, name).to.include("rm -f");
        expect(step.dependencies.map(short), name).to.deep.equal([`${name}-install`]);
      }
    });

    it("gives agents none, and a dead server a renamed record without commands", () => {
      expect([...run.regs.keys()].filter((n) => n.includes("worker") && n.includes("traefik"))).to.deep.equal([]);
      const gone = reg(run, "qa-k3s-server-4-traefik-config-gone");
      expect(gone.aliasNames).to.deep.equal(["qa-k3s-server-4-traefik-config"]);
      for (const field of ["create", "update", "delete"]) expect(gone.inputs).not.to.have.property(field);
    });
  });
});
