// Removing K3s from a host, completely. Upstream's k3s-uninstall.sh / k3s-agent-uninstall.sh delete
// ${K3S_DATA_DIR:-/var/lib/rancher/k3s}, not a custom --data-dir, and leave /etc/rancher/node and Docker's k8s_*
// containers; so the uninstaller gets K3S_DATA_DIR, and what it leaves is removed here, then checked: the step fails
// while anything of K3s is left. The uninstaller is called by absolute path (k3s.binDir), because sudo's secure_path on
// RHEL-like hosts has no /usr/local/bin; and a host where this stack installed K3s but the uninstaller is missing is an
// error, never "nothing to uninstall".
import { ClusterSettings, PlannedNode } from "./config";
import { installedMarker, sudoFor, wrapStep } from "./scripts";
import { shQuote } from "./shell";

/** The systemd unit and uninstall script names upstream's installer derives from the role. */
export function k3sUnit(node: PlannedNode): string {
  return node.role === "server" ? "k3s" : "k3s-agent";
}

/** Paths of a K3s install on a node; every one must be gone after removal. */
export function k3sPaths(settings: ClusterSettings, node: PlannedNode): string[] {
  const { binDir, dataDir } = settings.k3s;
  const unit = k3sUnit(node);
  return [
    dataDir,
    `${binDir}/k3s`,
    `${binDir}/${unit}-uninstall.sh`,
    `${binDir}/k3s-killall.sh`,
    `/etc/systemd/system/${unit}.service`,
    `/etc/systemd/system/${unit}.service.env`,
    "/etc/rancher/k3s",
    "/etc/rancher/node",
  ];
}

/** Docker containers kubelet started with --docker (cri-dockerd names them k8s_<container>_<pod>_...). */
const DOCKER_CLEANUP = [
  "if command -v docker >/dev/null 2>&1; then",
  "  qa_ids=$(docker ps -aq --filter name=^k8s_)",
  '  if [ -n "$qa_ids" ]; then',
  '    echo "removing the Docker containers K3s started (k8s_*): $(printf \'%s\\n\' "$qa_ids" | wc -l)"',
  "    # shellcheck disable=SC2086",
  "    docker rm -f $qa_ids >/dev/null",
  "  fi",
  "fi",
];

export function uninstallScript(settings: ClusterSettings, node: PlannedNode): string {
  const { dataDir, binDir, docker } = settings.k3s;
  const tool = `${binDir}/${k3sUnit(node)}-uninstall.sh`;
  const marker = installedMarker(settings, node);
  const paths = k3sPaths(settings, node);
  const body = [
    `if [ -x ${shQuote(tool)} ]; then`,
    // The uninstaller re-execs itself under sudo --preserve-env=K3S_DATA_DIR when not root: export, not just assign.
    `  K3S_DATA_DIR=${shQuote(dataDir)} && export K3S_DATA_DIR`,
    `  ${shQuote(tool)}`,
    `elif [ -e ${shQuote(marker)} ] || [ -e ${shQuote(`${binDir}/k3s`)} ]; then`,
    `  echo ${shQuote(
      `K3s is installed on ${node.name} (${marker} or ${binDir}/k3s exists), but its uninstaller ${tool} is missing; set k3s.binDir to the directory the installer used (INSTALL_K3S_BIN_DIR), or remove K3s from the host by hand, then run pulumi up again`,
    )} >&2`,
    "  exit 1",
    "else",
    `  echo ${shQuote(`K3s is not installed on ${node.name} (no ${tool}, no ${marker}): nothing to uninstall`)}`,
    "fi",
    ...(docker ? DOCKER_CLEANUP : []),
    `rm -rf ${paths.map(shQuote).join(" ")}`,
    "qa_left=",
    `for qa_p in ${paths.map(shQuote).join(" ")}; do`,
    '  if [ -e "$qa_p" ]; then qa_left="$qa_left $qa_p"; fi',
    "done",
    ...(docker
      ? [
          'if command -v docker >/dev/null 2>&1 && [ -n "$(docker ps -aq --filter name=^k8s_)" ]; then qa_left="$qa_left docker:k8s_*"; fi',
        ]
      : []),
    'if [ -n "$qa_left" ]; then',
    `  printf '%s%s\\n' ${shQuote(`K3s is not completely removed from ${node.name}; left:`)} "$qa_left" >&2`,
    "  exit 1",
    "fi",
    `echo ${shQuote(`nothing of K3s is left on ${node.name}`)}`,
  ].join("\n");
  return wrapStep({ step: "uninstall", node: node.name, runOn: node }, body, [], sudoFor(settings));
}
