// A Service that answers a catalog name in one namespace with the same service of another (an overlay's `auth` is the
// baseline's): type ExternalName, no selector, the same named ports, so Ingress backends (port name "http") and
// in-cluster clients (`nsqd:4151`) need no change. Same Kubernetes and Pulumi name as the selector Service it replaces,
// so switching a service between deployed and resolved elsewhere is an update in place (see ServiceSet).
import type { ServiceSpec } from "../types";
import { serviceLabels } from "./labels";
import { servicePorts, SKIP_AWAIT } from "./workload";

export interface ExternalNameContext {
  /** The namespace the Service is created in. */
  readonly namespace: string;
  /** The namespace whose service of the same name answers. */
  readonly targetNamespace: string;
}

export function externalHost(service: string, namespace: string): string {
  return `${service}.${namespace}.svc.cluster.local`;
}

/** The ExternalName Service of a catalog service, or undefined for a background worker without a port. */
export function externalNameServiceObject(spec: ServiceSpec, context: ExternalNameContext) {
  if (spec.port === undefined) return undefined;
  return {
    metadata: {
      name: spec.name,
      namespace: context.namespace,
      labels: serviceLabels(spec.name, spec.kind),
      // Nothing to await: an ExternalName Service has no endpoints.
      annotations: { [SKIP_AWAIT]: "true" },
    },
    spec: {
      type: "ExternalName",
      externalName: externalHost(spec.name, context.targetNamespace),
      // targetPort means nothing without endpoints, but keeping it keeps the switch back to ClusterIP a small diff.
      ports: servicePorts({ ...spec, port: spec.port }),
    },
  };
}
