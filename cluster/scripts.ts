// Host-side commands: the K3s installer (install, upgrade, reconfigure) and the uninstaller. Pure string builders.
//
// Every command is one POSIX script run as `sh -c '<script>'`. Secrets never appear in a command string: they arrive
// base64-encoded on stdin (a secret input, encrypted in the state) and are read into variables first thing. Output is
// captured so that a failure ends with one line naming the step, node and host, followed by the last lines of output
// with every secret replaced by [secret].
import { ClusterSettings, PlannedNode } from "./config";
import { fetchInstallerLines, sourceEnv } from "./installSource";
import { renderRegistries } from "./registries";
import { shExport, shInvoke, shQuote } from "./shell";

/** Where a step runs and what it is about, for the failure line. */
export interface StepTarget {
  readonly step: string;
  /** The node the step is about. */
  readonly node: string;
  /** The machine the step runs on (the node itself, or the first server for cluster-side steps). */
  readonly runOn: { readonly name: string; readonly host: string };
}

/** Variables filled from stdin, one base64 line each, in this order. */
export type SecretVar = "K3S_TOKEN" | "QA_REGISTRIES" | "QA_MANIFEST_URL";

const LAST_LINES = 25;

/** Wraps a step body: reads the secrets, runs the body with `set -e`, reports failures with redacted output. */
export function wrapStep(target: StepTarget, body: string, secrets: readonly SecretVar[], sudo: boolean): string {
  const where =
    target.runOn.name === target.node
      ? `node ${target.node} (host ${target.runOn.host})`
      : `node ${target.node}, run on server ${target.runOn.name} (host ${target.runOn.host})`;
  const read = secrets.map((v) => `IFS= read -r qa_line || qa_line=\n${v}=$(printf '%s' "$qa_line" | base64 -d)`);
  const awkVars = secrets.map((v, i) => `-v s${i}="\${${v}:-}"`).join(" ");
  const awkCalls = secrets.map((_, i) => `r(s${i}); `).join("");
  const redact =
    secrets.length === 0
      ? "qa_redact() { cat; }"
      : `qa_redact() { awk ${awkVars} ${shQuote(
          `function r(s,  i) { if (s == "") return; while ((i = index($0, s)) > 0) $0 = substr($0, 1, i - 1) "[secret]" substr($0, i + length(s)) } { ${awkCalls}print }`,
        )}; }`;
  const script = [
    "set -u",
    `qa_where=${shQuote(where)}`,
    `qa_step=${shQuote(target.step)}`,
    ...read,
    "unset qa_line",
    redact,
    `qa_log=$(mktemp "\${TMPDIR:-/tmp}/qa-k8s.XXXXXX") || exit 1`,
    "(",
    "set -e",
    body,
    ') >"$qa_log" 2>&1 </dev/null',
    "qa_rc=$?",
    'qa_redact <"$qa_log"',
    'if [ "$qa_rc" -ne 0 ]; then',
    `  printf 'qa-k8s: step "%s" failed on %s with exit code %s; last output:\\n' "$qa_step" "$qa_where" "$qa_rc" >&2`,
    `  tail -n ${LAST_LINES} "$qa_log" | qa_redact >&2`,
    "fi",
    'rm -f "$qa_log"',
    'exit "$qa_rc"',
  ].join("\n");
  return shInvoke(script, `qa-k8s-${target.step}`, sudo);
}

/** The stdin payload matching `secrets`: one base64 line per value. */
export function secretPayload(values: readonly string[]): string {
  return values.map((v) => Buffer.from(v, "utf8").toString("base64") + "\n").join("");
}

/** Secrets of the installer steps, in SecretVar order `K3S_TOKEN`, `QA_REGISTRIES`. */
export const INSTALL_SECRETS: readonly SecretVar[] = ["K3S_TOKEN", "QA_REGISTRIES"];

export function installPayload(token: string, settings: ClusterSettings): string {
  return secretPayload([token, settings.k3s.registries ? renderRegistries(settings.k3s.registries) : ""]);
}

