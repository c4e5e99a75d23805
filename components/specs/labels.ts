// Labels shared by every object of an environment. The selector labels are deliberately minimal and never change:
// a Deployment's selector is immutable, so anything added there later would force a replacement.

export const MANAGED_BY = { "app.kubernetes.io/managed-by": "qa-k8s" } as const;

export function selectorLabels(service: string): Record<string, string> {
  return { "app.kubernetes.io/name": service };
}

export function serviceLabels(service: string, kind: "app" | "infra"): Record<string, string> {
  return { ...selectorLabels(service), "app.kubernetes.io/component": kind, ...MANAGED_BY };
}
