// A real Traefik (the version K3s bundles, built by `scripts/local-cluster build`) for e2e tests, run as a process on
// 127.0.0.1 against the local control plane with the same two providers K3s enables: Kubernetes Ingress and CRD.
// Set up as the cluster stack's HelmChartConfig sets up K3s's Traefik (allowExternalNameServices), plus what the local
// cluster needs instead of pod networking: nativeLBByDefault, so Traefik sends to a Service's ClusterIP (served by a
// kube-proxy stand-in) instead of its EndpointSlices, which cannot hold the loopback pod IPs the tests use.
import { ChildProcess, execFileSync, spawn } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { stringify } from "yaml";
import { PROJECT_DIR } from "../../../automation/stack";
import { freePort } from "./serviceProcess";

export interface TraefikOptions {
  /** kubeconfig of the cluster to watch (a client-certificate one works: Traefik reads it through KUBECONFIG) */
  kubeconfig: string;
  /** watch only these namespaces (default: all) */
  namespaces?: string[];
  /** certificate for websecure instead of Traefik's self-signed default */
  tlsSecret?: { certFile: string; keyFile: string };
  /** an /etc/hosts for Traefik alone, e.g. mapping ExternalName targets like auth.master.svc.cluster.local */
  hostsFile?: string;
  /** the binary (default: `scripts/local-cluster traefik-bin`) */
  binary?: string;
}

export interface Router {
  name: string;
  rule: string;
  service: string;
  status: string;
  provider?: string;
  entryPoints?: string[];
  middlewares?: string[];
  tls?: Record<string, unknown>;
  error?: string[];
}

export interface Traefik {
  readonly httpPort: number;
  readonly httpsPort: number;
  /** the private API/ping port (entrypoint `traefik`) */
  readonly apiPort: number;
  /** everything Traefik logged so far */
  log(): string;
  routers(): Promise<Router[]>;
  waitForRouters(predicate: (routers: Router[]) => boolean, timeoutMs?: number): Promise<Router[]>;
  stop(): Promise<void>;
}

export interface StaticConfigInput {
  httpPort: number;
  httpsPort: number;
  apiPort: number;
  namespaces?: string[];
  /** dynamic configuration file (the default certificate), if any */
  dynamicFile?: string;
}

/** Traefik's static configuration (written as YAML for --configFile). */
export function traefikStaticConfig(input: StaticConfigInput): Record<string, unknown> {
  const provider = {
    allowExternalNameServices: true,
    nativeLBByDefault: true,
    ...(input.namespaces?.length ? { namespaces: input.namespaces } : {}),
  };
  return {
    // Both would call out to the internet.
    global: { checkNewVersion: false, sendAnonymousUsage: false },
    entryPoints: {
      web: { address: `127.0.0.1:${input.httpPort}` },
      // As K3s's chart does (ports.websecure.tls.enabled): every router on websecure terminates TLS.
      websecure: { address: `127.0.0.1:${input.httpsPort}`, http: { tls: {} } },
      traefik: { address: `127.0.0.1:${input.apiPort}` },
    },
    // The API on the private `traefik` entrypoint is how tests read the routers. No dashboard: the module build
    // embeds no web UI assets.
    api: { insecure: true, dashboard: false },
    ping: { entryPoint: "traefik" },
    log: { level: "INFO", noColor: true },
    providers: {
      kubernetesIngress: provider,
      kubernetesCRD: provider,
      ...(input.dynamicFile ? { file: { filename: input.dynamicFile, watch: false } } : {}),
    },
  };
}

/** The dynamic configuration that makes a given certificate websecure's default. */
export function traefikDefaultCertConfig(tls: { certFile: string; keyFile: string }): Record<string, unknown> {
  return { tls: { stores: { default: { defaultCertificate: { certFile: tls.certFile, keyFile: tls.keyFile } } } } };
}