/** `https://<host>:6443`, with brackets for IPv6. */
export function serverUrl(host: string): string {
  return `https://${host.includes(":") ? `[${host}]` : host}:6443`;
}

export function sudoFor(settings: ClusterSettings): boolean {
  return settings.ssh.user !== "root";
}

/** The words of INSTALL_K3S_EXEC: role, cluster placement, identity, storage and scheduling flags, extra flags. */
export function installFlags(settings: ClusterSettings, node: PlannedNode, servers: readonly PlannedNode[]): string[] {
  const { k3s } = settings;
  const first = servers.find((s) => s.first);
  const active = servers.filter((s) => !s.gone);
  const flags: string[] = [node.role];
  if (node.role === "server") {
    if (node.first) {
      if (active.length > 1) flags.push("--cluster-init");
    } else if (first) flags.push("--server", serverUrl(first.host));
    for (const server of active) flags.push("--tls-san", server.host);
  }
  flags.push("--node-name", node.name, "--data-dir", k3s.dataDir);
  if (k3s.docker) flags.push("--docker");
  for (const label of node.labels) flags.push("--node-label", label);
  for (const taint of node.taints) flags.push("--node-taint", taint);
  flags.push(...(node.role === "server" ? k3s.extraServerArgs : k3s.extraAgentArgs));
  return flags;
}

/** Environment of the K3s installer (the token is added from stdin, never written here). */
export function installEnv(
  settings: ClusterSettings,
  node: PlannedNode,
  servers: readonly PlannedNode[],
): [string, string][] {
  const { k3s } = settings;
  const env: [string, string][] = [
    ["INSTALL_K3S_VERSION", k3s.version],
    ["INSTALL_K3S_EXEC", installFlags(settings, node, servers).join(" ")],
    // Always explicit: upstream falls back to /opt/bin when /usr/local/bin is read-only, and every later call of k3s
    // or its uninstaller goes by absolute path into this directory.
    ["INSTALL_K3S_BIN_DIR", k3s.binDir],
    ...sourceEnv(k3s),
  ];
  if (node.role === "server") env.push(["K3S_KUBECONFIG_MODE", k3s.kubeconfigMode]);
  if (node.role === "agent") {
    const first = servers.find((s) => s.first);
    if (first) env.push(["K3S_URL", serverUrl(first.host)]);
  }
  if (k3s.airgap) env.push(["INSTALL_K3S_SKIP_DOWNLOAD", "true"]);
  return env;
}

/**
 * The file a successful install leaves on the host. A failed first install is not recorded in Pulumi's state and runs
 * again on the next up; the upgrade step's create checks the marker as a safety net (an install that completed on the
 * host although the engine never recorded it, e.g. a run that crashed).
 */
export function installedMarker(settings: ClusterSettings, node: PlannedNode): string {
  return `${settings.k3s.dataDir}/.qa-k8s-installed-${node.name}`;
}

/**
 * Installs K3s on a node, or re-runs the installer in place (upgrade / changed flags): same flags and token, the data
 * directory is kept. Servers refuse to start with a different token than the one their datastore was created with.
 * `ensure` runs the installer only when no earlier install completed on the host.
 */
