// The kubeconfig K3s writes points at https://127.0.0.1:6443; users and feature stacks need the server's address.
import * as YAML from "yaml";
import { serverUrl } from "./scripts";

/** Rewrites every cluster's `server:` to the first server's address; the rest of the document is kept as is. */
export function rewriteKubeconfig(text: string, host: string): string {
  const doc = YAML.parseDocument(text);
  const clusters = doc.get("clusters");
  if (!YAML.isSeq(clusters) || clusters.items.length === 0) {
    throw new Error(`the kubeconfig read from ${host} has no clusters; is K3s running there?`);
  }
  for (const item of clusters.items) {
    if (YAML.isMap(item) && YAML.isMap(item.get("cluster"))) {
      (item.get("cluster") as YAML.YAMLMap).set("server", serverUrl(host));
    }
  }
  return doc.toString();
}
