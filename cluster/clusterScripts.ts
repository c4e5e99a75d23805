// Cluster-side commands, run with `k3s kubectl` on the first server: making room for a (re)joining node, draining and
// forgetting a removed one, reconciling labels and taints, reading the kubeconfig, applying Rancher's agent manifest.
import { ClusterSettings, PlannedNode } from "./config";
import { k3sBin, READY_PATH, StepTarget, sudoFor, wrapStep } from "./scripts";
import { shQuote, shWords } from "./shell";
import { taintKey } from "./rules";

/** Set by clusterStep to the k3s binary's absolute path (sudo's secure_path may not reach k3s.binDir). */
const KUBECTL = '"$qa_k3s" kubectl';
/** Annotation naming the labels / taints this program put on a node, so removed ones can be taken off again. */
export const LABELS_ANNOTATION = "qa-k8s.io/labels";
export const TAINTS_ANNOTATION = "qa-k8s.io/taints";
export const GONE_ANNOTATION = "qa-k8s.io/gone";

function onFirst(step: string, node: PlannedNode, first: PlannedNode): StepTarget {
  return { step, node: node.name, runOn: first };
}

/** A cluster-side step: `body` calls kubectl through the absolute path of k3s. */
function clusterStep(settings: ClusterSettings, target: StepTarget, body: string, secrets: "QA_MANIFEST_URL"[] = []) {
  return wrapStep(target, `qa_k3s=${k3sBin(settings)}\n${body}`, secrets, sudoFor(settings));
}

const kubectl = (...words: string[]) => `${KUBECTL} ${shWords(words)}`;
const readyOf = (node: string) => `$(${kubectl("get", "node", node, "-o", READY_PATH)} 2>/dev/null || true)`;

/**
 * Before a node joins: K3s rejects a node whose Node object or node-password secret is left over from an earlier
 * membership ("Node password rejected"). A Ready node of that name is live and is left alone.
 */
export function admitScript(settings: ClusterSettings, node: PlannedNode, first: PlannedNode): string {
  const body = [
    `if [ "${readyOf(node.name)}" = True ]; then`,
    `  echo ${shQuote(`node ${node.name} is registered and Ready: keeping it`)}`,
    "else",
    `  ${kubectl("delete", "node", node.name, "--ignore-not-found")}`,
    `  ${kubectl("-n", "kube-system", "delete", "secret", `${node.name}.node-password.k3s`, "--ignore-not-found")}`,
    "fi",
  ].join("\n");
  return clusterStep(settings, onFirst("admit", node, first), body);
}

/** After the host was uninstalled: the Node object and its password secret go, so the name can join again later. */
export function forgetScript(settings: ClusterSettings, node: PlannedNode, first: PlannedNode): string {
  const body = [
    kubectl("delete", "node", node.name, "--ignore-not-found", "--timeout=120s"),
    kubectl("-n", "kube-system", "delete", "secret", `${node.name}.node-password.k3s`, "--ignore-not-found"),
  ].join("\n");
  return clusterStep(settings, onFirst("forget", node, first), body);
}

/**
 * Before a node is uninstalled: cordon, then drain with a timeout. A node that is not Ready, or marked gone, has no
 * kubelet to stop its pods — waiting would only run into the timeout — so it is cordoned only; its pods are deleted
 * with its Node object.
 */
export function drainScript(settings: ClusterSettings, node: PlannedNode, first: PlannedNode): string {
  const timeout = settings.k3s.drainTimeoutSeconds;
  const gonePath = `jsonpath={.metadata.annotations.${GONE_ANNOTATION.replace(/\./g, "\\.")}}`;
  const body = [
    `if ! ${kubectl("get", "node", node.name)} >/dev/null 2>&1; then`,
    `  echo ${shQuote(`node ${node.name} is not in the cluster: nothing to drain`)}`,
    "  exit 0",
    "fi",
    kubectl("cordon", node.name),
    `qa_gone=$(${kubectl("get", "node", node.name, "-o", gonePath)} 2>/dev/null || true)`,
    `if [ "${readyOf(node.name)}" = True ] && [ "$qa_gone" != true ]; then`,
    `  if ! ${kubectl("drain", node.name, "--ignore-daemonsets", "--delete-emptydir-data", "--force", `--timeout=${timeout}s`)}; then`,
    `    echo ${shQuote(
      `drain of ${node.name} did not finish within ${timeout}s (see the pods above, e.g. a PodDisruptionBudget); the host was not touched: fix that and run pulumi up again, or raise k3s.drainTimeoutSeconds`,
    )} >&2`,
    "    exit 1",
    "  fi",
    "else",
    `  echo ${shQuote(`node ${node.name} is not Ready or is marked gone: cordoned only, its pods go with its Node object`)}`,
    "fi",
  ].join("\n");
  return clusterStep(settings, onFirst("drain", node, first), body);
}

/**
 * For a dead machine (`gone: true`): mark its Node so the drain does not wait, and taint it out-of-service so
 * Kubernetes force-deletes its pods and detaches its volumes (non-graceful node shutdown).
 */
