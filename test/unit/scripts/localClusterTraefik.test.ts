// scripts/lib/local-cluster-traefik.sh without building anything: a fake toolchain dir decides between reuse and
// rebuild by the version stamps, `go` is a stub that fails loudly if called, and the wrapper's go.mod fix-ups are
// derived from a small upstream-shaped go.mod.
import { expect } from "chai";
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";

const LIB = path.resolve(__dirname, "../../../scripts/lib");

describe("scripts/lib/local-cluster-traefik.sh", () => {
  let tmp: string;
  let bin: string;
  let crds: string;

  function shell(script: string, env: Record<string, string> = {}) {
    const base = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith("QA_")));
    return spawnSync(
      "bash",
      [
        "-c",
        `source '${LIB}/local-cluster-common.sh'; source '${LIB}/local-cluster-build.sh'; ` +
          `source '${LIB}/local-cluster-traefik.sh'; ${script}`,
      ],
      {
        encoding: "utf8",
        env: { ...base, PATH: `${path.join(tmp, "stub")}:${process.env.PATH}`, QA_TOOLCHAIN_DIR: tmp, ...env },
      },
    );
  }

  function version(): string {
    const run = shell('printf %s "${LC_TRAEFIK_MODULE}@v${LC_TRAEFIK_VERSION}"');
    return run.stdout;
  }

  function fakeBuilt(stamp: string, crdStamp: string) {
    fs.mkdirSync(bin, { recursive: true });
    fs.writeFileSync(path.join(bin, "traefik"), "#!/bin/sh\n", { mode: 0o755 });
    fs.writeFileSync(path.join(bin, ".traefik.stamp"), stamp);
    fs.mkdirSync(crds, { recursive: true });
    fs.writeFileSync(path.join(crds, ".stamp"), crdStamp);
  }

  beforeEach(() => {
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), "qa-lc-traefik-"));
    fs.mkdirSync(path.join(tmp, "stub"));
    // Any call to go means a build was attempted.
    fs.writeFileSync(path.join(tmp, "stub", "go"), "#!/bin/sh\necho 'go called' >&2\nexit 97\n", { mode: 0o755 });
    const prefix = shell('printf %s "${LC_PREFIX}"').stdout;
    bin = path.join(prefix, "bin");
    crds = path.join(prefix, "traefik-crds");
  });

  afterEach(() => fs.rmSync(tmp, { recursive: true, force: true }));

  it("keeps the binary and its CRDs next to the control plane binaries", () => {
    expect(bin.startsWith(tmp)).to.equal(true);
    expect(path.dirname(crds)).to.equal(path.dirname(bin));
    expect(version()).to.match(/^github\.com\/traefik\/traefik\/v3@v3\.\d+\.\d+$/);
  });

  it("reuses a binary and CRDs stamped with the pinned version", () => {
    fakeBuilt(version(), version());
    const run = shell("lc_build_traefik");
    expect(run.status, run.stderr).to.equal(0);
    expect(run.stderr).to.match(/traefik v3\.\S+: reusing /);
    expect(run.stderr).to.not.include("go called");
  });

  it("rebuilds when the binary's stamp names another version", () => {
    fakeBuilt("github.com/traefik/traefik/v3@v3.0.0", version());
    const run = shell("lc_build_traefik");
    expect(run.status).to.not.equal(0);
    expect(run.stderr).to.include("building").and.to.include("go called");
  });

  it("rebuilds when the CRDs are missing or stale", () => {
    fakeBuilt(version(), "github.com/traefik/traefik/v3@v3.0.0");
    expect(shell("lc_build_traefik").stderr).to.include("go called");
  });

  it("traefik-bin prints the path of a current build and refuses to build under QA_CLUSTER_NO_BUILD=1", () => {
    const missing = shell("lc_cmd_traefik_bin", { QA_CLUSTER_NO_BUILD: "1" });
    expect(missing.status).to.equal(1);
    expect(missing.stderr).to.include("is not built (QA_CLUSTER_NO_BUILD=1)");
    fakeBuilt(version(), version());
    const built = shell("lc_cmd_traefik_bin", { QA_CLUSTER_NO_BUILD: "1" });
    expect(built.status, built.stderr).to.equal(0);
    expect(built.stdout).to.equal(`${path.join(bin, "traefik")}\n`);
  });

  it("copies upstream's module replaces and excludes into the wrapper, but no directory replaces", () => {
    const gomod = path.join(tmp, "upstream.mod");
    fs.writeFileSync(
      gomod,
      [
        "module github.com/traefik/traefik/v3",
        "require example.com/a v1.0.0",
        "replace github.com/traefik/traefik/dynamic/ext => ./pkg/config/dynamic/ext",
        "replace example.com/single => example.com/fork v0.1.0",
        "replace (",
        "\texample.com/a => example.com/a-fork v1.2.3-0.20200101000000-abcdef",
        "\texample.com/local => ../local",
        ")",
        "exclude example.com/bad v3.0.83+incompatible",
        "",
      ].join("\n"),
    );
    const run = shell(`lc_traefik_upstream_fixups '${gomod}'`);
    expect(run.status, run.stderr).to.equal(0);
    expect(run.stdout.trim().split("\n")).to.deep.equal([
      "replace example.com/single => example.com/fork v0.1.0",
      "replace example.com/a => example.com/a-fork v1.2.3-0.20200101000000-abcdef",
      "exclude example.com/bad v3.0.83+incompatible",
    ]);
  });

  it("writes a stand-in module for the unpublished dynamic/ext extension hook", () => {
    const dir = path.join(tmp, "ext");
    const run = shell(`lc_traefik_write_ext_stub '${dir}'`);
    expect(run.status, run.stderr).to.equal(0);
    expect(fs.readFileSync(path.join(dir, "go.mod"), "utf8")).to.match(
      /^module github\.com\/traefik\/traefik\/dynamic\/ext\n/,
    );
    const src = fs.readFileSync(path.join(dir, "ext.go"), "utf8");
    expect(src).to.include("type HTTP struct{}").and.to.include("type Router struct{}");
  });
});
