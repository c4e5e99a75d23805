// What the bundled Traefik needs for overlay environments, set through K3s's own means: a HelmChartConfig for the
// `traefik` chart in kube-system, as a file in the server's auto-deploy manifests directory (K3s applies every file
// there and re-applies it when it changes). Overlays route the baseline's paths to ExternalName Services, which
// Traefik ignores unless allowExternalNameServices is set on both the Ingress and the CRD providers.
import { ClusterSettings, PlannedNode } from "./config";
import { sudoFor, wrapStep } from "./scripts";
import { shQuote } from "./shell";

/** The file name, prefixed so it is told apart from an operator's own `traefik-config.yaml`. */
export const TRAEFIK_CONFIG_FILE = "qa-k8s-traefik-config.yaml";

/** The HelmChartConfig merged into the bundled chart's values (K3s's helm-controller upgrades Traefik with it). */
export function traefikHelmChartConfig(): string {
  return [
    "# Written by qa-k8s (cluster stack): overlay environments route to ExternalName Services of their baseline.",
    "apiVersion: helm.cattle.io/v1",
    "kind: HelmChartConfig",
    "metadata:",
    "  name: traefik",
    "  namespace: kube-system",
    "spec:",
    "  valuesContent: |-",
    "    providers:",
    "      kubernetesIngress:",
    "        allowExternalNameServices: true",
    "      kubernetesCRD:",
    "        allowExternalNameServices: true",
    "",
  ].join("\n");
}

/** K3s's auto-deploy manifests directory under the data dir. */
const manifestsDir = (settings: ClusterSettings) => `${settings.k3s.dataDir}/server/manifests`;

export function traefikConfigPath(settings: ClusterSettings): string {
  return `${manifestsDir(settings)}/${TRAEFIK_CONFIG_FILE}`;
}

/** Writes the file (atomically: K3s must never read half of it). Servers only: agents have no manifests directory. */
export function writeTraefikConfigScript(settings: ClusterSettings, node: PlannedNode): string {
  const file = traefikConfigPath(settings);
  const body = [
    `mkdir -p ${shQuote(manifestsDir(settings))}`,
    `printf '%s' ${shQuote(traefikHelmChartConfig())} > ${shQuote(`${file}.tmp`)}`,
    `mv ${shQuote(`${file}.tmp`)} ${shQuote(file)}`,
    `echo ${shQuote(`qa-k8s: wrote ${file} (Traefik allowExternalNameServices) on ${node.name}`)}`,
  ].join("\n");
  return wrapStep({ step: "traefik-config", node: node.name, runOn: node }, body, [], sudoFor(settings));
}

/**
 * Removes the file. K3s keeps the object it applied; the chart's values go back to K3s's defaults only when the
 * HelmChartConfig is deleted (`k3s kubectl -n kube-system delete helmchartconfig traefik`), which this never does:
 * overlays on the cluster would lose their routes.
 */
export function removeTraefikConfigScript(settings: ClusterSettings, node: PlannedNode): string {
  const body = `rm -f ${shQuote(traefikConfigPath(settings))}`;
  return wrapStep({ step: "traefik-config-remove", node: node.name, runOn: node }, body, [], sudoFor(settings));
}
