// Traefik routes of one service: an Ingress (networking.k8s.io/v1, class traefik) per service, TLS on every host, and
// a stripPrefix Middleware (traefik.io/v1alpha1, Traefik v3 in current K3s) where the catalog strips the path.
import type { ServiceSpec } from "../types";
import { serviceLabels } from "./labels";
import { SKIP_AWAIT } from "./workload";

export const INGRESS_CLASS = "traefik";
export const MIDDLEWARE_API_VERSION = "traefik.io/v1alpha1";

export function stripPrefixName(service: string): string {
  return `${service}-strip-prefix`;
}

/** The stripPrefix Middleware of a service, or undefined when no route strips its path. */
export function stripPrefixMiddlewareObject(spec: ServiceSpec, namespace: string) {
  const prefixes = [...new Set(spec.routes.filter((r) => r.stripPrefix).map((r) => r.path))];
  if (prefixes.length === 0) return undefined;
  return {
    apiVersion: MIDDLEWARE_API_VERSION,
    kind: "Middleware",
    metadata: { name: stripPrefixName(spec.name), namespace, labels: serviceLabels(spec.name, spec.kind) },
    spec: { stripPrefix: { prefixes } },
  };
}

/**
 * The Ingress of a service, or undefined when it has no routes. Routes that strip and routes that do not need
 * different middleware annotations, which apply to a whole Ingress, so the stripping routes get their own object.
 */
export function ingressObjects(spec: ServiceSpec, namespace: string, tlsSecretName: string) {
  if (spec.routes.length > 0 && spec.port === undefined) {
    throw new Error(`service "${spec.name}" has ingress routes but no port to route them to`);
  }
  const groups = [
    { suffix: "", routes: spec.routes.filter((r) => !r.stripPrefix), strip: false },
    { suffix: "-stripped", routes: spec.routes.filter((r) => r.stripPrefix), strip: true },
  ].filter((group) => group.routes.length > 0);
  return groups.map((group) => {
    const hosts = [...new Set(group.routes.map((r) => r.host))];
    return {
      role: `ingress${group.suffix}`,
      object: {
        metadata: {
          name: `${spec.name}${group.suffix}`,
          namespace,
          labels: serviceLabels(spec.name, spec.kind),
          annotations: {
            "traefik.ingress.kubernetes.io/router.tls": "true",
            ...(group.strip
              ? {
                  "traefik.ingress.kubernetes.io/router.middlewares": `${namespace}-${stripPrefixName(spec.name)}@kubernetescrd`,
                }
              : {}),
            // Traefik publishes the load-balancer status on its own schedule; the environment is ready when its
            // workloads are, so the engine does not wait up to 10 minutes for that status.
            [SKIP_AWAIT]: "true",
          },
        },
        spec: {
          ingressClassName: INGRESS_CLASS,
          tls: [{ hosts, secretName: tlsSecretName }],
          rules: hosts.map((host) => ({
            host,
            http: {
              paths: group.routes
                .filter((r) => r.host === host)
                .map((r) => ({
                  path: r.path,
                  pathType: "Prefix",
                  backend: { service: { name: spec.name, port: { name: "http" } } },
                })),
            },
          })),
        },
      },
    };
  });
}