/** POSIX shell single-quoting: safe for any path, spaces, quotes and `$()` included. */
export function shellQuote(s: string): string {
  return `'${s.replace(/'/g, `'\\''`)}'`;
}

/**
 * A shell script to run under `unshare --mount`: it bind-mounts the given hosts file over /etc/hosts and a resolv.conf
 * naming only 127.0.0.1 over /etc/resolv.conf, in Traefik's private mount namespace only, then becomes Traefik. Go's
 * resolver (CGO off) reads /etc/hosts first (nsswitch "files dns"), so ExternalName targets resolve to ClusterIPs
 * without CoreDNS, and a name missing from the file goes to 127.0.0.1:53 and fails there instead of leaving the machine.
 */
export function hostsWrapperScript(p: {
  hostsFile: string;
  resolvConf: string;
  binary: string;
  args: string[];
}): string {
  return [
    "#!/bin/sh",
    "set -eu",
    `mount --bind ${shellQuote(p.hostsFile)} /etc/hosts`,
    `mount --bind ${shellQuote(p.resolvConf)} /etc/resolv.conf`,
    `exec ${[p.binary, ...p.args].map(shellQuote).join(" ")}`,
    "",
  ].join("\n");
}

export const RESOLV_CONF = "nameserver 127.0.0.1\noptions timeout:1 attempts:1\n";

function traefikBinary(): string {
  const script = path.join(PROJECT_DIR, "scripts", "local-cluster");
  return execFileSync("bash", [script, "traefik-bin"], {
    encoding: "utf8",
    stdio: ["ignore", "pipe", "inherit"],
  }).trim();
}

export async function startTraefik(opts: TraefikOptions): Promise<Traefik> {
  const binary = opts.binary ?? traefikBinary();
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "qa-traefik-"));
  const [httpPort, httpsPort, apiPort] = [await freePort(), await freePort(), await freePort()];
  let dynamicFile: string | undefined;
  if (opts.tlsSecret) {
    dynamicFile = path.join(dir, "dynamic.yml");
    fs.writeFileSync(dynamicFile, stringify(traefikDefaultCertConfig(opts.tlsSecret)));
  }
  const configFile = path.join(dir, "traefik.yml");
  fs.writeFileSync(
    configFile,
    stringify(traefikStaticConfig({ httpPort, httpsPort, apiPort, namespaces: opts.namespaces, dynamicFile })),
  );
  const args = [`--configFile=${configFile}`];
  let command = binary;
  let commandArgs = args;
  if (opts.hostsFile) {
    const resolvConf = path.join(dir, "resolv.conf");
    fs.writeFileSync(resolvConf, RESOLV_CONF);
    const wrapper = path.join(dir, "run.sh");
    fs.writeFileSync(wrapper, hostsWrapperScript({ hostsFile: opts.hostsFile, resolvConf, binary, args }));
    // No --fork: unshare execs sh, which execs traefik, so the child's pid is Traefik's and stop() signals it.
    command = "unshare";
    // Private propagation (unshare's default, spelled out): the bind mounts must not leak into the host's namespace.
    commandArgs = ["--mount", "--propagation", "private", "sh", wrapper];
  }
  // Out of a pod, Traefik's providers take the cluster from KUBECONFIG (they would prefer in-cluster settings if
  // KUBERNETES_SERVICE_HOST were set, so those are dropped).
  const env: NodeJS.ProcessEnv = { ...process.env, KUBECONFIG: opts.kubeconfig };
  delete env.KUBERNETES_SERVICE_HOST;
  delete env.KUBERNETES_SERVICE_PORT;
  const logFile = path.join(dir, "traefik.log");
  const out = fs.openSync(logFile, "a");
  const child = spawn(command, commandArgs, { env, stdio: ["ignore", out, out] });
  fs.closeSync(out);
  const log = () => (fs.existsSync(logFile) ? fs.readFileSync(logFile, "utf8") : "");
  const api = `http://127.0.0.1:${apiPort}`;

  const stop = async () => {
    await kill(child);
    fs.rmSync(dir, { recursive: true, force: true });
  };
  try {
    await waitForPing(child, api, log);
  } catch (err) {
    await stop();
    throw err;
  }
  // The API pages its lists (100 a page by default; X-Next-Page names the next, "1" after the last): two
  // environments' routes are more than a page.
  const routers = async (): Promise<Router[]> => {
    const all: Router[] = [];
    for (let page = 1; ;) {
      const res = await fetch(`${api}/api/http/routers?per_page=100&page=${page}`);
      if (!res.ok) throw new Error(`Traefik API answered ${res.status}`);
      all.push(...((await res.json()) as Router[]));
      const next = Number(res.headers.get("x-next-page") ?? "1");
      if (!(next > page)) return all;
      page = next;
    }
  };
  return {
    httpPort,
    httpsPort,
    apiPort,
    log,
    routers,
    waitForRouters: async (predicate, timeoutMs = 30_000) => {
      const deadline = Date.now() + timeoutMs;
      let last: Router[] = [];
      while (Date.now() < deadline) {
        last = await routers();
        if (predicate(last)) return last;
        await sleep(250);
      }
      throw new Error(`Traefik routers did not match in ${timeoutMs} ms; last: ${JSON.stringify(last)}`);
    },
    stop,
  };
}

async function waitForPing(child: ChildProcess, api: string, log: () => string): Promise<void> {
  const deadline = Date.now() + 30_000;
  while (Date.now() < deadline) {
    if (child.exitCode !== null || child.signalCode !== null)
      throw new Error(`Traefik exited (${child.exitCode ?? child.signalCode}):\n${log()}`);
    try {
      if ((await fetch(`${api}/ping`)).ok) return;
    } catch {
      // not listening yet
    }
    await sleep(200);
  }
  throw new Error(`Traefik did not answer /ping in 30 s:\n${log()}`);
}

function kill(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const force = setTimeout(() => child.kill("SIGKILL"), 10_000);
    child.once("exit", () => {
      clearTimeout(force);
      resolve();
    });
    child.kill("SIGTERM");
  });
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