export function markGoneScript(settings: ClusterSettings, node: PlannedNode, first: PlannedNode): string {
  const body = [
    `if ${kubectl("get", "node", node.name)} >/dev/null 2>&1; then`,
    `  ${kubectl("annotate", "node", node.name, "--overwrite", `${GONE_ANNOTATION}=true`)}`,
    `  ${kubectl("taint", "node", node.name, "--overwrite", "node.kubernetes.io/out-of-service=nodeshutdown:NoExecute")}`,
    "else",
    `  echo ${shQuote(`node ${node.name} is not in the cluster`)}`,
    "fi",
  ].join("\n");
  return clusterStep(settings, onFirst("mark-gone", node, first), body);
}

/**
 * K3s applies --node-label/--node-taint only when a node first registers; this keeps the live Node in step with the
 * config: sets what is listed, removes what this program set before and is no longer listed.
 */
export function labelsScript(
  settings: ClusterSettings,
  node: PlannedNode,
  first: PlannedNode,
  waitSeconds = 120,
): string {
  const labelKeys = node.labels.map((l) => l.slice(0, l.indexOf("=")));
  const taintKeys = node.taints.map(taintKey);
  const annotationPath = (a: string) => `jsonpath={.metadata.annotations.${a.replace(/\./g, "\\.")}}`;
  const body = [
    "set -f",
    "qa_i=0",
    `until ${kubectl("get", "node", node.name)} >/dev/null 2>&1; do`,
    "  qa_i=$((qa_i + 1))",
    `  if [ "$qa_i" -ge ${Math.ceil(waitSeconds / 2)} ]; then`,
    `    echo ${shQuote(`node ${node.name} did not register within ${waitSeconds}s; see journalctl -u k3s or k3s-agent on ${node.host}`)} >&2`,
    "    exit 1",
    "  fi",
    "  sleep 2",
    "done",
    `qa_old_labels=$(${kubectl("get", "node", node.name, "-o", annotationPath(LABELS_ANNOTATION))})`,
    `qa_old_taints=$(${kubectl("get", "node", node.name, "-o", annotationPath(TAINTS_ANNOTATION))})`,
    `for qa_k in $(printf '%s' "$qa_old_labels" | tr ',' ' '); do`,
    `  case ${shQuote(` ${labelKeys.join(" ")} `)} in *" $qa_k "*) ;; *) ${KUBECTL} label node ${shQuote(node.name)} "$qa_k-" ;; esac`,
    "done",
    `for qa_k in $(printf '%s' "$qa_old_taints" | tr ',' ' '); do`,
    `  case ${shQuote(` ${taintKeys.join(" ")} `)} in *" $qa_k "*) ;; *) ${KUBECTL} taint node ${shQuote(node.name)} "$qa_k-" || true ;; esac`,
    "done",
    ...(node.labels.length > 0 ? [kubectl("label", "node", node.name, "--overwrite", ...node.labels)] : []),
    ...node.taints.map((t) => kubectl("taint", "node", node.name, "--overwrite", t)),
    kubectl(
      "annotate",
      "node",
      node.name,
      "--overwrite",
      `${LABELS_ANNOTATION}=${labelKeys.join(",")}`,
      `${TAINTS_ANNOTATION}=${taintKeys.join(",")}`,
    ),
  ].join("\n");
  return clusterStep(settings, onFirst("labels", node, first), body);
}

/** Prints the first server's admin kubeconfig (/etc/rancher/k3s/k3s.yaml), waiting for K3s to write it. */
export function kubeconfigScript(settings: ClusterSettings, first: PlannedNode): string {
  const body = [
    "qa_i=0",
    "while :; do",
    `  qa_kc=$(${kubectl("config", "view", "--raw")} 2>/dev/null || true)`,
    '  case "$qa_kc" in *server:*) break ;; esac',
    "  qa_i=$((qa_i + 1))",
    '  if [ "$qa_i" -ge 60 ]; then',
    `    echo ${shQuote(`no kubeconfig on ${first.name} 120s after installing K3s; see journalctl -u k3s there`)} >&2`,
    "    exit 1",
    "  fi",
    "  sleep 2",
    "done",
    "printf '%s\\n' \"$qa_kc\"",
  ].join("\n");
  return clusterStep(settings, { step: "read-kubeconfig", node: first.name, runOn: first }, body);
}

/** Applies Rancher's cluster agent manifest; its URL embeds the registration token and comes in on stdin. */
export function rancherApplyScript(settings: ClusterSettings, first: PlannedNode, insecure: boolean): string {
  const body = [
    'qa_manifest=$(mktemp "${TMPDIR:-/tmp}/qa-k8s-rancher.XXXXXX")',
    `trap 'rm -f "$qa_manifest"' EXIT`,
    `curl -fsSL --retry 3 ${insecure ? "--insecure " : ""}-o "$qa_manifest" "$QA_MANIFEST_URL"`,
    `${KUBECTL} apply -f "$qa_manifest"`,
  ].join("\n");
  return clusterStep(settings, { step: "rancher-register", node: first.name, runOn: first }, body, ["QA_MANIFEST_URL"]);
}
