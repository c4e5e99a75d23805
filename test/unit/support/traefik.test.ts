// The pure parts of the e2e Traefik helper: its static configuration (loopback only, no phoning home, the provider
// settings the cluster stack gives K3s's Traefik plus nativeLB) and the /etc/hosts wrapper script, whose quoting is
// checked by running it with a hostile path through a real shell (with `mount` replaced by a recorder).
import { expect } from "chai";
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import {
  hostsWrapperScript,
  RESOLV_CONF,
  shellQuote,
  traefikDefaultCertConfig,
  traefikStaticConfig,
} from "../../e2e/support/traefik";

describe("e2e Traefik helper", () => {
  describe("traefikStaticConfig", () => {
    const config = traefikStaticConfig({ httpPort: 1001, httpsPort: 1002, apiPort: 1003 }) as {
      global: Record<string, boolean>;
      entryPoints: Record<string, { address: string; http?: { tls?: object } }>;
      api: Record<string, boolean>;
      ping: { entryPoint: string };
      providers: Record<string, Record<string, unknown>>;
    };

    it("listens on 127.0.0.1 only: web, websecure with TLS, and the private API entrypoint", () => {
      expect(config.entryPoints).to.deep.equal({
        web: { address: "127.0.0.1:1001" },
        websecure: { address: "127.0.0.1:1002", http: { tls: {} } },
        traefik: { address: "127.0.0.1:1003" },
      });
      expect(config.api).to.deep.equal({ insecure: true, dashboard: false });
      expect(config.ping.entryPoint).to.equal("traefik");
    });

    it("never calls out to the internet", () => {
      expect(config.global).to.deep.equal({ checkNewVersion: false, sendAnonymousUsage: false });
    });

    it("enables both Kubernetes providers with ExternalName services and native (ClusterIP) load balancing", () => {
      for (const name of ["kubernetesIngress", "kubernetesCRD"])
        expect(config.providers[name]).to.deep.equal({ allowExternalNameServices: true, nativeLBByDefault: true });
      expect(config.providers).to.not.have.property("file");
    });

    it("limits the providers to the given namespaces and adds the file provider for a certificate", () => {
      const c = traefikStaticConfig({
        httpPort: 1,
        httpsPort: 2,
        apiPort: 3,
        namespaces: ["a", "b"],
        dynamicFile: "/tmp/d.yml",
      }) as { providers: Record<string, Record<string, unknown>> };
      expect(c.providers.kubernetesIngress.namespaces).to.deep.equal(["a", "b"]);
      expect(c.providers.kubernetesCRD.namespaces).to.deep.equal(["a", "b"]);
      expect(c.providers.file).to.deep.equal({ filename: "/tmp/d.yml", watch: false });
    });

    it("puts a given certificate in the default TLS store", () => {
      expect(traefikDefaultCertConfig({ certFile: "/c.pem", keyFile: "/k.pem" })).to.deep.equal({
        tls: { stores: { default: { defaultCertificate: { certFile: "/c.pem", keyFile: "/k.pem" } } } },
      });
    });
  });

  describe("hostsWrapperScript", () => {
    const hostile = `/tmp/a dir/it's "$(touch pwned)" \`x\` $HOME;rm`;

    it("single-quotes every word", () => {
      expect(shellQuote("plain")).to.equal("'plain'");
      expect(shellQuote("it's")).to.equal(`'it'\\''s'`);
    });

    it("passes hostile paths through a real shell unchanged and execs the binary last", () => {
      const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "qa-traefik-unit-"));
      try {
        // `mount` and the "binary" only record their arguments, one per line; nothing is mounted.
        const record = path.join(tmp, "calls");
        const fakeBin = path.join(tmp, "bin");
        fs.mkdirSync(fakeBin);
        const recorder = `#!/bin/sh\nfor a in "$0" "$@"; do printf '%s\\n' "$a"; done >> '${record}'\nprintf -- '--\\n' >> '${record}'\n`;
        fs.writeFileSync(path.join(fakeBin, "mount"), recorder, { mode: 0o755 });
        const binary = path.join(tmp, "traefik $(id)");
        fs.writeFileSync(binary, recorder, { mode: 0o755 });
        const script = hostsWrapperScript({
          hostsFile: hostile,
          resolvConf: `${hostile}.resolv`,
          binary,
          args: [`--configFile=${hostile}.yml`],
        });
        const run = spawnSync("sh", ["-c", script], {
          cwd: tmp,
          encoding: "utf8",
          env: { PATH: `${fakeBin}:${process.env.PATH}`, HOME: "/nonexistent" },
        });
        expect(run.status, run.stderr).to.equal(0);
        const calls = fs
          .readFileSync(record, "utf8")
          .split("--\n")
          .filter(Boolean)
          .map((c) => c.trimEnd().split("\n"));
        expect(calls).to.deep.equal([
          [path.join(fakeBin, "mount"), "--bind", hostile, "/etc/hosts"],
          [path.join(fakeBin, "mount"), "--bind", `${hostile}.resolv`, "/etc/resolv.conf"],
          [binary, `--configFile=${hostile}.yml`],
        ]);
        expect(fs.existsSync(path.join(tmp, "pwned"))).to.equal(false);
      } finally {
        fs.rmSync(tmp, { recursive: true, force: true });
      }
    });

    it("stops at the first failed mount instead of running Traefik with the machine's resolver", () => {
      const script = hostsWrapperScript({ hostsFile: "/h", resolvConf: "/r", binary: "/bin/echo", args: ["ran"] });
      const run = spawnSync("sh", ["-c", script.replace("mount --bind '/h'", "false")], { encoding: "utf8" });
      expect(run.status).to.not.equal(0);
      expect(run.stdout).to.not.include("ran");
    });

    it("points the resolver at loopback only", () => {
      expect(RESOLV_CONF.match(/^nameserver .*/gm)).to.deep.equal(["nameserver 127.0.0.1"]);
    });
  });
});