export function installScript(
  settings: ClusterSettings,
  node: PlannedNode,
  servers: readonly PlannedNode[],
  step: "install" | "upgrade" | "ensure",
): string {
  const { k3s } = settings;
  const body: string[] = [];
  if (node.role === "server") body.push(tokenGuard(k3s.dataDir));
  // Air-gapped: the installer enables and (re)starts whatever binary it finds, so a wrong one is refused before.
  if (k3s.airgap) body.push(airgapBinaryCheck(k3s.binDir, k3s.version));
  body.push(
    'if [ -n "$QA_REGISTRIES" ]; then',
    "  mkdir -p /etc/rancher/k3s",
    "  (umask 077 && printf '%s\\n' \"$QA_REGISTRIES\" > /etc/rancher/k3s/registries.yaml.qa-k8s)",
    "  mv /etc/rancher/k3s/registries.yaml.qa-k8s /etc/rancher/k3s/registries.yaml",
    "fi",
    ...installEnv(settings, node, servers).map(([k, v]) => shExport(k, v)),
    "export K3S_TOKEN",
    ...fetchInstallerLines(k3s),
    `echo ${shQuote(`qa-k8s: running the K3s installer (${step}, ${k3s.version}) on ${node.name}`)}`,
    // Under sudo, SUDO_COMMAND holds this whole script. The installer builds the unit's environment file from
    // `export` output line by line, so lines of it such as K3S_KUBECONFIG_MODE=... would land there and override.
    "unset SUDO_COMMAND",
    'sh "$qa_installer"',
  );
  if (node.role === "server") body.push(waitReady(settings, node.name));
  const marker = installedMarker(settings, node);
  body.push(`mkdir -p ${shQuote(k3s.dataDir)}`, `touch ${shQuote(marker)}`);
  const script =
    step === "ensure"
      ? [
          `if [ -f ${shQuote(marker)} ]; then`,
          `  echo ${shQuote(`K3s is installed on ${node.name}: nothing to do`)}`,
          "else",
          ...body,
          "fi",
        ].join("\n")
      : body.join("\n");
  return wrapStep({ step, node: node.name, runOn: node }, script, INSTALL_SECRETS, sudoFor(settings));
}

function tokenGuard(dataDir: string): string {
  const file = `${dataDir}/server/token`;
  return [
    `if [ -f ${shQuote(file)} ]; then`,
    `  case "$(cat ${shQuote(file)})" in`,
    '    "$K3S_TOKEN" | *"::server:$K3S_TOKEN") ;;',
    "    *)",
    `      echo ${shQuote(
      `k3s.token does not match the token of the K3s datastore already on this host (${file}); K3s would refuse to start ("bootstrap data already found and encrypted with different token"). Set k3s.token back to the cluster's token, or uninstall K3s from this host first.`,
    )} >&2`,
    "      exit 3 ;;",
    "  esac",
    "fi",
  ].join("\n");
}

/** Waits until the node reports Ready, so a server upgrade finishes before the next one starts. */
export function waitReady(settings: ClusterSettings, node: string, seconds = 180): string {
  return [
    "qa_i=0",
    `until [ "$(${k3sBin(settings)} kubectl get node ${shQuote(node)} -o ${shQuote(READY_PATH)} 2>/dev/null)" = True ]; do`,
    "  qa_i=$((qa_i + 1))",
    `  if [ "$qa_i" -ge ${Math.ceil(seconds / 2)} ]; then`,
    `    echo ${shQuote(`node ${node} is not Ready ${seconds}s after the installer finished; see journalctl -u k3s on that host`)} >&2`,
    "    exit 1",
    "  fi",
    "  sleep 2",
    "done",
  ].join("\n");
}

export const READY_PATH = 'jsonpath={.status.conditions[?(@.type=="Ready")].status}';

/** The k3s binary by absolute path: sudo's secure_path (RHEL: /sbin:/bin:/usr/sbin:/usr/bin) may not reach it. */
export function k3sBin(settings: ClusterSettings): string {
  return shQuote(`${settings.k3s.binDir}/k3s`);
}

function airgapBinaryCheck(binDir: string, version: string): string {
  const bin = shQuote(`${binDir}/k3s`);
  return [
    `if [ ! -x ${bin} ]; then`,
    `  echo ${shQuote(`k3s.airgap is true but there is no executable ${binDir}/k3s on this host; copy the ${version} binary and images there before pulumi up (or set k3s.binDir)`)} >&2`,
    "  exit 1",
    "fi",
    `qa_have=$(${bin} --version 2>/dev/null | head -n 1 || true)`,
    `case "$qa_have" in *${shQuote(` ${version} `)}*) ;; *)`,
    `  printf 'the pre-copied k3s binary reports "%s"\\n' "$qa_have" >&2`,
    `  echo ${shQuote(`k3s.version is ${version}: copy the matching k3s binary and images to the host before pulumi up`)} >&2`,
    "  exit 1 ;;",
    "esac",
  ].join("\n");
}
